// Package hrtype holds the value types that the engine (package hrissync)
// and the contract of what it is built on (package store) both speak, so
// that neither imports the other: today a record's Version.
package hrtype

import (
	"strconv"
	"time"
)

// Version orders observations of one record: the source's last-modified time,
// then a tie-breaking sequence where the source has one. Where the source has
// no versions (a CSV export), Time is when the export was taken.
type Version struct {
	Time time.Time
	Seq  int64
}

// Compare returns -1, 0 or +1 as v is older than, equal to, or newer than o.
func (v Version) Compare(o Version) int {
	if c := v.Time.Compare(o.Time); c != 0 {
		return c
	}
	switch {
	case v.Seq < o.Seq:
		return -1
	case v.Seq > o.Seq:
		return 1
	}
	return 0
}

// Before reports whether v is older than o.
func (v Version) Before(o Version) bool { return v.Compare(o) < 0 }

// IsZero reports whether v is the zero Version (no version known).
func (v Version) IsZero() bool { return v.Time.IsZero() && v.Seq == 0 }

func (v Version) String() string {
	return v.Time.UTC().Format(time.RFC3339Nano) + "#" + strconv.FormatInt(v.Seq, 10)
}
