package bamboohrtest

import (
	"strconv"
	"strings"
)

// fieldDef is one employee field the fake knows.
type fieldDef struct {
	key      string // canonical storage key: the API field name, or the custom field's id
	id       string // meta/fields "id"
	name     string // English display name (meta/fields "name"; field-based webhook default)
	alias    string // meta/fields "alias" (the API field name for standard fields)
	typ      string // meta/fields "type"
	readOnly bool   // computed by the fake (lastChanged)
	custom   bool
}

// standardFields are the standard fields the fake models.
//
// API names and types: https://documentation.bamboohr.com/docs/list-of-field-names
// (and the field type page https://documentation.bamboohr.com/docs/field-types).
// English names: where the field is in the "monitorable fields" list of
// https://documentation.bamboohr.com/docs/webhooks ("Employee #", "First Name",
// "Reporting to", ...) that name is used; for the rest the docs give none and
// the fake uses a plain English label.
//
// Numeric ids: the docs publish no ids for standard fields (List Fields,
// GET /api/v1/meta/fields, only says "for top-level fields it may be an
// integer"); the fake numbers them 1, 2, 3, ... in this order. They are NOT
// BambooHR's real ids.
var standardFields = []fieldDef{
	{key: "employeeNumber", name: "Employee #", typ: "text"},
	{key: "firstName", name: "First Name", typ: "text"},
	{key: "lastName", name: "Last Name", typ: "text"},
	{key: "preferredName", name: "Preferred Name", typ: "text"},
	{key: "middleName", name: "Middle Name", typ: "text"},
	{key: "workEmail", name: "Work Email", typ: "email"},
	{key: "homeEmail", name: "Home Email", typ: "email"},
	{key: "status", name: "Status", typ: "status"},
	{key: "employmentHistoryStatus", name: "Employment Status", typ: "list"},
	{key: "hireDate", name: "Hire Date", typ: "date"},
	{key: "originalHireDate", name: "Original Hire Date", typ: "date"},
	{key: "terminationDate", name: "Termination Date", typ: "date"},
	{key: "jobTitle", name: "Job Title", typ: "list"},
	{key: "department", name: "Department", typ: "list"},
	{key: "division", name: "Division", typ: "list"},
	{key: "location", name: "Location", typ: "list"},
	{key: "supervisor", name: "Reporting to", typ: "employee"},
	{key: "supervisorId", name: "Supervisor ID", typ: "text"},
	{key: "supervisorEId", name: "Supervisor EID", typ: "text"},
	{key: "supervisorEmail", name: "Supervisor Email", typ: "email"},
	{key: "mobilePhone", name: "Mobile Phone", typ: "phone"},
	{key: "workPhone", name: "Work Phone", typ: "phone"},
	{key: "photoUrl", name: "Photo URL", typ: "text"},
	{key: "lastChanged", name: "Last Changed", typ: "timestamp", readOnly: true},
}

func init() {
	for i := range standardFields {
		standardFields[i].id = strconv.Itoa(i + 1)
		standardFields[i].alias = standardFields[i].key
	}
}

// listFieldMap maps the List Employees endpoint's field names (the
// GetEmployeesEmployeeResponse schema of the OpenAPI) to the fake's storage
// keys. The OpenAPI gives no mapping; these are the obvious pairs
// (jobTitleName = the current job title, departmentName = department, ...).
// reportsToId is mapped to supervisorId: the docs' field list does not say
// which of supervisorId/supervisorEId holds the manager's employee id; the
// fake picks supervisorId.
var listFieldMap = map[string]string{
	"firstName":            "firstName",
	"lastName":             "lastName",
	"preferredName":        "preferredName",
	"photoUrl":             "photoUrl",
	"jobTitleName":         "jobTitle",
	"status":               "status",
	"workEmail":            "workEmail",
	"homeEmail":            "homeEmail",
	"middleName":           "middleName",
	"workPhone":            "workPhone",
	"mobilePhone":          "mobilePhone",
	"hireDate":             "hireDate",
	"divisionName":         "division",
	"departmentName":       "department",
	"locationName":         "location",
	"employmentStatusName": "employmentHistoryStatus",
	"reportsToName":        "supervisor",
	"reportsToId":          "supervisorId",
}

// listDefaultFields are always present on List Employees records
// (GetEmployeesEmployeeBaseResponse in the OpenAPI), besides employeeId and
// _restrictedFields.
var listDefaultFields = []string{"firstName", "lastName", "preferredName", "photoUrl", "jobTitleName", "status"}

// listOptionalFields is the `fields` enum of List Employees in the OpenAPI.
// Names in the enum the fake does not store (bestEmail, skypeUsername, ids of
// list values, ...) are answered with null.
var listOptionalFields = map[string]bool{
	"workEmail": true, "homeEmail": true, "bestEmail": true, "middleName": true,
	"workPhone": true, "workPhoneExtension": true, "mobilePhone": true, "homePhone": true,
	"skypeUsername": true, "linkedinUrl": true, "facebookUrl": true, "instagramUrl": true,
	"twitterUrl": true, "pinterestUrl": true, "birthDate": true, "hireDate": true,
	"divisionName": true, "divisionId": true, "departmentName": true, "departmentId": true,
	"locationName": true, "locationId": true, "jobTitleId": true, "employmentStatusName": true,
	"employmentStatusId": true, "reportsToName": true, "reportsToId": true,
}

// resolveLocked finds a field by API name, alias or id. Caller holds s.mu.
func (s *Server) resolveLocked(name string) *fieldDef {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	for i := range standardFields {
		f := &standardFields[i]
		if f.key == name || f.id == name {
			return f
		}
	}
	for i := range s.custom {
		f := &s.custom[i]
		if f.id == name || (f.alias != "" && f.alias == name) {
			return f
		}
	}
	return nil
}
