package hrissync_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// Departments renamed by HR keep their group: the rule's code comes from the
// HRIS's own department ids, the display name from the name.
var deptIDs = map[string]string{"R&D": "d-10", "Research & Development": "d-10", "Sales": "d-20"}

func groupRules() []hrissync.GroupRule {
	return []hrissync.GroupRule{
		hrissync.ByValue("department", hrissync.FieldDepartment, func(name string) string { return deptIDs[name] }),
		hrissync.When("managers", hrissync.FieldRole, "Managers", func(e hrissync.Employee) bool { return strings.Contains(e.Role, "Manager") }),
	}
}

// Group membership is a field of the desired record: written, audited and
// planned like any field, the code kept through a rename, and following the
// cadence class of the field it is derived from.
func TestGroupsAreFieldsOfTheRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		c := newConversion(t) // an in-memory HRIS, platform and Store, engines run in the bubble
		c.runWith(nil, hrissync.Config{Groups: groupRules()})
		c.put(hrissync.Employee{ID: "w-1", Email: "a@example.com", Status: hrissync.StatusActive, Role: "Engineer", Department: "R&D"})
		group := func(rule string) (code, name string) {
			a, _ := c.platform.Account("w-1")
			return hrissync.ParseGroupRef(a.Fields[hrissync.GroupPrefix+rule])
		}
		if code, name := group("department"); code != "department:d-10" || name != "R&D" {
			t.Fatalf("department group %q %q, want department:d-10, R&D", code, name)
		}
		if code, _ := group("managers"); code != "" {
			t.Fatalf("an engineer in the managers group %q", code)
		}

		// A rename keeps the code; the plan shows it as the group field's
		// change.
		c.hris.Update("rename", "w-1", func(e *hrissync.Employee) { e.Department = "Research & Development" })
		plan, err := c.eng.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if plan.ByField[hrissync.GroupPrefix+"department"] != 1 {
			t.Errorf("plan by field %v, want the group's change", plan.ByField)
		}
		c.batch()
		if code, name := group("department"); code != "department:d-10" || name != "Research & Development" {
			t.Errorf("after the rename: %q %q, want the same code, the new name", code, name)
		}

		// A promotion and a move together, told by webhook: role is
		// realtime under the hybrid policy and department batch, and so
		// are the groups that follow them.
		e, _ := c.hris.Employee("w-1")
		e.Role, e.Department = "Engineering Manager", "Sales"
		c.put(e)
		if code, name := group("managers"); code != "managers" || name != "Managers" {
			t.Errorf("after the promotion, by webhook: managers group %q %q", code, name)
		}
		if code, _ := group("department"); code != "department:d-10" {
			t.Errorf("after the move, by webhook: department group %q, want it left for the batch", code)
		}
		c.batch()
		if code, name := group("department"); code != "department:d-20" || name != "Sales" {
			t.Errorf("after the batch: department group %q %q", code, name)
		}
		var joined bool
		for _, e := range c.audit.Entries() {
			for _, ch := range e.Changes {
				if ch.Field == hrissync.GroupPrefix+"managers" && ch.Old == "" && strings.HasPrefix(ch.New, "managers") {
					joined = true
				}
			}
		}
		if !joined {
			t.Error("the audit log does not show w-1 joining the managers")
		}
	})
}

func TestGroupRulesAreChecked(t *testing.T) {
	for _, rules := range [][]hrissync.GroupRule{
		{{Name: "", Field: "department", Group: func(hrissync.Employee) (string, string) { return "", "" }}},
		{{Name: "a b", Field: "department", Group: func(hrissync.Employee) (string, string) { return "", "" }}},
		{{Name: "d", Field: "department"}},
		{{Name: "d", Group: func(hrissync.Employee) (string, string) { return "", "" }}},
		{hrissync.ByValue("d", "department", nil), hrissync.ByValue("d", "role", nil)},
	} {
		if _, err := hrissync.New(memory.NewHRIS(hrissync.RealClock{}, 1), memory.NewPlatform(hrissync.RealClock{}, 1), memstore.New(),
			&hrissync.Config{Groups: rules}); err == nil {
			t.Errorf("New with group rules %+v: no error", rules)
		}
	}
}

// Field reads what Fields holds, one field at a time.
func TestFieldAgreesWithFields(t *testing.T) {
	e := hrissync.Employee{ID: "w-1", EmployeeNumber: "7", Email: "a@example.com", GivenName: "A", FamilyName: "B",
		Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2020, 1, 6), TerminationDate: hrissync.NewDate(2026, 1, 2),
		Role: "R", ManagerID: "w-0", Department: "D", Location: "L", Attributes: map[string]string{"skill.go": "4"}}
	for k, v := range e.Fields() {
		if got := e.Field(k); got != v {
			t.Errorf("Field(%q) = %q, Fields holds %q", k, got, v)
		}
	}
	if got := e.Field("nothing"); got != "" {
		t.Errorf("Field of an unknown name = %q", got)
	}
}
