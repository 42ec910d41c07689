package cadence

import (
	"fmt"
	"time"
)

// Schedule says when a periodic trigger runs next. Next returns the first run
// strictly after t. It is a one-method interface so that hosts can plug in
// their own (a cron expression, a business calendar).
type Schedule interface {
	Next(t time.Time) time.Time
}

// ScheduleFunc adapts a function to Schedule.
type ScheduleFunc func(time.Time) time.Time

// Next calls f(t).
func (f ScheduleFunc) Next(t time.Time) time.Time { return f(t) }

// Daily runs once a day at the wall-clock time at (an offset from midnight:
// 2*time.Hour is 02:00) in loc. Across daylight-saving changes it keeps the
// promise "once a day": when the time does not exist (clocks jump from 02:00
// to 03:00) the run is at the first instant after the gap, and when it occurs
// twice (clocks fall back) the run is at the first occurrence only.
//
// Daily panics if at is outside [0, 24h) or loc is nil: both are programming
// errors, found at start-up.
func Daily(at time.Duration, loc *time.Location) Schedule {
	if at < 0 || at >= 24*time.Hour {
		panic(fmt.Sprintf("cadence.Daily: time of day %v outside [0, 24h)", at))
	}
	if loc == nil {
		panic("cadence.Daily: nil location")
	}
	return daily{at: at, loc: loc}
}

type daily struct {
	at  time.Duration
	loc *time.Location
}

func (d daily) String() string {
	return fmt.Sprintf("daily at %02d:%02d %s", int(d.at.Hours()), int(d.at.Minutes())%60, d.loc)
}

func (d daily) Next(t time.Time) time.Time {
	local := t.In(d.loc)
	y, m, day := local.Date()
	for i := -1; ; i++ {
		if run := d.on(y, m, day+i); run.After(t) {
			return run
		}
	}
}

// on is the run on the given civil day.
func (d daily) on(y int, m time.Month, day int) time.Time {
	hour, minute := int(d.at/time.Hour), int(d.at%time.Hour/time.Minute)
	sec := int(d.at % time.Minute / time.Second)
	c := time.Date(y, m, day, hour, minute, sec, 0, d.loc)
	if h, mi, s := c.Clock(); h != hour || mi != minute || s != sec {
		// The wall time falls in a gap. time.Date resolved it with one of
		// the two offsets; either way the gap's end is the zone boundary
		// nearest c.
		start, end := c.ZoneBounds()
		if wallAfter(c, hour, minute, sec) {
			return start
		}
		return end
	}
	// The wall time may occur twice; step back to its first occurrence.
	for _, back := range []time.Duration{time.Hour, 30 * time.Minute} {
		if e := c.Add(-back); sameWall(e, c) {
			return e
		}
	}
	return c
}

func wallAfter(t time.Time, hour, minute, sec int) bool {
	h, m, s := t.Clock()
	return h*3600+m*60+s > hour*3600+minute*60+sec
}

func sameWall(a, b time.Time) bool {
	ah, am, as := a.Clock()
	bh, bm, bs := b.Clock()
	return ah == bh && am == bm && as == bs && a.YearDay() == b.YearDay()
}

// Every runs every d, aligned to multiples of d since the zero time (so
// Every(time.Hour) runs on the hour, in UTC terms). It panics if d <= 0.
func Every(d time.Duration) Schedule {
	if d <= 0 {
		panic("cadence.Every: non-positive interval")
	}
	return every(d)
}

type every time.Duration

func (e every) String() string { return "every " + time.Duration(e).String() }

func (e every) Next(t time.Time) time.Time {
	return t.Truncate(time.Duration(e)).Add(time.Duration(e))
}
