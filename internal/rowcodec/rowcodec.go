// Package rowcodec packs a person's applied fields into one column, for the
// SQL Stores: one row per person, so that a million people are a million
// rows, whatever the number of fields.
package rowcodec

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hrissync/hrissync"
)

// EncodeApplied packs applied fields compactly as JSON: field → [value,
// version time in Unix nanoseconds (0 for none), version sequence].
func EncodeApplied(m map[string]hrissync.Applied) (string, error) {
	out := make(map[string]json.RawMessage, len(m))
	for f, a := range m {
		var t int64
		if !a.Version.Time.IsZero() {
			t = a.Version.Time.UnixNano()
		}
		b, err := json.Marshal([]any{a.Value, t, a.Version.Seq})
		if err != nil {
			return "", err
		}
		out[f] = b
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// DecodeApplied unpacks what EncodeApplied packed.
func DecodeApplied(s string) (map[string]hrissync.Applied, error) {
	var raw map[string][3]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("corrupt applied record: %w", err)
	}
	out := make(map[string]hrissync.Applied, len(raw))
	for f, r := range raw {
		var a hrissync.Applied
		var t int64
		if err := errors.Join(json.Unmarshal(r[0], &a.Value), json.Unmarshal(r[1], &t), json.Unmarshal(r[2], &a.Version.Seq)); err != nil {
			return nil, fmt.Errorf("corrupt applied field %s: %w", f, err)
		}
		if t != 0 {
			a.Version.Time = time.Unix(0, t).UTC()
		}
		out[f] = a
	}
	return out, nil
}
