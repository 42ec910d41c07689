// Package csv is a hrissync.Source over a full CSV export of the HRIS, for
// the daily batch.
//
//	src, err := csv.Open(ctx, "/exports/workers.csv", &csv.Config{AsOf: exportTime})
//
// The file is streamed, in any row order (the batch takes a list in any
// order); memory grows only by the set of worker ids read, which finds an id
// given twice. Every row's version is the
// export's as-of time, which Snapshot reports with the rows, so that the
// batch can refuse an export older than the one it last read. Open checks the
// header; List checks every row, and a bad row is a *RowError naming its line
// and column — never skipped. An expected row count (a manifest beside the
// file, or a trailer row) catches a file cut at a row boundary; any error ends
// the list with that error, so the batch fails rather than taking the missing
// people for leavers.
//
// Besides the fields, a "Time Zone" column (an IANA name) and an "Immediate"
// column (true/false) say when each worker's dates take effect
// (hrissync.Employee.TimeZone and Immediate).
//
// ChangedSince yields hrissync.ErrChangedSinceUnsupported: a file export has
// no change feed, so the poll only sweeps the dirty set.
package csv

import (
	"bufio"
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
)

// DefaultColumns maps common header names (compared case-insensitively,
// ignoring spaces, dashes and underscores) to fields. It returns a new map,
// for a caller to extend.
func DefaultColumns() map[string]string {
	return map[string]string{
		"id": "id", "workerid": "id", "employeeid": "id",
		"employeenumber": hrissync.FieldEmployeeNumber, "employee#": hrissync.FieldEmployeeNumber,
		"email": hrissync.FieldEmail, "workemail": hrissync.FieldEmail,
		"firstname": hrissync.FieldGivenName, "givenname": hrissync.FieldGivenName,
		"lastname": hrissync.FieldFamilyName, "familyname": hrissync.FieldFamilyName,
		"status": hrissync.FieldStatus, "employmentstatus": hrissync.FieldStatus,
		"startdate": hrissync.FieldStartDate, "hiredate": hrissync.FieldStartDate,
		"terminationdate": hrissync.FieldTerminationDate, "lastdayworked": hrissync.FieldTerminationDate,
		"role": hrissync.FieldRole, "jobtitle": hrissync.FieldRole, "title": hrissync.FieldRole,
		"managerid": hrissync.FieldManagerID, "reportsto": hrissync.FieldManagerID,
		"department": hrissync.FieldDepartment, "location": hrissync.FieldLocation,
		"timezone": columnTimeZone, "tz": columnTimeZone,
		"immediate": columnImmediate, "immediatetermination": columnImmediate,
	}
}

// Columns that are not fields of the platform but say when the record's
// dates take effect (hrissync.Employee.TimeZone and Immediate).
const (
	columnTimeZone  = "timeZone"
	columnImmediate = "immediate"
)

// Config configures Open. Every field is optional: a nil *Config, like the
// zero value, means the defaults. (The file's path, which has no default, is
// an argument of Open.)
type Config struct {
	// Columns maps header names to fields, replacing DefaultColumns(). A
	// column named "attr.<name>" is always the attribute <name>.
	Columns map[string]string
	// IgnoreColumns lists header names to skip; any other unknown column
	// fails Open, so that a renamed column is not silently dropped.
	IgnoreColumns []string
	// AsOf is when the export was taken: every row's version. If zero,
	// AsOfColumn names a column holding it (RFC 3339), else the file's
	// modification time is used.
	AsOf       time.Time
	AsOfColumn string
	// DateLayout parses date columns; default "2006-01-02".
	DateLayout string
	// ExpectedRows, if positive, is the row count the export must have.
	// Otherwise the path + ".manifest" ({"rows": N}) is read if present, and a
	// last row whose first cell is "#rows" followed by N is a trailer.
	ExpectedRows int
	Comma        rune // default ','
}

// Source is a hrissync.Source over one CSV file. It reads the file anew on
// every call, so a new export under the same path is picked up — its header
// checked again.
type Source struct {
	path string
	cfg  Config
}

// layout is a header, and per column the field it gives ("" to skip).
type layout struct {
	header []string
	fields []string
}

var (
	_ hrissync.Source      = (*Source)(nil)
	_ hrissync.Snapshotter = (*Source)(nil)
)

// Errors.
var (
	// ErrHeader: the header lacks the id column, names a column twice, or
	// names a column that is neither mapped nor ignored.
	ErrHeader = errors.New("csv: bad header")
	// ErrRowCount: the file holds fewer (or more) rows than expected: it
	// was cut short, or the manifest belongs to another file.
	ErrRowCount = errors.New("csv: row count differs from the expected")
	// ErrDuplicate: a worker id is given on two rows: which is the
	// person's record is anybody's guess.
	ErrDuplicate = errors.New("csv: worker id given twice")
)

// RowError is a bad row: its 1-based line, the column's header name (empty
// when the row as a whole is bad), and why.
type RowError struct {
	Line   int
	Column string
	Err    error
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("csv: line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("csv: line %d, column %q: %v", e.Line, e.Column, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

func normalise(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.NewReplacer(" ", "", "-", "", "_", "").Replace(h)
}

// Open checks the header of the file at path and returns the Source. cfg may
// be nil for the defaults. ctx bounds the opening: Open returns its error if
// it has ended.
func Open(ctx context.Context, path string, cfg *Config) (*Source, error) {
	if path == "" {
		return nil, errors.New("csv: a path is required")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.DateLayout == "" {
		c.DateLayout = time.DateOnly
	}
	if c.Comma == 0 {
		c.Comma = ','
	}
	s := &Source{path: path, cfg: c}
	f, r, err := s.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if _, err := s.layout(header); err != nil {
		return nil, err
	}
	return s, nil
}

// layout checks a header against the configured columns.
func (s *Source) layout(header []string) (layout, error) {
	columns := s.cfg.Columns
	if columns == nil {
		columns = DefaultColumns()
	}
	norm := map[string]string{}
	for k, v := range columns {
		norm[normalise(k)] = v
	}
	ignore := map[string]bool{}
	for _, c := range s.cfg.IgnoreColumns {
		ignore[normalise(c)] = true
	}
	l := layout{header: slices.Clone(header), fields: make([]string, len(header))}
	seen := map[string]string{}
	var unknown []string
	for i, h := range header {
		if !utf8.ValidString(h) {
			return l, fmt.Errorf("%w: column %d is not UTF-8", ErrHeader, i+1)
		}
		n := normalise(h)
		var field string
		switch {
		case strings.HasPrefix(strings.TrimSpace(h), hrissync.AttributePrefix):
			field = strings.TrimSpace(h)
		case n == normalise(s.cfg.AsOfColumn) && s.cfg.AsOfColumn != "":
			field = "asof"
		case norm[n] != "":
			field = norm[n]
		case ignore[n]:
			continue
		default:
			unknown = append(unknown, h)
			continue
		}
		if prev, dup := seen[field]; dup {
			return l, fmt.Errorf("%w: columns %q and %q both give %s", ErrHeader, prev, h, field)
		}
		seen[field] = h
		l.fields[i] = field
	}
	if len(unknown) > 0 {
		return l, fmt.Errorf("%w: unknown columns %q (map them in Columns or list them in IgnoreColumns)", ErrHeader, unknown)
	}
	if _, ok := seen["id"]; !ok {
		return l, fmt.Errorf("%w: no worker id column (one of id, worker id, employee id)", ErrHeader)
	}
	return l, nil
}

// open opens the file and a CSV reader past any UTF-8 byte-order mark.
func (s *Source) open() (*os.File, *stdcsv.Reader, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, nil, fmt.Errorf("csv: %w", err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	r := stdcsv.NewReader(br)
	r.Comma = s.cfg.Comma
	r.ReuseRecord = true
	r.FieldsPerRecord = -1 // checked here, to name the line
	return f, r, nil
}

// expected returns the expected row count, or -1 for none.
func (s *Source) expected() (int, error) {
	if s.cfg.ExpectedRows > 0 {
		return s.cfg.ExpectedRows, nil
	}
	b, err := os.ReadFile(s.path + ".manifest")
	if errors.Is(err, os.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("csv: manifest: %w", err)
	}
	var m struct {
		Rows *int `json:"rows"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Rows == nil {
		return 0, fmt.Errorf("csv: manifest %s: want {\"rows\": N}", s.path+".manifest")
	}
	return *m.Rows, nil
}

// List implements hrissync.Source: every row, in file order — any order,
// since the batch takes a list in any order (an id given twice is an
// error).
func (s *Source) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		for e, err := range s.rows(ctx) {
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// rows streams the file, checking everything.
func (s *Source) rows(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		sc, err := s.start()
		if err != nil {
			yield(hrissync.Employee{}, err)
			return
		}
		defer sc.f.Close()
		sc.stream(ctx, yield)
	}
}

// Snapshot implements hrissync.Snapshotter: the list, and the time its rows
// are versioned with — Config.AsOf, else the AsOfColumn of the first row,
// else the file's modification time. An export with an AsOfColumn and no
// rows has no time (zero). The file is opened once, by Snapshot, so that a
// new export written to the path meanwhile cannot pair this time with its rows;
// it stays open until the list is ranged (or ctx ends first).
func (s *Source) Snapshot(ctx context.Context) (time.Time, iter.Seq2[hrissync.Employee, error], error) {
	sc, err := s.start()
	if err != nil {
		return time.Time{}, nil, err
	}
	asOf, err := sc.asOfFirst()
	if err != nil {
		sc.f.Close()
		return time.Time{}, nil, err
	}
	release := sync.OnceFunc(func() { sc.f.Close() })
	stop := context.AfterFunc(ctx, release)
	var ranged atomic.Bool
	return asOf, func(yield func(hrissync.Employee, error) bool) {
		if ranged.Swap(true) {
			yield(hrissync.Employee{}, errors.New("csv: a snapshot's list is ranged once"))
			return
		}
		if !stop() {
			yield(hrissync.Employee{}, context.Cause(ctx))
			return
		}
		defer release()
		sc.stream(ctx, yield)
	}, nil
}

// scan is one pass over the file, opened once.
type scan struct {
	s    *Source
	f    *os.File
	r    *stdcsv.Reader
	l    layout
	want int       // the expected row count, -1 for none
	asOf time.Time // the version of rows without an as-of cell
	// peeked is a row read ahead (by asOfFirst), owned, at line peekLine.
	peeked   []string
	peekLine int
}

// start opens the file and checks its header.
func (s *Source) start() (*scan, error) {
	want, err := s.expected()
	if err != nil {
		return nil, err
	}
	f, r, err := s.open()
	if err != nil {
		return nil, err
	}
	sc := &scan{s: s, f: f, r: r, want: want, asOf: s.cfg.AsOf}
	if sc.asOf.IsZero() && s.cfg.AsOfColumn == "" {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("csv: %w", err)
		}
		sc.asOf = st.ModTime()
	}
	header, err := r.Read()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if sc.l, err = s.layout(header); err != nil {
		f.Close()
		return nil, err
	}
	return sc, nil
}

// asOfFirst returns the version of the first row — what every row is
// versioned with, unless an as-of column says otherwise row by row — or,
// without rows, the file's own as-of time. A bad first row is its error.
func (sc *scan) asOfFirst() (time.Time, error) {
	rec, line, err := sc.read()
	switch {
	case err == io.EOF:
		return sc.asOf, nil
	case err != nil:
		return time.Time{}, err
	}
	sc.peeked, sc.peekLine = slices.Clone(rec), line
	if len(rec) > 0 && rec[0] == "#rows" {
		return sc.asOf, nil // the trailer of an empty export
	}
	e, err := sc.s.employee(sc.l, rec, line, sc.asOf)
	if err != nil {
		return time.Time{}, err
	}
	return e.Version.Time, nil
}

// read returns the next row and its line, io.EOF at the end, or a
// *RowError.
func (sc *scan) read() ([]string, int, error) {
	if sc.peeked != nil {
		rec, line := sc.peeked, sc.peekLine
		sc.peeked = nil
		return rec, line, nil
	}
	rec, err := sc.r.Read()
	if err == io.EOF {
		return nil, 0, err
	}
	if err != nil {
		// FieldPos is only valid after a successful read.
		line := 0
		var pe *stdcsv.ParseError
		if errors.As(err, &pe) {
			line, err = pe.Line, pe.Err
		}
		return nil, 0, &RowError{Line: line, Err: err}
	}
	line, _ := sc.r.FieldPos(0)
	return rec, line, nil
}

// stream yields every row, checking everything.
func (sc *scan) stream(ctx context.Context, yield func(hrissync.Employee, error) bool) {
	fail := func(err error) { yield(hrissync.Employee{}, err) }
	s, l := sc.s, sc.l
	n, trailer := 0, -1
	seen := map[string]int{} // worker id → its line
	for {
		rec, line, err := sc.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(err)
			return
		}
		if trailer >= 0 {
			fail(&RowError{Line: line, Err: errors.New("row after the trailer")})
			return
		}
		if len(rec) > 0 && rec[0] == "#rows" {
			if len(rec) < 2 {
				fail(&RowError{Line: line, Err: errors.New("trailer without a count")})
				return
			}
			if trailer, err = strconv.Atoi(rec[1]); err != nil || trailer < 0 {
				fail(&RowError{Line: line, Err: fmt.Errorf("trailer count %q", rec[1])})
				return
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			fail(err)
			return
		}
		e, err := s.employee(l, rec, line, sc.asOf)
		if err != nil {
			fail(err)
			return
		}
		if first, dup := seen[e.ID]; dup {
			fail(&RowError{Line: line, Column: l.header[slices.Index(l.fields, "id")], Err: fmt.Errorf("%w: %q, first on line %d", ErrDuplicate, e.ID, first)})
			return
		}
		seen[e.ID] = line
		n++
		if !yield(e, nil) {
			return
		}
	}
	want := sc.want
	if want < 0 {
		want = trailer
	}
	if want >= 0 && n != want {
		fail(fmt.Errorf("%w: read %d rows, expected %d", ErrRowCount, n, want))
	}
}

// employee turns one row into a record.
func (s *Source) employee(l layout, rec []string, line int, asOf time.Time) (hrissync.Employee, error) {
	if len(rec) != len(l.header) {
		return hrissync.Employee{}, &RowError{Line: line, Err: fmt.Errorf("%d cells, the header has %d", len(rec), len(l.header))}
	}
	e := hrissync.Employee{Version: hrtype.Version{Time: asOf}}
	for i, field := range l.fields {
		v := strings.TrimSpace(rec[i])
		if field == "" {
			continue
		}
		bad := func(err error) (hrissync.Employee, error) {
			return hrissync.Employee{}, &RowError{Line: line, Column: l.header[i], Err: err}
		}
		if !utf8.ValidString(v) {
			return bad(errors.New("not UTF-8"))
		}
		text := map[string]*string{
			hrissync.FieldEmployeeNumber: &e.EmployeeNumber, hrissync.FieldEmail: &e.Email,
			hrissync.FieldGivenName: &e.GivenName, hrissync.FieldFamilyName: &e.FamilyName,
			hrissync.FieldRole: &e.Role, hrissync.FieldManagerID: &e.ManagerID,
			hrissync.FieldDepartment: &e.Department, hrissync.FieldLocation: &e.Location,
		}
		if p, ok := text[field]; ok {
			*p = v
			continue
		}
		var err error
		switch field {
		case "id":
			if v == "" {
				return bad(errors.New("empty worker id"))
			}
			e.ID = v
		case "asof":
			if !s.cfg.AsOf.IsZero() {
				continue // Config.AsOf wins, as documented
			}
			t, perr := time.Parse(time.RFC3339, v)
			if perr != nil {
				return bad(fmt.Errorf("bad as-of time %q: want RFC 3339", v))
			}
			e.Version.Time = t
		case hrissync.FieldStatus:
			switch st := hrissync.Status(strings.ToLower(v)); st {
			case hrissync.StatusActive, hrissync.StatusLeave, hrissync.StatusSuspended, hrissync.StatusTerminated, hrissync.StatusPending:
				e.Status = st
			default:
				return bad(fmt.Errorf("unknown status %q", v))
			}
		case columnTimeZone:
			if v != "" {
				if _, lerr := time.LoadLocation(v); lerr != nil {
					return bad(fmt.Errorf("unknown time zone %q: want an IANA name such as Europe/London", v))
				}
			}
			e.TimeZone = v
		case columnImmediate:
			switch strings.ToLower(v) {
			case "", "false", "no", "n", "0":
			case "true", "yes", "y", "1":
				e.Immediate = true
			default:
				return bad(fmt.Errorf("immediate %q: want true or false", v))
			}
		case hrissync.FieldStartDate:
			e.StartDate, err = s.date(v)
		case hrissync.FieldTerminationDate:
			e.TerminationDate, err = s.date(v)
		default:
			if name, ok := strings.CutPrefix(field, hrissync.AttributePrefix); ok && v != "" {
				if e.Attributes == nil {
					e.Attributes = map[string]string{}
				}
				e.Attributes[name] = v
			}
		}
		if err != nil {
			return bad(err)
		}
	}
	if e.Status == "" {
		e.Status = hrissync.StatusActive
	}
	return e, nil
}

func (s *Source) date(v string) (hrissync.Date, error) {
	if v == "" {
		return hrissync.Date{}, nil
	}
	t, err := time.Parse(s.cfg.DateLayout, v)
	if err != nil {
		return hrissync.Date{}, fmt.Errorf("bad date %q: want %s", v, s.cfg.DateLayout)
	}
	return hrissync.DateOf(t), nil
}

// Get implements hrissync.Source by scanning the file: the batch asks only
// for the few people it is about to deprovision.
func (s *Source) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	for e, err := range s.rows(ctx) {
		if err != nil {
			return hrissync.Employee{}, err
		}
		if e.ID == id {
			return e, nil
		}
	}
	return hrissync.Employee{}, fmt.Errorf("csv: %s: %w", id, hrissync.ErrNotFound)
}

// ChangedSince implements hrissync.Source: a file has no change feed.
func (s *Source) ChangedSince(context.Context, time.Time) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		yield(hrissync.Employee{}, hrissync.ErrChangedSinceUnsupported)
	}
}
