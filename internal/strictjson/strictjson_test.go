package strictjson_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync/internal/strictjson"
)

type inner struct {
	When time.Time `json:"when"`
}

type dest struct {
	ID    string            `json:"id"`
	N     int               `json:"n,omitempty"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
	Sub   *inner            `json:"sub"`
	Raw   any               `json:"raw"`
	Skip  string            `json:"-"`
	Plain bool
	IP    netip.Addr `json:"ip"` // its UnmarshalText's error repeats the text
}

func TestDecode(t *testing.T) {
	deep := strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40)
	long := `{"` + strings.Repeat("n", 300) + `":1}`
	cases := []struct {
		name, in, want string // want: the error's message, "" for none
	}{
		{"plain", `{"id":"a","n":2,"tags":["x"],"attrs":{"k":"v"},"sub":{"when":"2026-01-01T00:00:00Z"},"raw":{"A":1,"b":[1]},"Plain":true}`, ""},
		{"whitespace after", "{\"id\":\"a\"}\n\t ", ""},
		{"null members", `{"id":null,"tags":null,"sub":null}`, ""},
		{"trailing brace", `{"id":"a"}}`, "trailing data"},
		{"trailing bracket", `{"id":"a"}]`, "trailing data"},
		{"second object", `{"id":"a"}{"id":"b"}`, "trailing data"},
		{"trailing garbage", `{"id":"a"} x`, "trailing data"},
		{"duplicate", `{"id":"a","id":"b"}`, "id: duplicate name"},
		{"duplicate escaped", `{"id":"a","\u0069d":"b"}`, "id: duplicate name"},
		{"case variant", `{"id":"a","ID":"b"}`, `"ID": names differ only in case`},
		{"case variant in a map", `{"attrs":{"skill":"a","Skill":"b"}}`, `attrs."Skill": names differ only in case`},
		{"kelvin", `{"attrs":{"k":"a","\u212a":"b"}}`, "attrs.\"\u212a\": names differ only in case"},
		{"duplicate in any", `{"raw":{"x":1,"x":2}}`, `raw."x": duplicate name`},
		{"lone case variant", `{"ID":"a"}`, `"ID": unknown name`},
		{"unknown", `{"id":"a","secret-value":1}`, `"secret-value": unknown name`},
		{"ignored field", `{"Skip":"a"}`, `"Skip": unknown name`},
		{"unknown nested", `{"sub":{"When":"2026-01-01T00:00:00Z"}}`, `sub."When": unknown name`},
		{"long unknown name cut", `{"` + strings.Repeat("x", 100) + `":1}`, `"` + strings.Repeat("x", 64) + `": unknown name`},
		{"name too long", long, "name too long"},
		{"too deep", `{"raw":` + deep + `}`, "raw" + strings.Repeat("[0]", 31) + ": nested too deeply"},
		{"want a string", `{"id":12345}`, "id: want a string"},
		{"want an array", `{"tags":"abcdef"}`, "tags: want an array"},
		{"want an integer", `{"n":1e400}`, "n: want an integer in range"},
		{"bad text value", `{"ip":"not-an-address"}`, "ip: invalid value"},
		{"bad time in a list", `{"raw":[1],"sub":{"when":"2026-01-01T00:00:00Z"},"ip":"10.0.0.1","tags":[]}`, ""},
		{"bad time", `{"sub":{"when":"garbage-time"}}`, "sub.when: not an RFC 3339 time"},
		{"syntax", `{"id":"a",}`, "syntax error at byte 10"},
		{"cut short", `{"id":"abc`, "unexpected end of input"},
		{"empty", ``, "unexpected end of input"},
		{"top-level type", `"a string"`, "want an object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d dest
			err := strictjson.Decode([]byte(c.in), &d)
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.As(err, new(*strictjson.Error)) {
					t.Errorf("error of type %T", err)
				}
			}
			if got != c.want {
				t.Errorf("Decode(%.60s) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestDecodeResult(t *testing.T) {
	var d dest
	err := strictjson.Decode([]byte(`{"id":"a","tags":["x","y"],"attrs":{"k":"v"},"sub":{"when":"2026-01-02T03:04:05Z"},"Plain":true}`), &d)
	if err != nil {
		t.Fatal(err)
	}
	want := dest{ID: "a", Tags: []string{"x", "y"}, Attrs: map[string]string{"k": "v"},
		Sub: &inner{When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, Plain: true}
	if diff := cmp.Diff(want, d, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if err := strictjson.Decode([]byte(`{}`), d); err == nil {
		t.Error("decoded into a non-pointer")
	}
}
