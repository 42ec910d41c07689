package hrissync

import (
	"fmt"
	"strings"

	"github.com/hrissync/hrissync/store"
)

// Audiences (docs/design.md §2.6). Learning platforms assign learning paths,
// compliance courses and catalogues to groups; keeping those groups in step
// with the HRIS is why many teams sync department and role at all. A
// GroupRule puts each person in at most one group of the rule, by their
// record, and the membership travels as a field of the desired record —
// GroupPrefix and the rule's name — so that it is versioned, applied,
// audited, planned and explained like any field, and follows the cadence
// class of the field it is derived from. The field's value names the group
// by a stable code and a display name (GroupRef): renaming a department
// changes the name and keeps the code, and with it the group's id at the
// platform and the learning paths assigned to it. The Sink does the rest (the
// SCIM sink keeps Groups; see its package doc).

// GroupPrefix begins the name of a field that carries a person's membership
// of one group of a group rule: "group.department".
const GroupPrefix = "group."

// GroupRef is the value of a group field: the group's stable code (its id,
// which a rename keeps) and its display name, joined; "" is no group.
func GroupRef(code, name string) string {
	if code == "" {
		return ""
	}
	return code + "\x1f" + name
}

// ParseGroupRef splits a group field's value into the code and the display
// name.
func ParseGroupRef(v string) (code, name string) {
	code, name, _ = strings.Cut(v, "\x1f")
	return code, name
}

// GroupRule puts people in groups by their record (Config.Groups).
type GroupRule struct {
	// Name names the rule; its field is GroupPrefix+Name. Letters,
	// digits, '-' and '_'.
	Name string
	// Field is the field the groups follow (FieldDepartment): a group
	// field takes its cadence class, so that a department change moves
	// people between groups in real time or nightly, as the policy says.
	Field string
	// Group returns the person's group: a stable code and a display name;
	// an empty code puts them in no group of this rule. Codes name groups
	// across all rules (the SCIM sink keys a Group by its code alone):
	// ByValue prefixes its codes with the rule's name, When uses the name.
	Group func(e Employee) (code, name string)
}

// ByValue is a rule with one group per value of field ("R&D", "Sales"…), its
// code from code (the value itself if nil) prefixed with the rule's name, its
// display name the value. Give code a lookup from names to the HRIS's own
// ids when departments are renamed, so that the group keeps its code.
func ByValue(name, field string, code func(value string) string) GroupRule {
	return GroupRule{Name: name, Field: field, Group: func(e Employee) (string, string) {
		v := e.Field(field)
		if v == "" {
			return "", ""
		}
		c := v
		if code != nil {
			if c = code(v); c == "" {
				return "", ""
			}
		}
		return name + ":" + c, v
	}}
}

// When is a rule with one named group for the people match accepts (role is
// "Manager", location is "Paris"), following field's cadence class.
func When(name, field, displayName string, match func(Employee) bool) GroupRule {
	return GroupRule{Name: name, Field: field, Group: func(e Employee) (string, string) {
		if match(e) {
			return name, displayName
		}
		return "", ""
	}}
}

// groupFields adds the person's group fields to fields. Two rules putting
// one person in one group (the same code) is the host's error, refused
// rather than left to flip the group between two names.
func (e *Engine) groupFields(rec Employee, fields Fields) error {
	by := map[string]string{} // code → rule
	for _, r := range e.cfg.Groups {
		code, name := r.Group(rec)
		if other, ok := by[code]; ok && code != "" {
			return fmt.Errorf("group rules %q and %q both give group code %q: codes must name one group across all rules", other, r.Name, code)
		}
		by[code] = r.Name
		fields[GroupPrefix+r.Name] = GroupRef(code, name)
	}
	return nil
}

// leftGroups names, for the deactivation of a person the Source no longer
// holds (no desired record), the groups they were in as last applied: a
// Sink that removes leavers from their groups needs them.
func leftGroups(applied map[string]store.Applied) Fields {
	var out Fields
	for f, a := range applied {
		if strings.HasPrefix(f, GroupPrefix) && a.Value != "" {
			if out == nil {
				out = Fields{}
			}
			out[f] = a.Value
		}
	}
	return out
}

// checkGroups validates Config.Groups, and gives each group field its source
// field's cadence class.
func checkGroups(cfg *Config) error {
	seen := map[string]bool{}
	for _, r := range cfg.Groups {
		switch {
		case r.Name == "" || strings.Trim(r.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "":
			return fmt.Errorf("hrissync: group rule %q: a name of letters, digits, '-' and '_' is needed", r.Name)
		case seen[r.Name]:
			return fmt.Errorf("hrissync: two group rules named %q", r.Name)
		case r.Group == nil:
			return fmt.Errorf("hrissync: group rule %q has no Group function", r.Name)
		case r.Field == "":
			return fmt.Errorf("hrissync: group rule %q follows no Field", r.Name)
		}
		seen[r.Name] = true
		cfg.Policy = cfg.Policy.With(GroupPrefix+r.Name, cfg.Policy.Class(r.Field))
	}
	return nil
}
