package app

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

// TestArchiveRetention: archive_retention from the config; a closed case
// is archived at once and loses its personal data once the retention has
// passed, keeping its classification.
func TestArchiveRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, err := Parse("test", []byte("archive_retention: 720h\ndata_dir: "+filepath.Join(dir, "data")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ArchiveRetention != 30*24*time.Hour {
		t.Fatalf("archive_retention = %v", cfg.ArchiveRetention)
	}
	var mu sync.Mutex
	offset := time.Duration(0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
	ctx := context.Background()
	a, err := Build(ctx, cfg, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := a.Shutdown(sctx); err != nil {
			t.Error(err)
		}
	})
	m := gateway.Message{Portal: "web", PortalKind: "webform", PortalMessageID: "r-1",
		Contact: gateway.Contact{Phone: "+989121234567", Name: "زهرا"}, Text: "خیابان سناباد چاله دارد و آسفالت خراب شده"}
	r, err := a.Pipeline.Submit(ctx, m)
	if err == nil {
		r, err = a.Pipeline.Await(ctx, r.MessageID)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Store.CaseGetByTracking(ctx, r.Decision.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	closer, ok := a.Store.(interface {
		CaseClose(ctx context.Context, caseID int64, outcome, actor string) error
	})
	if !ok {
		t.Fatalf("%T cannot close cases", a.Store)
	}
	if err := closer.CaseClose(ctx, c.ID, "resolved", "staff"); err != nil {
		t.Fatal(err)
	}
	ss := a.Store.(cases.StatsStore)
	mu.Lock()
	offset = time.Minute
	mu.Unlock()
	a.archiveSweep(ctx, ss, a.cfg.ArchiveRetention)
	if got, _ := a.Store.CaseGetByTracking(ctx, c.TrackingCode); got.Contact.Phone == "" {
		t.Fatal("personal data purged before the retention passed")
	}
	mu.Lock()
	offset = 31 * 24 * time.Hour
	mu.Unlock()
	a.archiveSweep(ctx, ss, a.cfg.ArchiveRetention)
	got, err := a.Store.CaseGetByTracking(ctx, c.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if got.Contact.Phone != "" || got.Contact.Name != "" || got.Description != "" {
		t.Errorf("after the retention: %+v", got)
	}
	if got.ServiceCode != c.ServiceCode || got.Department != c.Department || got.Outcome != "resolved" {
		t.Errorf("classification lost: %+v, was %+v", got, c)
	}
	var rows []cases.Classification
	if err := ss.CaseClassifications(ctx, c.OpenedAt, c.OpenedAt.Add(time.Second), func(x cases.Classification) error {
		rows = append(rows, x)
		return nil
	}); err != nil || len(rows) != 1 || rows[0].ResultAt.IsZero() {
		t.Errorf("classification after purge = %+v, %v", rows, err)
	}
}
