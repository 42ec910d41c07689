// Package cadence says when each field of an HR record travels to the learning
// platform (its class: realtime, batch or ignored), when the periodic triggers
// run (schedules that behave across daylight-saving changes), and which span of
// time the fallback poll looks back over.
//
// The hybrid policy, the default, sends status changes at once and leaves
// routine attributes to the nightly batch:
//
//	p := cadence.Hybrid()
//	p.Class("status")          // cadence.Realtime
//	p.Class("attr.skill.go")   // cadence.Batch
//
// Field names are those of the hrissync package's Field constants; this
// package imports nothing of hrissync so that it can be used on its own.
package cadence

import (
	"maps"
	"strconv"
	"strings"
)

// Class is the cadence a field travels at. Classes combine as a bit set: a
// reconcile asks for the fields of one or more classes.
type Class uint8

const (
	// Ignore marks a field the engine never writes.
	Ignore Class = 0
	// Realtime fields are applied within seconds of the HR change: by the
	// webhook path, and by the fallback poll for events that never came.
	Realtime Class = 1 << 0
	// Batch fields are applied by the daily batch.
	Batch Class = 1 << 1
	// All is every class that is written.
	All = Realtime | Batch
)

// Has reports whether c includes every class of o.
func (c Class) Has(o Class) bool { return c&o == o && o != 0 }

func (c Class) String() string {
	switch c {
	case Ignore:
		return "ignore"
	case Realtime:
		return "realtime"
	case Batch:
		return "batch"
	case All:
		return "realtime+batch"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Policy puts each field in a class. The zero Policy ignores every field; use
// Hybrid, BatchOnly or RealtimeOnly, then With to adjust. A Policy is a value:
// With returns a copy and never changes the receiver, so one Policy may be
// shared by goroutines.
type Policy struct {
	name     string
	fields   map[string]Class
	prefixes map[string]Class // field-name prefixes, longest match wins
	def      Class
}

// The fields that decide access to the learning platform: who may log in
// (status, termination date, email as the login) and what they must learn
// (role, manager). docs/design.md §2.1.
var statusFields = []string{"status", "terminationDate", "role", "managerId", "email"}

// Hybrid is the recommended policy: employment status, termination date, role,
// manager and email are realtime; every other field is batch.
func Hybrid() Policy {
	p := Policy{name: "hybrid", def: Batch, fields: map[string]Class{}}
	for _, f := range statusFields {
		p.fields[f] = Realtime
	}
	return p
}

// BatchOnly sends every field with the daily batch: the classic overnight
// job, cheapest in sink calls and slowest to cut off a leaver.
func BatchOnly() Policy { return Policy{name: "batch-only", def: Batch} }

// RealtimeOnly sends every field as soon as its change is seen: the naive
// webhook integration, fastest and most expensive.
func RealtimeOnly() Policy { return Policy{name: "realtime-only", def: Realtime} }

// Name is the policy's name ("hybrid", "batch-only", "realtime-only"), for
// reports and logs. A policy changed by With keeps its name with a "+" suffix.
func (p Policy) Name() string {
	if p.name == "" {
		return "custom"
	}
	return p.name
}

// Class is the class of field. A field named with With, or matched by a prefix
// given to WithPrefix, takes that class; any other takes the policy's default.
func (p Policy) Class(field string) Class {
	if c, ok := p.fields[field]; ok {
		return c
	}
	best, class := -1, p.def
	for prefix, c := range p.prefixes {
		if len(prefix) > best && strings.HasPrefix(field, prefix) {
			best, class = len(prefix), c
		}
	}
	return class
}

// With returns a copy of p in which field has class c.
func (p Policy) With(field string, c Class) Policy {
	q := p.clone()
	q.fields[field] = c
	return q
}

// WithPrefix returns a copy of p in which every field starting with prefix
// (say "attr.skill.") has class c, unless the field is named with With.
func (p Policy) WithPrefix(prefix string, c Class) Policy {
	q := p.clone()
	q.prefixes[prefix] = c
	return q
}

func (p Policy) clone() Policy {
	q := Policy{name: p.Name(), def: p.def, fields: maps.Clone(p.fields), prefixes: maps.Clone(p.prefixes)}
	if !strings.HasSuffix(q.name, "+") {
		q.name += "+"
	}
	if q.fields == nil {
		q.fields = map[string]Class{}
	}
	if q.prefixes == nil {
		q.prefixes = map[string]Class{}
	}
	return q
}

// IsZero reports whether p is the zero Policy, which engines replace with
// Hybrid.
func (p Policy) IsZero() bool {
	return p.name == "" && p.def == Ignore && len(p.fields) == 0 && len(p.prefixes) == 0
}

// Uses reports whether any field can have class c under p.
func (p Policy) Uses(c Class) bool {
	if p.def&c != 0 {
		return true
	}
	for _, fc := range p.fields {
		if fc&c != 0 {
			return true
		}
	}
	for _, fc := range p.prefixes {
		if fc&c != 0 {
			return true
		}
	}
	return false
}
