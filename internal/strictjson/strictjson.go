// Package strictjson decodes one JSON value from outside more strictly than
// encoding/json, which accepts what two parsers may read differently: a
// name given twice (the last wins; another parser keeps the first), names
// differing only in case, a name matching a field only case-insensitively
// ("ID" fills `json:"id"`), and data after the value. Decode refuses these,
// bounds nesting and names, then decodes with encoding/json. Its errors
// (*Error) name a path and a reason, never a value of the input: they end
// up in logs and responses.
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Limits keeping the pre-pass's cost linear and small.
const (
	MaxDepth    = 32  // objects and arrays nested in one another
	MaxNameSize = 256 // bytes in one name
)

// Error is why Decode refused its input. Neither field holds a value of the
// input; names of the input not known to the destination are quoted and cut
// to 64 bytes.
type Error struct {
	Path   string // where: "record.startDate", "attributes.\"x\"", "tags[2]"; "" for the top
	Reason string // what: "duplicate name", "unknown name", "want a string", …
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Decode decodes the one JSON value in data into v, which must be a non-nil
// pointer. It refuses trailing data, duplicate names, names in one object
// differing only in case, and names that are not exactly those of the
// destination (struct fields by their json tag; any name in a map; values of
// a type with its own UnmarshalJSON or UnmarshalText are that method's
// business).
func Decode(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &Error{Reason: "want a non-nil pointer"}
	}
	w := newWalker(data, -1)
	if err := w.value(rv.Type(), 0); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return &Error{Reason: "trailing data"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return w.rewrite(err, rv.Type())
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// walker checks the tokens of data against the destination's type. It keeps
// the path as a stack and spells it out only for an error: building it for
// every value would cost the depth times the names' length per value.
type walker struct {
	dec    *json.Decoder
	data   []byte
	stack  []segment
	opaque []span // values decoded by their own methods, to find one that fails
	stopAt int64  // the offset of the value whose path rewrite looks for; -1: none
}

type segment struct {
	name  string // a name, or "" with index ≥ 0 for an array element
	known bool   // the destination's own name: shown as it is, not quoted
	index int
}

type span struct {
	t          reflect.Type
	start, end int64
}

func newWalker(data []byte, stopAt int64) *walker {
	w := &walker{dec: json.NewDecoder(bytes.NewReader(data)), data: data, stopAt: stopAt}
	w.dec.UseNumber() // a number too big for float64 is the destination's business, not a syntax error
	return w
}

// fail returns an error at the current path. A name of the input is quoted
// and cut to 64 bytes: it is the sender's text.
func (w *walker) fail(reason string) *Error {
	var b strings.Builder
	for _, s := range w.stack {
		switch {
		case s.name == "" && s.index >= 0:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		case b.Len() > 0:
			b.WriteByte('.')
		}
		if s.known {
			b.WriteString(s.name)
		} else {
			b.WriteString(strconv.Quote(strings.ToValidUTF8(s.name[:min(len(s.name), 64)], "")))
		}
	}
	return &Error{Path: b.String(), Reason: reason}
}

// value reads one value of type t (nil: anything).
func (w *walker) value(t reflect.Type, depth int) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// encoding/json calls the methods of *T on a T it decodes into.
	opaque := t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler))
	typ, start := t, w.dec.InputOffset()
	if opaque && start == w.stopAt {
		return w.fail("") // found: rewrite wants this value's path
	}
	tok, err := w.dec.Token()
	if err != nil {
		return syntax(err)
	}
	if d, ok := tok.(json.Delim); ok {
		if depth++; depth > MaxDepth {
			return w.fail("nested too deeply")
		}
		if opaque {
			t = nil // its method decides what names it takes, but not whether they repeat
		}
		if d == '[' {
			var elem reflect.Type // nil: anything
			if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				elem = t.Elem()
			}
			w.stack = append(w.stack, segment{index: 0})
			for i := 0; w.dec.More(); i++ {
				w.stack[len(w.stack)-1].index = i
				if err := w.value(elem, depth); err != nil {
					return err
				}
			}
			w.stack = w.stack[:len(w.stack)-1]
		} else if err := w.object(t, depth); err != nil {
			return err
		}
		if _, err := w.dec.Token(); err != nil { // the closing delimiter
			return syntax(err)
		}
	}
	if opaque {
		w.opaque = append(w.opaque, span{typ, start, w.dec.InputOffset()})
	}
	return nil
}

// object reads the names and values of an object whose '{' was read.
func (w *walker) object(t reflect.Type, depth int) error {
	var fields map[string]reflect.Type // nil: any name
	var elem reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = map[string]reflect.Type{}
		structFields(t, fields)
	} else if t != nil && t.Kind() == reflect.Map {
		elem = t.Elem()
	}
	seen := map[string]string{} // fold key → the name as first spelt
	w.stack = append(w.stack, segment{})
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return syntax(err)
		}
		name := tok.(string) // the decoder allows nothing else here
		if len(name) > MaxNameSize {
			w.stack = w.stack[:len(w.stack)-1]
			return w.fail("name too long")
		}
		ft, known := fields[name]
		if fields == nil {
			ft = elem
		}
		w.stack[len(w.stack)-1] = segment{name: name, known: known, index: -1}
		key := fold(name)
		if first, ok := seen[key]; ok && first == name {
			return w.fail("duplicate name")
		} else if ok {
			return w.fail("names differ only in case")
		}
		seen[key] = name
		if fields != nil && !known {
			return w.fail("unknown name")
		}
		if err := w.value(ft, depth); err != nil {
			return err
		}
	}
	w.stack = w.stack[:len(w.stack)-1]
	return nil
}

// structFields gathers the json names of t's fields as encoding/json sees
// them, following embedded structs without a name.
func structFields(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case tag == "-":
		case f.Anonymous && name == "" && ft.Kind() == reflect.Struct:
			structFields(ft, into)
		case !f.IsExported():
		case name == "":
			into[f.Name] = f.Type
		default:
			into[name] = f.Type
		}
	}
}

// fold returns a key equal for two names exactly when strings.EqualFold
// holds: each rune replaced by the smallest of its simple case folds.
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// syntax reports where the input stops being JSON, not what is there.
func syntax(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Reason: "syntax error at byte " + strconv.FormatInt(se.Offset, 10)}
	}
	return &Error{Reason: "unexpected end of input"}
}

// rewrite turns an error of encoding/json into an *Error without the
// input's text (a type error holds the value, time.Parse's error quotes it).
func (w *walker) rewrite(err error, root reflect.Type) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// Field is a path of the destination's names, which the pre-pass
		// matched exactly: no text of the sender's.
		return &Error{Path: te.Field, Reason: "want " + describe(te.Type)}
	}
	// An UnmarshalJSON or UnmarshalText failed, and encoding/json does not
	// say where: run each again on its own to find the first that fails,
	// then walk again to that value for its path.
	for _, s := range w.opaque {
		raw := bytes.TrimLeft(w.data[s.start:s.end], " \t\r\n:,")
		var err error
		switch u := reflect.New(s.t).Interface().(type) {
		case json.Unmarshaler:
			err = u.UnmarshalJSON(raw)
		case encoding.TextUnmarshaler:
			var str string
			if raw[0] == '"' && json.Unmarshal(raw, &str) == nil { // null and the rest never reach it
				err = u.UnmarshalText([]byte(str))
			}
		}
		if err == nil {
			continue
		}
		at, inner := &Error{}, (*Error)(nil)
		errors.As(newWalker(w.data, s.start).value(root, 0), &at)
		switch {
		case errors.As(err, &inner) && at.Path != "" && inner.Path != "":
			return &Error{Path: at.Path + "." + inner.Path, Reason: inner.Reason}
		case errors.As(err, &inner):
			return &Error{Path: at.Path + inner.Path, Reason: inner.Reason}
		case s.t == timeType:
			return &Error{Path: at.Path, Reason: "not an RFC 3339 time"}
		}
		return &Error{Path: at.Path, Reason: "invalid value"}
	}
	return &Error{Reason: "invalid value"}
}

func describe(t reflect.Type) string {
	switch k := t.Kind(); {
	case k == reflect.String || reflect.PointerTo(t).Implements(textUnmarshaler):
		return "a string"
	case k == reflect.Bool:
		return "a boolean"
	case k >= reflect.Int && k <= reflect.Uintptr:
		return "an integer in range"
	case k == reflect.Float32 || k == reflect.Float64:
		return "a number in range"
	case k == reflect.Slice || k == reflect.Array:
		return "an array"
	case k == reflect.Struct || k == reflect.Map:
		return "an object"
	}
	return "another type"
}
