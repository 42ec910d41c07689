package main

import (
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/csv"
)

// The change history's columns, in this order (header names compared
// case-insensitively, ignoring spaces, dashes and underscores, as the CSV
// source compares its own).
var historyHeader = []string{"entered_at", "effective_at", "employee_id", "field", "new_value"}

// maxErrors caps the errors reported for one history, so that a user fixes
// a file in one pass without a wall of text.
const maxErrors = 20

// Change is one row of the change history.
type Change struct {
	Entered   time.Time // when the change was entered in the HR system
	Effective time.Time // when it takes effect (may be before Entered: backdated)
	Employee  string    // worker id, as in the export's id column
	Field     string    // the field as the platform names it: "role", "managerId", "attr.skill_go", …
	Value     string    // the new value ("" clears the field)
	Line      int       // 1-based line in the history file
}

// LineError is a bad history row: its line, the column's header name
// (empty when the row as a whole is bad) and why.
type LineError struct {
	Line   int
	Column string
	Err    error
}

func (e *LineError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d, column %s: %v", e.Line, e.Column, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Errors is every error found in a file, up to maxErrors, plus how many
// more there were.
type Errors struct {
	List []error
	More int
}

func (e *Errors) add(err error) {
	if len(e.List) < maxErrors {
		e.List = append(e.List, err)
	} else {
		e.More++
	}
}

func (e *Errors) Error() string {
	var b strings.Builder
	for i, err := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n… and %d more errors", e.More)
	}
	return b.String()
}

// Errors of the history, wrapped in *LineError.
var (
	ErrHistoryHeader   = errors.New("bad history header")
	ErrTime            = errors.New("unparsable time")
	ErrOutOfOrder      = errors.New("entered_at before the previous row's")
	ErrUnknownEmployee = errors.New("employee not in the export nor hired earlier in the history")
	ErrUnknownField    = errors.New("unknown field")
	ErrEmpty           = errors.New("empty")
	ErrValue           = errors.New("bad value")
)

// fieldNames maps every name a history may give a field (the export's
// column names as csv.DefaultColumns knows them, and the platform's own
// field names), normalised, to the platform's field name. The worker id
// itself cannot change.
func fieldNames() map[string]string {
	m := map[string]string{}
	for col, field := range csv.DefaultColumns() {
		if field == "id" {
			continue
		}
		m[normalise(col)] = field
		m[normalise(field)] = field
	}
	return m
}

func normalise(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.NewReplacer(" ", "", "-", "", "_", "").Replace(h)
}

// hires reports whether a status value hires an unknown id.
func hires(status string) bool {
	s := hrissync.Status(strings.ToLower(status))
	return s == hrissync.StatusActive || s == hrissync.StatusPending
}

// readHistory reads and checks the change history at path against the
// export's people. It returns every change, or an *Errors naming each bad
// row's line (never a partial list).
func readHistory(path string, people map[string]hrissync.Employee) ([]Change, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	changes, err := parseHistory(f, people)
	if err != nil {
		return nil, fmt.Errorf("history %s:\n%w", path, err)
	}
	return changes, nil
}

// parseHistory is readHistory over a reader.
func parseHistory(r io.Reader, people map[string]hrissync.Employee) ([]Change, error) {
	cr := stdcsv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, with the line
	var errs Errors
	header, err := cr.Read()
	if err == io.EOF {
		errs.add(&LineError{Line: 1, Err: fmt.Errorf("%w: the file is empty; want %s", ErrHistoryHeader, strings.Join(historyHeader, ","))})
		return nil, &errs
	}
	if err != nil {
		return nil, &Errors{List: []error{csvError(err)}}
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	}
	if !slices.EqualFunc(header, historyHeader, func(a, b string) bool { return normalise(a) == normalise(b) }) {
		errs.add(&LineError{Line: 1, Err: fmt.Errorf("%w %q: want %s", ErrHistoryHeader, header, strings.Join(historyHeader, ","))})
		return nil, &errs
	}
	names := fieldNames()
	hired := map[string]int{} // id → the line hiring them
	var changes []Change
	var prev time.Time // the last well-formed entered_at
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs.add(csvError(err))
			if _, isParse := errors.AsType[*stdcsv.ParseError](err); isParse {
				continue // a quoting error: the reader resumes past it
			}
			break
		}
		line, _ := cr.FieldPos(0)
		var rowErrs [5]error // by column, reported in column order
		bad := func(col int, err error) {
			rowErrs[col] = &LineError{Line: line, Column: historyHeader[col], Err: err}
		}
		if len(rec) != len(historyHeader) {
			errs.add(&LineError{Line: line, Err: fmt.Errorf("%d cells, the header has %d", len(rec), len(historyHeader))})
			continue
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		c := Change{Employee: rec[2], Value: rec[4], Line: line}
		ok := true
		if c.Entered, err = time.Parse(time.RFC3339, rec[0]); err != nil {
			bad(0, fmt.Errorf("%w %q: want RFC 3339, e.g. 2026-03-04T09:30:00Z", ErrTime, rec[0]))
			ok = false
		} else {
			if c.Entered.Before(prev) {
				bad(0, fmt.Errorf("%w (%s): the history must be sorted by entered_at", ErrOutOfOrder, prev.Format(time.RFC3339)))
				ok = false
			}
			prev = c.Entered
		}
		if c.Effective, err = parseEffective(rec[1]); err != nil {
			bad(1, fmt.Errorf("%w %q: want RFC 3339 or a date YYYY-MM-DD", ErrTime, rec[1]))
			ok = false
		}
		field, known := names[normalise(rec[3])]
		switch {
		case rec[3] == "":
			bad(3, fmt.Errorf("%w field", ErrEmpty))
			ok = false
		case strings.HasPrefix(rec[3], hrissync.AttributePrefix) && len(rec[3]) > len(hrissync.AttributePrefix):
			field = rec[3]
		case !known:
			bad(3, fmt.Errorf("%w %q: want an export column (see -h) or attr.<name>", ErrUnknownField, rec[3]))
			ok = false
		}
		c.Field = field
		if field != "" {
			if err := checkValue(field, c.Value); err != nil {
				bad(4, err)
				ok = false
			}
		}
		switch _, inExport := people[c.Employee]; {
		case c.Employee == "":
			bad(2, fmt.Errorf("%w employee id", ErrEmpty))
			ok = false
		case inExport:
		case hired[c.Employee] > 0:
		case field == hrissync.FieldStatus && hires(c.Value):
			if ok {
				hired[c.Employee] = line
			}
		default:
			bad(2, fmt.Errorf("%w: %q (a hire is a status change to active or pending, before any other row for the id)", ErrUnknownEmployee, c.Employee))
			ok = false
		}
		for _, err := range rowErrs {
			if err != nil {
				errs.add(err)
			}
		}
		if ok {
			changes = append(changes, c)
		}
	}
	if len(errs.List) > 0 {
		return nil, &errs
	}
	return changes, nil
}

// csvError turns an encoding/csv error into a *LineError.
func csvError(err error) error {
	var pe *stdcsv.ParseError
	if errors.As(err, &pe) {
		return &LineError{Line: pe.Line, Err: pe.Err}
	}
	return err
}

// parseEffective reads an effective_at: RFC 3339, or a date YYYY-MM-DD
// taking effect at the start of that day in UTC.
func parseEffective(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, v)
}

// checkValue checks a new value the way the CSV source checks the column.
func checkValue(field, v string) error {
	switch field {
	case hrissync.FieldStatus:
		switch hrissync.Status(strings.ToLower(v)) {
		case hrissync.StatusActive, hrissync.StatusLeave, hrissync.StatusSuspended, hrissync.StatusTerminated, hrissync.StatusPending:
			return nil
		}
		return fmt.Errorf("%w: unknown status %q: want active, pending, leave, suspended or terminated", ErrValue, v)
	case hrissync.FieldStartDate, hrissync.FieldTerminationDate:
		if v == "" {
			return nil
		}
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return fmt.Errorf("%w: date %q: want YYYY-MM-DD", ErrValue, v)
		}
	case "timeZone":
		if v == "" {
			return nil
		}
		if _, err := time.LoadLocation(v); err != nil {
			return fmt.Errorf("%w: unknown time zone %q: want an IANA name", ErrValue, v)
		}
	case "immediate":
		switch strings.ToLower(v) {
		case "", "false", "no", "n", "0", "true", "yes", "y", "1":
			return nil
		}
		return fmt.Errorf("%w: immediate %q: want true or false", ErrValue, v)
	}
	return nil
}
