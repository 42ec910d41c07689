package scim_test

// Re-keying (hrissync.Rekeyer) against both third-party providers, the
// elimity server (server_test.go) and SCIMMY (scimmy_test.go), each as
// deployed: core User and enterprise extension only.

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/scim"
	"github.com/hrissync/hrissync/connector/sinktest"
	"github.com/hrissync/hrissync/retry"
)

// rekeyPlatform is a provider as the re-key tests see it.
type rekeyPlatform struct {
	sink *scim.Sink
	// restart returns another sink for the provider, its cache empty.
	restart func() *scim.Sink
	// account is what the provider holds for the account bound to
	// worker, and its provider id.
	account func(worker string) (hrissync.Account, string, bool)
	// userName is the userName of the account bound to worker.
	userName func(worker string) string
	count    func() int
}

func elimityRekeyPlatform(t *testing.T, cfg scim.Config) rekeyPlatform {
	p := newProvider(t)
	return rekeyPlatform{
		sink:    newSink(t, p, cfg),
		restart: func() *scim.Sink { return newSink(t, p, cfg) },
		account: p.account,
		userName: func(worker string) string {
			raw, _ := p.raw(worker)
			return str(raw, "userName")
		},
		count: p.count,
	}
}

func scimmyRekeyPlatform(t *testing.T, cfg scim.Config) rekeyPlatform {
	p := newSCIMMYPlatform(t)
	return rekeyPlatform{
		sink:    p.sink(t, cfg),
		restart: func() *scim.Sink { return p.sink(t, cfg) },
		account: func(worker string) (hrissync.Account, string, bool) {
			accs, pids, _ := p.accounts(t)
			a, ok := accs[worker]
			return a, pids[worker], ok
		},
		userName: func(worker string) string {
			for _, u := range p.s.Users(t) {
				if u["externalId"] == worker {
					return str(u, "userName")
				}
			}
			return ""
		},
		count: func() int { _, _, n := p.accounts(t); return n },
	}
}

// rekeyPlatforms are the providers, each written to by PATCH and by PUT.
var rekeyPlatforms = []struct {
	name  string
	start func(t *testing.T) rekeyPlatform
}{
	{"elimity/PATCH", func(t *testing.T) rekeyPlatform { return elimityRekeyPlatform(t, scim.Config{}) }},
	{"elimity/PUT", func(t *testing.T) rekeyPlatform { return elimityRekeyPlatform(t, scim.Config{NoPatch: true}) }},
	{"SCIMMY/PATCH", func(t *testing.T) rekeyPlatform { return scimmyRekeyPlatform(t, scim.Config{}) }},
	{"SCIMMY/PUT", func(t *testing.T) rekeyPlatform { return scimmyRekeyPlatform(t, scim.Config{NoPatch: true}) }},
}

// rekeyUpdate is the update the engine sends to move old's account to e:
// of the kind relative to the old account, every field written.
func rekeyUpdate(kind hrissync.UpdateKind, old, e hrissync.Employee) hrissync.Update {
	u := change(kind, old, e)
	was := old.Fields()
	u.Changes = nil
	for _, k := range slices.Sorted(maps.Keys(u.Fields)) {
		u.Changes = append(u.Changes, hrissync.Change{Field: k, Old: was[k], New: u.Fields[k]})
	}
	return u
}

// converted is the contractor c-1 converted to the employee w-1: new worker
// id, employee number, email (and so userName) and role.
func converted() (contractor, employee hrissync.Employee) {
	contractor = sinktest.Person("c-1")
	contractor.Role = "Contractor"
	employee = contractor.Clone()
	employee.ID, employee.EmployeeNumber, employee.Email, employee.Role = "w-1", "Nw-1", "w-1@example.com", "Engineer"
	employee.PreviousIDs = []string{"c-1"}
	return contractor, employee
}

// carried is what the provider should hold of e's fields.
func carried(s *scim.Sink, e hrissync.Employee) hrissync.Fields {
	f := e.Fields()
	maps.DeleteFunc(f, func(k, v string) bool { return v == "" || !s.Carries(k) })
	return f
}

// requireRekeyed checks that the only account is the one that was bound to
// from (provider id pid), bound to e.ID now and holding e as active says.
func requireRekeyed(t *testing.T, p rekeyPlatform, from, pid string, e hrissync.Employee, active bool) {
	t.Helper()
	if n := p.count(); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
	if _, _, ok := p.account(from); ok {
		t.Errorf("an account is still bound to %s", from)
	}
	acc, got, ok := p.account(e.ID)
	if !ok {
		t.Fatalf("no account bound to %s", e.ID)
	}
	if got != pid {
		t.Errorf("account bound to %s is %s, want %s (the one bound to %s, with its history)", e.ID, got, pid, from)
	}
	if acc.Active != active {
		t.Errorf("active %v, want %v", acc.Active, active)
	}
	if d := cmp.Diff(carried(p.sink, e), acc.Fields); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
	if n := p.userName(e.ID); n != e.Email {
		t.Errorf("userName %q, want %q", n, e.Email)
	}
}

// (a) the account bound to the old id is bound to the new one, with u's
// fields, same provider id; (b) Rekey again applies u alone, and a later
// Rekey of the same move its new changes.
func TestRekey(t *testing.T) {
	for _, c := range rekeyPlatforms {
		t.Run(c.name, func(t *testing.T) {
			p := c.start(t)
			ctx := context.Background()
			old, e := converted()
			mustApply(t, p.sink, create(old))
			_, pid, _ := p.account(old.ID)

			u := rekeyUpdate(hrissync.Modify, old, e)
			if err := p.sink.Rekey(ctx, old.ID, u); err != nil {
				t.Fatalf("Rekey: %v", err)
			}
			requireRekeyed(t, p, old.ID, pid, e, true)

			if err := p.sink.Rekey(ctx, old.ID, u); err != nil {
				t.Fatalf("Rekey again: %v", err)
			}
			requireRekeyed(t, p, old.ID, pid, e, true)

			// Again with a further change, by a sink that never
			// saw the first (the engine restarted).
			e2 := e.Clone()
			e2.Department = "Platform"
			u2 := rekeyUpdate(hrissync.Modify, old, e2)
			if err := p.restart().Rekey(ctx, old.ID, u2); err != nil {
				t.Fatalf("Rekey with a further change: %v", err)
			}
			requireRekeyed(t, p, old.ID, pid, e2, true)
		})
	}
}

// A re-key that deactivates: the account moves and ends inactive.
func TestRekeyDeactivates(t *testing.T) {
	for _, c := range rekeyPlatforms {
		t.Run(c.name, func(t *testing.T) {
			p := c.start(t)
			old, e := converted()
			mustApply(t, p.sink, create(old))
			_, pid, _ := p.account(old.ID)
			e.Status = hrissync.StatusTerminated
			u := rekeyUpdate(hrissync.Deactivate, old, e)
			for i := range 2 {
				if err := p.sink.Rekey(context.Background(), old.ID, u); err != nil {
					t.Fatalf("Rekey #%d: %v", i+1, err)
				}
				requireRekeyed(t, p, old.ID, pid, e, false)
			}
		})
	}
}

// A re-key that reactivates (a leaver rehired under a new id): the
// account moves and is active again.
func TestRekeyReactivates(t *testing.T) {
	for _, c := range rekeyPlatforms {
		t.Run(c.name, func(t *testing.T) {
			p := c.start(t)
			old, e := converted()
			mustApply(t, p.sink, create(old))
			left := old.Clone()
			left.Status = hrissync.StatusTerminated
			mustApply(t, p.sink, change(hrissync.Deactivate, old, left))
			_, pid, _ := p.account(old.ID)
			if err := p.sink.Rekey(context.Background(), old.ID, rekeyUpdate(hrissync.Reactivate, left, e)); err != nil {
				t.Fatalf("Rekey: %v", err)
			}
			requireRekeyed(t, p, old.ID, pid, e, true)
		})
	}
}

// (c) an account bound to each id: a permanent *RekeyConflictError, and
// neither account touched.
func TestRekeyConflict(t *testing.T) {
	for _, c := range rekeyPlatforms {
		t.Run(c.name, func(t *testing.T) {
			p := c.start(t)
			old, e := converted()
			mustApply(t, p.sink, create(old))
			mustApply(t, p.sink, create(sinktest.Person(e.ID)))
			before := map[string]hrissync.Account{}
			pids := map[string]string{}
			for _, w := range []string{old.ID, e.ID} {
				before[w], pids[w], _ = p.account(w)
			}

			err := p.sink.Rekey(context.Background(), old.ID, rekeyUpdate(hrissync.Modify, old, e))
			var conflict *hrissync.RekeyConflictError
			if !errors.As(err, &conflict) || *conflict != (hrissync.RekeyConflictError{From: old.ID, To: e.ID}) {
				t.Fatalf("Rekey: %v, want a RekeyConflictError from %s to %s", err, old.ID, e.ID)
			}
			if !retry.IsPermanent(err) {
				t.Errorf("Rekey: %v is not permanent", err)
			}
			if n := p.count(); n != 2 {
				t.Errorf("%d accounts, want 2", n)
			}
			for _, w := range []string{old.ID, e.ID} {
				acc, pid, _ := p.account(w)
				if pid != pids[w] {
					t.Errorf("account bound to %s is %s, was %s", w, pid, pids[w])
				}
				if d := cmp.Diff(before[w], acc); d != "" {
					t.Errorf("account bound to %s changed (-before +after):\n%s", w, d)
				}
			}
		})
	}
}

// (d) neither id bound: a permanent error wrapping ErrNotFound, and nothing
// created — not even by adoption of an account the userName matches.
func TestRekeyNotFound(t *testing.T) {
	for _, c := range rekeyPlatforms {
		t.Run(c.name, func(t *testing.T) {
			p := c.start(t)
			old, e := converted()
			other := sinktest.Person("w-2")
			mustApply(t, p.sink, create(other))
			err := p.sink.Rekey(context.Background(), old.ID, rekeyUpdate(hrissync.Modify, old, e))
			if !errors.Is(err, hrissync.ErrNotFound) || !retry.IsPermanent(err) {
				t.Fatalf("Rekey: %v, want a permanent error wrapping ErrNotFound", err)
			}
			if n := p.count(); n != 1 {
				t.Errorf("%d accounts, want 1 (the unrelated one)", n)
			}
			if _, _, ok := p.account(e.ID); ok {
				t.Errorf("an account was bound to %s", e.ID)
			}
		})
	}
}

// The move and the update are one PATCH, sent with If-Match: when someone
// else changed the account meanwhile (412), the sink re-reads and sends it
// again, once.
func TestRekeyIsOnePatchUnderIfMatch(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	old, e := converted()
	mustApply(t, s, create(old))
	_, pid, _ := p.account(old.ID)
	var ifMatch []string
	p.setWrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				ifMatch = append(ifMatch, r.Header.Get("If-Match"))
			}
			h.ServeHTTP(w, r)
		})
	})
	p.users.mu.Lock()
	p.users.staleOnce = true
	p.users.mu.Unlock()

	if err := s.Rekey(context.Background(), old.ID, rekeyUpdate(hrissync.Modify, old, e)); err != nil {
		t.Fatalf("Rekey: %v", err)
	}
	want := []sentOp{
		{Op: "replace", Path: "userName", Value: e.Email},
		{Op: "replace", Path: `emails[type eq "work"].value`, Value: e.Email},
		{Op: "replace", Path: scim.EnterpriseSchema + ":employeeNumber", Value: e.EmployeeNumber},
		{Op: "replace", Path: "title", Value: e.Role},
		{Op: "replace", Path: "externalId", Value: e.ID},
	}
	ops := patches(p)
	if len(ops) != 2 {
		t.Fatalf("%d PATCHes, want 2 (one refused with 412, then again): %v", len(ops), ops)
	}
	for i, o := range ops {
		if d := cmp.Diff(want, o); d != "" {
			t.Errorf("PATCH #%d (-want +got):\n%s", i+1, d)
		}
	}
	if len(ifMatch) != 2 || ifMatch[0] == "" || ifMatch[1] == "" || ifMatch[0] == ifMatch[1] {
		t.Errorf("If-Match of the PATCHes %q, want two versions, the second re-read", ifMatch)
	}
	if _, got, _ := p.account(e.ID); got != pid {
		t.Errorf("account bound to %s is %q, want %s", e.ID, got, pid)
	}
}

// After a re-key the old id is no longer cached: a write for the old id
// (its record terminated) does not take the account back.
func TestRekeyForgetsTheOldID(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	old, e := converted()
	mustApply(t, s, create(old))
	if err := s.Rekey(context.Background(), old.ID, rekeyUpdate(hrissync.Modify, old, e)); err != nil {
		t.Fatalf("Rekey: %v", err)
	}
	gone := old.Clone()
	gone.Status = hrissync.StatusTerminated
	mustApply(t, s, change(hrissync.Deactivate, old, gone))
	acc, _, ok := p.account(e.ID)
	if !ok || !acc.Active || p.count() != 1 {
		t.Errorf("after the old id's termination: account bound to %s %+v (found %v), %d accounts; want it active, alone", e.ID, acc, ok, p.count())
	}
}

// With Config.Delete a re-key that deactivates deletes the account, as
// Apply would.
func TestRekeyDeletesWhenConfigured(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{Delete: true})
	old, e := converted()
	mustApply(t, s, create(old))
	e.Status = hrissync.StatusTerminated
	if err := s.Rekey(context.Background(), old.ID, rekeyUpdate(hrissync.Deactivate, old, e)); err != nil {
		t.Fatalf("Rekey: %v", err)
	}
	if p.count() != 0 || p.users.deletes != 1 {
		t.Errorf("accounts %d, deletes %d; want the account deleted", p.count(), p.users.deletes)
	}
}
