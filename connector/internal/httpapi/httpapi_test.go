package httpapi_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hrissync/hrissync/connector/internal/httpapi"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	for v, want := range map[string]time.Duration{
		"0": 0, "7": 7 * time.Second, " 120 ": 2 * time.Minute,
		"9223372036854775807":           24 * time.Hour, // a fault, not a plan
		"99999999999999999999999":       30 * time.Second,
		"Mon, 02 Mar 2026 09:01:00 GMT": time.Minute,
		"Mon, 02 Mar 2026 08:00:00 GMT": 0,
		"Fri, 31 Dec 9999 23:59:59 GMT": 24 * time.Hour,
		"":                              30 * time.Second,
		"-5":                            30 * time.Second,
		"soon":                          30 * time.Second,
	} {
		if got := httpapi.RetryAfter(v, clock); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestDecodeBytesRefuses(t *testing.T) {
	bad := errors.New("malformed")
	for name, in := range map[string]string{
		"a name twice":        `{"a":1,"a":2}`,
		"names in two cases":  `{"a":1,"A":2}`,
		"data after":          `{"a":1} {}`,
		"not UTF-8":           "{\"a\":\"\xff\"}",
		"not JSON":            `{"a":`,
		"deeper than allowed": `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	} {
		var v any
		if err := httpapi.DecodeBytes([]byte(in), &v, bad); !errors.Is(err, bad) {
			t.Errorf("%s: %v, want the malformed error", name, err)
		}
	}
	var v struct{ A int }
	if err := httpapi.DecodeBytes([]byte(`{"A":1,"unknown":2}`), &v, bad); err != nil || v.A != 1 {
		t.Errorf("unknown names are a vendor's to add: %v, %+v", err, v)
	}
}

func TestPrintable(t *testing.T) {
	if got := httpapi.Printable("a\nb\x00c\u00e9", 5); got != "a?b?c" {
		t.Errorf("Printable = %q", got)
	}
}
