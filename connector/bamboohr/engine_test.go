package bamboohr_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/bamboohr"
	"github.com/hrissync/hrissync/connector/bamboohr/bamboohrtest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// scenario is the engine keeping a memory platform in step with a fake
// BambooHR company, on a fake clock, over loopback HTTP: the Source reads
// the company's API, and the company's signed webhooks — one event-based in
// JSON, one field-based form-encoded — reach the library's webhook handler.
// truth holds the same people in hrissync's terms, as the oracle.
type scenario struct {
	t        *testing.T
	clock    *clocktest.Clock
	company  *hr
	srv      *bamboohrtest.Server
	truth    *memory.HRIS
	platform *memory.Platform
	eng      *hrissync.Engine
	hooks    *httptest.Server
}

// newScenario starts the scenario at start; HR's clock is skew ahead of the
// engine's (behind, if negative).
func newScenario(t *testing.T, start time.Time, skew time.Duration, people []hrissync.Employee) *scenario {
	ctx := t.Context()
	s := &scenario{t: t, clock: clocktest.NewClock(start)}
	s.srv = newFake(t, func() time.Time { return s.clock.Now().Add(skew) })
	s.company = newHR(s.srv)
	s.truth = memory.NewHRIS(s.clock, 1)
	for _, e := range people {
		s.put(e)
	}
	s.srv.Drop() // hired before the webhooks were set up
	s.platform = memory.NewPlatform(s.clock, 1)
	var err error
	s.eng, err = hrissync.New(newSource(t, s.srv, 2, bamboohr.Config{}), s.platform, memstore.New(), &hrissync.Config{
		Clock:    s.clock,
		Location: time.UTC, // as memory.Diff judges
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.hooks = httptest.NewServer(mux)
	t.Cleanup(s.hooks.Close)
	for _, w := range []bamboohrtest.Webhook{
		{URL: s.hooks.URL + "/bamboohr/events", Kind: "event", Format: "json", PrivateKey: []byte("event-webhook-key")},
		{URL: s.hooks.URL + "/bamboohr/fields", Kind: "field", Format: "form-encoded", PrivateKey: []byte("field-webhook-key")},
	} {
		v, err := bamboohr.NewVerifier(0, w.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		h, err := webhook.New(s.eng, v, &webhook.Config{Decoder: bamboohr.Decoder{}, Now: s.clock.Now,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle("POST /bamboohr/"+w.Kind+"s", h)
		s.srv.AddWebhook(w)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.eng.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	<-s.eng.Started()
	if err := s.eng.Batch(ctx); err != nil {
		t.Fatalf("the first batch: %v", err)
	}
	s.settle(start)
	return s
}

// put makes HR's change in BambooHR and in the oracle.
func (s *scenario) put(e hrissync.Employee) {
	s.company.put(e)
	s.truth.Put("employee.updated", e)
}

// deliver sends the webhooks BambooHR has queued; each must be taken.
func (s *scenario) deliver() {
	s.t.Helper()
	for _, c := range s.deliverAnswered() {
		if c != http.StatusNoContent && c != http.StatusOK {
			s.t.Fatalf("a webhook was answered %d", c)
		}
	}
}

// deliverAnswered sends the webhooks BambooHR has queued, and returns the
// answers.
func (s *scenario) deliverAnswered() []int {
	s.t.Helper()
	codes, err := s.srv.Deliver(s.t.Context(), s.hooks.Client())
	if err != nil {
		s.t.Fatal(err)
	}
	if len(codes) == 0 {
		s.t.Fatal("no webhook to deliver")
	}
	return codes
}

// settle moves the clock timer by timer to end, the engine finishing its
// work at each instant before the next.
func (s *scenario) settle(end time.Time) {
	s.t.Helper()
	ctx := s.t.Context()
	for {
		if err := s.eng.WaitIdle(ctx); err != nil {
			s.t.Fatal(err)
		}
		next, ok := s.clock.Next()
		if !ok || next.After(end) {
			s.clock.AdvanceTo(end)
			if err := s.eng.WaitIdle(ctx); err != nil {
				s.t.Fatal(err)
			}
			return
		}
		s.clock.AdvanceTo(next)
	}
}

func (s *scenario) account(id string) memory.Account {
	s.t.Helper()
	a, ok := s.platform.Account(id)
	if !ok {
		s.t.Fatalf("no account for %s", id)
	}
	return a
}

// TestEngineOverBambooHR: hires, an immediate and a future-dated
// termination, a rehire, role and manager changes, a custom field, signed
// webhooks in both formats, and a webhook lost and caught by the poll —
// each reaching the platform when the hybrid cadence says, and the platform
// in step with HR at the end.
func TestEngineOverBambooHR(t *testing.T) {
	mon := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	person := func(id, manager, role string) hrissync.Employee {
		return hrissync.Employee{ID: id, EmployeeNumber: "E" + id, Email: "p" + id + "@acme.test", GivenName: "P" + id,
			FamilyName: "Q", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2024, 1, 8), Role: role,
			ManagerID: manager, Department: "R&D", Location: "Paris",
			Attributes: map[string]string{"division": "Core", "cert": "Bronze"}}
	}
	people := []hrissync.Employee{
		person("1", "", "CEO"), person("2", "1", "Head of R&D"), person("3", "2", "Engineer"),
		person("4", "2", "Engineer"), person("5", "2", "Engineer"), person("6", "2", "Engineer"),
	}
	s := newScenario(t, mon, 0, people)
	if diff := memory.Diff(s.truth, s.platform, s.clock.Now()); len(diff) != 0 {
		t.Fatalf("after the first batch the platform differs from HR:\n%v", diff)
	}
	at := func(d time.Duration) time.Time { return mon.Add(d) }

	// A hire starting next Monday.
	s.settle(at(5 * time.Minute))
	hire := person("7", "2", "Engineer")
	hire.StartDate = hrissync.NewDate(2026, 3, 9)
	s.put(hire)
	s.deliver()

	// An immediate termination: entered after the last day worked.
	s.settle(at(10 * time.Minute))
	people[2].Status, people[2].TerminationDate = hrissync.StatusTerminated, hrissync.NewDate(2026, 3, 1)
	s.put(people[2])
	s.deliver()
	s.settle(at(11 * time.Minute))
	if s.account("3").Active {
		t.Error("a minute after the webhook, the leaver still has access")
	}

	// A termination dated Wednesday: access until the end of that day.
	s.settle(at(15 * time.Minute))
	people[3].TerminationDate = hrissync.NewDate(2026, 3, 4)
	s.put(people[3])
	s.deliver()
	s.settle(at(16 * time.Minute))
	if !s.account("4").Active {
		t.Error("a leaver dated Wednesday lost access on Monday")
	}

	// A role change and a manager change, by webhook.
	s.settle(at(20 * time.Minute))
	people[4].Role = "Senior Engineer"
	people[5].ManagerID = "1"
	s.put(people[4])
	s.put(people[5])
	s.deliver()
	s.settle(at(21 * time.Minute))
	if a := s.account("5"); a.Fields[hrissync.FieldRole] != "Senior Engineer" {
		t.Errorf("a minute after the webhook, role %q", a.Fields[hrissync.FieldRole])
	}
	if a := s.account("6"); a.Fields[hrissync.FieldManagerID] != "1" {
		t.Errorf("a minute after the webhook, manager %q", a.Fields[hrissync.FieldManagerID])
	}

	// A custom field: an attribute, the nightly batch's.
	s.settle(at(25 * time.Minute))
	people[4].Attributes = map[string]string{"division": "Core", "cert": "Gold"}
	s.put(people[4])
	s.deliver()
	s.settle(at(26 * time.Minute))
	cert := hrissync.AttributePrefix + "cert"
	if got := s.account("5").Fields[cert]; got != "Bronze" {
		t.Errorf("the custom field reached the platform by webhook (%q), not by the batch", got)
	}

	// A webhook that never comes: the hourly poll finds the change.
	s.settle(at(30 * time.Minute))
	people[1].Role = "VP Engineering"
	s.put(people[1])
	s.srv.Drop()
	s.settle(at(59 * time.Minute))
	if got := s.account("2").Fields[hrissync.FieldRole]; got != "Head of R&D" {
		t.Fatalf("role %q before any poll", got)
	}
	s.settle(at(2 * time.Hour))
	if got := s.account("2").Fields[hrissync.FieldRole]; got != "VP Engineering" {
		t.Errorf("an hour after a lost webhook, role %q: the poll missed it", got)
	}

	// The nightly batch brings the custom field.
	s.settle(time.Date(2026, 3, 3, 3, 0, 0, 0, time.UTC))
	if got := s.account("5").Fields[cert]; got != "Gold" {
		t.Errorf("after the nightly batch, the custom field is %q", got)
	}

	// Wednesday's leaver keeps access through Wednesday, not after.
	s.settle(time.Date(2026, 3, 4, 23, 59, 0, 0, time.UTC))
	if !s.account("4").Active {
		t.Error("the leaver lost access before the end of the last day")
	}
	s.settle(time.Date(2026, 3, 5, 0, 1, 0, 0, time.UTC))
	if s.account("4").Active {
		t.Error("a minute after the last day, the leaver still has access")
	}

	// A rehire: back on the next Monday.
	people[2].Status, people[2].StartDate = hrissync.StatusActive, hrissync.NewDate(2026, 3, 9)
	s.put(people[2])
	s.deliver()
	s.settle(time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC))
	if !s.account("3").Active {
		t.Error("the rehire has no access on their first day")
	}
	if !s.account("7").Active {
		t.Error("the hire has no access on their first day")
	}
	s.settle(time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC))
	if diff := memory.Diff(s.truth, s.platform, s.clock.Now()); len(diff) != 0 {
		t.Errorf("at the end the platform differs from HR:\n%v", diff)
	}
	if dead, err := s.eng.DeadLetters(t.Context()); err != nil || len(dead) != 0 {
		t.Errorf("dead letters: %v, %v", dead, err)
	}
	if inc := s.eng.Incidents(); len(inc) != 0 {
		t.Errorf("incidents: %v", inc)
	}
}

// TestEngineOverBambooHRClockSkew: BambooHR's clock ten minutes behind the
// engine's. Its webhooks fall outside the replay window and are refused,
// recording nothing; the hourly poll, whose window overlaps the last by 30
// minutes, still finds every change, and the platform ends in step with HR.
func TestEngineOverBambooHRClockSkew(t *testing.T) {
	mon := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	people := []hrissync.Employee{
		{ID: "1", Email: "a@acme.test", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2024, 1, 8), Role: "CEO"},
		{ID: "2", Email: "b@acme.test", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2024, 1, 8), Role: "Engineer", ManagerID: "1"},
	}
	s := newScenario(t, mon, -10*time.Minute, people)
	events := s.eng.Stats().Events
	s.settle(mon.Add(50 * time.Minute))
	people[1].Status, people[1].TerminationDate = hrissync.StatusTerminated, hrissync.NewDate(2026, 3, 1)
	people[0].Role = "Chair"
	s.put(people[1])
	s.put(people[0])
	for _, c := range s.deliverAnswered() {
		if c != http.StatusUnauthorized {
			t.Errorf("a delivery signed ten minutes ago was answered %d, want 401", c)
		}
	}
	s.settle(mon.Add(55 * time.Minute))
	if got := s.eng.Stats().Events; got != events {
		t.Errorf("refused deliveries recorded %d events", got-events)
	}
	if !s.account("2").Active {
		t.Fatal("the leaver lost access before any poll: the refused webhook was taken")
	}
	s.settle(mon.Add(2 * time.Hour))
	if s.account("2").Active {
		t.Error("two hours on, the leaver still has access: the poll missed the change")
	}
	if got := s.account("1").Fields[hrissync.FieldRole]; got != "Chair" {
		t.Errorf("role %q: the poll missed the change", got)
	}
	if diff := memory.Diff(s.truth, s.platform, s.clock.Now()); len(diff) != 0 {
		t.Errorf("the platform differs from HR:\n%v", diff)
	}
}
