package hrissync_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/memory"
)

// chainedAuditor keeps a chain head per tenant, as audit.Log does, and can be
// told that its log lost entries.
type chainedAuditor struct {
	audit.Memory
	mu   sync.Mutex
	seq  int64
	lost error
}

func (c *chainedAuditor) Record(ctx context.Context, es []audit.Entry) error {
	c.mu.Lock()
	c.seq += int64(len(es))
	c.mu.Unlock()
	return c.Memory.Record(ctx, es)
}

func (c *chainedAuditor) Heads() map[string]audit.Head {
	c.mu.Lock()
	defer c.mu.Unlock()
	return map[string]audit.Head{"default": {Seq: c.seq, Hash: "h" + string(rune('0'+c.seq%10))}}
}

func (c *chainedAuditor) CheckAnchor(tenant string, a audit.Head) error {
	if c.lost != nil && a.Seq > 0 {
		return c.lost
	}
	return nil
}

func TestAuditAnchoredAndCheckedAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &chainedAuditor{}
		r := &rig{t: t, hr: newHR(), lms: newLMS(), store: memory.New(), alerts: &alerts{}}
		r.run(hrissync.Config{Auditor: log})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID)
		anchor, err := r.store.Anchor(t.Context(), "default")
		if err != nil || anchor != log.Heads()["default"] || anchor.Seq != 2 {
			t.Fatalf("anchor = %+v (%v), want the chain's head after two entries %+v", anchor, err, log.Heads()["default"])
		}

		// The log loses what the Store acknowledged: the next engine on
		// it refuses to start, and says so as critical.
		log.lost = errors.New("audit: log shorter than its anchor (sequence 2)")
		eng, err := hrissync.New(r.hr, r.lms, r.store, &hrissync.Config{Auditor: log, Alerter: r.alerts})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := eng.Run(ctx); !errors.Is(err, log.lost) {
			t.Fatalf("Run on a log that lost acknowledged entries = %v, want it refused", err)
		}
		r.alerts.mu.Lock()
		defer r.alerts.mu.Unlock()
		last := r.alerts.all[len(r.alerts.all)-1]
		if last.Kind != hrissync.AlertAuditLog || last.Severity != hrissync.SeverityCritical {
			t.Errorf("alert = %+v, want a critical audit-log alert", last)
		}
	})
}

// damagedStore reports some people's stored state as undecodable until a
// commit replaces it, as a Store with a damaged row does.
type damagedStore struct {
	*memory.Store
	mu      sync.Mutex
	damaged map[string]bool
}

func (s *damagedStore) isDamaged(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.damaged[id]
}

func (s *damagedStore) Person(ctx context.Context, tenant, id string) (store.Person, error) {
	if s.isDamaged(id) {
		return store.Person{ID: id, Damaged: true}, nil
	}
	return s.Store.Person(ctx, tenant, id)
}

func (s *damagedStore) Pending(ctx context.Context, tenant string, until time.Time, after string, limit int) ([]store.Person, error) {
	ps, err := s.Store.Pending(ctx, tenant, until, after, limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.damaged {
		if id > after {
			ps = append(ps, store.Person{ID: id, Damaged: true})
		}
	}
	return ps, err
}

func (s *damagedStore) Commit(ctx context.Context, tenant string, c store.Commit) error {
	s.mu.Lock()
	delete(s.damaged, c.ID)
	s.mu.Unlock()
	return s.Store.Commit(ctx, tenant, c)
}

func TestDamagedPersonIsRebuiltWithAFullRewrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &damagedStore{Store: memory.New(), damaged: map[string]bool{}}
		r := &rig{t: t, hr: newHR(), lms: newLMS(), store: st.Store, audit: &audit.Memory{}, alerts: &alerts{}}
		a := r.hr.put(alice())
		b := bob()
		b = r.hr.put(b)
		r.run(hrissync.Config{})
		r.notify(a.ID)
		r.notify(b.ID)
		// Both rows are damaged while HR changes them and the events are
		// lost: Alice's role changes (and her account is disabled by
		// hand); Bob leaves at once.
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.lms.mu.Lock()
		r.lms.accounts[a.ID].Active = false
		r.lms.mu.Unlock()
		r.hr.update(b.ID, func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
		st.damaged[a.ID], st.damaged[b.ID] = true, true

		// A new engine on the damaged Store: its start-up sweep finds
		// Alice and rebuilds her.
		eng, err := hrissync.New(r.hr, r.lms, st, &hrissync.Config{Alerter: r.alerts})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- eng.Run(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		acc := r.mustAccount(a.ID)
		if !acc.Active || acc.Fields[hrissync.FieldRole] != "Lead" || acc.Fields[hrissync.FieldEmail] != a.Email {
			t.Errorf("Alice after the rebuild = %+v, want active with every field rewritten", acc)
		}
		if st.isDamaged(a.ID) || st.isDamaged(b.ID) {
			t.Error("a damaged row was not replaced")
		}
		if bob := r.mustAccount(b.ID); bob.Active {
			t.Error("Bob, a leaver whose row was damaged, still has access")
		}
		r.alerts.mu.Lock()
		defer r.alerts.mu.Unlock()
		found := false
		for _, al := range r.alerts.all {
			found = found || (al.Kind == hrissync.AlertDamagedState && al.Severity == hrissync.SeverityCritical)
		}
		if !found {
			t.Errorf("alerts = %+v, want a critical damaged-state alert", r.alerts.all)
		}
	})
}
