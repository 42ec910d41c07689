package hrissync

import (
	"encoding/json"
	"time"

	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/internal/strictjson"
)

// employeeJSON is Employee's JSON shape (see Employee). It is apart from
// Employee so that the Go field names stay free to change, and so that
// hrtype.Version, which stores marshal as they always have, needs no JSON
// methods of its own.
type employeeJSON struct {
	ID              string            `json:"id"`
	EmployeeNumber  string            `json:"employeeNumber,omitempty"`
	Email           string            `json:"email,omitempty"`
	GivenName       string            `json:"givenName,omitempty"`
	FamilyName      string            `json:"familyName,omitempty"`
	Status          Status            `json:"status,omitempty"`
	StartDate       Date              `json:"startDate,omitzero"`
	TerminationDate Date              `json:"terminationDate,omitzero"`
	Role            string            `json:"role,omitempty"`
	ManagerID       string            `json:"managerId,omitempty"`
	Department      string            `json:"department,omitempty"`
	Location        string            `json:"location,omitempty"`
	Attributes      map[string]string `json:"attributes,omitempty"`
	Immediate       bool              `json:"immediate,omitempty"`
	TimeZone        string            `json:"timeZone,omitempty"`
	PreviousIDs     []string          `json:"previousIds,omitempty"`
	Version         string            `json:"version,omitempty"`    // RFC 3339
	VersionSeq      int64             `json:"versionSeq,omitempty"` // Version.Seq
}

// MarshalJSON encodes e in the shape the Employee doc shows.
func (e Employee) MarshalJSON() ([]byte, error) {
	j := employeeJSON{
		ID: e.ID, EmployeeNumber: e.EmployeeNumber, Email: e.Email, GivenName: e.GivenName, FamilyName: e.FamilyName,
		Status: e.Status, StartDate: e.StartDate, TerminationDate: e.TerminationDate, Role: e.Role,
		ManagerID: e.ManagerID, Department: e.Department, Location: e.Location, Attributes: e.Attributes,
		Immediate: e.Immediate, TimeZone: e.TimeZone, PreviousIDs: e.PreviousIDs, VersionSeq: e.Version.Seq,
	}
	if !e.Version.Time.IsZero() {
		j.Version = e.Version.Time.Format(time.RFC3339Nano) // RFC 3339, with sub-seconds only when there are some
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the shape the Employee doc shows, strictly: a name
// not in it, given twice, or spelt in another case is refused, and errors
// name the field, never its value.
func (e *Employee) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil // encoding/json's convention: null leaves a value alone
	}
	var j employeeJSON
	if err := strictjson.Decode(data, &j); err != nil {
		return err
	}
	var v hrtype.Version
	if j.Version != "" {
		t, err := time.Parse(time.RFC3339Nano, j.Version)
		if err != nil {
			return &strictjson.Error{Path: "version", Reason: "not an RFC 3339 time"}
		}
		v.Time = t
	}
	v.Seq = j.VersionSeq
	*e = Employee{
		ID: j.ID, EmployeeNumber: j.EmployeeNumber, Email: j.Email, GivenName: j.GivenName, FamilyName: j.FamilyName,
		Status: j.Status, StartDate: j.StartDate, TerminationDate: j.TerminationDate, Role: j.Role,
		ManagerID: j.ManagerID, Department: j.Department, Location: j.Location, Attributes: j.Attributes,
		Immediate: j.Immediate, TimeZone: j.TimeZone, PreviousIDs: j.PreviousIDs, Version: v,
	}
	return nil
}

// MarshalText formats d as YYYY-MM-DD, the zero Date as "".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses YYYY-MM-DD, "" as the zero Date. Its error does not
// repeat the text.
func (d *Date) UnmarshalText(b []byte) error {
	p, err := ParseDate(string(b))
	if err != nil {
		return &strictjson.Error{Reason: "not a date YYYY-MM-DD"}
	}
	*d = p
	return nil
}
