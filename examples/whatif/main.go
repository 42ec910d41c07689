// Command whatif replays an organisation's own HR history through each sync
// cadence — batch-only, realtime-only, hybrid, hybrid with another poll
// interval, and the two naive references — on the simulator's fake clock
// (package sim), with the faults asked for, and compares what each costs and
// how long each change, and each leaver, took to reach the learning
// platform: as text, and as a self-contained HTML page of charts.
//
//	go run ./examples/whatif -export org.csv -history changes.csv -html report.html
//
// Run with -h for each input column and flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"bytes"
	"github.com/hrissync/hrissync/connector/csv"
)

// options are the command's flags.
type options struct {
	Export  string
	History string
	HTML    string // where to write the HTML report; none if empty
	Faults  Faults
	Plan    Plan
}

const usageHead = `Usage: whatif -export org.csv -history changes.csv [-html report.html] [flags]

whatif replays your organisation's HR history through each sync cadence —
batch-only, realtime-only, hybrid, hybrid with another poll interval, and
two naive references (a nightly push of everyone; a webhook relay) — on a
simulated clock, with the faults you ask for, and compares them: writes,
operations, audit entries, lost changes, latency by field class, and how
long each leaver kept access. Three months of a few hundred people replay
in seconds (a year of 5,000 people, in minutes); nothing is sent anywhere.

THE EXPORT (-export) is the organisation as it stood when the history
begins (an "as of" report of that day), in the CSV source's format
(connector/csv): a header row, then one row per worker. People hired during
the history are not in it. Header names are
compared case-insensitively, ignoring spaces, dashes and underscores.
Columns and the names accepted for each:
%s
  attr.<name>        an attribute (skill, rating, custom field), e.g. attr.skill_go
Status is one of active, pending, leave, suspended, terminated (default
active); dates are YYYY-MM-DD; time zone is an IANA name; immediate is
true/false. Only the id column is required; an unknown column is an error.

THE HISTORY (-history) is a CSV of changes, with exactly this header:
  entered_at,effective_at,employee_id,field,new_value
  entered_at    when the change was entered in the HR system, RFC 3339
                (2026-03-04T09:30:00Z). Rows must be in entered_at order
                (each ≥ the previous row's).
  effective_at  when the change takes effect: RFC 3339, or a date YYYY-MM-DD
                meaning the start of that day in UTC. It may be before
                entered_at: a backdated change is allowed.
  employee_id   the worker id, as in the export's id column.
  field         which field changes: any export column name above except the
                id (e.g. role, job title, manager id, status,
                termination date) or attr.<name>.
  new_value     the new value, checked as the export checks that column
                (status values, YYYY-MM-DD dates); empty clears the field.
A HIRE is a row setting status to active or pending for an id that is not
in the export; later rows may then give that id's other fields (name,
email, role, manager id, start date …). A row for an unknown id before its
hire is an error. A TERMINATION is a status change to terminated: access
must end the moment it takes effect.
A row changes the record when it takes effect (at entered_at if that is
later): from then the HR system shows it and sends its webhook, and every
latency is measured from then. Rows of one person taking effect at one
instant are one change (one webhook).
Every bad row is reported with its line (and column), up to 20 errors; a
manager id must name someone in the export or hired by then.

FLAGS:
`

// usage writes the -h text.
func usage(fs *flag.FlagSet) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, usageHead, exportColumns())
		fs.PrintDefaults()
	}
}

// exportColumns lists the CSV source's default columns by field.
func exportColumns() string {
	byField := map[string][]string{}
	for col, field := range csv.DefaultColumns() {
		byField[field] = append(byField[field], col)
	}
	var b strings.Builder
	for _, field := range slices.Sorted(maps.Keys(byField)) {
		cols := byField[field]
		slices.Sort(cols)
		fmt.Fprintf(&b, "  %-18s %s\n", field, strings.Join(cols, ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// parseArgs parses and checks the flags. It returns flag.ErrHelp for -h.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("whatif", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Export, "export", "", "the organisation as it stood when the history begins, `org.csv` (CSV source format; see above)")
	fs.StringVar(&o.History, "history", "", "the change history, `changes.csv` (see above)")
	fs.StringVar(&o.HTML, "html", "", "also write the report, with its charts, as a self-contained HTML page to `report.html`")
	o.Plan = Plan{Cadences: cadenceKeys, BatchAt: 2 * time.Hour, Poll: 4 * time.Hour, Location: time.UTC, Seed: 1}
	fs.Var(cadenceFlag{&o.Plan.Cadences}, "cadences", "the cadences to compare, some of `"+strings.Join(cadenceKeys, ",")+"`")
	fs.Func("batch-at", "the batch-only cadence's daily run, `HH:MM` in the -zone (default 02:00)", func(v string) error {
		t, err := time.Parse("15:04", v)
		if err != nil {
			return fmt.Errorf("want HH:MM, e.g. 02:00")
		}
		o.Plan.BatchAt = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		return nil
	})
	fs.Var(fieldsFlag{&o.Plan.Realtime}, "realtime", "the `fields` the hybrid cadences send at once, comma-separated (default status, termination date, role, manager id, email); the rest go with the nightly batch")
	fs.DurationVar(&o.Plan.Poll, "poll", o.Plan.Poll, "the second hybrid's fallback poll `interval` (its window: the interval plus 30 minutes)")
	fs.Func("zone", "the HR system's time zone, an IANA `name`: the batch runs at its 02:00 and days begin at its midnight (default UTC)", func(v string) error {
		loc, err := time.LoadLocation(v)
		if v == "" || v == "Local" {
			err = errors.New("not a fixed zone") // Local is the machine's: the figures would be too
		}
		if err != nil {
			return fmt.Errorf("time zone %q: want an IANA name such as Europe/Berlin", v)
		}
		o.Plan.Location = loc
		return nil
	})
	fs.Uint64Var(&o.Plan.Seed, "seed", o.Plan.Seed, "the seed of every random fault (≥ 1): the same seed, the same figures")
	fs.IntVar(&o.Plan.TerminationLimit, "termination-limit", 0, "hrissync's budget of terminations per 24 hours, held beyond it for an operator to approve (an alert says so): 0 its default, 200 or a fifth of the active accounts; `N` at most N; -1 none")
	faultFlags(fs, &o.Faults)
	fs.Usage = usage(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if o.Export == "" {
		errs = append(errs, errors.New("-export is required"))
	}
	if o.History == "" {
		errs = append(errs, errors.New("-history is required"))
	}
	if err := o.Faults.check(); err != nil {
		errs = append(errs, err)
	}
	if o.Plan.TerminationLimit < -1 {
		errs = append(errs, fmt.Errorf("-termination-limit %d: want -1 (none), 0 (the default) or a count", o.Plan.TerminationLimit))
	}
	if o.Plan.Seed == 0 {
		errs = append(errs, errors.New("-seed 0: want 1 or more"))
	}
	if o.Plan.Poll < time.Minute {
		errs = append(errs, fmt.Errorf("-poll %s: want a minute or more", o.Plan.Poll))
	}
	return o, errors.Join(errs...)
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "whatif: %v\n(run with -h for help)\n", err)
		return 2
	}
	people, err := readExport(ctx, o.Export)
	if err != nil {
		fmt.Fprintf(stderr, "whatif: %v\n", err)
		return 1
	}
	changes, err := readHistory(o.History, people)
	if err != nil {
		fmt.Fprintf(stderr, "whatif: %v\n", err)
		return 1
	}
	replay, err := timeline(people, changes, o.Plan.Location)
	if err != nil {
		fmt.Fprintf(stderr, "whatif: %s and %s:\n%v\n", o.Export, o.History, err)
		return 1
	}
	results, leavers, err := replayAll(ctx, o.Plan, replay, o.Faults)
	if err != nil {
		fmt.Fprintf(stderr, "whatif: replay: %v\n", err)
		return 1
	}
	in := describe(people, changes, replay, leavers, o.Faults, o.Plan)
	// Everything is computed before anything is written: a failure
	// leaves no half report.
	var text, page bytes.Buffer
	if err := writeText(&text, in, results); err != nil {
		fmt.Fprintf(stderr, "whatif: %v\n", err)
		return 1
	}
	if o.HTML != "" {
		if err := writeHTML(&page, in, results); err != nil {
			fmt.Fprintf(stderr, "whatif: html: %v\n", err)
			return 1
		}
		if err := writeFile(o.HTML, page.Bytes()); err != nil {
			fmt.Fprintf(stderr, "whatif: %v\n", err)
			return 1
		}
	}
	stdout.Write(text.Bytes())
	return 0
}

// writeFile writes data to path whole or not at all: to a temporary file
// beside it, then renamed over it, so that a crash or a full disk never
// leaves half a report where an older one was.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
