// Package rowcodec is what the SQL Stores share: a person's row (Row) with
// its checksum, what a damaged one reads as and how each write changes it;
// a person's applied fields packed into one column (one row per person, so
// that a million people are a million rows, whatever the number of
// fields); and reading rows in either driver.
package rowcodec

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/store"
)

// EncodeApplied packs applied fields compactly as JSON: field → [value,
// version time in Unix nanoseconds (0 for none), version sequence].
func EncodeApplied(m map[string]store.Applied) (string, error) {
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
func DecodeApplied(s string) (map[string]store.Applied, error) {
	var raw map[string][3]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("corrupt applied record: %w", err)
	}
	out := make(map[string]store.Applied, len(raw))
	for f, r := range raw {
		var a store.Applied
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

// Scanner is a row: database/sql's and pgx's alike.
type Scanner interface {
	Scan(dest ...any) error
}

// Rows are the results of a query, in either driver.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect scans every row of rows with scan. The caller closes rows.
func Collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ScanEntry reads an outbox row: the entry as one JSON column.
func ScanEntry(row Scanner) (audit.Entry, error) {
	var js []byte
	var e audit.Entry
	if err := row.Scan(&js); err != nil {
		return e, err
	}
	if err := json.Unmarshal(js, &e); err != nil {
		return e, fmt.Errorf("corrupt outbox entry: %w", err)
	}
	return e, nil
}
