package merge_test

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
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/merge"
	"github.com/hrissync/hrissync/connector/merge/mergetest"
	"github.com/hrissync/hrissync/connector/webhook"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// TestEngineOverMerge: the engine keeps a memory platform in step with a
// fake Merge linked account, on a fake clock, over loopback HTTP, Merge's
// signed webhooks on the library's endpoint. A termination and a role
// change arrive by webhook; a lost webhook is found by the hourly poll; and
// one lost before Merge reports a sync is found by the poll the sync
// notification starts, at once.
func TestEngineOverMerge(t *testing.T) {
	ctx := t.Context()
	mon := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := clocktest.NewClock(mon)
	srv := newFake(t, clock.Now)
	truth := memory.NewHRIS(clock, 1)
	people := peopleOf(20) // two leavers a day are within the termination budget (20 %)
	for i := range people {
		if i > 0 {
			people[i].ManagerID = "1"
		}
	}
	hr := func(e hrissync.Employee) {
		put(srv, e)
		truth.Put("employee.updated", expected(e))
	}
	for _, e := range people {
		hr(e)
	}
	srv.Drop()

	platform := memory.NewPlatform(clock, 1)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := hrissync.New(newSource(t, srv, 2, clock.Now), platform, memstore.New(), &hrissync.Config{Clock: clock, Location: time.UTC, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("merge-organization-signature-key")
	v, err := merge.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	synced := 0
	h, err := webhook.New(eng, v, &webhook.Config{Logger: discard,
		Decoder: merge.Decoder{LinkedAccount: account, Synced: func() { synced++ }}})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := httptest.NewServer(h)
	t.Cleanup(endpoint.Close)
	srv.AddWebhook(mergetest.Webhook{URL: endpoint.URL, Key: key})

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	<-eng.Started()
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	settle := func(end time.Time) {
		t.Helper()
		for {
			if err := eng.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			next, ok := clock.Next()
			if !ok || next.After(end) {
				clock.AdvanceTo(end)
				if err := eng.WaitIdle(ctx); err != nil {
					t.Fatal(err)
				}
				return
			}
			clock.AdvanceTo(next)
		}
	}
	deliver := func() {
		t.Helper()
		codes, err := srv.Deliver(ctx, endpoint.Client())
		if err != nil || len(codes) == 0 {
			t.Fatalf("deliver: %v, %v", codes, err)
		}
		for _, c := range codes {
			if c != http.StatusOK && c != http.StatusNoContent {
				t.Fatalf("a webhook was answered %d", c)
			}
		}
	}
	account := func(id string) memory.Account {
		t.Helper()
		a, ok := platform.Account(id)
		if !ok {
			t.Fatalf("no account for %s", id)
		}
		return a
	}
	at := func(d time.Duration) time.Time { return mon.Add(d) }
	settle(mon)
	if diff := memory.Diff(truth, platform, clock.Now()); len(diff) != 0 {
		t.Fatalf("after the first batch:\n%v", diff)
	}

	// A termination and a role change, by webhook.
	settle(at(10 * time.Minute))
	people[2].Status, people[2].TerminationDate = hrissync.StatusTerminated, hrissync.NewDate(2026, 3, 1)
	people[3].Role = "Lead"
	hr(people[2])
	hr(people[3])
	deliver()
	settle(at(11 * time.Minute))
	if account("3").Active {
		t.Error("a minute after the webhook, the leaver still has access")
	}
	if got := account("4").Fields[hrissync.FieldRole]; got != "Lead" {
		t.Errorf("a minute after the webhook, role %q", got)
	}

	// A webhook lost: the hourly poll.
	settle(at(20 * time.Minute))
	people[4].Role = "Architect"
	hr(people[4])
	srv.Drop()
	settle(at(59 * time.Minute))
	if got := account("5").Fields[hrissync.FieldRole]; got != "Engineer" {
		t.Fatalf("role %q before any poll", got)
	}
	settle(at(2 * time.Hour))
	if got := account("5").Fields[hrissync.FieldRole]; got != "Architect" {
		t.Errorf("an hour after a lost webhook, role %q", got)
	}

	// A webhook lost, then Merge reports its sync: a poll at once.
	settle(at(2*time.Hour + 10*time.Minute))
	people[5].Status, people[5].TerminationDate = hrissync.StatusTerminated, hrissync.NewDate(2026, 3, 1)
	hr(people[5])
	srv.Drop()
	srv.CompleteSync()
	deliver()
	if synced != 1 {
		t.Fatalf("sync notifications seen: %d, want 1", synced)
	}
	if err := eng.Poll(ctx); err != nil { // what the host's Synced starts
		t.Fatal(err)
	}
	settle(at(2*time.Hour + 11*time.Minute))
	if account("6").Active {
		t.Error("after the sync notification's poll, the leaver still has access")
	}

	settle(time.Date(2026, 3, 3, 3, 0, 0, 0, time.UTC))
	if diff := memory.Diff(truth, platform, clock.Now()); len(diff) != 0 {
		t.Errorf("at the end the platform differs from HR:\n%v", diff)
	}
	if dead, err := eng.DeadLetters(ctx); err != nil || len(dead) != 0 {
		t.Errorf("dead letters: %v, %v", dead, err)
	}
}
