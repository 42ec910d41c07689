package cadence_test

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/hrissync/hrissync/cadence"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// runs lists the runs of s in (from, to].
func runs(s cadence.Schedule, from, to time.Time) []time.Time {
	var out []time.Time
	for t := s.Next(from); !t.After(to); t = s.Next(t) {
		out = append(out, t)
	}
	return out
}

func TestDailyNewYork2026(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	at := cadence.Daily(2*time.Hour, ny)
	cases := []struct {
		name string
		from time.Time
		want []string // RFC 3339 in New York time
	}{
		{
			// Clocks jump from 02:00 EST to 03:00 EDT on 8 March: 02:00 does
			// not exist, so the run is at 03:00 EDT, the first instant after.
			name: "spring forward",
			from: time.Date(2026, 3, 6, 12, 0, 0, 0, ny),
			want: []string{"2026-03-07T02:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"},
		},
		{
			// Clocks fall back from 02:00 EDT to 01:00 EST on 1 November:
			// 02:00 EST happens once, five hours after midnight UTC.
			name: "fall back",
			from: time.Date(2026, 10, 30, 12, 0, 0, 0, ny),
			want: []string{"2026-10-31T02:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-02T02:00:00-05:00"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runs(at, c.from, c.from.Add(72*time.Hour))
			if len(got) != len(c.want) {
				t.Fatalf("got %d runs %v, want %v", len(got), got, c.want)
			}
			for i, g := range got {
				if s := g.In(ny).Format(time.RFC3339); s != c.want[i] {
					t.Errorf("run %d = %s, want %s", i, s, c.want[i])
				}
			}
		})
	}
}

func TestDailyRepeatedHourRunsOnce(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	at := cadence.Daily(90*time.Minute, ny) // 01:30 happens twice on 1 Nov 2026
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, ny)
	got := runs(at, from, from.Add(24*time.Hour))
	if len(got) != 1 {
		t.Fatalf("runs on the fall-back day = %v, want exactly one", got)
	}
	if want := "2026-11-01T01:30:00-04:00"; got[0].In(ny).Format(time.RFC3339) != want {
		t.Errorf("run = %s, want the first occurrence %s", got[0].In(ny).Format(time.RFC3339), want)
	}
	// Asking from between the two occurrences must not run again at the second.
	if next := at.Next(got[0].Add(30 * time.Minute)); next.Sub(got[0]) < 24*time.Hour {
		t.Errorf("Next after first occurrence = %s, want the next day", next.In(ny))
	}
}

func TestDailyHalfHourZones(t *testing.T) {
	t.Run("Kolkata +05:30", func(t *testing.T) {
		kol := mustLoad(t, "Asia/Kolkata")
		got := cadence.Daily(2*time.Hour, kol).Next(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		if want := time.Date(2026, 6, 1, 20, 30, 0, 0, time.UTC); !got.Equal(want) {
			t.Errorf("Next = %s, want %s", got.UTC(), want)
		}
	})
	t.Run("Adelaide spring forward", func(t *testing.T) {
		// Adelaide (+09:30, +10:30 in summer) jumps from 02:00 to 03:00 on 4 October 2026.
		adl := mustLoad(t, "Australia/Adelaide")
		got := runs(cadence.Daily(2*time.Hour+15*time.Minute, adl), time.Date(2026, 10, 3, 12, 0, 0, 0, adl), time.Date(2026, 10, 5, 12, 0, 0, 0, adl))
		want := []string{"2026-10-04T03:00:00+10:30", "2026-10-05T02:15:00+10:30"}
		if len(got) != len(want) {
			t.Fatalf("runs = %v, want %v", got, want)
		}
		for i := range got {
			if s := got[i].In(adl).Format(time.RFC3339); s != want[i] {
				t.Errorf("run %d = %s, want %s", i, s, want[i])
			}
		}
	})
	t.Run("Lord Howe half-hour shift", func(t *testing.T) {
		// Lord Howe moves its clocks by 30 minutes: 02:00 → 02:30 on 4 October 2026.
		lh := mustLoad(t, "Australia/Lord_Howe")
		got := cadence.Daily(2*time.Hour+10*time.Minute, lh).Next(time.Date(2026, 10, 4, 0, 0, 0, 0, lh))
		if want := "2026-10-04T02:30:00+11:00"; got.In(lh).Format(time.RFC3339) != want {
			t.Errorf("Next = %s, want %s", got.In(lh).Format(time.RFC3339), want)
		}
	})
}

func TestEvery(t *testing.T) {
	e := cadence.Every(time.Hour)
	from := time.Date(2026, 3, 1, 10, 17, 0, 0, time.UTC)
	if got, want := e.Next(from), time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next(%s) = %s, want %s", from, got, want)
	}
	if got, want := e.Next(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next on the hour = %s, want %s (strictly after)", got, want)
	}
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var w cadence.Window
	cases := []struct {
		name      string
		lastStart time.Time
		want      time.Time
	}{
		{"first poll", time.Time{}, now.Add(-90 * time.Minute)},
		{"hourly", now.Add(-time.Hour), now.Add(-90 * time.Minute)},
		{"after five hours down", now.Add(-5 * time.Hour), now.Add(-5*time.Hour - 30*time.Minute)},
		{"polled just now", now.Add(-time.Minute), now.Add(-90 * time.Minute)},
	}
	for _, c := range cases {
		if got := w.Since(now, c.lastStart); !got.Equal(c.want) {
			t.Errorf("%s: Since = %s, want %s", c.name, got, c.want)
		}
	}
	drift := cadence.Window{Overlap: 2 * time.Hour}
	if got, want := drift.Since(now, now.Add(-time.Hour)), now.Add(-3*time.Hour); !got.Equal(want) {
		t.Errorf("with 2h overlap: Since = %s, want %s", got, want)
	}
}

func TestPolicies(t *testing.T) {
	h := cadence.Hybrid()
	for _, f := range []string{"status", "terminationDate", "role", "managerId", "email"} {
		if c := h.Class(f); c != cadence.Realtime {
			t.Errorf("Hybrid().Class(%q) = %v, want realtime", f, c)
		}
	}
	for _, f := range []string{"department", "location", "attr.skill.go", "attr.performanceRating"} {
		if c := h.Class(f); c != cadence.Batch {
			t.Errorf("Hybrid().Class(%q) = %v, want batch", f, c)
		}
	}
	if c := cadence.BatchOnly().Class("status"); c != cadence.Batch {
		t.Errorf("BatchOnly status = %v", c)
	}
	if c := cadence.RealtimeOnly().Class("attr.x"); c != cadence.Realtime {
		t.Errorf("RealtimeOnly attr = %v", c)
	}
	custom := h.WithPrefix("attr.cert.", cadence.Realtime).With("attr.cert.secret", cadence.Ignore)
	if c := custom.Class("attr.cert.aws"); c != cadence.Realtime {
		t.Errorf("prefix class = %v, want realtime", c)
	}
	if c := custom.Class("attr.cert.secret"); c != cadence.Ignore {
		t.Errorf("named class = %v, want ignore", c)
	}
	if c := h.Class("attr.cert.aws"); c != cadence.Batch {
		t.Errorf("With changed the receiver: %v", c)
	}
}
