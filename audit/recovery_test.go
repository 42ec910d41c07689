package audit_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync/audit"
)

// The engine finds these on its Auditor by type assertion.
var _ interface {
	Heads() map[string]audit.Head
	CheckAnchor(tenant string, anchor audit.Head) error
} = (*audit.Log)(nil)

// logWith writes entries first..last-1 of each tenant to the log at path
// and returns the heads after: what the engine stores as its anchors.
func logWith(t *testing.T, path string, opts *audit.LogOptions, first, last int, tenants ...string) map[string]audit.Head {
	t.Helper()
	l, err := audit.OpenLog(t.Context(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := first; i < last; i++ {
		for _, tenant := range tenants {
			record(t, l, entry(i, tenant))
		}
	}
	return l.Heads()
}

// appendTorn appends the first n bytes of the line the log would write next
// for entry(i, tenant), as a crash during that append leaves them. The line
// is made in a copy of the log, so the log itself is not touched.
func appendTorn(t *testing.T, path string, i int, tenant string, n int) {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.jsonl")
	if err := os.WriteFile(cp, before, 0o600); err != nil {
		t.Fatal(err)
	}
	logWith(t, cp, nil, i, i+1, tenant)
	after, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	next := after[len(before):]
	if n > len(next) {
		t.Fatalf("the next line has %d bytes, not %d", len(next), n)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(next[:n]); err != nil {
		t.Fatal(err)
	}
}

func check(t *testing.T, path string, anchors map[string]audit.Head) *audit.Report {
	t.Helper()
	files, err := audit.LogFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Check(audit.CheckOptions{Anchors: anchors, HeadFile: path + ".head"}, files...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func kinds(r *audit.Report) []audit.FindingKind {
	var out []audit.FindingKind
	for _, f := range r.Findings {
		out = append(out, f.Kind)
	}
	return out
}

// A crash in the middle of an append leaves part of a line. Beyond the
// anchors it is cut off and the cut recorded in the chain of the tenant the
// line names; the entry it held is written again when handed over again.
func TestTornTailRecovered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	anchors := logWith(t, path, nil, 0, 5, "acme", "globex")
	appendTorn(t, path, 5, "acme", 200)
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	torn := size()

	r := check(t, path, anchors)
	if err := r.Err(); err != nil || len(r.Findings) != 1 || r.Findings[0].Kind != audit.TornLine || r.Findings[0].Recovery.BytesDropped != 200 {
		t.Fatalf("before recovery: %v, findings %v; want one torn final line of 200 bytes", err, r.Findings)
	}
	if err := audit.Verify(path); err != nil {
		t.Fatalf("Verify of a torn, unrecovered log = %v", err)
	}

	l, err := audit.OpenLog(t.Context(), path, &audit.LogOptions{Anchors: anchors})
	if err != nil {
		t.Fatalf("OpenLog = %v", err)
	}
	if h := l.Heads(); h["acme"].Seq != 6 || h["globex"] != anchors["globex"] {
		t.Errorf("heads after recovery = %+v, want a recovered entry in acme's chain only", h)
	}
	record(t, l, entry(5, "acme"), entry(4, "acme")) // handed over again, and once too often
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if size() < torn-200 {
		t.Fatal("the log lost more than the torn line")
	}

	r = check(t, path, anchors)
	if err := r.Err(); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if len(r.Findings) != 1 || r.Findings[0].Kind != audit.TailRecovered || r.Findings[0].Tenant != "acme" || r.Findings[0].Seq != 6 {
		t.Fatalf("findings = %v, want one torn tail recovered as acme's entry 6", r.Findings)
	}
	if rec := r.Findings[0].Recovery; rec.BytesDropped != 200 || rec.Reason != audit.TornReason || rec.File != "audit.jsonl" {
		t.Errorf("recovery = %+v", rec)
	}
	if s := r.Findings[0].String(); !strings.HasPrefix(s, "torn tail recovered: 200 bytes") {
		t.Errorf("in words: %s", s)
	}
	var ids []string
	for rec, err := range audit.Read(path) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.Entry.ID)
	}
	if got := strings.Join(ids[len(ids)-3:], " "); got != "globex-4 log/acme/6 acme-5" {
		t.Errorf("the log ends %s, want globex-4 log/acme/6 acme-5", got)
	}
}

// A line torn before it names its tenant could have been any tenant's: the
// cut is recorded in every chain. A line complete but for its newline is
// torn too: Record had not returned, so nothing acknowledged it.
func TestTornTailOfUnknownTenant(t *testing.T) {
	for _, c := range []struct {
		name string
		keep func(n int) int // bytes of the next line left
		want map[string]int64
	}{
		{"cut before the tenant", func(int) int { return 12 }, map[string]int64{"acme": 4, "globex": 4, "initech": 1}},
		{"all but the newline", func(n int) int { return n - 1 }, map[string]int64{"acme": 4, "globex": 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			anchors := logWith(t, path, nil, 0, 3, "acme", "globex")
			anchors["initech"] = audit.Head{} // a tenant the host knows, with no entries yet
			appendTorn(t, path, 3, "acme", lineLen(t, path, 3, "acme", c.keep))
			log, err := audit.OpenLog(t.Context(), path, &audit.LogOptions{Anchors: anchors})
			if err != nil {
				t.Fatal(err)
			}
			heads := log.Heads()
			log.Close()
			for tenant, seq := range c.want {
				if heads[tenant].Seq != seq {
					t.Errorf("%s ends at %d, want %d", tenant, heads[tenant].Seq, seq)
				}
			}
			if err := audit.Verify(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// lineLen is keep(the length of the line the log would write next for
// entry(i, tenant), newline included).
func lineLen(t *testing.T, path string, i int, tenant string, keep func(int) int) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.jsonl")
	os.WriteFile(cp, b, 0o600)
	logWith(t, cp, nil, i, i+1, tenant)
	after, _ := os.ReadFile(cp)
	return keep(len(after) - len(b))
}

// A torn line that the anchor covers was acknowledged: its loss is
// tampering, refused and never "recovered".
func TestTornLineBelowAnchorRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	anchors := logWith(t, path, nil, 0, 5, "acme")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, b[:len(b)-40], 0o600) // the last entry, acknowledged, cut short
	os.Remove(path + ".head")                // and the head file with it, so only the anchor knows
	_, err := audit.OpenLog(t.Context(), path, &audit.LogOptions{Anchors: anchors})
	var ae *audit.AnchorError
	if !errors.As(err, &ae) || ae.Problem != audit.LogShorter || ae.Tenant != "acme" || ae.Seq != 5 || ae.At != 4 {
		t.Fatalf("OpenLog = %v, want the log shorter than its anchor: 4 of 5", err)
	}
	if !strings.Contains(err.Error(), "sequence 5") {
		t.Errorf("the error does not name the anchor's sequence: %v", err)
	}
	if st, _ := os.Stat(path); st.Size() != int64(len(b)-40) {
		t.Error("OpenLog changed a log it refused")
	}
	r := check(t, path, anchors)
	if got := kinds(r); len(got) != 2 || got[0] != audit.TornLine || got[1] != audit.Shorter {
		t.Fatalf("findings = %v, want the torn line and the log shorter than its anchor", r.Findings)
	}
}

// A crash between an append and the head file's update leaves the head file
// behind: normal, and OpenLog brings it up to date. A head file ahead of the
// chain means entries were cut off the end.
func TestHeadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	logWith(t, path, nil, 0, 3, "acme")
	old, _ := os.ReadFile(path + ".head")
	logWith(t, path, nil, 3, 6, "acme")
	os.WriteFile(path+".head", old, 0o600)

	r := check(t, path, nil)
	if err := r.Err(); err != nil {
		t.Fatalf("Verify with the head file behind = %v", err)
	}
	if len(r.Findings) != 1 || r.Findings[0].Kind != audit.HeadBehind || r.Findings[0].Seq != 6 || r.Findings[0].At != 3 {
		t.Fatalf("findings = %v, want the head file behind: 6 and 3", r.Findings)
	}
	l, err := audit.OpenLog(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := check(t, path, nil); len(r.Findings) != 0 {
		t.Errorf("after OpenLog, before any Record: %v", r.Findings)
	}
	l.Close()

	b, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(b, []byte("\n"))
	os.WriteFile(path, bytes.Join(lines[:4], nil), 0o600) // entries 5 and 6 cut off, whole lines
	var ae *audit.AnchorError
	if err := audit.Verify(path); !errors.As(err, &ae) || ae.Problem != audit.LogShorter || ae.HeadFile == "" || ae.At != 4 || ae.Seq != 6 {
		t.Fatalf("Verify with the head file ahead = %v", err)
	}
	if _, err := audit.OpenLog(t.Context(), path, nil); !errors.As(err, &ae) {
		t.Fatalf("OpenLog with the head file ahead = %v", err)
	}
}

// damage is one way to lose or change entries the Store acknowledged.
type damage struct {
	name string
	do   func(t *testing.T, path string)
	// what OpenLog with the anchors returns, and Check reports
	problem audit.AnchorProblem
	at      int64
	kind    audit.FindingKind
	// seq is the sequence the report names
	seq int64
	// without anchors, the damage passes OpenLog: the engine's
	// CheckAnchor catches it
	passes bool
}

var damages = []damage{
	{name: "deleted", do: func(t *testing.T, path string) {
		os.Remove(path)
		os.Remove(path + ".head")
	}, problem: audit.LogMissing, kind: audit.Missing, seq: 10, passes: true},
	{name: "deleted, head file kept", do: func(t *testing.T, path string) {
		os.Remove(path)
	}, problem: audit.LogMissing, kind: audit.Missing, seq: 10},
	{name: "truncated below the anchor", do: func(t *testing.T, path string) {
		cutLines(t, path, 7)
	}, problem: audit.LogShorter, at: 7, kind: audit.Shorter, seq: 10},
	{name: "truncated, head file too", do: func(t *testing.T, path string) {
		cutLines(t, path, 7)
		os.Remove(path + ".head")
	}, problem: audit.LogShorter, at: 7, kind: audit.Shorter, seq: 10, passes: true},
	{name: "line edited below the anchor", do: func(t *testing.T, path string) {
		b, _ := os.ReadFile(path)
		lines := bytes.SplitAfter(b, []byte("\n"))
		lines[4] = bytes.Replace(lines[4], []byte("lead"), []byte("boss"), 1)
		os.WriteFile(path, bytes.Join(lines, nil), 0o600)
	}, problem: audit.LogDiffers, at: 5, kind: audit.Altered, seq: 5},
	{name: "chain rewritten from entry 5", do: func(t *testing.T, path string) {
		// A thorough forger: every hash after the edit recomputed, and
		// the head file too. Only the Store's anchor knows.
		os.Remove(path)
		os.Remove(path + ".head")
		logWith(t, path, nil, 0, 4, "acme")
		l, err := audit.OpenLog(t.Context(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 4; i < 10; i++ {
			e := entry(i, "acme")
			e.Changes[1].New = "boss"
			record(t, l, e)
		}
		l.Close()
	}, problem: audit.LogDiffers, at: 10, kind: audit.Differs, seq: 10, passes: true},
}

// cutLines keeps the first n lines of the log.
func cutLines(t *testing.T, path string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, bytes.Join(bytes.SplitAfter(b, []byte("\n"))[:n], nil), 0o600)
}

// Every damage below the anchor is refused by OpenLog given the anchors,
// caught by CheckAnchor where OpenLog alone lets it pass, and reported by
// Check with the sequence.
func TestDamageBelowAnchorRefused(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			anchors := logWith(t, path, nil, 0, 10, "acme")
			d.do(t, path)

			_, err := audit.OpenLog(t.Context(), path, &audit.LogOptions{Anchors: anchors})
			var ae *audit.AnchorError
			if !errors.As(err, &ae) || ae.Problem != d.problem || ae.Tenant != "acme" || ae.Seq != 10 || ae.At != d.at {
				t.Fatalf("OpenLog = %v, want problem %d at %d", err, d.problem, d.at)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("sequence %d", max(d.at, 10))) {
				t.Errorf("the error does not name the sequence: %v", err)
			}

			r := check(t, path, anchors)
			var found *audit.Finding
			for i, f := range r.Findings {
				if f.Kind == d.kind {
					found = &r.Findings[i]
					break
				}
			}
			if r.Err() == nil || found == nil || found.Seq != d.seq || !strings.Contains(found.String(), fmt.Sprint(d.seq)) {
				t.Fatalf("Check = %v, want a %v finding at %d", r.Findings, d.kind, d.seq)
			}

			l, err := audit.OpenLog(t.Context(), path, nil)
			if !d.passes {
				if err == nil {
					l.Close()
					t.Fatal("OpenLog without anchors accepted the damage")
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenLog without anchors = %v", err)
			}
			defer l.Close()
			err = l.CheckAnchor("acme", anchors["acme"])
			if !errors.As(err, &ae) || ae.Problem != d.problem || ae.Seq != 10 {
				t.Fatalf("CheckAnchor = %v, want problem %d", err, d.problem)
			}
			if err := l.CheckAnchor("globex", audit.Head{}); err != nil {
				t.Errorf("CheckAnchor of a zero anchor = %v", err)
			}
		})
	}
}

// CheckAnchor finds any anchor at or below the head, and only the right
// hash there.
func TestCheckAnchor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	at3 := logWith(t, path, nil, 0, 3, "acme")["acme"]
	l, err := audit.OpenLog(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 3; i < 6; i++ {
		record(t, l, entry(i, "acme"))
	}
	if err := l.CheckAnchor("acme", at3); err != nil {
		t.Errorf("CheckAnchor(entry 3) = %v", err)
	}
	if err := l.CheckAnchor("acme", l.Heads()["acme"]); err != nil {
		t.Errorf("CheckAnchor(head) = %v", err)
	}
	var ae *audit.AnchorError
	if err := l.CheckAnchor("acme", audit.Head{Seq: 3, Hash: "beef"}); !errors.As(err, &ae) || ae.Problem != audit.LogDiffers || ae.At != 3 {
		t.Errorf("CheckAnchor(wrong hash) = %v", err)
	}
	if err := l.CheckAnchor("acme", audit.Head{Seq: 7, Hash: "beef"}); !errors.As(err, &ae) || ae.Problem != audit.LogShorter || ae.At != 6 {
		t.Errorf("CheckAnchor(beyond the head) = %v", err)
	}
}

// A host restarts the chain only explicitly: the refused files are set
// aside whole, and the new chain continues after the anchor, its first
// entry recording the restart.
func TestRestart(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "audit.jsonl")
			anchors := logWith(t, path, nil, 0, 10, "acme", "globex")
			d.do(t, path)
			at := time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)
			l, err := audit.OpenLog(t.Context(), path, &audit.LogOptions{Anchors: anchors, Restart: "incident INC-7: log lost with the disk",
				Now: func() time.Time { return at }})
			if err != nil {
				t.Fatalf("OpenLog with Restart = %v", err)
			}
			for tenant, a := range anchors {
				if err := l.CheckAnchor(tenant, a); err != nil {
					t.Errorf("the old anchor is not in the new chain: %v", err)
				}
				if h := l.Heads()[tenant]; h.Seq != a.Seq+1 {
					t.Errorf("%s's restarted chain ends at %d, want %d", tenant, h.Seq, a.Seq+1)
				}
			}
			record(t, l, entry(10, "acme"))
			anchors = l.Heads()
			l.Close()

			r := check(t, path, anchors)
			if err := r.Err(); err != nil {
				t.Fatalf("the restarted log: %v", err)
			}
			if got := kinds(r); len(got) != 2 || got[0] != audit.ChainRestarted || got[1] != audit.ChainRestarted {
				t.Fatalf("findings = %v, want a restart in each chain", r.Findings)
			}
			f := r.Findings[0]
			if f.Tenant != "acme" || f.Seq != 11 || f.Recovery.Anchor.Seq != 10 || f.Recovery.Reason != "incident INC-7: log lost with the disk" ||
				!strings.Contains(f.Recovery.Problem, "sequence 10") || !strings.Contains(f.String(), "incident INC-7") {
				t.Errorf("restart = %+v %+v", f, f.Recovery)
			}
			var first audit.Entry
			for rec := range audit.Read(path) {
				first = rec.Entry
				break
			}
			if first.Action != audit.ActionChainRestarted || !first.Applied.Equal(at) || first.Trigger != audit.TriggerLog {
				t.Errorf("the first entry = %+v", first)
			}
			if moved := f.Recovery.MovedTo; moved != "" {
				moved = filepath.Join(dir, moved)
				old, _ := audit.LogFiles(moved)
				_, err := os.Stat(moved + ".head")
				if len(old) == 0 && err != nil {
					t.Errorf("nothing under %s", moved)
				}
				if d.kind == audit.Altered && audit.Verify(old...) == nil {
					t.Error("the files set aside no longer show the damage")
				}
			} else if d.name != "deleted" {
				t.Error("nothing was set aside")
			}
			// Reopened with the new anchors, the log is as any other.
			l, err = audit.OpenLog(t.Context(), path, &audit.LogOptions{Anchors: anchors, Restart: "not used"})
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			if r := check(t, path, anchors); len(r.Findings) != 2 {
				t.Errorf("a second open with Restart set changed the log: %v", r.Findings)
			}
		})
	}
}
