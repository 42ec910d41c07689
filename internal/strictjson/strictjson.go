// Package strictjson decodes one JSON value from outside (a webhook body, a
// record) more strictly than encoding/json does, and with errors safe to
// show the sender.
//
// encoding/json accepts input that two parsers may read differently: a
// duplicate name (the last one wins, another parser keeps the first), names
// differing only in case (both fill the same field), a name matching a
// field only case-insensitively ("ID" fills `json:"id"`), and, through a
// json.Decoder, data after the value. Decode refuses all of these, bounds
// the nesting and the length of names, and only then decodes with
// encoding/json.
//
// Errors are *Error: a path (record.startDate) and a reason, never a value
// of the input, since messages end up in logs and responses.
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
	"unicode/utf8"
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
	w := walker{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	w.dec.UseNumber() // a number too big for float64 is the destination's business, not a syntax error
	if err := w.value(rv.Type(), "", 0); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return &Error{Reason: "trailing data"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return w.rewrite(err)
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// walker checks the tokens of data against the destination's type.
type walker struct {
	dec    *json.Decoder
	data   []byte
	opaque []span // values decoded by their own methods, to find one that fails
}

type span struct {
	path       string
	t          reflect.Type
	start, end int64
}

// value reads one value of type t (nil: anything) at path.
func (w *walker) value(t reflect.Type, path string, depth int) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// encoding/json calls the methods of *T on a T it decodes into.
	isOpaque := t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler))
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return w.syntax(err)
	}
	d, isDelim := tok.(json.Delim)
	if isDelim {
		if depth++; depth > MaxDepth {
			return &Error{Path: path, Reason: "nested too deeply"}
		}
		var elem reflect.Type // nil: anything
		if d == '[' {
			if !isOpaque && t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				elem = t.Elem()
			}
			for i := 0; w.dec.More(); i++ {
				if err := w.value(elem, path+"["+strconv.Itoa(i)+"]", depth); err != nil {
					return err
				}
			}
		} else if err := w.object(t, isOpaque, path, depth); err != nil {
			return err
		}
		if _, err := w.dec.Token(); err != nil { // the closing delimiter
			return w.syntax(err)
		}
	}
	if isOpaque {
		w.opaque = append(w.opaque, span{path, t, start, w.dec.InputOffset()})
	}
	return nil
}

// object reads the names and values of an object whose '{' was read.
func (w *walker) object(t reflect.Type, isOpaque bool, path string, depth int) error {
	var fields map[string]reflect.Type // nil: any name
	if !isOpaque && t != nil && t.Kind() == reflect.Struct {
		fields = map[string]reflect.Type{}
		structFields(t, fields)
	}
	var elem reflect.Type
	if !isOpaque && t != nil && t.Kind() == reflect.Map {
		elem = t.Elem()
	}
	seen := map[string]string{} // fold key → the name as first spelt
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return w.syntax(err)
		}
		name := tok.(string) // the decoder allows nothing else here
		if len(name) > MaxNameSize {
			return &Error{Path: path, Reason: "name too long"}
		}
		key := fold(name)
		if first, ok := seen[key]; ok && first == name {
			return &Error{Path: join(path, name, fields), Reason: "duplicate name"}
		} else if ok {
			return &Error{Path: join(path, name, fields), Reason: "names differ only in case"}
		}
		seen[key] = name
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields[name]; !ok {
				return &Error{Path: join(path, name, nil), Reason: "unknown name"}
			}
		}
		if err := w.value(ft, join(path, name, fields), depth); err != nil {
			return err
		}
	}
	return nil
}

// structFields gathers the json names of t's fields as encoding/json sees
// them, following embedded structs without a name.
func structFields(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			structFields(ft, into)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		into[name] = f.Type
	}
}

// fold returns a key equal for two names exactly when strings.EqualFold
// holds: each rune replaced by the smallest of its simple case folds.
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}

// join appends name to path: as it is when it is one of the destination's
// own names, else quoted and cut, since it is the sender's text.
func join(path, name string, known map[string]reflect.Type) string {
	if _, ok := known[name]; !ok {
		if len(name) > 64 {
			name = strings.ToValidUTF8(name[:64], "")
		}
		name = strconv.Quote(name)
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

func (w *walker) syntax(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Reason: "syntax error at byte " + strconv.FormatInt(se.Offset, 10)}
	}
	return &Error{Reason: "unexpected end of input"}
}

// rewrite turns an error of encoding/json into an *Error without the
// input's text (a type error holds the value, time.Parse's error quotes it).
func (w *walker) rewrite(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Path: safePath(te.Field), Reason: "want " + describe(te.Type)}
	}
	// An UnmarshalJSON or UnmarshalText failed, and encoding/json does not
	// say where: run each again on its own to find the first that fails.
	for _, s := range w.opaque {
		raw := bytes.TrimLeft(w.data[s.start:s.end], " \t\r\n:,")
		var err error
		p := reflect.New(s.t)
		if u, ok := p.Interface().(json.Unmarshaler); ok {
			err = u.UnmarshalJSON(raw)
		} else if u, ok := p.Interface().(encoding.TextUnmarshaler); ok && len(raw) > 0 && raw[0] == '"' {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				err = u.UnmarshalText([]byte(str))
			}
		}
		var inner *Error
		switch {
		case err == nil:
			continue
		case errors.As(err, &inner) && s.path != "" && inner.Path != "":
			return &Error{Path: s.path + "." + inner.Path, Reason: inner.Reason}
		case errors.As(err, &inner):
			return &Error{Path: s.path + inner.Path, Reason: inner.Reason}
		case s.t == timeType:
			return &Error{Path: s.path, Reason: "not an RFC 3339 time"}
		}
		return &Error{Path: s.path, Reason: "invalid value"}
	}
	return &Error{Reason: "invalid value"}
}

// safePath keeps a path of encoding/json's (the destination's names, which
// the pre-pass matched exactly) but quotes any part that is not a plain
// identifier, in case.
func safePath(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		if strings.ContainsFunc(s, func(r rune) bool {
			return r >= utf8.RuneSelf || !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r))
		}) {
			parts[i] = join("", s, nil)
		}
	}
	return strings.Join(parts, ".")
}

func describe(t reflect.Type) string {
	if t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number in range"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}
