package hrissync_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
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
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	log := &audit.Memory{}
	eng, err := hrissync.New(hris, platform, memstore.New(), &hrissync.Config{
		Groups: groupRules(), Auditor: log, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	hris.Load(hrissync.Employee{ID: "w-1", Email: "a@example.com", Status: hrissync.StatusActive, Role: "Engineer", Department: "R&D"})
	if err := eng.Reconcile(ctx, "w-1"); err != nil {
		t.Fatal(err)
	}
	group := func(rule string) (code, name string) {
		a, _ := platform.Account("w-1")
		return hrissync.ParseGroupRef(a.Fields[hrissync.GroupPrefix+rule])
	}
	if code, name := group("department"); code != "department:d-10" || name != "R&D" {
		t.Fatalf("department group %q %q, want department:d-10, R&D", code, name)
	}
	if code, _ := group("managers"); code != "" {
		t.Fatalf("an engineer in the managers group %q", code)
	}

	// A rename keeps the code; the plan shows it as the group field's change.
	hris.Update("rename", "w-1", func(e *hrissync.Employee) { e.Department = "Research & Development" })
	plan, err := eng.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if plan.ByField[hrissync.GroupPrefix+"department"] != 1 {
		t.Errorf("plan by field %v, want the group's change", plan.ByField)
	}
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if code, name := group("department"); code != "department:d-10" || name != "Research & Development" {
		t.Errorf("after the rename: %q %q, want the same code, the new name", code, name)
	}

	// A promotion: role is realtime under the hybrid policy, and so is the
	// managers group that follows it.
	pol := cadence.Hybrid()
	if pol.Class(hrissync.FieldRole) != cadence.Realtime {
		t.Fatal("role is not realtime under the hybrid policy")
	}
	hris.Update("promotion", "w-1", func(e *hrissync.Employee) { e.Role = "Engineering Manager" })
	if err := eng.Reconcile(ctx, "w-1"); err != nil { // a webhook: realtime classes only
		t.Fatal(err)
	}
	if code, name := group("managers"); code != "managers" || name != "Managers" {
		t.Errorf("after the promotion, by webhook: managers group %q %q", code, name)
	}
	var joined bool
	for _, e := range log.Entries() {
		for _, c := range e.Changes {
			if c.Field == hrissync.GroupPrefix+"managers" && c.Old == "" && strings.HasPrefix(c.New, "managers") {
				joined = true
			}
		}
	}
	if !joined {
		t.Error("the audit log does not show w-1 joining the managers")
	}
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
