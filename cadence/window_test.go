package cadence_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hrissync/hrissync/cadence"
)

var noon = time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)

func TestWindowSince(t *testing.T) {
	h := time.Hour
	for _, tt := range []struct {
		name      string
		w         cadence.Window
		watermark time.Time
		want      time.Time
	}{
		{"first poll", cadence.Window{}, time.Time{}, noon.Add(-90 * time.Minute)},
		{"the last poll saw a change an hour ago", cadence.Window{}, noon.Add(-h), noon.Add(-90 * time.Minute)},
		{"downtime: widened back to the watermark", cadence.Window{}, noon.Add(-5 * h), noon.Add(-5*h - 30*time.Minute)},
		{"the engine's clock is 3 h ahead", cadence.Window{}, noon.Add(-3*h - 10*time.Minute), noon.Add(-3*h - 40*time.Minute)},
		{"a watermark ahead keeps the length", cadence.Window{}, noon.Add(time.Minute), noon.Add(-90 * time.Minute)},
		{"configured", cadence.Window{Length: 2 * h, Overlap: h}, noon.Add(-2 * h), noon.Add(-3 * h)},
		{"no overlap", cadence.Window{Overlap: -1}, noon.Add(-2 * h), noon.Add(-2 * h)},
	} {
		if got := tt.w.Since(noon, tt.watermark); !got.Equal(tt.want) {
			t.Errorf("%s: Since = now%v, want now%v", tt.name, got.Sub(noon), tt.want.Sub(noon))
		}
	}
}

func TestWindowNext(t *testing.T) {
	h := time.Hour
	years := noon.AddDate(10, 0, 0)
	for _, tt := range []struct {
		name     string
		held     time.Time
		versions []time.Time
		want     time.Time
	}{
		{"first poll, nothing read: the engine's clock", time.Time{}, nil, noon},
		{"first poll: the newest version", time.Time{}, []time.Time{noon.Add(-3 * h), noon.Add(-2 * h)}, noon.Add(-2 * h)},
		{"nothing read: kept", noon.Add(-5 * h), nil, noon.Add(-5 * h)},
		{"a newer version moves it", noon.Add(-5 * h), []time.Time{noon.Add(-4 * h), noon.Add(-30 * time.Minute)}, noon.Add(-30 * time.Minute)},
		{"never back", noon.Add(-h), []time.Time{noon.Add(-80 * time.Minute)}, noon.Add(-h)},
		{"within MaxAhead counts", noon.Add(-h), []time.Time{noon.Add(cadence.MaxAhead)}, noon.Add(cadence.MaxAhead)},
		{"years ahead beside sound versions: ignored", noon.Add(-4 * h), []time.Time{years, noon.Add(-3 * h)}, noon.Add(-3 * h)},
		{"everything ahead: now + MaxAhead", noon.Add(-4 * h), []time.Time{years, noon.Add(2 * h)}, noon.Add(cadence.MaxAhead)},
		{"everything ahead of a clock stepped back: kept", noon.Add(3 * h), []time.Time{noon.Add(3*h + 5*time.Minute)}, noon.Add(3 * h)},
		{"no versions", noon.Add(-h), []time.Time{{}, {}}, noon.Add(-h)},
	} {
		if got := (cadence.Window{}).Next(tt.held, noon, tt.versions); !got.Equal(tt.want) {
			t.Errorf("%s: Next = now%+v, want now%+v", tt.name, got.Sub(noon), tt.want.Sub(noon))
		}
	}
}

// TestWindowFollowsTheSourcesClock polls a Source that records a change
// every 20 minutes, hourly for two days, with the engine's clock offset from
// the Source's and stepped halfway, and five polls failing (downtime) after
// that. Once a poll has read a record, every change is read by the first
// successful poll after it, and no window reaches back more than a few hours
// beyond how far the engine's clock is behind, or the downtime: the
// watermark follows the Source's time, not the engine's. (Before, with a Source more than the window's length behind, a
// band of changes is left to the batch: docs/design.md §2.5.)
func TestWindowFollowsTheSourcesClock(t *testing.T) {
	w := cadence.Window{}
	h := time.Hour
	start := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC) // on the Source's clock
	var changes []time.Time
	for c := start.Add(7 * time.Minute); c.Before(start.Add(48 * h)); c = c.Add(20 * time.Minute) {
		changes = append(changes, c)
	}
	for _, offset := range []time.Duration{-3 * h, -2 * h, -30 * time.Minute, 0, 30 * time.Minute, 2 * h, 3 * h} {
		for _, step := range []time.Duration{0, 3 * h, -3 * h, 24 * h, -24 * h} {
			t.Run(fmt.Sprintf("engine %v from the Source, stepped %v", offset, step), func(t *testing.T) {
				var watermark, tracking time.Time // tracking: the first version a poll read
				before := offset                  // ahead at the poll before
				good := start                     // the Source's time at the last successful poll
				for i := 1; i <= 48; i++ {
					source := start.Add(time.Duration(i) * h)
					if i >= 30 && i < 35 {
						continue // the poll fails: nothing moves
					}
					ahead := offset // the engine's clock less the Source's
					if i > 24 {
						ahead += step
					}
					now := source.Add(ahead)
					since := w.Since(now, watermark)
					var read []time.Time
					for _, c := range changes {
						if !c.Before(since) && !c.After(source) {
							read = append(read, c)
						}
					}
					if !tracking.IsZero() {
						for _, c := range changes {
							if c.After(good) && !c.After(source) && c.Before(since) {
								t.Fatalf("the poll at %s (%s to the engine) asked from %s and missed the change at %s",
									source.Format("02 15:04"), now.Format("02 15:04"), since.Format("02 15:04"), c.Format("02 15:04"))
							}
						}
						if span, most := source.Sub(since), source.Sub(good)+cadence.DefaultPollLength+h+max(-ahead, -before, 0); span > most {
							t.Errorf("the poll at %s read %v back, more than %v", source.Format("02 15:04"), span, most)
						}
					}
					if tracking.IsZero() && len(read) > 0 {
						tracking = read[0]
					}
					watermark, before, good = w.Next(watermark, now, read), ahead, source
				}
				if tracking.IsZero() || tracking.After(start.Add(4*h)) {
					t.Errorf("the first record read was at %v", tracking)
				}
			})
		}
	}
}
