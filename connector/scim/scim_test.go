package scim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/scim"
	"github.com/hrissync/hrissync/connector/sinktest"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/sim"
)

func newSink(t testing.TB, p *provider, cfg scim.Config) *scim.Sink {
	t.Helper()
	cfg.Token = "secret-token"
	s, err := scim.New(p.srv.URL, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func str(m any, k string) string {
	if mm, ok := m.(map[string]any); ok {
		v, _ := mm[k].(string)
		return v
	}
	return ""
}

// fieldsOf maps a stored SCIM User back to hrissync's fields; u.mu is held.
func (u *users) fieldsOf(attrs map[string]any) hrissync.Fields {
	f := hrissync.Fields{}
	if emails, ok := attrs["emails"].([]any); ok && len(emails) > 0 {
		f[hrissync.FieldEmail] = str(emails[0], "value")
		for _, e := range emails {
			if str(e, "type") == "work" {
				f[hrissync.FieldEmail] = str(e, "value")
				break
			}
		}
	}
	f[hrissync.FieldGivenName] = str(attrs["name"], "givenName")
	f[hrissync.FieldFamilyName] = str(attrs["name"], "familyName")
	f[hrissync.FieldRole], _ = attrs["title"].(string)
	ent := attrs[scim.EnterpriseSchema]
	f[hrissync.FieldEmployeeNumber] = str(ent, "employeeNumber")
	f[hrissync.FieldDepartment] = str(ent, "department")
	if m, ok := ent.(map[string]any); ok {
		if mgr := str(m["manager"], "value"); mgr != "" {
			if s, ok := u.byID[mgr]; ok {
				f[hrissync.FieldManagerID], _ = s.attrs["externalId"].(string)
			} else {
				f[hrissync.FieldManagerID] = "unknown provider id " + mgr
			}
		}
	}
	ext := attrs[scim.DefaultExtension]
	for _, k := range []string{hrissync.FieldStatus, hrissync.FieldStartDate, hrissync.FieldTerminationDate, hrissync.FieldLocation} {
		f[k] = str(ext, k)
	}
	if m, ok := ext.(map[string]any); ok {
		attrs, _ := m["attributes"].([]any)
		for _, a := range attrs {
			f[hrissync.AttributePrefix+str(a, "name")] = str(a, "value")
		}
	}
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}

// account returns what the provider holds for the account bound to worker.
func (p *provider) account(worker string) (hrissync.Account, string, bool) {
	u := p.users
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range u.byID {
		if s.attrs["externalId"] != worker {
			continue
		}
		active, _ := s.attrs["active"].(bool)
		return hrissync.Account{EmployeeID: worker, Active: active, Fields: u.fieldsOf(s.attrs)}, s.id, true
	}
	return hrissync.Account{}, "", false
}

func (p *provider) count() int {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	return len(p.users.byID)
}

// seedRaw stores an account made outside hrissync and returns its id.
func (p *provider) seedRaw(attrs map[string]any) string {
	u := p.users
	u.mu.Lock()
	defer u.mu.Unlock()
	u.next++
	id := fmt.Sprintf("u%04d", u.next)
	u.byID[id] = &stored{id: id, version: 1, attrs: attrs}
	return id
}

// seed stores an account made by SSO, bound to no worker.
func (p *provider) seed(a hrissync.Account) {
	f := a.Fields
	attrs := map[string]any{
		"userName": f[hrissync.FieldEmail], "active": a.Active,
		"emails": []any{map[string]any{"value": f[hrissync.FieldEmail], "type": "work", "primary": true}},
		"name":   map[string]any{"givenName": f[hrissync.FieldGivenName], "familyName": f[hrissync.FieldFamilyName]},
		"title":  f[hrissync.FieldRole],
		scim.EnterpriseSchema: map[string]any{"employeeNumber": f[hrissync.FieldEmployeeNumber],
			"department": f[hrissync.FieldDepartment]},
	}
	p.seedRaw(attrs)
}

// location is where the test server keeps a field, for Drops and Refuses.
func location(field string) string {
	switch field {
	case sinktest.Activity:
		return "active"
	case hrissync.FieldEmail:
		return "emails"
	case hrissync.FieldGivenName:
		return "name.givenName"
	case hrissync.FieldFamilyName:
		return "name.familyName"
	case hrissync.FieldRole:
		return "title"
	case hrissync.FieldEmployeeNumber, hrissync.FieldDepartment:
		return scim.EnterpriseSchema + ":" + field
	case hrissync.FieldManagerID:
		return scim.EnterpriseSchema + ":manager"
	}
	if strings.HasPrefix(field, hrissync.AttributePrefix) {
		return scim.DefaultExtension + ":attributes"
	}
	return scim.DefaultExtension + ":" + field
}

// harness runs sinktest against p through a sink configured by cfg. Every
// provider behaviour the issue names is a hook: (b) Drops, the deactivation
// case's refusal Refuses, (d) Throttle.
func harness(t *testing.T, p *provider, cfg scim.Config) sinktest.Harness {
	return sinktest.Harness{
		Sink:     newSink(t, p, cfg),
		Account:  p.account,
		Accounts: p.count,
		Seed:     func(a hrissync.Account) error { p.seed(a); return nil },
		Restart:  func() hrissync.Sink { return newSink(t, p, cfg) },
		Drops:    func(field string) { p.drop(location(field)) },
		Refuses:  func(field string) { p.refuse(location(field)) },
		Throttle: func(after time.Duration) { p.setThrottle(strconv.Itoa(int(after / time.Second))) },
	}
}

// The conformance suite against the elimity server configured as
// providers are: core and enterprise schemas only.
func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []option
		cfg  scim.Config
	}{
		// (a) refuses unknown attributes on PATCH, drops them on POST/PUT.
		{name: "CoreAndEnterprise"},
		{name: "CoreAndEnterprise/PUT", cfg: scim.Config{NoPatch: true}},
		// (c) cannot filter on the enterprise extension.
		{name: "NoEnterpriseFilter", opts: []option{noEnterpriseFilter}},
		// Confirmation by reading back, when a PATCH answers 204.
		{name: "PatchAnswersNoContent", opts: []option{patchNoContent}},
		// A provider that registered the learner extension, chosen by the host.
		{name: "LearnerExtension", opts: []option{withLearnerExtension}, cfg: scim.Config{Extension: scim.DefaultExtension}},
		{name: "LearnerExtension/PUT", opts: []option{withLearnerExtension}, cfg: scim.Config{Extension: scim.DefaultExtension, NoPatch: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) sinktest.Harness { return harness(t, newProvider(t, c.opts...), c.cfg) })
		})
	}
}

func create(e hrissync.Employee) hrissync.Update {
	f := e.Fields()
	u := hrissync.Update{EmployeeID: e.ID, Kind: hrissync.Create, Fields: f, Active: true, Version: e.Version}
	for k, v := range f {
		u.Changes = append(u.Changes, hrissync.Change{Field: k, New: v})
	}
	return u
}

// change builds the update from old to e, of the given kind.
func change(kind hrissync.UpdateKind, old, e hrissync.Employee) hrissync.Update {
	f, was := e.Fields(), old.Fields()
	u := hrissync.Update{EmployeeID: e.ID, Kind: kind, Fields: f, Version: e.Version,
		Active: e.Status != hrissync.StatusTerminated}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range f {
			if !yield(k) {
				return
			}
		}
	}) {
		if was[k] != f[k] {
			u.Changes = append(u.Changes, hrissync.Change{Field: k, Old: was[k], New: f[k]})
		}
	}
	return u
}

func mustApply(t *testing.T, s *scim.Sink, u hrissync.Update) {
	t.Helper()
	if err := s.Apply(context.Background(), u); err != nil {
		t.Fatalf("Apply %s %s: %v", u.Kind, u.EmployeeID, err)
	}
}

// patchOps decodes the operations of the PATCH requests received.
type sentOp struct {
	Op    string
	Path  string
	Value any
}

func patches(p *provider) [][]sentOp {
	var out [][]sentOp
	for _, r := range p.sent() {
		if r.method != http.MethodPatch {
			continue
		}
		var body struct{ Operations []sentOp }
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			panic(err)
		}
		out = append(out, body.Operations)
	}
	return out
}

func TestCarries(t *testing.T) {
	p := newProvider(t)
	def := newSink(t, p, scim.Config{})
	ext := newSink(t, p, scim.Config{Extension: scim.DefaultExtension})
	for _, c := range []struct {
		field    string
		def, ext bool
	}{
		{hrissync.FieldEmail, true, true}, {hrissync.FieldGivenName, true, true}, {hrissync.FieldFamilyName, true, true},
		{hrissync.FieldRole, true, true}, {hrissync.FieldEmployeeNumber, true, true}, {hrissync.FieldDepartment, true, true},
		{hrissync.FieldManagerID, true, true},
		{hrissync.FieldStatus, false, true}, {hrissync.FieldStartDate, false, true}, {hrissync.FieldTerminationDate, false, true},
		{hrissync.FieldLocation, false, true}, {"attr.skill.go", false, true}, {"attr.", false, false}, {"nickname", false, false},
	} {
		if got := def.Carries(c.field); got != c.def {
			t.Errorf("default Carries(%q) = %v, want %v", c.field, got, c.def)
		}
		if got := ext.Carries(c.field); got != c.ext {
			t.Errorf("with Extension Carries(%q) = %v, want %v", c.field, got, c.ext)
		}
	}
}

// By default only the core and enterprise schemas reach the wire, and the
// schemas list names only the schemas a body carries — the defect of issue
// 15: the learner extension was always sent, and every PATCH carrying it
// (every termination) was refused by providers that do not register it.
func TestOnlyStandardSchemasOnTheWire(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	e := sinktest.Person("w-1") // with status, dates, location and a skill rating
	mustApply(t, s, create(e))
	old := e
	e.Role, e.Status, e.Attributes = "Lead", hrissync.StatusLeave, map[string]string{"skill.go": "5"}
	mustApply(t, s, change(hrissync.Modify, old, e))
	old = e
	e.Status, e.TerminationDate = hrissync.StatusTerminated, hrissync.NewDate(2026, 3, 1)
	mustApply(t, s, change(hrissync.Deactivate, old, e))

	bare := sinktest.Person("w-2")
	bare.EmployeeNumber, bare.Department = "", ""
	mustApply(t, s, create(bare))

	var posts []map[string]any
	for _, r := range p.sent() {
		if strings.Contains(r.body, "urn:hrissync") || strings.Contains(r.body, "skill") || strings.Contains(r.body, "Paris") {
			t.Errorf("%s %s sent what the provider has no schema for: %s", r.method, r.path, r.body)
		}
		if r.method == http.MethodPost {
			var b map[string]any
			json.Unmarshal([]byte(r.body), &b)
			posts = append(posts, b)
		}
	}
	if len(posts) != 2 {
		t.Fatalf("%d POSTs, want 2", len(posts))
	}
	if d := cmp.Diff([]any{scim.UserSchema, scim.EnterpriseSchema}, posts[0]["schemas"]); d != "" {
		t.Errorf("schemas of a full POST (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]any{scim.UserSchema}, posts[1]["schemas"]); d != "" {
		t.Errorf("schemas of a POST with no enterprise value (-want +got):\n%s", d)
	}
	if _, ok := posts[1][scim.EnterpriseSchema]; ok {
		t.Errorf("a POST with no enterprise value carries the enterprise extension: %v", posts[1])
	}
	if acc, _, _ := p.account(e.ID); acc.Active || acc.Fields[hrissync.FieldRole] != "Lead" {
		t.Errorf("after the termination: %+v", acc)
	}
}

// Fields the sink does not carry are ignored, even when the engine sends
// them: an update changing only those writes nothing.
func TestUncarriedChangesWriteNothing(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	e := sinktest.Person("w-1")
	mustApply(t, s, create(e))
	old := e
	e.Location, e.Attributes = "Lyon", map[string]string{"skill.go": "5", "performanceRating": "3"}
	writes := p.users.writes
	mustApply(t, s, change(hrissync.Modify, old, e))
	if p.users.writes != writes {
		t.Errorf("an update of uncarried fields made %d writes", p.users.writes-writes)
	}
}

// A termination sends active=false alone first, then the rest, and
// confirms both.
func TestDeactivationIsSentAloneFirst(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	e := sinktest.Person("w-1")
	mustApply(t, s, create(e))
	old := e
	e.Status, e.Role = hrissync.StatusTerminated, "Former engineer"
	mustApply(t, s, change(hrissync.Deactivate, old, e))
	want := [][]sentOp{
		{{Op: "replace", Path: "active", Value: false}},
		{{Op: "replace", Path: "title", Value: "Former engineer"}},
	}
	if d := cmp.Diff(want, patches(p)); d != "" {
		t.Errorf("PATCHes (-want +got):\n%s", d)
	}
}

// A provider that answers 2xx but keeps the account active: the sink says
// so, with a retryable *NotAppliedError, whether the provider answers with
// the resource or (204) without it.
func TestIgnoredDeactivationIsNotApplied(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []option
		cfg  scim.Config
	}{
		{name: "PATCH 200"}, {name: "PATCH 204", opts: []option{patchNoContent}}, {name: "PUT", cfg: scim.Config{NoPatch: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newProvider(t, c.opts...)
			s := newSink(t, p, c.cfg)
			e := sinktest.Person("w-1")
			mustApply(t, s, create(e))
			p.drop("active")
			old := e
			e.Status, e.Role = hrissync.StatusTerminated, "Former engineer"
			err := s.Apply(context.Background(), change(hrissync.Deactivate, old, e))
			var na *scim.NotAppliedError
			if !errors.As(err, &na) || na.Attribute != "active" || na.Want != "false" || na.Got != "true" || na.EmployeeID != e.ID {
				t.Fatalf("err = %v, want a *NotAppliedError for active", err)
			}
			if retry.IsPermanent(err) {
				t.Error("a NotAppliedError was made permanent")
			}
			var pw *scim.PartialWriteError
			if errors.As(err, &pw) {
				t.Errorf("err = %v: claims a deactivation that did not land", err)
			}
			if acc, _, _ := p.account(e.ID); acc.Fields[hrissync.FieldRole] != old.Role {
				t.Errorf("role = %q: the rest was sent although the deactivation did not land", acc.Fields[hrissync.FieldRole])
			}
		})
	}
}

// A provider that silently drops an attribute it accepts (title here) on
// POST, PUT or PATCH: the read-back catches it, naming the attribute.
func TestDroppedAttributeIsNotApplied(t *testing.T) {
	for _, cfg := range []scim.Config{{}, {NoPatch: true}} {
		t.Run(fmt.Sprintf("NoPatch=%v", cfg.NoPatch), func(t *testing.T) {
			p := newProvider(t)
			s := newSink(t, p, cfg)
			p.drop("title")
			e := sinktest.Person("w-1")
			err := s.Apply(context.Background(), create(e))
			var na *scim.NotAppliedError
			if !errors.As(err, &na) || na.Attribute != "title" || na.Field != hrissync.FieldRole || na.Want != e.Role || na.Got != "" {
				t.Fatalf("create: err = %v, want a *NotAppliedError for title", err)
			}
			if retry.IsPermanent(err) {
				t.Error("a NotAppliedError was made permanent")
			}
			old := e
			e.Role = "Lead"
			err = s.Apply(context.Background(), change(hrissync.Modify, old, e))
			if !errors.As(err, &na) || na.Attribute != "title" || na.Want != "Lead" {
				t.Fatalf("update: err = %v, want a *NotAppliedError for title", err)
			}
			if p.count() != 1 {
				t.Errorf("%d accounts, want 1", p.count())
			}
		})
	}
}

// The rest of a termination refused: the deactivation landed, and the error
// says so and keeps the provider's answer.
func TestRefusedRestIsPartialWrite(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	e := sinktest.Person("w-1")
	mustApply(t, s, create(e))
	p.refuse("title")
	old := e
	e.Status, e.Role = hrissync.StatusTerminated, "Former engineer"
	err := s.Apply(context.Background(), change(hrissync.Deactivate, old, e))
	var pw *scim.PartialWriteError
	var se *scim.Error
	if !errors.As(err, &pw) || pw.EmployeeID != e.ID || !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		t.Fatalf("err = %v, want a *PartialWriteError around the 400", err)
	}
	if acc, _, _ := p.account(e.ID); acc.Active {
		t.Error("the account is still active")
	}
}

// A PATCH touches exactly the changed attributes by path, so what the
// provider holds beside them (a home email, a formatted name) survives.
func TestPatchIsPrecise(t *testing.T) {
	p := newProvider(t)
	e := sinktest.Person("w-1")
	p.seedRaw(map[string]any{"userName": e.Email, "active": true, "title": "from SSO",
		"emails": []any{
			map[string]any{"value": "home@example.org", "type": "home"},
			map[string]any{"value": e.Email, "type": "work", "primary": true},
		},
		"name": map[string]any{"givenName": e.GivenName, "familyName": e.FamilyName, "formatted": "Dr " + e.GivenName},
	})
	s := newSink(t, p, scim.Config{})
	mustApply(t, s, create(e)) // adopted by userName
	old := e
	e.Email, e.GivenName, e.ManagerID = "new@example.com", "Renamed", ""
	mustApply(t, s, change(hrissync.Modify, old, e))

	raw, _ := p.raw(e.ID)
	wantEmails := []any{
		map[string]any{"value": "home@example.org", "type": "home"},
		map[string]any{"value": "new@example.com", "type": "work", "primary": true},
	}
	if d := cmp.Diff(wantEmails, raw["emails"]); d != "" {
		t.Errorf("emails (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]any{"givenName": "Renamed", "familyName": e.FamilyName, "formatted": "Dr Given w-1"}, raw["name"]); d != "" {
		t.Errorf("name (-want +got):\n%s", d)
	}
	ops := patches(p)
	last := ops[len(ops)-1]
	want := []sentOp{
		{Op: "replace", Path: "userName", Value: "new@example.com"},
		{Op: "replace", Path: `emails[type eq "work"].value`, Value: "new@example.com"},
		{Op: "replace", Path: "name.givenName", Value: "Renamed"},
	}
	if d := cmp.Diff(want, last); d != "" {
		t.Errorf("PATCH (-want +got):\n%s", d)
	}
}

// An account with no work email gets one added, its other emails kept.
func TestWorkEmailAddedWhenNone(t *testing.T) {
	p := newProvider(t)
	e := sinktest.Person("w-1")
	p.seedRaw(map[string]any{"userName": e.Email, "active": true,
		"emails": []any{map[string]any{"value": "home@example.org", "type": "home", "primary": true}}})
	s := newSink(t, p, scim.Config{})
	mustApply(t, s, create(e))
	raw, _ := p.raw(e.ID)
	wantEmails := []any{
		map[string]any{"value": "home@example.org", "type": "home"},
		map[string]any{"value": e.Email, "type": "work", "primary": true},
	}
	if d := cmp.Diff(wantEmails, raw["emails"]); d != "" {
		t.Errorf("emails (-want +got):\n%s", d)
	}
	if !slices.ContainsFunc(patches(p)[0], func(o sentOp) bool { return o.Op == "add" && o.Path == "emails" }) {
		t.Errorf("no add of emails in %v", patches(p)[0])
	}
}

// A cleared manager is a "remove" of the manager, never {"value": ""}; a
// POST without a manager carries none.
func TestClearedManagerIsRemoved(t *testing.T) {
	for _, cfg := range []scim.Config{{}, {NoPatch: true}} {
		t.Run(fmt.Sprintf("NoPatch=%v", cfg.NoPatch), func(t *testing.T) {
			p := newProvider(t)
			s := newSink(t, p, cfg)
			boss, report := sinktest.Person("w-boss"), sinktest.Person("w-report")
			boss.Department, report.Department = "", "" // empty values are never sent
			mustApply(t, s, create(boss))
			report.ManagerID = boss.ID
			mustApply(t, s, create(report))
			raw, _ := p.raw(report.ID)
			_, bossID := p.raw(boss.ID)
			if got := str(raw[scim.EnterpriseSchema], "manager"); got != "" {
				t.Fatal("manager stored as a string")
			}
			if m := raw[scim.EnterpriseSchema].(map[string]any)["manager"]; str(m, "value") != bossID {
				t.Fatalf("manager = %v, want %s", m, bossID)
			}
			old := report
			report.ManagerID = ""
			mustApply(t, s, change(hrissync.Modify, old, report))
			raw, _ = p.raw(report.ID)
			if _, ok := raw[scim.EnterpriseSchema].(map[string]any)["manager"]; ok {
				t.Errorf("the manager is still held: %v", raw[scim.EnterpriseSchema])
			}
			for _, r := range p.sent() {
				if strings.Contains(r.body, `""`) {
					t.Errorf("%s sent an empty value: %s", r.method, r.body)
				}
			}
			if !cfg.NoPatch {
				ops := patches(p)
				if d := cmp.Diff([]sentOp{{Op: "remove", Path: scim.EnterpriseSchema + ":manager"}}, ops[len(ops)-1]); d != "" {
					t.Errorf("PATCH (-want +got):\n%s", d)
				}
			}
		})
	}
}

// The default keys are externalId then userName: nothing searches the
// enterprise extension or emails unless the host opts in.
func TestDefaultAdoptionKeys(t *testing.T) {
	p := newProvider(t, noEnterpriseFilter)
	s := newSink(t, p, scim.Config{})
	mustApply(t, s, create(sinktest.Person("w-1")))
	var filters []string
	for _, r := range p.sent() {
		if r.filter != "" {
			filters = append(filters, r.filter)
		}
	}
	want := []string{`externalId eq "w-1"`, `userName eq "w-1@example.com"`}
	if d := cmp.Diff(want, filters); d != "" {
		t.Errorf("searches (-want +got):\n%s", d)
	}
}

// A key the provider cannot filter on stops the create with a permanent,
// typed error naming the key — no POST, so never a second account.
func TestRefusedSearchStopsTheCreate(t *testing.T) {
	p := newProvider(t, noEnterpriseFilter)
	e := sinktest.Person("w-1")
	p.seed(hrissync.Account{Active: true, Fields: hrissync.Fields{hrissync.FieldEmail: "sso-" + e.Email, hrissync.FieldEmployeeNumber: e.EmployeeNumber}})
	s := newSink(t, p, scim.Config{Adopt: []scim.Key{scim.ByExternalID, scim.ByEmployeeNumber, scim.ByUserName}})
	err := s.Apply(context.Background(), create(e))
	var se *scim.SearchError
	var scimErr *scim.Error
	if !errors.As(err, &se) || se.Key != scim.ByEmployeeNumber || se.EmployeeID != e.ID ||
		!errors.As(err, &scimErr) || scimErr.Status != http.StatusBadRequest || scimErr.ScimType != "invalidFilter" {
		t.Fatalf("err = %v, want a *SearchError by employeeNumber around the 400 invalidFilter", err)
	}
	if !retry.IsPermanent(err) || !strings.Contains(err.Error(), "remove scim.ByEmployeeNumber from scim.Config.Adopt") {
		t.Errorf("err = %v: want permanent, telling the host which key to remove", err)
	}
	if p.count() != 1 || p.users.posts != 0 {
		t.Errorf("%d accounts, %d POSTs: the create went on", p.count(), p.users.posts)
	}
}

// Adoption by work email, opted in: the account found under another
// userName is adopted and bound.
func TestAdoptionByEmail(t *testing.T) {
	p := newProvider(t)
	e := sinktest.Person("w-1")
	id := p.seedRaw(map[string]any{"userName": "jdoe", "active": true,
		"emails": []any{map[string]any{"value": strings.ToUpper(e.Email), "type": "work"}}})
	s := newSink(t, p, scim.Config{Adopt: []scim.Key{scim.ByExternalID, scim.ByEmail}, UserName: func(hrissync.Fields) string { return "jdoe" }})
	mustApply(t, s, create(e))
	if _, pid, ok := p.account(e.ID); !ok || pid != id || p.count() != 1 {
		t.Errorf("account %q (found %v), %d accounts; want the seeded %s adopted", pid, ok, p.count(), id)
	}
}

// Two candidates are a conflict listing both, never a guess.
func TestAdoptionConflictIsReported(t *testing.T) {
	for _, key := range []scim.Key{scim.ByEmployeeNumber, scim.ByEmail} {
		t.Run(key.String(), func(t *testing.T) {
			p := newProvider(t)
			e := sinktest.Person("w-1")
			var ids []string
			for i := range 2 { // two accounts claim the same employee number and work email
				ids = append(ids, p.seedRaw(map[string]any{"userName": fmt.Sprint(i, "@x"), "active": true,
					"emails":              []any{map[string]any{"value": e.Email, "type": "work"}},
					scim.EnterpriseSchema: map[string]any{"employeeNumber": e.EmployeeNumber}}))
			}
			err := newSink(t, p, scim.Config{Adopt: []scim.Key{scim.ByExternalID, key}}).Apply(context.Background(), create(e))
			var ce *scim.ConflictError
			if !errors.As(err, &ce) || !slices.Equal(ce.Candidates, ids) || ce.Key != key || !retry.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent ConflictError with candidates %v", err, ids)
			}
			if p.count() != 2 {
				t.Errorf("a guess was made: %d accounts", p.count())
			}
		})
	}
}

// A leaver's account, its mailbox reused by a new hire, is another
// worker's: a conflict naming that worker, whatever the opt-ins.
func TestAccountBoundToAnotherWorkerIsConflict(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{AdoptInactive: true})
	leaver := sinktest.Person("w-1")
	mustApply(t, s, create(leaver))
	old := leaver
	leaver.Status = hrissync.StatusTerminated
	mustApply(t, s, change(hrissync.Deactivate, old, leaver))
	hire := sinktest.Person("w-2")
	hire.Email = leaver.Email
	err := s.Apply(context.Background(), create(hire))
	var ce *scim.ConflictError
	if !errors.As(err, &ce) || ce.BoundTo != leaver.ID || ce.Key != scim.ByUserName || !retry.IsPermanent(err) {
		t.Fatalf("err = %v, want a permanent ConflictError bound to %s", err, leaver.ID)
	}
	// The engine's Config.Correlate reads it as an account taken.
	var taken *hrissync.AccountTakenError
	if !errors.As(err, &taken) || taken.HeldBy != leaver.ID || taken.EmployeeID != hire.ID || taken.Field != "userName" {
		t.Errorf("as an AccountTakenError: %+v, want held by %s", taken, leaver.ID)
	}
	if acc, _, ok := p.account(leaver.ID); !ok || acc.Active {
		t.Errorf("the leaver's account: %+v", acc)
	}
}

// An inactive account bound to no worker is adopted only with
// AdoptInactive.
func TestInactiveAccountNeedsOptIn(t *testing.T) {
	p := newProvider(t)
	e := sinktest.Person("w-1")
	p.seed(hrissync.Account{Active: false, Fields: e.Fields()})
	err := newSink(t, p, scim.Config{}).Apply(context.Background(), create(e))
	var ce *scim.ConflictError
	if !errors.As(err, &ce) || !ce.Inactive || !retry.IsPermanent(err) {
		t.Fatalf("err = %v, want a permanent ConflictError for an inactive account", err)
	}
	mustApply(t, newSink(t, p, scim.Config{AdoptInactive: true}), create(e))
	if acc, _, ok := p.account(e.ID); !ok || !acc.Active || p.count() != 1 {
		t.Errorf("with AdoptInactive: %+v found=%v, %d accounts", acc, ok, p.count())
	}
}

// A provider that ignores a filter it cannot apply and answers every
// account: only a real match is adopted.
func TestSearchResultsAreChecked(t *testing.T) {
	p := newProvider(t)
	p.seed(hrissync.Account{Active: true, Fields: hrissync.Fields{hrissync.FieldEmail: "someone.else@example.com"}})
	p.setWrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Query().Get("filter") != "" {
				q := r.URL.Query()
				q.Del("filter")
				r.URL.RawQuery = q.Encode()
			}
			h.ServeHTTP(w, r)
		})
	})
	e := sinktest.Person("w-1")
	mustApply(t, newSink(t, p, scim.Config{}), create(e))
	if acc, _, _ := p.account(e.ID); acc.Fields[hrissync.FieldEmail] != e.Email || p.count() != 2 {
		t.Errorf("%+v, %d accounts: another's account was taken", acc, p.count())
	}
}

// A POST that answers 409 (the account exists, though the first searches
// did not see it) is resolved by finding the account and updating it.
func TestConflictOnCreateFindsTheAccount(t *testing.T) {
	p := newProvider(t)
	e := sinktest.Person("w-1")
	first := newSink(t, p, scim.Config{})
	if err := first.Apply(context.Background(), create(e)); err != nil {
		t.Fatal(err)
	}
	var searches atomic.Int32
	p.setWrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Query().Get("filter") != "" && searches.Add(1) <= 2 {
				w.Header().Set("Content-Type", "application/scim+json")
				fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	e.Role = "Lead"
	restarted := newSink(t, p, scim.Config{}) // an empty id cache
	if err := restarted.Apply(context.Background(), create(e)); err != nil {
		t.Fatalf("create over an existing account: %v", err)
	}
	if acc, _, _ := p.account(e.ID); acc.Fields[hrissync.FieldRole] != "Lead" || p.count() != 1 {
		t.Errorf("after the 409: role %q, %d accounts", acc.Fields[hrissync.FieldRole], p.count())
	}
}

// 412: the account changed since it was read; the sink re-reads and retries
// once.
func TestPreconditionFailedRereads(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	e := sinktest.Person("w-1")
	if err := s.Apply(context.Background(), create(e)); err != nil {
		t.Fatal(err)
	}
	p.users.mu.Lock()
	p.users.staleOnce = true
	p.users.mu.Unlock()
	old := e
	e.Role = "Lead"
	if err := s.Apply(context.Background(), change(hrissync.Modify, old, e)); err != nil {
		t.Fatalf("update after a 412: %v", err)
	}
	if acc, _, _ := p.account(e.ID); acc.Fields[hrissync.FieldRole] != "Lead" {
		t.Errorf("role = %q", acc.Fields[hrissync.FieldRole])
	}
}

// 429 and 503 become retry.RetryAfter with the provider's pause: seconds,
// or an HTTP date (one already past is 0; the engine sets the floor).
func TestThrottleBecomesRetryAfter(t *testing.T) {
	for _, c := range []struct {
		header   string
		min, max time.Duration
	}{
		{"7", 7 * time.Second, 7 * time.Second},
		{"0", 0, 0},
		{"Mon, 02 Jan 2006 15:04:05 GMT", 0, 0},
		{time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 58 * time.Minute, time.Hour},
		{"soon", 30 * time.Second, 30 * time.Second},
	} {
		p := newProvider(t)
		p.setThrottle(c.header)
		err := newSink(t, p, scim.Config{}).Apply(context.Background(), create(sinktest.Person("w-1")))
		if after, ok := retry.After(err); !ok || after < c.min || after > c.max {
			t.Errorf("429 Retry-After %q: %v, want RetryAfter in [%v, %v]", c.header, err, c.min, c.max)
		}
		if retry.IsPermanent(err) {
			t.Errorf("429 Retry-After %q was made permanent", c.header)
		}
	}
}

func TestValidationErrorIsPermanentAndTyped(t *testing.T) {
	p := newProvider(t)
	e := sinktest.Person("w-1")
	e.Email = "" // userName is required
	err := newSink(t, p, scim.Config{}).Apply(context.Background(), create(e))
	var se *scim.Error
	if !retry.IsPermanent(err) || !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.ScimType == "" {
		t.Fatalf("err = %v, want a permanent *scim.Error 400 with its scimType", err)
	}
}

func TestDeleteWhenConfigured(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{Delete: true})
	e := sinktest.Person("w-1")
	if err := s.Apply(context.Background(), create(e)); err != nil {
		t.Fatal(err)
	}
	e.Status = hrissync.StatusTerminated
	if err := s.Apply(context.Background(), hrissync.Update{EmployeeID: e.ID, Kind: hrissync.Deactivate, Fields: e.Fields()}); err != nil {
		t.Fatal(err)
	}
	if p.count() != 0 || p.users.deletes != 1 {
		t.Errorf("accounts %d, deletes %d; want the account deleted", p.count(), p.users.deletes)
	}
}

func TestNewRejects(t *testing.T) {
	for _, c := range []struct {
		base string
		cfg  *scim.Config
	}{
		{"", nil},
		{"", &scim.Config{}},
		{"http://x", &scim.Config{Extension: scim.EnterpriseSchema}},
		{"http://x", &scim.Config{Adopt: []scim.Key{scim.Key(42)}}},
	} {
		if _, err := scim.New(c.base, c.cfg); err == nil {
			t.Errorf("New(%q, %+v) = nil error", c.base, c.cfg)
		}
	}
	if _, err := scim.New("http://x", nil); err != nil {
		t.Errorf("New with a nil Config: %v", err)
	}
}

// The engine end to end: the simulated HRIS → engine → SCIM sink → the SCIM
// server, 500 people, a week of changes; the server ends equal to the HRIS
// in every field the sink carries.
func TestEngineThroughSCIM(t *testing.T) {
	if testing.Short() {
		t.Skip("a week of changes over HTTP")
	}
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	rep := simulateThrough(t, s, 500, 3)
	checkCarried(t, s, rep, func(id string) (hrissync.Account, bool) {
		acc, _, ok := p.account(id)
		return acc, ok
	}, p.count())
	p.groups.mu.Lock()
	var groups []map[string]any
	for _, g := range p.groups.byID {
		groups = append(groups, g.attrs)
	}
	p.groups.mu.Unlock()
	p.users.mu.Lock()
	workers := map[string]string{}
	for _, u := range p.users.byID {
		workers[u.id], _ = u.attrs["externalId"].(string)
	}
	p.users.mu.Unlock()
	checkGroups(t, rep, groups, workers)
	t.Logf("%s; SCIM writes %d (POST %d)", rep.Summary(), p.users.writes, p.users.posts)
}

// simulateThrough runs a week of an organisation's changes through the SCIM
// sink (in front of the simulator's own platform) and requires the
// simulation to converge with nothing lost and no write wasted.
func simulateThrough(t *testing.T, s *scim.Sink, people int, seed uint64) *sim.Report {
	t.Helper()
	churn := sim.DefaultChurn()
	churn.Conversions = 0.002 // a few people re-keyed, moved through SCIM's externalId
	// Audiences: departments and the managers kept as SCIM Groups.
	rep, err := sim.Run(t.Context(), sim.Config{People: people, Days: 7, Seed: seed, Churn: churn, Audiences: true,
		WrapSink: func(platform hrissync.Sink) hrissync.Sink { return through{s, platform} }})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Converged || rep.Lost != 0 || rep.Writes != rep.Needed {
		t.Fatalf("simulation: %s", rep.Summary())
	}
	if len(rep.Conversions) == 0 {
		t.Error("no conversions: re-keying through SCIM not exercised")
	}
	return rep
}

// through writes to the SCIM provider, then to the simulator's platform,
// which keeps the simulation's books.
type through struct {
	scim     *scim.Sink
	platform hrissync.Sink
}

func (w through) Apply(ctx context.Context, u hrissync.Update) error {
	if err := w.scim.Apply(ctx, u); err != nil {
		return err
	}
	return w.platform.Apply(ctx, u)
}

func (w through) Rekey(ctx context.Context, from string, u hrissync.Update) error {
	if err := w.scim.Rekey(ctx, from, u); err != nil {
		return err
	}
	return w.platform.(hrissync.Rekeyer).Rekey(ctx, from, u)
}

// checkCarried compares what the provider holds with what the HRIS says, in
// the fields the sink carries (a leaver's fields are not kept up to date),
// and requires one account per person.
func checkCarried(t *testing.T, s *scim.Sink, rep *sim.Report, account func(id string) (hrissync.Account, bool), users int) {
	t.Helper()
	want, got := map[string]sim.AccountView{}, map[string]sim.AccountView{}
	for id, v := range rep.Expected {
		w := sim.AccountView{Active: v.Active, Fields: map[string]string{}}
		if v.Active {
			for k, val := range v.Fields {
				if s.Carries(k) && val != "" {
					w.Fields[k] = val
				}
			}
		}
		want[id] = w
		if acc, ok := account(id); ok {
			g := sim.AccountView{Active: acc.Active, Fields: map[string]string{}}
			if acc.Active {
				g.Fields = acc.Fields
			}
			got[id] = g
		}
	}
	for _, v := range want {
		maps.DeleteFunc(v.Fields, func(f, _ string) bool { return strings.HasPrefix(f, hrissync.GroupPrefix) }) // checkGroups
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the provider differs from the HRIS in carried fields (-hris +provider):\n%s", d)
	}
	if users != len(rep.Expected) {
		t.Errorf("the provider holds %d users, want %d", users, len(rep.Expected))
	}
}

// Found by an outside test: a provider that pages its search results (here
// one a page, ignoring the filter) once hid the worker's account behind the
// first page, and a termination after a restart "succeeded" with no write.
func TestPagedSearchFindsTheAccount(t *testing.T) {
	p := newProvider(t, pagedIgnoringFilters)
	p.seed(hrissync.Account{Active: true, Fields: hrissync.Fields{hrissync.FieldEmail: "bob@example.com"}})
	e := sinktest.Person("w-1")
	if err := newSink(t, p, scim.Config{}).Apply(t.Context(), create(e)); err != nil {
		t.Fatal(err)
	}
	left := e
	left.Status = hrissync.StatusTerminated
	if err := newSink(t, p, scim.Config{}).Apply(t.Context(), change(hrissync.Deactivate, e, left)); err != nil { // a restarted sink
		t.Fatal(err)
	}
	if acc, _, ok := p.account(e.ID); !ok || acc.Active {
		t.Errorf("after the termination the provider holds %+v (found %v): still active", acc, ok)
	}
}

// Two accounts bound to one worker, shown one a page: a conflict, not a
// guess that leaves the second active.
func TestPagedSearchSeesEveryCandidate(t *testing.T) {
	p := newProvider(t, paged)
	e := sinktest.Person("w-1")
	for _, email := range []string{"a@example.com", "b@example.com"} {
		p.seedRaw(map[string]any{"userName": email, "externalId": e.ID, "active": true})
	}
	left := e
	left.Status = hrissync.StatusTerminated
	err := newSink(t, p, scim.Config{}).Apply(t.Context(), change(hrissync.Deactivate, e, left))
	var conflict *scim.ConflictError
	if !errors.As(err, &conflict) || len(conflict.Candidates) != 2 {
		t.Fatalf("two accounts bound to one worker, paged: %v, want a *ConflictError with both", err)
	}
}

// checkGroups: each group the rules ask for holds exactly the people at
// work the HRIS puts in it (the simulation's expected group fields), by
// worker id — leavers keep their groups by default, and are checked apart
// (TestGroupsLeavers); the provider's groups are given as stored, with the
// users' provider ids mapped to workers.
func checkGroups(t *testing.T, rep *sim.Report, groups []map[string]any, workers map[string]string) {
	t.Helper()
	want := map[string][]string{}
	for id, v := range rep.Expected {
		if !v.Active {
			continue
		}
		for f, val := range v.Fields {
			if code, _ := hrissync.ParseGroupRef(val); strings.HasPrefix(f, hrissync.GroupPrefix) && code != "" {
				want[code] = append(want[code], id)
			}
		}
	}
	got := map[string][]string{}
	for _, g := range groups {
		code, _ := g["externalId"].(string)
		list, _ := g["members"].([]any)
		for _, m := range list {
			if m, ok := m.(map[string]any); ok {
				if w := workers[fmt.Sprint(m["value"])]; rep.Expected[w].Active {
					got[code] = append(got[code], w)
				}
			}
		}
	}
	for _, m := range []map[string][]string{want, got} {
		for code := range m {
			slices.Sort(m[code])
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("group members (-rules +provider):\n%s", d)
	}
	if len(got) == 0 {
		t.Error("no groups on the provider: audiences not exercised")
	}
}
