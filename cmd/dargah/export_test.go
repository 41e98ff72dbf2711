package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/statsapi"
	"github.com/dargah137/dargah/cases/workcal"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app"
)

// TestExport runs Dargah on a config, opens two cases through it, stops
// it, and exports them with `dargah export` in both calendars.
func TestExport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := writeFile(t, dir, "dargah.yaml", "data_dir: "+filepath.Join(dir, "data")+"\nlisten: 127.0.0.1:0\n")
	cfg, err := app.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := app.Build(ctx, cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		a.Close()
		t.Fatal(err)
	}
	var codes []string
	for i, text := range []string{"خیابان سناباد چاله دارد و آسفالت خراب شده", "=cmd|' /C calc'!A0 آسفالت خراب است"} {
		m := gateway.Message{Portal: "web", PortalKind: "webform", PortalMessageID: "x-" + string(rune('a'+i)),
			Contact: gateway.Contact{Phone: "+989121234567"}, Text: text}
		r, err := a.Pipeline.Submit(ctx, m)
		if err == nil {
			r, err = a.Pipeline.Await(ctx, r.MessageID)
		}
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, r.Decision.TrackingCode)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	jFrom, jTo := workcal.FormatJalali(now.Add(-24*time.Hour), false), workcal.FormatJalali(now.Add(24*time.Hour), false)
	out := filepath.Join(dir, "cases.csv")
	msg, err := runCmd(t, "export", "-config", cfgPath, "-from", jFrom, "-to", jTo, "-out", out)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, msg)
	}
	if !strings.Contains(msg, "2 cases") {
		t.Errorf("export said %q", msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	body, ok := strings.CutPrefix(string(data), statsapi.BOM)
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if !ok || err != nil || len(recs) != 3 || recs[0][0] != "کد پیگیری" {
		t.Fatalf("export file = %q, %v", data, err)
	}
	if recs[1][0] != codes[0] || recs[2][0] != codes[1] || recs[1][2] != "asphalt" || !strings.HasPrefix(recs[1][10], "14") ||
		!strings.HasPrefix(recs[1][11], "20") {
		t.Errorf("rows = %q, want %v", recs[1:], codes)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".cases.csv.*")); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}

	// Gregorian days to stdout, English header.
	loc := workcal.Tehran()
	msg, err = runCmd(t, "export", "-config", cfgPath, "-gregorian", "-lang", "en",
		"-from", now.Add(-24*time.Hour).In(loc).Format(time.DateOnly), "-to", now.Add(24*time.Hour).In(loc).Format(time.DateOnly))
	if err != nil || !strings.HasPrefix(msg, statsapi.BOM+"tracking_code,") || strings.Count(msg, "\r\n") != 3 {
		t.Errorf("gregorian export = %q, %v", msg, err)
	}

	// A range before anything: just the header.
	msg, err = runCmd(t, "export", "-config", cfgPath, "-from", "1400-01-01", "-to", "1400-12-29", "-lang", "en")
	if err != nil || strings.Count(msg, "\r\n") != 1 || !strings.Contains(msg, "exported 0 cases") {
		t.Errorf("empty export = %q, %v", msg, err)
	}

	// Bad input fails before touching anything, and names the problem.
	for _, args := range [][]string{
		{"-from", "1405-13-01", "-to", "1405-01-01"},
		{"-from", "1405-02-01", "-to", "1405-01-01"},
		{"-from", "1405-01-01"},
		{"-from", "1405-01-01", "-to", "1405-01-02", "-lang", "de"},
		{"-from", "1405-01-01", "-to", "1405-01-02", "extra"},
	} {
		if msg, err := runCmd(t, append([]string{"export", "-config", cfgPath}, args...)...); err == nil {
			t.Errorf("export %v succeeded: %q", args, msg)
		}
	}
}
