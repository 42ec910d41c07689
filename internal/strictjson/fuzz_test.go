package strictjson_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync/internal/strictjson"
)

// fuzzDest has a field of each kind the pre-pass treats differently.
type fuzzDest struct {
	ID    string            `json:"id"`
	N     int64             `json:"n"`
	F     float64           `json:"f"`
	B     bool              `json:"b"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
	When  *time.Time        `json:"when"`
	Sub   *fuzzDest         `json:"sub"`
	Any   any               `json:"any"`
	Plain string
}

// vocabulary is every text an error message may hold besides the input's
// names: the reasons, the destination's names, digits of offsets and
// indexes.
const vocabulary = `id n f b tags attrs when sub any Plain: ." [0123456789]
	duplicate name, names differ only in case, unknown name, trailing data, name too long,
	nested too deeply, syntax error at byte, unexpected end of input, invalid value, not an RFC 3339 time,
	want a string, want a boolean, want an integer in range, want a number in range, want an array, want an object, want another type`

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","n":1,"f":1.5,"b":true,"tags":["x"],"attrs":{"k":"v"},"when":"2026-01-01T00:00:00Z","sub":{"id":"b"},"any":[1,{"x":null}],"Plain":"p"}`,
		`{"id":"a"}}`, `{"id":"a"}]`, `{"id":"a"}{"id":"b"}`, `{"id":"a","id":"b"}`, `{"id":"a","ID":"b"}`, `{"ID":"secret"}`,
		`{"attrs":{"k":"a","\u212a":"b"}}`, `{"id":"\u0069","\u0069d":"x"}`, `{"when":"not-a-time-value"}`, `{"n":"12345"}`, `{"n":1e400}`,
		`{"tags":"abcdef"}`, `{"any":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, `{"` + strings.Repeat("k", 300) + `":1}`,
		`{"attrs":{"password":"hunter22","PASSWORD":"x"}}`, `{"sub":{"sub":{"Id":"x"}}}`, "{\"id\":\"\xff\",\"\xfe\":1}", ``, `[`, `null`, `"str"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got fuzzDest
		err := strictjson.Decode(data, &got)
		names, values := stringsOf(data)
		if err != nil {
			// (d) The message holds no string value of the input, but for
			// text that is also a name of the input or of the vocabulary.
			msg := err.Error()
			for _, v := range values {
				if len(v) >= 4 && strings.Contains(msg, v) && !strings.Contains(vocabulary, v) &&
					!strings.Contains(strings.Join(names, "\x00"), v) {
					t.Fatalf("the error %q echoes the value %q", msg, v)
				}
			}
			return
		}
		// (b) encoding/json, with unknown fields refused, agrees.
		var plain fuzzDest
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&plain); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		if diff := cmp.Diff(plain, got); diff != "" {
			t.Fatalf("differs from encoding/json (-json +strict):\n%s", diff)
		}
		// (a) Encoded again, it decodes to the same value.
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var round fuzzDest
		if err := strictjson.Decode(again, &round); err != nil {
			t.Fatalf("refused its own encoding %s: %v", again, err)
		}
		if diff := cmp.Diff(got, round); diff != "" {
			t.Fatalf("round trip (-first +again):\n%s", diff)
		}
		// (c) Anything after the value, or a duplicate of its first name,
		// is refused.
		for _, tail := range []string{"}", "]", "{}", " x", ",1", `"s"`} {
			if strictjson.Decode(append(bytes.Clone(data), tail...), new(fuzzDest)) == nil {
				t.Fatalf("accepted trailing %q", tail)
			}
		}
		trimmed := bytes.TrimLeft(data, " \t\r\n")
		if len(names) > 0 && trimmed[0] == '{' {
			first, _ := json.Marshal(names[0])
			dup := append(append(append([]byte("{"), first...), ":null,"...), trimmed[1:]...)
			if strictjson.Decode(dup, new(fuzzDest)) == nil {
				t.Fatalf("accepted a duplicate: %s", dup)
			}
		}
	})
}

// stringsOf returns the names and the string values of data, in order, as
// far as it is JSON.
func stringsOf(data []byte) (names, values []string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var inObject []bool // per open delimiter
	expectName := false
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return names, values
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				inObject = append(inObject, true)
				expectName = true
			case '[':
				inObject = append(inObject, false)
				expectName = false
			default:
				inObject = inObject[:len(inObject)-1]
				expectName = len(inObject) > 0 && inObject[len(inObject)-1]
			}
			continue
		case string:
			if expectName {
				names = append(names, tok)
				expectName = false
				continue
			}
			values = append(values, tok)
		}
		expectName = len(inObject) > 0 && inObject[len(inObject)-1]
	}
}
