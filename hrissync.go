// Package hrissync keeps a learning platform (LMS / LXP) in step with the HR
// system of record (HRIS).
//
// One reconciler, three triggers. For each person the engine compares the
// desired state — the HR record, mapped and scoped by the host, evaluated at
// "now" — with the state it last applied to the learning platform, and when
// they differ makes one coalesced write to the Sink, committing the new applied
// state and its audit entries together. Three triggers call it: a webhook
// (Notify) for status changes within seconds, an hourly fallback poll for
// webhooks that never came, and a daily batch for routine attributes. Which
// fields travel when is a cadence.Policy; cadence.Hybrid is the default.
//
// The pieces a host provides are small interfaces: a Source (the HRIS), a Sink
// (the learning platform) and a Store (the engine's memory: the embedded
// default is store/sqlite, store/memory is for tests). Everything else — the
// Dispatcher, the Clock, the Auditor, the Alerter — has a default.
//
//	eng, err := hrissync.New(hris, platform, store, &hrissync.Config{
//		Policy:   cadence.Hybrid(),
//		Location: newYork,
//	})
//	...
//	go eng.Run(ctx)                    // realtime workers, hourly poll, 02:00 batch
//	err = eng.Notify(ctx, event)       // from the webhook handler: durable on return
//
// The engine is level-triggered: an event only says "look at this person
// now", so duplicated, replayed, late or reordered events cannot regress
// anything, and a person whose write failed stays dirty until some trigger
// succeeds.
package hrissync

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// Status is a person's employment status in the HRIS.
type Status string

// Employment statuses.
const (
	StatusPending    Status = "pending"    // hired, not started yet
	StatusActive     Status = "active"     // working
	StatusLeave      Status = "leave"      // on leave: keeps access to learning
	StatusSuspended  Status = "suspended"  // suspended: no access while it lasts
	StatusTerminated Status = "terminated" // left
)

// Field names: the keys of Fields, of Change.Field and of a cadence.Policy.
// Attributes are fields named AttributePrefix + the attribute's name.
const (
	FieldEmployeeNumber  = "employeeNumber"
	FieldEmail           = "email"
	FieldGivenName       = "givenName"
	FieldFamilyName      = "familyName"
	FieldStatus          = "status"
	FieldStartDate       = "startDate"
	FieldTerminationDate = "terminationDate"
	FieldRole            = "role"
	FieldManagerID       = "managerId"
	FieldDepartment      = "department"
	FieldLocation        = "location"
	AttributePrefix      = "attr."
)

// Employee is one person's HR record as the Source reports it.
//
// In JSON (a webhook's record, a file) it has one shape, camelCase, each
// empty field left out but id, dates as YYYY-MM-DD, the Version as an RFC
// 3339 time (with sub-seconds when it has some) and its Seq:
//
//	{
//	  "id": "w-000042", "employeeNumber": "42", "email": "ada@example.com",
//	  "givenName": "Ada", "familyName": "Lovelace", "status": "active",
//	  "startDate": "2026-01-05", "terminationDate": "2026-06-30",
//	  "role": "Engineer", "managerId": "w-000007", "department": "R&D",
//	  "location": "London", "attributes": {"skill.go": "4"},
//	  "immediate": true, "timeZone": "Europe/London",
//	  "version": "2026-03-02T09:15:00.5Z", "versionSeq": 3
//	}
//
// Decoding is strict: a name not in the shape, given twice, or spelt in
// another case ("Email") is refused, and errors name the field, never its
// value.
type Employee struct {
	// ID is the HRIS worker id, the key everywhere. A person HR re-keys
	// (a contractor converted to an employee, a move between HR systems)
	// keeps their account by naming the old id in PreviousIDs.
	ID             string
	EmployeeNumber string
	Email          string
	GivenName      string
	FamilyName     string
	Status         Status
	StartDate      Date // first day of work
	// TerminationDate is the last day worked. Access ends at the end of that
	// day in the person's time zone (Config.Cutover can make it the start;
	// Immediate, at once). A start date after it is a rehire: the date
	// ended an earlier employment, and access returns before the new start
	// as for any hire (docs/design.md §5.12).
	TerminationDate Date
	Role            string
	ManagerID       string // the manager's ID, empty for none
	Department      string
	Location        string
	// Attributes holds skill ratings, performance ratings and custom
	// fields, by name without AttributePrefix.
	Attributes map[string]string
	// Immediate marks the termination as taking effect at once (for
	// cause, say) rather than at the cutover of the last day worked. It
	// qualifies the termination the record carries — status terminated or
	// a termination date — and leaves Status alone, so that a Map or an
	// InScope comparing with StatusTerminated needs no new case. Set on a
	// record with no termination, it contradicts the record and gives no
	// access. Config.Immediate lets the host mark terminations by its own
	// rule (a reason code).
	Immediate bool
	// TimeZone is the IANA name of the zone the person works in
	// ("Australia/Sydney"): their dates begin and end in it. Empty means
	// Config.Location; a name not recognised falls back to Config.Location
	// and is reported with the record's contradictions.
	TimeZone string
	// PreviousIDs are worker ids the HRIS knew this person by before, most
	// recent first. A person with no account whose account is still bound
	// to one of them inherits it — re-keyed, not provisioned twice — and
	// the old id's own record (terminated, or gone) no longer touches it
	// (docs/design.md §5.1).
	PreviousIDs []string
	// Version orders observations of this record (docs/design.md §5.2).
	Version hrtype.Version
}

// Fields is a record as the learning platform sees it: field name to value.
// An empty value clears the platform's value; an absent field is left alone.
type Fields map[string]string

// Fields returns the default mapping of e: every standard field under its
// Field name (empty when HR has no value, so that clearing a value in HR —
// a rehire's old termination date — clears it in the platform), dates as
// YYYY-MM-DD, and each attribute under AttributePrefix + name. An attribute
// removed from the record is left alone in the platform. Immediate and
// TimeZone are not fields: they say when the dates take effect, which the
// platform sees as the account's activity and effective status.
func (e Employee) Fields() Fields {
	f := Fields{
		FieldEmployeeNumber:  e.EmployeeNumber,
		FieldEmail:           e.Email,
		FieldGivenName:       e.GivenName,
		FieldFamilyName:      e.FamilyName,
		FieldStatus:          string(e.Status),
		FieldStartDate:       e.StartDate.String(),
		FieldTerminationDate: e.TerminationDate.String(),
		FieldRole:            e.Role,
		FieldManagerID:       e.ManagerID,
		FieldDepartment:      e.Department,
		FieldLocation:        e.Location,
	}
	for k, v := range e.Attributes {
		f[AttributePrefix+k] = v
	}
	return f
}

// Field returns one field of e as Fields names it ("" for none), without
// building the whole map: what a rule reading one field needs.
func (e Employee) Field(name string) string {
	switch name {
	case FieldEmployeeNumber:
		return e.EmployeeNumber
	case FieldEmail:
		return e.Email
	case FieldGivenName:
		return e.GivenName
	case FieldFamilyName:
		return e.FamilyName
	case FieldStatus:
		return string(e.Status)
	case FieldStartDate:
		return e.StartDate.String()
	case FieldTerminationDate:
		return e.TerminationDate.String()
	case FieldRole:
		return e.Role
	case FieldManagerID:
		return e.ManagerID
	case FieldDepartment:
		return e.Department
	case FieldLocation:
		return e.Location
	}
	if k, ok := strings.CutPrefix(name, AttributePrefix); ok {
		return e.Attributes[k]
	}
	return ""
}

// Clone returns a deep copy of e.
func (e Employee) Clone() Employee {
	e.Attributes = maps.Clone(e.Attributes)
	e.PreviousIDs = slices.Clone(e.PreviousIDs)
	return e
}

// Date is a civil date, without a time zone: HR dates (start, last day worked)
// are days in the person's time zone (Employee.TimeZone, else the HR time
// zone), not instants.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d.
func NewDate(y int, m time.Month, d int) Date { return Date{y, m, d} }

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "YYYY-MM-DD"; the empty string is the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("hrissync: bad date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Start is the first instant of d in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Errors of the protocol between the engine and its connectors.
var (
	// ErrNotFound: the Source holds no such person (Get), or the Store no
	// such batch run. It is store.ErrNotFound: one error for both sides.
	ErrNotFound = store.ErrNotFound
	// ErrChangedSinceUnsupported: the Source cannot list recent changes
	// (a file export, an API without a "changed since" filter); the poll
	// then lists everyone and reconciles those whose record's digest
	// changed (docs/design.md §5.17).
	ErrChangedSinceUnsupported = errors.New("hrissync: source cannot list changes since a time")
)

// MissingManagerError is returned by a Sink when a write refers to a manager
// the platform does not hold yet. The engine provisions the manager first and
// tries again.
type MissingManagerError struct {
	EmployeeID, ManagerID string
}

func (e *MissingManagerError) Error() string {
	return fmt.Sprintf("hrissync: manager %q of %q is not in the learning platform yet", e.ManagerID, e.EmployeeID)
}

// ManagerCycleError reports people whose managers form a loop, so that none
// of them can be provisioned after their manager. The engine provisions the
// first without its manager reference, which a later reconcile sets.
type ManagerCycleError struct {
	Cycle []string // the IDs in the loop, starting with the one reconciled
}

func (e *ManagerCycleError) Error() string {
	return "hrissync: manager cycle " + strings.Join(e.Cycle, " → ")
}
