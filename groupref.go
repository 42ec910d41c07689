package hrissync

import "strings"

// GroupPrefix begins the name of a field that carries a person's membership of one group of a group rule: "group.department".
const GroupPrefix = "group."

// GroupRef is the value of a group field: the group's stable code (its id, which a rename keeps) and its display name, joined; "" is no group.
func GroupRef(code, name string) string {
	if code == "" {
		return ""
	}
	return code + "\x1f" + name
}

// ParseGroupRef splits a group field's value into the code and the display name.
func ParseGroupRef(v string) (code, name string) {
	code, name, _ = strings.Cut(v, "\x1f")
	return code, name
}
