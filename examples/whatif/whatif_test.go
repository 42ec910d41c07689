package main

import (
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync/connector/csv"
)

const smallExport = `employee_id,first_name,status,job_title,manager_id
w-1,Ada,active,Manager,
w-2,Ben,active,Engineer,w-1
`

const header = "entered_at,effective_at,employee_id,field,new_value\n"

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSample(t *testing.T) {
	people, err := readExport(context.Background(), "testdata/org.csv")
	if err != nil {
		t.Fatal(err)
	}
	changes, err := readHistory("testdata/changes.csv", people)
	if err != nil {
		t.Fatal(err)
	}
	terminations, hires := 0, 0
	fields := map[string]int{}
	for _, c := range changes {
		fields[c.Field]++
		if c.Field == "status" && c.Value == "terminated" {
			terminations++
		}
		if c.Field == "status" && c.Value == "pending" {
			if _, ok := people[c.Employee]; ok {
				t.Errorf("line %d: hire of %s, who is in the export", c.Line, c.Employee)
			}
			hires++
		}
	}
	for _, tc := range []struct {
		what      string
		got, want int
	}{
		{"people", len(people), 300},
		{"changes", len(changes), 536},
		{"terminations", terminations, 17},
		{"hires", hires, 16},
		{"role changes", fields["role"], 123},
		{"manager changes", fields["managerId"], 85},
		{"skill changes", fields["attr.skill_go"] + fields["attr.skill_sql"], 91},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, tc.got, tc.want)
		}
	}
	if first, last := changes[0].Entered, changes[len(changes)-1].Entered; last.Sub(first) < 80*24*time.Hour {
		t.Errorf("the history spans %s to %s: want about three months", first, last)
	}
}

// TestSampleGenerated checks that testdata/gen.go writes the committed
// files byte for byte (it is seeded).
func TestSampleGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go run")
	}
	gen, err := filepath.Abs("testdata/gen.go")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "run", gen)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen.go: %v\n%s", err, out)
	}
	for _, name := range []string{"org.csv", "changes.csv"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("gen.go writes a %s other than the committed one: run it again in testdata", name)
		}
	}
}

// lineErr is one expected error: its line, column and kind.
type lineErr struct {
	line   int
	column string
	is     error
}

func TestHistory(t *testing.T) {
	people, err := readExport(context.Background(), write(t, "org.csv", smallExport))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		history string
		want    []lineErr // nil: valid
		changes int
	}{
		{name: "valid, date and RFC 3339, aliases", history: header +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,job title,Lead\n" +
			"2026-01-05T09:00:00Z,2026-01-05T17:00:00+01:00,w-2,Reports To,w-1\n" +
			"2026-01-06T09:00:00Z,2026-01-06T09:00:00Z,w-2,attr.skill_go,4\n" +
			"2026-01-07T09:00:00Z,2026-01-08,w-2,status,Terminated\n", changes: 4},
		{name: "backdated change allowed", history: header +
			"2026-03-05T09:00:00Z,2026-03-01,w-2,role,Lead\n", changes: 1},
		{name: "header with spaces and capitals", history: "Entered At,Effective At,Employee ID,Field,New Value\n" +
			"2026-03-05T09:00:00Z,2026-03-01,w-2,role,Lead\n", changes: 1},
		{name: "empty history", history: header, changes: 0},
		{name: "empty file", history: "", want: []lineErr{{1, "", ErrHistoryHeader}}},
		{name: "wrong header", history: "when,employee,field,value\n2026-01-05T09:00:00Z,w-2,role,Lead\n",
			want: []lineErr{{1, "", ErrHistoryHeader}}},
		{name: "columns in another order", history: "effective_at,entered_at,employee_id,field,new_value\n",
			want: []lineErr{{1, "", ErrHistoryHeader}}},
		{name: "unparsable entered_at", history: header +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,role,Lead\n" +
			"05/01/2026 09:00,2026-02-01,w-2,role,Lead\n",
			want: []lineErr{{3, "entered_at", ErrTime}}},
		{name: "unparsable effective_at", history: header +
			"2026-01-05T09:00:00Z,2026-02-30,w-2,role,Lead\n",
			want: []lineErr{{2, "effective_at", ErrTime}}},
		{name: "out of order", history: header +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,role,Lead\n" +
			"2026-01-06T09:00:00Z,2026-02-01,w-2,role,Lead\n" +
			"2026-01-05T10:00:00Z,2026-02-01,w-2,role,Lead\n" +
			"2026-01-07T09:00:00Z,2026-02-01,w-2,role,Lead\n",
			want: []lineErr{{4, "entered_at", ErrOutOfOrder}}},
		{name: "unknown person", history: header +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,role,Lead\n" +
			"2026-01-05T09:00:00Z,2026-02-01,w-9,role,Lead\n",
			want: []lineErr{{3, "employee_id", ErrUnknownEmployee}}},
		{name: "unknown field", history: header +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,salary,100\n",
			want: []lineErr{{2, "field", ErrUnknownField}}},
		{name: "the id cannot change", history: header +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,employee_id,w-3\n",
			want: []lineErr{{2, "field", ErrUnknownField}}},
		{name: "empty employee and field", history: header +
			"2026-01-05T09:00:00Z,2026-02-01,,role,Lead\n" +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,,Lead\n",
			want: []lineErr{{2, "employee_id", ErrEmpty}, {3, "field", ErrEmpty}}},
		{name: "bad status and date values", history: header +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,status,fired\n" +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,termination date,01/02/2026\n",
			want: []lineErr{{2, "new_value", ErrValue}, {3, "new_value", ErrValue}}},
		{name: "wrong cell count", history: header +
			"2026-01-05T09:00:00Z,2026-02-01,w-2,role\n",
			want: []lineErr{{2, "", nil}}},
		{name: "a quoting error, and the rows after it still checked", history: header +
			"2026-01-05T09:00:00Z,20\"26,w-2,role,Lead\n" +
			"2026-01-05T09:00:00Z,2026-02-01,w-8,role,Lead\n",
			want: []lineErr{{2, "", stdcsv.ErrBareQuote}, {3, "employee_id", ErrUnknownEmployee}}},
		{name: "hire then changes", history: header +
			"2026-01-05T09:00:00Z,2026-01-05T09:00:00Z,w-3,status,pending\n" +
			"2026-01-05T09:00:00Z,2026-01-05T09:00:00Z,w-3,first_name,Cy\n" +
			"2026-01-05T09:00:00Z,2026-01-05T09:00:00Z,w-3,manager_id,w-1\n" +
			"2026-01-05T09:00:00Z,2026-01-19,w-3,start_date,2026-01-19\n" +
			"2026-01-05T09:00:00Z,2026-01-19,w-3,status,active\n" +
			"2026-02-05T09:00:00Z,2026-03-01,w-3,role,Lead\n", changes: 6},
		{name: "changes before the hire", history: header +
			"2026-01-05T09:00:00Z,2026-01-05,w-3,first_name,Cy\n" +
			"2026-01-06T09:00:00Z,2026-01-06,w-3,status,active\n" +
			"2026-01-06T09:00:00Z,2026-01-06,w-3,role,Lead\n",
			want: []lineErr{{2, "employee_id", ErrUnknownEmployee}}},
		{name: "terminating an unknown id is no hire", history: header +
			"2026-01-05T09:00:00Z,2026-01-05,w-3,status,terminated\n",
			want: []lineErr{{2, "employee_id", ErrUnknownEmployee}}},
		{name: "a bad hire row hires nobody", history: header +
			"not a time,2026-01-05,w-3,status,active\n" +
			"2026-01-06T09:00:00Z,2026-01-06,w-3,role,Lead\n",
			want: []lineErr{{2, "entered_at", ErrTime}, {3, "employee_id", ErrUnknownEmployee}}},
		{name: "every error of a row and of the file", history: header +
			"yesterday,tomorrow,w-9,salary,1\n" +
			"2026-01-05T09:00:00Z,2026-01-05,w-2,role,Lead\n" +
			"2026-01-04T09:00:00Z,2026-01-05,w-2,role,Lead\n",
			want: []lineErr{{2, "entered_at", ErrTime}, {2, "effective_at", ErrTime}, {2, "employee_id", ErrUnknownEmployee},
				{2, "field", ErrUnknownField}, {4, "entered_at", ErrOutOfOrder}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := parseHistory(strings.NewReader(tc.history), people)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				if len(changes) != tc.changes {
					t.Fatalf("%d changes, want %d", len(changes), tc.changes)
				}
				return
			}
			if changes != nil {
				t.Errorf("changes %v given with an error", changes)
			}
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v: want *Errors", err)
			}
			if len(errs.List) != len(tc.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(errs.List), len(tc.want), err)
			}
			for i, w := range tc.want {
				var le *LineError
				if !errors.As(errs.List[i], &le) {
					t.Fatalf("error %d %v: want *LineError", i, errs.List[i])
				}
				if le.Line != w.line || le.Column != w.column || (w.is != nil && !errors.Is(le, w.is)) {
					t.Errorf("error %d: %v; want line %d, column %q, %v", i, le, w.line, w.column, w.is)
				}
			}
		})
	}
}

func TestHistoryValues(t *testing.T) {
	people, err := readExport(context.Background(), write(t, "org.csv", smallExport))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := parseHistory(strings.NewReader(header+
		"2026-01-05T09:00:00+01:00,2026-02-01,w-2,Job Title, Lead \n"), people)
	if err != nil {
		t.Fatal(err)
	}
	want := Change{
		Entered:   time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC),
		Effective: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), // a date: the start of the day, UTC
		Employee:  "w-2", Field: "role", Value: "Lead", Line: 2,
	}
	c := changes[0]
	if !c.Entered.Equal(want.Entered) || !c.Effective.Equal(want.Effective) || c.Effective.Location() != time.UTC ||
		c.Employee != want.Employee || c.Field != want.Field || c.Value != want.Value || c.Line != want.Line {
		t.Errorf("got %+v, want %+v", c, want)
	}
}

func TestHistoryErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for range 25 {
		b.WriteString("2026-01-05T09:00:00Z,2026-02-01,w-9,role,Lead\n")
	}
	_, err := parseHistory(strings.NewReader(b.String()), nil)
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.List) != maxErrors || errs.More != 5 {
		t.Fatalf("got %v; want %d errors and 5 more", err, maxErrors)
	}
	if !strings.Contains(err.Error(), "and 5 more errors") || !strings.Contains(err.Error(), "line 21,") {
		t.Errorf("error text:\n%v", err)
	}
}

func TestFaultFlags(t *testing.T) {
	files := []string{"-export", "a.csv", "-history", "b.csv"}
	for _, tc := range []struct {
		args    []string
		wantErr string // "" for none
		check   func(Faults) bool
	}{
		{args: nil, check: func(f Faults) bool { return f == Faults{} }},
		{args: []string{"-webhook-loss", "0.1", "-duplicates", "1", "-sink-error-rate", "0", "-sink-rate-limit", "50", "-source-delay", "15m",
			"-outage", "2026-03-04T02:00:00Z/40m"},
			check: func(f Faults) bool {
				return f.WebhookLoss == 0.1 && f.Duplicates == 1 && f.SinkRateLimit == 50 && f.SourceDelay == 15*time.Minute &&
					f.Outage.Start.Equal(time.Date(2026, 3, 4, 2, 0, 0, 0, time.UTC)) && f.Outage.Duration == 40*time.Minute
			}},
		{args: []string{"-webhook-loss", "1.5"}, wantErr: "-webhook-loss 1.5: want a share in [0,1]"},
		{args: []string{"-duplicates", "-0.1"}, wantErr: "-duplicates -0.1"},
		{args: []string{"-sink-error-rate", "NaN"}, wantErr: "-sink-error-rate NaN"},
		{args: []string{"-sink-rate-limit", "-1"}, wantErr: "-sink-rate-limit -1"},
		{args: []string{"-source-delay", "-5m"}, wantErr: "-source-delay -5m0s"},
		{args: []string{"-source-delay", "soon"}, wantErr: "invalid value"},
		{args: []string{"-outage", "2026-03-04T02:00:00Z"}, wantErr: "want start/duration"},
		{args: []string{"-outage", "2026-03-04 02:00/40m"}, wantErr: "want RFC 3339"},
		{args: []string{"-outage", "2026-03-04T02:00:00Z/-40m"}, wantErr: "want more than zero"},
		{args: []string{"-webhook-loss", "2", "-source-delay", "-1s"}, wantErr: "-source-delay -1s"}, // both reported
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o, err := parseArgs(append(files, tc.args...), io.Discard)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !tc.check(o.Faults) {
					t.Errorf("faults %+v", o.Faults)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v; want one containing %q", err, tc.wantErr)
			}
		})
	}
	if _, err := parseArgs(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "-export is required") || !strings.Contains(err.Error(), "-history is required") {
		t.Errorf("no files: %v", err)
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseArgs([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"entered_at", "effective_at", "employee_id", "field", "new_value", "A HIRE",
		"-webhook-loss", "-duplicates", "-sink-error-rate", "-sink-rate-limit", "-outage", "-source-delay", "attr.<name>", "A TERMINATION", "-html", "-cadences", "-batch-at", "-realtime", "-poll", "-zone", "-seed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h lacks %q", want)
		}
	}
	for col := range csv.DefaultColumns() {
		if !strings.Contains(out.String(), col) {
			t.Errorf("-h lacks the export column %q", col)
		}
	}
}

func TestRun(t *testing.T) {
	badHistory := write(t, "changes.csv", header+
		"2026-01-05T09:00:00Z,2026-02-01,w-2,role,Lead\n"+
		"2026-01-05T09:00:00Z,2026-02-01,w-7,role,Lead\n")
	badExport := write(t, "org.csv", smallExport+"w-3,Cy,gone,Engineer,w-1\n")
	goodExport := write(t, "org.csv", smallExport)
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		out, inErr string
	}{
		{"sample", []string{"-export", "testdata/org.csv", "-history", "testdata/changes.csv", "-webhook-loss", "0.05"}, 0,
			"Replayed 300 people, 536 changes", ""},
		{"bad history", []string{"-export", goodExport, "-history", badHistory}, 1, "", `line 3, column employee_id: employee not in the export`},
		{"bad export", []string{"-export", badExport, "-history", badHistory}, 1, "", `line 4`},
		{"missing file", []string{"-export", "nope.csv", "-history", badHistory}, 1, "", "nope.csv"},
		{"bad flag", []string{"-export", goodExport, "-history", badHistory, "-duplicates", "2"}, 2, "", "-duplicates 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, &stderr)
			}
			if tc.out == "" && stdout.Len() > 0 {
				t.Errorf("printed on failure:\n%s", &stdout)
			}
			if !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.inErr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			}
		})
	}
}
