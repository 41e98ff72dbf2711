package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/statsapi"
)

// exportUsage is the export line of the usage text.
const exportUsage = `  export       write the cases opened in a date range as CSV (classification, Jalali and Gregorian dates)`

// runExport is `dargah export -config FILE -from 1405-01-01 -to 1405-06-31
// [-gregorian] [-lang fa|en|ar] [-out file.csv]`: one CSV row per case
// opened in the range (both days included, days in Asia/Tehran), UTF-8
// with a BOM so Excel shows Persian. Without -out it writes to stdout.
// -out is written to a temporary file beside it and renamed, so a failed
// export never leaves a half file under the asked name.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dargah export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config file (YAML); none means the embedded default")
	fromS := fs.String("from", "", "first day, Jalali (1405-01-01) unless -gregorian")
	toS := fs.String("to", "", "last day (included), Jalali (1405-06-31) unless -gregorian")
	gregorian := fs.Bool("gregorian", false, "-from and -to are Gregorian dates (2026-03-21)")
	lang := fs.String("lang", "fa", "header language: fa, en (column keys) or ar")
	out := fs.String("out", "", "output file; default stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export: unexpected arguments %q", fs.Args())
	}
	cal := statsapi.Jalali
	if *gregorian {
		cal = statsapi.Gregorian
	}
	from, to, err := statsapi.ParseRange(*fromS, *toS, cal)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if *lang != "fa" && *lang != "en" && *lang != "ar" {
		return fmt.Errorf("export: -lang %q is not fa, en or ar", *lang)
	}
	a, err := build(ctx, *configPath, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	// The stats columns come with a migration; an export must not fail
	// on a database that `dargah serve` has not started yet.
	if err := a.Migrate(ctx); err != nil {
		return err
	}
	ss, ok := a.Store.(cases.StatsStore)
	if !ok {
		return errors.New("export: the case store has no statistics support")
	}
	if *out == "" {
		n, err := statsapi.WriteCSV(ctx, stdout, ss, from, to, *lang)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "exported %d cases\n", n)
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	n, err := statsapi.WriteCSV(ctx, f, ss, from, to, *lang)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), *out)
	}
	if err != nil {
		return fmt.Errorf("export to %s: %w", *out, err)
	}
	j, g := statsapi.RangeDays(from, to)
	fmt.Fprintf(stdout, "%s: %d cases opened %s – %s (%s – %s)\n", *out, n, j.From, j.To, g.From, g.To)
	return nil
}
