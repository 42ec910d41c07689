package sim_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/sim"
)

// The two platforms of TestTwoSinksMonth: a compliance LMS taking everyone on
// the hybrid policy, under the seed's faults; and a learning-experience
// platform taking Engineering and Research only, with skills realtime and no
// org chart (a scoped platform holding managers would need every manager in
// scope), sound.
var (
	lmsSink = sim.Sink{Name: "lms", Policy: cadence.Hybrid()}
	lxpSink = sim.Sink{Name: "lxp",
		Policy: cadence.Hybrid().
			WithPrefix(hrissync.AttributePrefix+"skill.", cadence.Realtime).
			With(hrissync.FieldManagerID, cadence.Ignore),
		InScope: func(e hrissync.Employee) bool { return e.Department == "Engineering" || e.Department == "Research" },
		Faults:  &sim.SinkFaults{},
	}
)

// TestTwoSinksMonth: one engine keeping two platforms with different
// policies and scopes over a simulated month of churn and faults. Each
// platform converges on what the HRIS says for it, with every write a
// needed one; someone never in the LXP's scope is never written there (and
// is on the LMS); and the LXP costs the Source nothing: the same month run
// with the LMS alone makes as many Source calls — the same listings, record
// for record, and the same Gets but for the run-to-run noise of the races
// at the instants the engine's poll shares with HR changes.
func TestTwoSinksMonth(t *testing.T) {
	cfg := sim.Config{People: 300, Days: 30, Faults: sim.SeedFaults(), Sinks: []sim.Sink{lmsSink}}
	one, err := sim.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sinks = []sim.Sink{lmsSink, lxpSink}
	two, err := sim.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lms alone: %s; source %s", one.Summary(), one.SourceReads)
	t.Logf("lms + lxp: %s; source %s", two.Summary(), two.SourceReads)
	if len(two.Sinks) != 2 {
		t.Fatalf("%d sink reports, want 2", len(two.Sinks))
	}
	lms, lxp := two.Sinks[0], two.Sinks[1]
	for _, k := range two.Sinks {
		t.Logf("  %s (%s): %s", k.Sink, k.Policy, k.Summary())
		if d := cmp.Diff(k.Expected, k.Actual); d != "" {
			t.Errorf("%s differs from the HRIS (-hris +platform):\n%s", k.Sink, d)
		}
		if !k.Converged || k.Lost != 0 || k.Writes != k.Needed || k.Writes == 0 {
			t.Errorf("%s: %s", k.Sink, k.Summary())
		}
		if k.Premature != 0 || k.FalselyDeactivated != 0 || k.Strays != 0 {
			t.Errorf("%s: %d premature writes, %d falsely deactivated, %d giving access out of scope",
				k.Sink, k.Premature, k.FalselyDeactivated, k.Strays)
		}
	}
	if !two.Converged || two.Writes != lms.Writes+lxp.Writes || two.Needed != lms.Needed+lxp.Needed {
		t.Errorf("engine: %s, want the sinks' added", two.Summary())
	}
	if lms.Attempts <= lms.Writes {
		t.Errorf("lms: attempts %d ≤ writes %d: its faults not exercised", lms.Attempts, lms.Writes)
	}

	checkScope(t, lms, lxp)
	checkPolicies(t, lms, lxp)
	checkOneRead(t, one, two)
}

// checkScope: the people never in the LXP's scope were never written there,
// and are on the LMS; those who left its scope lost access there only.
func checkScope(t *testing.T, lms, lxp *sim.Report) {
	t.Helper()
	if lms.OutOfScope != nil {
		t.Errorf("lms has no scope, yet %d people out of it", len(lms.OutOfScope))
	}
	if len(lxp.OutOfScope) < 100 {
		t.Fatalf("%d people never in the lxp's scope: scope not exercised", len(lxp.OutOfScope))
	}
	if lxp.WrittenOutOfScope != 0 {
		t.Errorf("lxp written for %d people never in its scope", lxp.WrittenOutOfScope)
	}
	onLMS := 0
	for _, id := range lxp.OutOfScope {
		if a, ok := lxp.Actual[id]; ok {
			t.Errorf("lxp holds %s, never in its scope: %+v", id, a)
		}
		if want, ok := lms.Expected[id]; ok {
			if got, ok := lms.Actual[id]; !ok || got.Active != want.Active {
				t.Errorf("lms: %s (out of the lxp's scope) active=%v on it, want %v", id, got.Active, want.Active)
			}
			onLMS++
		}
	}
	if onLMS < 100 {
		t.Errorf("only %d of the people out of the lxp's scope are on the lms", onLMS)
	}
	left := 0
	for id, a := range lxp.Actual {
		if !a.Active && lms.Actual[id].Active {
			left++ // left the lxp's scope, still at work
		}
	}
	if left == 0 {
		t.Error("nobody left the lxp's scope while at work: deprovisioning by scope not exercised")
	}
	for id, a := range lxp.Actual {
		if _, ok := a.Fields[hrissync.FieldManagerID]; ok {
			t.Errorf("lxp %s holds a manager, which its policy ignores", id)
		}
	}
	t.Logf("lxp: %d accounts, %d people never in scope (%d of them on the lms), %d left its scope at work",
		len(lxp.Actual), len(lxp.OutOfScope), onLMS, left)
}

// checkPolicies: skills reach the LXP, where they are realtime, within
// minutes, and the LMS, where they are batch, with a night's batch.
func checkPolicies(t *testing.T, lms, lxp *sim.Report) {
	t.Helper()
	median := func(r *sim.Report) (int, time.Duration) {
		var ds []time.Duration
		for _, e := range r.Expectations {
			if strings.HasPrefix(e.Field, hrissync.AttributePrefix+"skill.") && !e.Superseded && !e.Applied.IsZero() {
				ds = append(ds, e.Latency())
			}
		}
		if len(ds) == 0 {
			return 0, 0
		}
		slices.Sort(ds)
		return len(ds), ds[len(ds)/2]
	}
	nLMS, lmsP50 := median(lms)
	nLXP, lxpP50 := median(lxp)
	t.Logf("skill changes applied: lms %d, p50 %v; lxp %d, p50 %v", nLMS, lmsP50, nLXP, lxpP50)
	if nLMS == 0 || nLXP == 0 {
		t.Fatal("no skill changes applied")
	}
	if lxpP50 > 10*time.Minute {
		t.Errorf("lxp skills p50 %v: not realtime", lxpP50)
	}
	if lmsP50 < time.Hour {
		t.Errorf("lms skills p50 %v: not batch", lmsP50)
	}
}

// checkOneRead: the LXP costs the Source nothing. No person is read twice at
// one instant, whichever sinks reconcile them then. The listings are the same
// with it as without, call for call and record for record (the batch's list
// and its rerun's read once for both sinks; the poll's changes once), and so
// are the Gets, within the noise between two runs of the same month: the
// engine's hourly poll shares its instants with HR changes taking effect at
// midnight, and which of the two reads a person first is a race, run to
// run. The noise allowed is 2 % of the Gets, and at most a tenth of the
// realtime and poll reconciles the LXP made, each of which would have read
// the Source had it not shared the LMS's reads. The Source's own counts
// agree with the engine's.
func checkOneRead(t *testing.T, one, two *sim.Report) {
	t.Helper()
	a, b := one.SourceReads, two.SourceReads
	if a.List != b.List || a.Snapshot != b.Snapshot || a.ChangedSince != b.ChangedSince || a.Listed != b.Listed {
		t.Errorf("listings: lms alone %s; lms + lxp %s", a, b)
	}
	if a.Snapshot == 0 || a.ChangedSince == 0 || a.Get == 0 {
		t.Fatalf("the Source not read: %s", a)
	}
	// Sharp, within the run: no person was read twice at one instant.
	// Each sink's reconcile of a webhook, a poll or a date taking effect
	// happens at that instant; one read serves them all.
	if b.Repeats != 0 {
		t.Errorf("with the lxp too, %d Gets read a person already read at that instant", b.Repeats)
	}
	noise := max(a.Get/50, 5)
	lxp := two.Sinks[1]
	reconciles := lxp.Triggers[hrissync.TriggerRealtime].Reconciles + lxp.Triggers[hrissync.TriggerPoll].Reconciles
	if reconciles < 10*noise {
		t.Fatalf("the lxp reconciled %d times: too few to tell shared reads from the noise (%d)", reconciles, noise)
	}
	if d := b.Get - a.Get; d > noise || -d > noise {
		t.Errorf("Source.Get: %d with the lms alone, %d with the lxp too (%+d; noise allowed ±%d, the lxp's realtime and poll reconciles %d)",
			a.Get, b.Get, d, noise, reconciles)
	}
	t.Logf("Source.Get: %d with the lms alone, %d with the lxp too (%+d; noise allowed ±%d); the lxp reconciled %d times on webhooks and polls",
		a.Get, b.Get, b.Get-a.Get, noise, reconciles)
	for _, r := range []*sim.Report{one, two} {
		if c, s := r.SourceCalls, r.SourceReads; c.Get != s.Get || c.List != s.List+s.Snapshot || c.ChangedSince != s.ChangedSince {
			t.Errorf("%s: the engine counted %+v, the Source saw %s", r.Policy, c, s)
		}
	}
	// Per trigger: the listings exactly (the Gets' split between realtime
	// and the poll is the race above).
	for _, tr := range hrissync.AllTriggers() {
		x, y := one.Triggers[tr].SourceCalls, two.Triggers[tr].SourceCalls
		if x.List != y.List || x.ChangedSince != y.ChangedSince {
			t.Errorf("%s: source calls %+v with the lms alone, %+v with the lxp too", tr, x, y)
		}
	}
}
