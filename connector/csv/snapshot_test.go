package csv_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/csv"
)

// snapshot takes a Snapshot and reads its whole list.
func snapshot(t *testing.T, src *csv.Source) (time.Time, []hrissync.Employee) {
	t.Helper()
	at, list, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var rows []hrissync.Employee
	for e, err := range list {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, e)
	}
	return at, rows
}

// Snapshot's time is what the rows are versioned with, found each of the
// three ways.
func TestSnapshotTime(t *testing.T) {
	column := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	modTime := time.Date(2026, 2, 28, 21, 30, 0, 0, time.UTC)
	withColumn := "Worker ID,Status,As Of\n" +
		"w-001,active," + column.Format(time.RFC3339) + "\n" +
		"w-002,active," + column.Format(time.RFC3339) + "\n"
	cases := []struct {
		name, content string
		cfg           csv.Config
		want          time.Time
	}{
		{"Config.AsOf", good, csv.Config{AsOf: asOf}, asOf},
		{"Config.AsOf before the column", withColumn, csv.Config{AsOf: asOf, AsOfColumn: "As Of"}, asOf},
		{"the as-of column of the first row", withColumn, csv.Config{AsOfColumn: "as of"}, column},
		{"the file's modification time", good, csv.Config{}, modTime},
		{"no rows to say", "Worker ID,As Of\n", csv.Config{AsOfColumn: "As Of"}, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := write(t, t.TempDir(), c.content)
			if err := os.Chtimes(path, modTime, modTime); err != nil {
				t.Fatal(err)
			}
			src, err := csv.Open(t.Context(), path, &c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			at, rows := snapshot(t, src)
			if !at.Equal(c.want) {
				t.Errorf("as of %v, want %v", at, c.want)
			}
			for _, e := range rows {
				if !e.Version.Time.Equal(at) {
					t.Errorf("%s is versioned %v, the snapshot says %v", e.ID, e.Version.Time, at)
				}
			}
		})
	}
}

// A new export moved into place between Snapshot and the reading of its
// list does not pair the old export's time with the new rows.
func TestSnapshotReadsTheFileItTimed(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir, good)
	old := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	src, err := csv.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	at, list, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	next := filepath.Join(dir, "next.csv")
	if err := os.WriteFile(next, []byte("Worker ID,Status\nw-009,active\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for e, err := range list {
		if err != nil {
			t.Fatal(err)
		}
		if !e.Version.Time.Equal(at) {
			t.Errorf("%s versioned %v, snapshot as of %v", e.ID, e.Version.Time, at)
		}
		ids = append(ids, e.ID)
	}
	if !at.Equal(old) || strings.Join(ids, ",") != "w-001,w-002,w-003" {
		t.Errorf("snapshot as of %v read %v; want the export of %v", at, ids, old)
	}
	for _, err := range list {
		if err == nil || !strings.Contains(err.Error(), "ranged once") {
			t.Errorf("a second range: %v, want an error", err)
		}
	}
	// The next Snapshot reads the new export.
	if _, rows := snapshot(t, src); len(rows) != 1 || rows[0].ID != "w-009" {
		t.Errorf("next snapshot = %+v, want the new export", rows)
	}
}

// A bad first row, read to find the time, is Snapshot's error.
func TestSnapshotBadFirstRow(t *testing.T) {
	src, err := csv.Open(t.Context(), write(t, t.TempDir(), "Worker ID,As Of\nw-001,yesterday\n"), &csv.Config{AsOfColumn: "As Of"})
	if err != nil {
		t.Fatal(err)
	}
	var rowErr *csv.RowError
	if _, _, err := src.Snapshot(context.Background()); !errors.As(err, &rowErr) || rowErr.Line != 2 {
		t.Errorf("Snapshot = %v, want a *RowError on line 2", err)
	}
}
