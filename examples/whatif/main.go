// Command whatif replays an organisation's own HR history through each
// cadence (issue 31). This first slice reads and checks the inputs — the
// current export, the change history and the fault settings — and sums them
// up; the replay and its report are not built yet.
//
//	go run . -export testdata/org.csv -history testdata/changes.csv
//
// Run with -h for each input column and fault flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/csv"
)

// options are the command's flags.
type options struct {
	Export  string
	History string
	Faults  Faults
}

const usageHead = `Usage: whatif -export org.csv -history changes.csv [fault flags]

whatif will replay your organisation's HR history through each sync cadence
(batch, realtime, hybrid) and compare them. For now it reads and checks the
two files and the fault flags and sums them up: the replay is not built yet.

THE EXPORT (-export) is the current export in the CSV source's format
(connector/csv): a header row, then one row per worker. Header names are
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
hire is an error. A termination is a status change to terminated (give the
termination date as its own row if you have it).
Every bad row is reported with its line (and column), up to 20 errors.

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
	fs.StringVar(&o.Export, "export", "", "the organisation's current export, `org.csv` (CSV source format; see above)")
	fs.StringVar(&o.History, "history", "", "the change history, `changes.csv` (see above)")
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
	fmt.Fprintln(stdout, summary(people, changes, o.Faults))
	return 0
}

// summary sums the inputs up in one paragraph.
func summary(people map[string]hrissync.Employee, changes []Change, f Faults) string {
	byStatus := map[hrissync.Status]int{}
	for _, e := range people {
		byStatus[e.Status]++
	}
	byField := map[string]int{}
	terminations, hired := 0, map[string]bool{}
	var from, to time.Time
	for _, c := range changes {
		byField[c.Field]++
		if c.Field == hrissync.FieldStatus {
			switch s := hrissync.Status(strings.ToLower(c.Value)); {
			case s == hrissync.StatusTerminated:
				terminations++
			case people[c.Employee].ID == "" && hires(c.Value):
				hired[c.Employee] = true
			}
		}
		if from.IsZero() || c.Effective.Before(from) {
			from = c.Effective
		}
		if c.Effective.After(to) {
			to = c.Effective
		}
	}
	var statuses []string
	for _, s := range slices.Sorted(maps.Keys(byStatus)) {
		statuses = append(statuses, fmt.Sprintf("%d %s", byStatus[s], s))
	}
	var fields []string
	for _, name := range slices.Sorted(maps.Keys(byField)) {
		fields = append(fields, fmt.Sprintf("%s %d", name, byField[name]))
	}
	span := "no time span"
	if len(changes) > 0 {
		first, last := changes[0].Entered, changes[len(changes)-1].Entered
		span = fmt.Sprintf("entered from %s to %s (%d days), taking effect from %s to %s",
			first.Format(time.DateOnly), last.Format(time.DateOnly), int(last.Sub(first).Hours()/24)+1,
			from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	return fmt.Sprintf("The export holds %d people (%s). The history holds %d changes %s, by field: %s; "+
		"%d terminations and %d hires. Faults: %s. "+
		"The inputs are valid, but the replay through each cadence is not built yet: nothing is simulated.",
		len(people), strings.Join(statuses, ", "), len(changes), span, strings.Join(fields, ", "),
		terminations, len(hired), f)
}
