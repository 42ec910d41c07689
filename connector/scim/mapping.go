package scim

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
)

// Mapping sends one hrissync field to a SCIM attribute path of the host's
// choosing (Config.Map).
type Mapping struct {
	// Field is the hrissync field (hrissync.FieldRole, "attr.skill.go",
	// "costCenter"... any field name the host's Config.Map produces).
	Field string
	// Path is where the provider holds it: "title", "name.givenName",
	// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
	// "urn:vendor:...:User:skills", `phoneNumbers[type eq "work"].value`.
	// An extension's attribute is prefixed with the extension's URN; a
	// value filter selects one element of a multi-valued complex attribute
	// by one sub-attribute's value, and must be followed by the
	// sub-attribute that carries the field. A path is split at its last
	// colon into the URN and the attribute; attribute names compare
	// without case, and a URN the sink knows (the enterprise schema,
	// Config.Extension) is sent as the sink spells it.
	//
	// New refuses a path the sink keeps for itself (id, externalId,
	// userName, active, emails, groups, meta, schemas, the enterprise
	// manager), and one that overlaps another field's place — another
	// Mapping's, or a built-in one (title for the role, name.givenName…)
	// whose field no Mapping moves elsewhere: two values for one attribute
	// would flip at every write.
	Path string
	// Value, if set, transforms the field's value (and may read the whole
	// record: the fields the sink carries) before it is sent; what it
	// returns is sent, and "" removes the attribute — so a Constant, or a
	// Join naming other fields, may keep an attribute whose own field was
	// cleared.
	Value func(v string, record hrissync.Fields) string
}

// Constant returns a Mapping.Value that sends s whatever the field holds.
func Constant(s string) func(string, hrissync.Fields) string {
	return func(string, hrissync.Fields) string { return s }
}

// DateFormat returns a Mapping.Value that sends a date field (YYYY-MM-DD) in
// the layout of package time ("02/01/2006", time.RFC3339…); "" stays "",
// and a value that is not a date is sent as it is.
func DateFormat(layout string) func(string, hrissync.Fields) string {
	return func(v string, _ hrissync.Fields) string {
		if v == "" {
			return ""
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return v
		}
		return t.Format(layout)
	}
}

// Join returns a Mapping.Value that sends the non-empty values of the named
// fields of the record, in the order given, joined by sep; the mapped
// field's own value is not included unless named. The record holds only
// the fields the sink carries, and the mapped field is written only when its
// own value changes.
func Join(sep string, fields ...string) func(string, hrissync.Fields) string {
	fields = slices.Clone(fields)
	return func(_ string, record hrissync.Fields) string {
		var vs []string
		for _, f := range fields {
			if v := record[f]; v != "" {
				vs = append(vs, v)
			}
		}
		return strings.Join(vs, sep)
	}
}

// attrPath is a parsed Mapping.Path: [urn:]name[[fattr eq "fvalue"]][.sub].
type attrPath struct {
	urn           string // "" for the core schema
	name, sub     string
	fattr, fvalue string // the value filter, if any
}

var (
	attrName   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_$-]*$`)
	eqFilter   = regexp.MustCompile(`^\s*([A-Za-z][A-Za-z0-9_$-]*)\s+(?i:eq)\s+("(?:[^"\\]|\\.)*")\s*$`)
	errBadPath = fmt.Errorf("want [urn:]attribute[.sub] or [urn:]attribute[subAttribute eq \"value\"].sub")
)

func parsePath(s string) (attrPath, error) {
	var p attrPath
	rest := s
	var filter string
	if i := strings.IndexByte(rest, '['); i >= 0 {
		j := strings.LastIndexByte(rest, ']')
		if j < i {
			return p, errBadPath
		}
		filter = rest[i+1 : j]
		after := rest[j+1:]
		rest = rest[:i]
		if !strings.HasPrefix(after, ".") {
			return p, fmt.Errorf("a value filter must be followed by .subAttribute")
		}
		m := eqFilter.FindStringSubmatch(filter)
		if m == nil {
			return p, fmt.Errorf("value filter %q: want subAttribute eq \"value\"", filter)
		}
		p.fattr = m[1]
		if err := json.Unmarshal([]byte(m[2]), &p.fvalue); err != nil {
			return p, fmt.Errorf("value filter %q: %v", filter, err)
		}
		p.sub = after[1:]
	}
	if strings.HasPrefix(strings.ToLower(rest), "urn:") {
		i := strings.LastIndexByte(rest, ':')
		p.urn, rest = rest[:i], rest[i+1:]
		if strings.EqualFold(p.urn, UserSchema) {
			p.urn = ""
		}
	}
	if filter == "" {
		p.name, p.sub, _ = strings.Cut(rest, ".")
		if strings.Contains(rest, ".") && p.sub == "" {
			return p, errBadPath
		}
	} else {
		p.name = rest
	}
	if !attrName.MatchString(p.name) || p.sub != "" && !attrName.MatchString(p.sub) {
		return p, errBadPath
	}
	return p, nil
}

// attribute is the path of the attribute itself, without filter or
// sub-attribute: what a PATCH of a whole multi-valued attribute names.
func (p attrPath) attribute() string {
	if p.urn != "" {
		return p.urn + ":" + p.name
	}
	return p.name
}

// String is the path as a PATCH operation names it.
func (p attrPath) String() string {
	s := p.attribute()
	if p.fattr != "" {
		s += fmt.Sprintf("[%s eq %s]", p.fattr, filterString(p.fvalue))
	}
	if p.sub != "" {
		s += "." + p.sub
	}
	return s
}

// mapped is a Mapping, its path parsed.
type mapped struct {
	Mapping
	path attrPath
}

// mappings checks Config.Map and indexes it by field. A URN the sink knows
// (the enterprise schema, Config.Extension) is spelt as the sink spells it:
// providers key an extension by its exact URN. A Mapping may not take a
// place the sink keeps for itself (the binding externalId, userName, the
// emails, the manager, active…), nor one another field is sent to: two
// values for one attribute would flip at every write, never confirmed.
func mappings(ms []Mapping, extension string) (map[string]*mapped, error) {
	out := map[string]*mapped{}
	for _, m := range ms {
		switch {
		case m.Field == "":
			return nil, fmt.Errorf("scim: a Mapping with no Field (path %q)", m.Path)
		case m.Field == hrissync.FieldEmail || m.Field == hrissync.FieldManagerID:
			return nil, fmt.Errorf("scim: Mapping for %s: the field keeps its own handling and cannot be mapped", m.Field)
		case out[m.Field] != nil:
			return nil, fmt.Errorf("scim: two Mappings for %s", m.Field)
		}
		p, err := parsePath(m.Path)
		if err != nil {
			return nil, fmt.Errorf("scim: Mapping for %s: path %q: %v", m.Field, m.Path, err)
		}
		switch {
		case strings.EqualFold(p.urn, EnterpriseSchema):
			p.urn = EnterpriseSchema
		case extension != "" && strings.EqualFold(p.urn, extension):
			p.urn = extension
		}
		if reserved(p) {
			return nil, fmt.Errorf("scim: Mapping for %s: %s is the sink's own and cannot be mapped", m.Field, p.attribute())
		}
		out[m.Field] = &mapped{Mapping: m, path: p}
	}
	// The places taken: each Mapping's, and each built-in field's that no
	// Mapping moves elsewhere.
	taken := map[string]attrPath{}
	for _, f := range slices.Sorted(maps.Keys(out)) {
		taken[f] = out[f].path
	}
	for f, path := range builtinPaths(extension) {
		if out[f] == nil {
			taken[f] = path
		}
	}
	fields := slices.Sorted(maps.Keys(taken))
	for i, f := range fields {
		for _, g := range fields[i+1:] {
			if (out[f] != nil || out[g] != nil) && overlap(taken[f], taken[g]) {
				return nil, fmt.Errorf("scim: Mappings send %s and %s to one place (%s, %s)", f, g, taken[f], taken[g])
			}
		}
	}
	return out, nil
}

// reserved reports whether p names an attribute the sink writes itself.
func reserved(p attrPath) bool {
	switch {
	case p.urn == "":
		for _, a := range []string{"id", "externalId", "meta", "schemas", "active", "userName", "emails", "groups"} {
			if strings.EqualFold(p.name, a) {
				return true
			}
		}
	case p.urn == EnterpriseSchema:
		return strings.EqualFold(p.name, "manager")
	}
	return false
}

// builtinPaths are the places of the fields the sink maps itself (besides
// the email and manager, which are reserved).
func builtinPaths(extension string) map[string]attrPath {
	out := map[string]attrPath{
		hrissync.FieldGivenName:      {name: "name", sub: "givenName"},
		hrissync.FieldFamilyName:     {name: "name", sub: "familyName"},
		hrissync.FieldRole:           {name: "title"},
		hrissync.FieldEmployeeNumber: {urn: EnterpriseSchema, name: "employeeNumber"},
		hrissync.FieldDepartment:     {urn: EnterpriseSchema, name: "department"},
	}
	if extension != "" {
		for _, f := range []string{hrissync.FieldStatus, hrissync.FieldStartDate, hrissync.FieldTerminationDate, hrissync.FieldLocation} {
			out[f] = attrPath{urn: extension, name: f}
		}
		out["@attributes"] = attrPath{urn: extension, name: "attributes"}
	}
	return out
}

// overlap reports whether writing a and b would touch one value: the same
// attribute (names compared without case), unless they are different
// sub-attributes of it, or elements of it picked by different filters.
func overlap(a, b attrPath) bool {
	if !strings.EqualFold(a.urn, b.urn) || !strings.EqualFold(a.name, b.name) {
		return false
	}
	if a.fattr != "" && b.fattr != "" && !(strings.EqualFold(a.fattr, b.fattr) && a.fvalue == b.fvalue) {
		return false // different elements
	}
	return a.sub == "" || b.sub == "" || strings.EqualFold(a.sub, b.sub)
}

// mapping returns the Mapping of field, or nil.
func (s *Sink) mapping(field string) *mapped { return s.mapped[field] }

// transform sets w's mapped values: what each mapped field with a Value is
// sent as.
func (s *Sink) transform(w *write) {
	for f, m := range s.mapped {
		if m.Value == nil {
			continue
		}
		if _, ok := w.fields[f]; !ok {
			continue
		}
		if w.values == nil {
			w.values = map[string]string{}
		}
		w.values[f] = m.Value(w.fields[f], w.fields)
	}
}

// container returns the map that holds p's attribute in r: r, or the
// extension's sub-object (nil when absent).
func (p attrPath) container(r map[string]any) map[string]any {
	if p.urn == "" {
		return r
	}
	return child(r, p.urn)
}

// element returns the index of the element of list that p's filter
// selects, or -1.
func (p attrPath) element(list []map[string]any) int {
	return slices.IndexFunc(list, func(e map[string]any) bool { return strings.EqualFold(attr(e, p.fattr), p.fvalue) })
}

// held is the value r holds at p ("" when none).
func (p attrPath) held(r resource) string {
	c := p.container(r)
	switch {
	case p.fattr != "":
		es := objects(c, p.name)
		if i := p.element(es); i >= 0 {
			return attr(es[i], p.sub)
		}
		return ""
	case p.sub != "":
		return attr(child(c, p.name), p.sub)
	}
	return attr(c, p.name)
}

// list returns the multi-valued attribute of c that p filters, with the
// selected element set to v (created with the filter attribute if absent)
// or, for "", removed; the other elements are kept, and nothing of c is
// changed.
func (p attrPath) list(c map[string]any, v string) []any {
	es := objects(c, p.name)
	i := p.element(es)
	var out []any
	for j, e := range es {
		if j != i {
			out = append(out, e)
			continue
		}
		if v == "" {
			continue
		}
		n := maps.Clone(e)
		n[key(n, p.sub)] = v
		out = append(out, n)
	}
	if i < 0 && v != "" {
		out = append(out, map[string]any{p.fattr: p.fvalue, p.sub: v})
	}
	return out
}

// put sets p to v in a whole resource r, removing it (and a complex value
// or extension it leaves empty) for "".
func (p attrPath) put(r resource, v string) {
	c := map[string]any(r)
	if p.urn != "" {
		c = sub(r, p.urn)
		defer func() {
			if len(c) == 0 {
				delete(r, key(r, p.urn))
			}
		}()
	}
	switch {
	case p.fattr != "":
		if list := p.list(c, v); len(list) == 0 {
			delete(c, key(c, p.name))
		} else {
			c[key(c, p.name)] = list
		}
	case p.sub != "":
		setSub(c, p.name, p.sub, v)
	case v == "":
		delete(c, key(c, p.name))
	default:
		c[key(c, p.name)] = v
	}
}

// mappedOps returns the PATCH operations that take cur's mapped fields to
// their values: one per attribute with its path, except that the fields a
// value filter selects within one multi-valued attribute are written by
// one operation replacing the whole list, the other elements kept as held,
// since a filter matching no element yet would be refused.
func (s *Sink) mappedOps(cur resource, fields []string, value func(field string) string) []op {
	var ops []op
	lists := map[string][]any{} // by attribute, lower-cased
	var order []string
	paths := map[string]string{}
	for _, f := range fields {
		m := s.mapping(f)
		want := value(f)
		if m.path.held(cur) == want {
			continue
		}
		if m.path.fattr == "" {
			if want == "" {
				ops = append(ops, op{Op: "remove", Path: m.path.String()})
			} else {
				ops = append(ops, op{Op: "replace", Path: m.path.String(), Value: want})
			}
			continue
		}
		k := strings.ToLower(m.path.attribute())
		list, ok := lists[k]
		if !ok {
			order = append(order, k)
			paths[k] = m.path.attribute()
			list = make([]any, 0)
			for _, e := range objects(m.path.container(cur), m.path.name) {
				list = append(list, e)
			}
		}
		lists[k] = m.path.list(map[string]any{m.path.name: list}, want)
	}
	for _, k := range order {
		if len(lists[k]) == 0 {
			ops = append(ops, op{Op: "remove", Path: paths[k]})
		} else {
			ops = append(ops, op{Op: "replace", Path: paths[k], Value: lists[k]})
		}
	}
	return ops
}

// eq is the filter that finds the accounts whose field is v: at its mapped
// path, or its built-in one.
func (s *Sink) eq(field, v string) string {
	m := s.mapping(field)
	switch {
	case m == nil:
		return s.path(field) + " eq " + filterString(v)
	case m.path.fattr != "":
		return fmt.Sprintf("%s[%s eq %s and %s eq %s]", m.path.attribute(), m.path.fattr, filterString(m.path.fvalue), m.path.sub, filterString(v))
	}
	return m.path.String() + " eq " + filterString(v)
}
