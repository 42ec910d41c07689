package csv_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/csv"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

var asOf = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

const good = "\uFEFFWorker ID,Email,First Name,Last Name,Status,Hire Date,Termination Date,Job Title,Manager ID,Department,Location,attr.skill.go\n" +
	"w-001,ada@example.com,Ada,Lovelace,active,2020-01-06,,\"Engineer, Senior\",,R&D,London,5\n" +
	"w-002,bob@example.com,Bob,\"Smith \"\"Jr\"\"\",active,2021-02-01,,\"Analyst\nData\",w-001,R&D,Paris,3\n" +
	"w-003,cy@example.com,Cy,Young,terminated,2019-05-05,2026-02-27,Engineer,w-001,R&D,Paris,\n"

func write(t testing.TB, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "workers.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadsAWellFormedExport(t *testing.T) {
	src, err := csv.Open(t.Context(), write(t, t.TempDir(), good), &csv.Config{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	var got []hrissync.Employee
	for e, err := range src.List(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if len(got) != 3 {
		t.Fatalf("rows = %d", len(got))
	}
	b := got[1]
	if b.ID != "w-002" || b.FamilyName != `Smith "Jr"` || b.Role != "Analyst\nData" || b.ManagerID != "w-001" ||
		b.StartDate != hrissync.NewDate(2021, 2, 1) || b.Attributes["skill.go"] != "3" || !b.Version.Time.Equal(asOf) {
		t.Errorf("row 2 = %+v", b)
	}
	if got[0].Role != "Engineer, Senior" || got[2].TerminationDate != hrissync.NewDate(2026, 2, 27) {
		t.Errorf("quoted comma or date lost: %+v / %+v", got[0], got[2])
	}
	if e, err := src.Get(context.Background(), "w-003"); err != nil || e.Status != hrissync.StatusTerminated {
		t.Errorf("Get = %+v, %v", e, err)
	}
	if _, err := src.Get(context.Background(), "w-009"); !errors.Is(err, hrissync.ErrNotFound) {
		t.Errorf("Get unknown = %v", err)
	}
	for _, err := range src.ChangedSince(context.Background(), asOf) {
		if !errors.Is(err, hrissync.ErrChangedSinceUnsupported) {
			t.Errorf("ChangedSince = %v", err)
		}
	}
}

// batchOver runs a batch over the good export, then over content, and
// returns the second batch's error and how many accounts it deactivated.
func batchOver(t *testing.T, content string, manifest string) (error, int) {
	t.Helper()
	dir := t.TempDir()
	path := write(t, dir, good)
	src, err := csv.Open(t.Context(), path, &csv.Config{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	clock := hrissync.RealClock{}
	platform := memory.NewPlatform(clock, 1)
	eng, err := hrissync.New(src, platform, memstore.New(), &hrissync.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), DeletionLimit: hrissync.Budget{Count: 100, Share: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Batch(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := platform.Counts().ByKind[hrissync.Deactivate]
	write(t, dir, content)
	if manifest != "" {
		os.WriteFile(path+".manifest", []byte(manifest), 0o600)
	}
	err = eng.Batch(context.Background())
	return err, int(platform.Counts().ByKind[hrissync.Deactivate] - before)
}

func TestMalformedExportsFailWithoutLeavers(t *testing.T) {
	head := "Worker ID,Email,First Name,Last Name,Status,Hire Date,Termination Date,Job Title,Manager ID,Department,Location,attr.skill.go\n"
	row1 := "w-001,ada@example.com,Ada,Lovelace,active,2020-01-06,,Engineer,,R&D,London,5\n"
	row2 := "w-002,bob@example.com,Bob,Smith,active,2021-02-01,,Analyst,w-001,R&D,Paris,3\n"
	cases := []struct {
		name, content, manifest, want string
	}{
		{"wrong header", strings.Replace(head, "Job Title", "Jobb Title", 1) + row1, "", `csv: bad header: unknown columns ["Jobb Title"]`},
		{"no id column", strings.Replace(head, "Worker ID", "Badge", 1) + row1, "", `csv: bad header: unknown columns ["Badge"]`},
		{"short row", head + row1 + "w-002,bob@example.com,Bob\n", "", "csv: line 3: 3 cells, the header has 12"},
		{"bad date", head + row1 + strings.Replace(row2, "2021-02-01", "2021-02-30", 1), "", `csv: line 3, column "Hire Date": bad date "2021-02-30": want 2006-01-02`},
		{"bad encoding", head + row1 + strings.Replace(row2, "Smith", "Sm\xffith", 1), "", `csv: line 3, column "Last Name": not UTF-8`},
		{"cut mid-row", head + row1 + `w-002,"bob@exam`, "", `csv: line 3: extraneous or missing " in quoted-field`},
		{"cut at a row boundary", head + row1, `{"rows": 3}`, "csv: row count differs from the expected: read 1 rows, expected 3"},
		{"short of the trailer", head + row1 + row2 + "#rows,3\n", "", "csv: row count differs from the expected: read 2 rows, expected 3"},
		{"an id twice", head + row1 + row2 + row1, "", `csv: line 4, column "Worker ID": csv: worker id given twice: "w-001", first on line 2`},
		{"unknown status", head + strings.Replace(row1, "active", "retired", 1), "", `csv: line 2, column "Status": unknown status "retired"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err, deactivated := batchOver(t, c.content, c.manifest)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("batch error = %v\nwant it to contain %s", err, c.want)
			}
			if deactivated != 0 {
				t.Errorf("%d accounts deactivated from a bad export", deactivated)
			}
		})
	}
}

// The employment table's inputs: suspension, the worker's own time zone, an
// immediate termination — each read, and a bad one reported with its line.
func TestEmploymentColumns(t *testing.T) {
	dir := t.TempDir()
	head := "Worker ID,Status,Termination Date,Time Zone,Immediate\n"
	src, err := csv.Open(t.Context(), write(t, dir, head+
		"w-1,suspended,,Australia/Sydney,\n"+
		"w-2,terminated,2026-11-30,Europe/London,yes\n"), &csv.Config{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	var got []hrissync.Employee
	for e, err := range src.List(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if len(got) != 2 || got[0].Status != hrissync.StatusSuspended || got[0].TimeZone != "Australia/Sydney" || got[0].Immediate ||
		got[1].TimeZone != "Europe/London" || !got[1].Immediate {
		t.Errorf("read %+v", got)
	}
	for name, c := range map[string]struct{ row, want string }{
		"bad zone":      {"w-1,active,,Mars/Olympus,\n", `csv: line 2, column "Time Zone": unknown time zone "Mars/Olympus"`},
		"bad immediate": {"w-1,terminated,2026-11-30,,maybe\n", `csv: line 2, column "Immediate": immediate "maybe": want true or false`},
	} {
		src, err := csv.Open(t.Context(), write(t, dir, head+c.row), &csv.Config{AsOf: asOf})
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range src.List(context.Background()) {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %s", name, err, c.want)
			}
			break
		}
	}
}

func TestHeaderCheckedAtOpen(t *testing.T) {
	dir := t.TempDir()
	_, err := csv.Open(t.Context(), write(t, dir, "Worker ID,Favourite Colour\nw-1,blue\n"), nil)
	if !errors.Is(err, csv.ErrHeader) {
		t.Fatalf("Open = %v, want ErrHeader", err)
	}
	src, err := csv.Open(t.Context(), write(t, dir, "Worker ID,Favourite Colour\nw-1,blue\n"), &csv.Config{IgnoreColumns: []string{"favourite colour"}})
	if err != nil {
		t.Fatalf("an ignored column: %v", err)
	}
	for e, err := range src.List(context.Background()) {
		if err != nil || e.ID != "w-1" {
			t.Errorf("%+v %v", e, err)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("Worker ID\n\"a\nb\",\n"))
	f.Add([]byte("Worker ID,Status\nw1,active\n#rows,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := csv.Open(t.Context(), path, &csv.Config{AsOf: asOf})
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for e, err := range src.List(context.Background()) {
			if err != nil {
				var re *csv.RowError
				if !errors.As(err, &re) && !errors.Is(err, csv.ErrRowCount) && !errors.Is(err, csv.ErrHeader) {
					t.Fatalf("error of an unexpected kind: %v", err)
				}
				return
			}
			if e.ID == "" || seen[e.ID] {
				t.Fatalf("accepted a row without id or an id twice: %q", e.ID)
			}
			seen[e.ID] = true
		}
	})
}

// A nil *Config means the defaults; the path has none, and an ended context
// stops Open before it reads.
func TestOpenArguments(t *testing.T) {
	path := write(t, t.TempDir(), good)
	if _, err := csv.Open(t.Context(), path, nil); err != nil {
		t.Errorf("Open with a nil Config: %v", err)
	}
	if _, err := csv.Open(t.Context(), "", nil); err == nil {
		t.Error("Open without a path succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := csv.Open(ctx, path, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with an ended context = %v, want context.Canceled", err)
	}
}
