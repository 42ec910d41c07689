package scim_test

// Config.Map against both third-party providers: the elimity server
// (server_test.go) and SCIMMY (scimmy_test.go), each read back as it stores
// the account.

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/scim"
)

// lmsUser is an extension of a learning platform's own, which the tests
// register on each server the way such a provider declares it: for
// elimity as a schema extension of the User resource type, for SCIMMY
// through its schema extension API (server.js, SCIM_LMS_EXTENSION=1).
// Its URN is under urn:ietf:params:scim:schemas: because SCIMMY refuses
// any other namespace for a schema definition.
const lmsUser = "urn:ietf:params:scim:schemas:extension:example-lms:2.0:User"

func lmsExtension() schema.Schema {
	str := func(name string) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: name}))
	}
	return schema.Schema{ID: lmsUser, Name: optional.NewString("LmsUser"),
		Attributes: []schema.CoreAttribute{str("skills"), str("proficiency"), str("certifiedOn")}}
}

// mapServer is one provider under test.
type mapServer struct {
	sink func(cfg scim.Config) *scim.Sink
	// user is the account bound to worker as the provider stores it.
	user func(worker string) map[string]any
	// seed stores an account made outside hrissync (bound to no worker).
	seed func(user map[string]any) (id string)
	// sent is what the provider received (elimity only; else nil).
	sent func() []request
}

// eachMapServer runs f against each provider, with PATCH and with PUT
// (Config.NoPatch), each registering lmsUser.
func eachMapServer(t *testing.T, f func(t *testing.T, p mapServer, noPatch bool)) {
	servers := []struct {
		name  string
		start func(t *testing.T) mapServer
	}{
		{"elimity", func(t *testing.T) mapServer {
			p := newProvider(t, func(p *provider) { p.extensions = append(p.extensions, lmsExtension()) })
			return mapServer{
				sink: func(cfg scim.Config) *scim.Sink { return newSink(t, p, cfg) },
				user: func(worker string) map[string]any {
					u, id := p.raw(worker)
					if u != nil {
						u["id"] = id
					}
					return u
				},
				seed: func(user map[string]any) string { return p.seedRaw(user) },
				sent: p.sent,
			}
		}},
		{"SCIMMY", func(t *testing.T) mapServer {
			t.Setenv("SCIM_LMS_EXTENSION", "1")
			p := newSCIMMYPlatform(t)
			return mapServer{
				sink: func(cfg scim.Config) *scim.Sink { return p.sink(t, cfg) },
				user: func(worker string) map[string]any {
					for _, u := range p.s.Users(t) {
						if u["externalId"] == worker {
							return u
						}
					}
					return nil
				},
				seed: func(user map[string]any) string { return p.s.Seed(t, user) },
			}
		}},
	}
	for _, srv := range servers {
		for _, noPatch := range []bool{false, true} {
			name := srv.name + "/PATCH"
			if noPatch {
				name = srv.name + "/PUT"
			}
			t.Run(name, func(t *testing.T) {
				p := srv.start(t)
				f(t, p, noPatch)
				if p.sent != nil {
					checkSent(t, p.sent(), noPatch)
				}
			})
		}
	}
}

// checkSent checks that updates went as PATCH, or with noPatch as PUT, and
// that every whole-resource body names in schemas each extension it holds.
func checkSent(t *testing.T, reqs []request, noPatch bool) {
	t.Helper()
	var patches, puts int
	for _, r := range reqs {
		switch r.method {
		case http.MethodPatch:
			patches++
		case http.MethodPut:
			puts++
		}
		if r.method != http.MethodPost && r.method != http.MethodPut {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		for k := range body {
			if strings.HasPrefix(k, "urn:") && !hasSchema(body, k) {
				t.Errorf("%s %s holds %s but its schemas do not name it: %s", r.method, r.path, k, r.body)
			}
		}
	}
	if noPatch && (patches > 0 || puts == 0) || !noPatch && (puts > 0 || patches == 0) {
		t.Errorf("%d PATCH and %d PUT sent, NoPatch %v", patches, puts, noPatch)
	}
}

// apply sends the update that takes the worker's record from old (nil:
// none yet, a create) to now.
func apply(t *testing.T, s *scim.Sink, worker string, old, now hrissync.Fields) {
	t.Helper()
	u := hrissync.Update{EmployeeID: worker, Kind: hrissync.Modify, Fields: now, Active: true}
	if old == nil {
		u.Kind = hrissync.Create
	}
	all := maps.Clone(now)
	for k := range old {
		all[k] = ""
	}
	keys := slices.Sorted(maps.Keys(all))
	for _, k := range keys {
		if old[k] != now[k] || old == nil {
			u.Changes = append(u.Changes, hrissync.Change{Field: k, Old: old[k], New: now[k]})
		}
	}
	if err := s.Apply(context.Background(), u); err != nil {
		t.Fatalf("applying %v: %v", now, err)
	}
}

// at returns the value under the path of attribute names (matched without
// case) in a stored user; a name "[k=v]" selects the element of a list whose
// k is v.
func at(v any, path ...string) any {
	for _, p := range path {
		if sel, ok := strings.CutPrefix(p, "["); ok {
			k, want, _ := strings.Cut(strings.TrimSuffix(sel, "]"), "=")
			list, _ := v.([]any)
			v = nil
			for _, e := range list {
				if m, ok := e.(map[string]any); ok && at(m, k) == want {
					v = m
					break
				}
			}
			continue
		}
		m, _ := v.(map[string]any)
		v = nil
		for k, x := range m {
			if strings.EqualFold(k, p) {
				v = x
			}
		}
	}
	return v
}

func hasSchema(user map[string]any, urn string) bool {
	list, _ := at(user, "schemas").([]any)
	return slices.ContainsFunc(list, func(s any) bool { x, _ := s.(string); return strings.EqualFold(x, urn) })
}

func mappedPerson(more hrissync.Fields) hrissync.Fields {
	f := hrissync.Fields{hrissync.FieldEmail: "ada@example.com", hrissync.FieldGivenName: "Ada",
		hrissync.FieldFamilyName: "Byron", hrissync.FieldEmployeeNumber: "E-1"}
	maps.Copy(f, more)
	return f
}

// A field mapped to the enterprise costCenter is created, changed and
// cleared, the rest of the enterprise extension kept — with the URN written
// in upper case, as a host may copy it: the sink sends the URN as the
// provider registers it, or the provider would drop the whole extension
// (outside finding).
func TestMappedCostCenter(t *testing.T) {
	eachMapServer(t, func(t *testing.T, p mapServer, noPatch bool) {
		s := p.sink(scim.Config{NoPatch: noPatch, Map: []scim.Mapping{{Field: "costCenter", Path: strings.ToUpper(scim.EnterpriseSchema) + ":costCenter"}}})
		if !s.Carries("costCenter") {
			t.Fatal("the sink does not carry the mapped field")
		}
		check := func(want string) {
			t.Helper()
			u := p.user("w-1")
			if got, _ := at(u, scim.EnterpriseSchema, "costCenter").(string); got != want {
				t.Errorf("costCenter = %q, want %q; stored %v", got, want, u)
			}
			if got := at(u, scim.EnterpriseSchema, "employeeNumber"); got != "E-1" {
				t.Errorf("employeeNumber = %v, want kept; stored %v", got, u)
			}
		}
		v1 := mappedPerson(hrissync.Fields{"costCenter": "CC-100"})
		apply(t, s, "w-1", nil, v1)
		check("CC-100")
		v2 := mappedPerson(hrissync.Fields{"costCenter": "CC-200"})
		apply(t, s, "w-1", v1, v2)
		check("CC-200")
		v3 := mappedPerson(hrissync.Fields{"costCenter": ""})
		apply(t, s, "w-1", v2, v3)
		check("")
	})
}

// Fields mapped to an extension the provider registers: the attributes
// land in the extension's sub-object and the URN in schemas; Join makes
// one attribute of several fields.
func TestMappedExtension(t *testing.T) {
	eachMapServer(t, func(t *testing.T, p mapServer, noPatch bool) {
		s := p.sink(scim.Config{NoPatch: noPatch, Map: []scim.Mapping{
			{Field: "attr.skill.go", Path: lmsUser + ":proficiency"},
			{Field: "attr.skill.sql", Path: lmsUser + ":skills", Value: scim.Join(", ", "attr.skill.go", "attr.skill.sql")},
		}})
		check := func(proficiency, skills any) {
			t.Helper()
			u := p.user("w-1")
			if got := at(u, lmsUser, "proficiency"); got != proficiency {
				t.Errorf("proficiency = %v, want %v; stored %v", got, proficiency, u)
			}
			if got := at(u, lmsUser, "skills"); got != skills {
				t.Errorf("skills = %v, want %v; stored %v", got, skills, u)
			}
			// (elimity keeps no schemas in what it stores.)
			if ext := at(u, lmsUser); ext != nil && at(u, "schemas") != nil && !hasSchema(u, lmsUser) {
				t.Errorf("the extension is held but not in schemas: %v", u)
			}
		}
		v1 := mappedPerson(hrissync.Fields{"attr.skill.go": "4", "attr.skill.sql": "2"})
		apply(t, s, "w-1", nil, v1)
		check("4", "4, 2")
		v2 := mappedPerson(hrissync.Fields{"attr.skill.go": "5", "attr.skill.sql": "3"})
		apply(t, s, "w-1", v1, v2)
		check("5", "5, 3")
		v3 := mappedPerson(hrissync.Fields{"attr.skill.go": "", "attr.skill.sql": ""})
		apply(t, s, "w-1", v2, v3)
		check(nil, nil)
	})
}

// A phone mapped to phoneNumbers[type eq "work"].value is added beside the
// home phone the account holds, changed and cleared, the home phone kept.
func TestMappedWorkPhone(t *testing.T) {
	eachMapServer(t, func(t *testing.T, p mapServer, noPatch bool) {
		p.seed(map[string]any{"schemas": []any{scim.UserSchema}, "userName": "ada@example.com", "active": true,
			"emails":       []any{map[string]any{"value": "ada@example.com", "type": "work", "primary": true}},
			"phoneNumbers": []any{map[string]any{"value": "+44 20 0000 0001", "type": "home"}},
		})
		s := p.sink(scim.Config{NoPatch: noPatch, Map: []scim.Mapping{{Field: "workPhone", Path: `phoneNumbers[type eq "work"].value`}}})
		check := func(work any) {
			t.Helper()
			u := p.user("w-1")
			if u == nil {
				t.Fatal("no account bound to w-1")
			}
			if got := at(u, "phoneNumbers", "[type=work]", "value"); got != work {
				t.Errorf("work phone = %v, want %v; stored %v", got, work, u)
			}
			if got := at(u, "phoneNumbers", "[type=home]", "value"); got != "+44 20 0000 0001" {
				t.Errorf("home phone = %v, want kept; stored %v", got, u)
			}
		}
		v1 := mappedPerson(hrissync.Fields{"workPhone": "+44 20 7946 0001"})
		apply(t, s, "w-1", nil, v1) // adopts the seeded account by userName
		check("+44 20 7946 0001")
		v2 := mappedPerson(hrissync.Fields{"workPhone": "+44 20 7946 0002"})
		apply(t, s, "w-1", v1, v2)
		check("+44 20 7946 0002")
		v3 := mappedPerson(hrissync.Fields{"workPhone": ""})
		apply(t, s, "w-1", v2, v3)
		check(nil)
		apply(t, s, "w-1", v3, v1)
		check("+44 20 7946 0001")
	})
}

// DateFormat and Constant reach the provider transformed; a Mapping of a
// field with a built-in mapping (role → title) replaces it.
func TestMappedTransforms(t *testing.T) {
	eachMapServer(t, func(t *testing.T, p mapServer, noPatch bool) {
		s := p.sink(scim.Config{NoPatch: noPatch, Map: []scim.Mapping{
			{Field: hrissync.FieldStartDate, Path: lmsUser + ":certifiedOn", Value: scim.DateFormat("02/01/2006")},
			{Field: hrissync.FieldRole, Path: "title", Value: scim.Constant("Learner")},
			{Field: hrissync.FieldDepartment, Path: "urn:ietf:params:scim:schemas:core:2.0:User:nickName"},
		}})
		check := func(certified, nick any) {
			t.Helper()
			u := p.user("w-1")
			if got := at(u, lmsUser, "certifiedOn"); got != certified {
				t.Errorf("certifiedOn = %v, want %v; stored %v", got, certified, u)
			}
			if got := at(u, "title"); got != "Learner" {
				t.Errorf("title = %v, want the constant; stored %v", got, u)
			}
			if got := at(u, "nickName"); got != nick {
				t.Errorf("nickName = %v, want %v; stored %v", got, nick, u)
			}
			if got := at(u, scim.EnterpriseSchema, "department"); got != nil {
				t.Errorf("the department reached its built-in place too: %v", u)
			}
		}
		v1 := mappedPerson(hrissync.Fields{hrissync.FieldStartDate: "2024-03-05", hrissync.FieldRole: "Engineer", hrissync.FieldDepartment: "R&D"})
		apply(t, s, "w-1", nil, v1)
		check("05/03/2024", "R&D")
		v2 := mappedPerson(hrissync.Fields{hrissync.FieldStartDate: "2025-12-31", hrissync.FieldRole: "Lead", hrissync.FieldDepartment: "Ops"})
		apply(t, s, "w-1", v1, v2)
		check("31/12/2025", "Ops")
		v3 := mappedPerson(hrissync.Fields{hrissync.FieldStartDate: "", hrissync.FieldRole: "Lead", hrissync.FieldDepartment: "Ops"})
		apply(t, s, "w-1", v2, v3)
		check(nil, "Ops")
	})
}

func TestMappingHelpers(t *testing.T) {
	rec := hrissync.Fields{"a": "x", "b": "", "c": "z"}
	if got := scim.Join("|", "a", "b", "c", "d")("", rec); got != "x|z" {
		t.Errorf("Join = %q", got)
	}
	if got := scim.DateFormat("Jan 2, 2006")("2024-03-05", nil); got != "Mar 5, 2024" {
		t.Errorf("DateFormat = %q", got)
	}
	if got := scim.DateFormat("Jan 2, 2006")("", nil); got != "" {
		t.Errorf("DateFormat of \"\" = %q", got)
	}
	if got := scim.Constant("k")("v", rec); got != "k" {
		t.Errorf("Constant = %q", got)
	}
}

func TestNewRefusesBadMapping(t *testing.T) {
	for _, m := range []scim.Mapping{
		{Field: hrissync.FieldEmail, Path: "userName"},
		{Field: hrissync.FieldManagerID, Path: scim.EnterpriseSchema + ":manager.value"},
		{Field: "costCenter", Path: ""},
		{Field: "costCenter", Path: "cost center"},
		{Field: "costCenter", Path: "name."},
		{Field: "costCenter", Path: `phoneNumbers[type eq "work"]`},
		{Field: "costCenter", Path: `phoneNumbers[type co "work"].value`},
		{Field: "costCenter", Path: `phoneNumbers[type eq work].value`},
		{Field: "costCenter", Path: scim.EnterpriseSchema + ":"},
	} {
		_, err := scim.New("https://lms.example.com/scim/v2", &scim.Config{Map: []scim.Mapping{m}})
		if err == nil || !strings.Contains(err.Error(), m.Field) {
			t.Errorf("New with %+v: %v, want an error naming %s", m, err, m.Field)
		}
	}
	twice := []scim.Mapping{{Field: "x", Path: "title"}, {Field: "x", Path: "nickName"}}
	if _, err := scim.New("https://lms.example.com/scim/v2", &scim.Config{Map: twice}); err == nil {
		t.Error("New with two Mappings of one field: no error")
	}
	// Places the sink keeps, and places another field is sent to
	// (outside findings): refused, naming the field.
	for _, ms := range [][]scim.Mapping{
		{{Field: "x", Path: "externalId"}},
		{{Field: "x", Path: "userName"}},
		{{Field: "x", Path: "ACTIVE"}},
		{{Field: "x", Path: `emails[type eq "home"].value`}},
		{{Field: "x", Path: "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User:manager.value"}},
		{{Field: "x", Path: "TITLE"}}, // role's place
		{{Field: "x", Path: "nickName"}, {Field: "y", Path: "nickname"}},
		{{Field: "x", Path: "name"}, {Field: "y", Path: "name.formatted"}},
		{{Field: "x", Path: `phoneNumbers[type eq "work"].value`}, {Field: "y", Path: "phoneNumbers"}},
	} {
		if _, err := scim.New("https://lms.example.com/scim/v2", &scim.Config{Map: ms}); err == nil || !strings.Contains(err.Error(), "x") {
			t.Errorf("New with %+v: %v, want an error naming x", ms, err)
		}
	}
	ok := []scim.Mapping{
		{Field: "a", Path: "nickName"},
		{Field: "b", Path: "name.middleName"},
		{Field: hrissync.FieldRole, Path: "userType"},
		{Field: "r", Path: "title"}, // role moved to userType: its place is free
		{Field: "p", Path: `phoneNumbers[type eq "home"].value`},
		{Field: "c", Path: scim.EnterpriseSchema + ":costCenter"},
		{Field: "d", Path: `phoneNumbers[type eq "work"].value`},
		{Field: "e", Path: `urn:vendor:x:2.0:User:badges[kind eq "a:b]"].label`},
	}
	s, err := scim.New("https://lms.example.com/scim/v2", &scim.Config{Map: ok})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ok {
		if !s.Carries(m.Field) {
			t.Errorf("Carries(%q) = false", m.Field)
		}
	}
}

// Adoption by the employee number searches where the Mapping puts it.
func TestMappedEmployeeNumberAdopts(t *testing.T) {
	eachMapServer(t, func(t *testing.T, p mapServer, noPatch bool) {
		id := p.seed(map[string]any{"schemas": []any{scim.UserSchema}, "userName": "a.byron", "active": true, "nickName": "E-1"})
		s := p.sink(scim.Config{NoPatch: noPatch, Adopt: []scim.Key{scim.ByExternalID, scim.ByEmployeeNumber},
			Map: []scim.Mapping{{Field: hrissync.FieldEmployeeNumber, Path: "nickName"}}})
		apply(t, s, "w-1", nil, mappedPerson(nil))
		u := p.user("w-1")
		if u["id"] != id || at(u, "nickName") != "E-1" || at(u, scim.EnterpriseSchema, "employeeNumber") != nil {
			t.Errorf("w-1 is bound to %v, want the seeded %s adopted by its nickName; stored %v", u["id"], id, u)
		}
	})
}
