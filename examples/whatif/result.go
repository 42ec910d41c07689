package main

import "time"

// Result is one cadence's replay of the history, as the report shows it.
type Result struct {
	Cadence string // "batch at 02:00", "realtime", "hybrid", "hybrid, poll 3h", "naive daily batch", …
	// Needed are the platform writes that changed something (what a
	// perfect engine makes), Writes every write that succeeded, Attempts
	// every sink call, failed ones included.
	Needed, Writes, Attempts int64
	// SourceCalls are the Source's calls as the Source saw them;
	// Operations, Attempts plus SourceCalls, what the integration costs.
	SourceCalls, Operations int64
	AuditEntries            int
	// Lost counts the changes the platform never came to hold.
	Lost int
	// Alerts counts the alerts the engine raised (a batch failing twice,
	// dead letters, deactivations held by the deletion budget …), and
	// AlertKinds them by kind.
	Alerts     int
	AlertKinds map[string]int
	// Latency is, per class, how long each change took from taking
	// effect to the platform holding it, sorted; Never counts, per
	// class, the changes the platform never came to hold (the slowest of
	// all: a percentile reaching them reads "never").
	Latency map[Class][]time.Duration
	Never   map[Class]int
	// Exposures are the terminations' exposures, in the order of
	// Replay.Terminations.
	Exposures []Exposure
	// Daily are the operations of each day of the replay, in order.
	Daily []DayOps
}

// Class is a field class of the report: terminations, the other realtime
// fields (under the hybrid policy), and the attributes.
type Class string

// Classes, in the report's order.
const (
	Termination Class = "termination"
	Realtime    Class = "realtime fields"
	Attributes  Class = "attributes"
)

// Classes lists the classes in the report's order.
var Classes = []Class{Termination, Realtime, Attributes}

// Exposure is how long one leaver kept access after their termination took
// effect.
type Exposure struct {
	Employee  string
	Effective time.Time // when access should have ended
	// Exposure is how long access lasted beyond Effective; when Ended is
	// false, access never ended within the replay and Exposure runs to
	// its end.
	Exposure time.Duration
	Ended    bool
}

// DayOps are one day's operations.
type DayOps struct {
	Day         time.Time // the day's first instant
	Attempts    int64     // sink calls
	SourceCalls int64
}

// Operations are the day's attempts and Source calls.
func (d DayOps) Operations() int64 { return d.Attempts + d.SourceCalls }

// Replay is what the report says of the inputs.
type Replay struct {
	People, Changes, Hires int
	From, To               time.Time // the span replayed
	Faults                 string    // Faults.String()
	// Terminations are the history's terminations, in order: each
	// Result's Exposures follow it.
	Terminations []string
	// Beyond are the dates the history set too long after its last
	// change for the replay to reach ("w-2's last day 2026-05-04").
	Beyond []string
}
