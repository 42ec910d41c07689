package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hrissync/hrissync/retry"
)

// Discovery is what a provider advertises about itself, as Sink.Discover
// read it: its /ServiceProviderConfig, /Schemas and /ResourceTypes (RFC
// 7643 §5–7). Any of the three may be missing, refused or unparsable: its
// Known flag is then false and its fields are zero, meaning unknown, not
// "unsupported".
type Discovery struct {
	// ConfigKnown: /ServiceProviderConfig was read. A capability it does
	// not mention counts as not advertised (RFC 7643 §5 requires each).
	ConfigKnown bool
	// Patch: patch.supported.
	Patch bool
	// ETag: etag.supported.
	ETag bool
	// Filter: filter.supported. (Informational: adoption searches by
	// filter whatever it says.)
	Filter bool
	// FilterMaxResults: filter.maxResults, the most resources the
	// provider answers in one page; 0 when it gives none (or 0).
	FilterMaxResults int
	// Bulk: bulk.supported, and BulkMaxOperations its maxOperations.
	// (Informational: the sink does not send bulk requests.)
	Bulk              bool
	BulkMaxOperations int

	// SchemasKnown: /Schemas was read whole. Schemas are the ids it lists
	// (whatever was read, even when not whole).
	SchemasKnown bool
	Schemas      []string

	// UserKnown: /ResourceTypes was read and has the User resource type.
	// UserExtensions are the schema URNs of its schemaExtensions.
	UserKnown      bool
	UserExtensions []string
}

// Assume overrides what discovery reads (Config.Assume), for a provider that
// does more than it advertises.
type Assume struct {
	// Patch: send updates as PATCH even where ServiceProviderConfig says
	// patch is not supported. Config.NoPatch still wins.
	Patch bool
	// ETag: send If-Match (when the provider gives an ETag) even where
	// ServiceProviderConfig says etag is not supported.
	ETag bool
	// Schemas are schema URNs the provider registers but does not list
	// (in /Schemas, or among the User resource type's extensions):
	// discovery does not refuse them.
	Schemas []string
}

// SchemaError: discovery found positive evidence that the provider does not
// register a schema the sink would send (Config.Extension, or the URN of a
// Config.Map path): the provider's
// /Schemas lists schemas and not this one, or its User resource type lists
// extensions and not this one. Such a provider drops the schema's
// attributes on POST and PUT, and refuses every PATCH that names them. It
// is permanent.
type SchemaError struct {
	Schema string
	Reason string // "not in /Schemas" or "not an extension of the User resource type"
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("scim: the provider does not register schema %s (%s): set scim.Config.Assume.Schemas if it does", e.Schema, e.Reason)
}

// discovery is a sink's discovery state.
type discovery struct {
	run sync.Mutex // one Discover at a time

	mu  sync.Mutex
	d   *Discovery // the last one read; nil before
	err error      // its refusal (a *SchemaError), if any
}

// Discover reads what the provider advertises (see Discovery) and, from
// then on, the sink follows it: updates are PATCH only where patch is
// advertised (else PUT, as with Config.NoPatch), If-Match is sent only where
// ETags are advertised, and a search asks for no more than
// filter.maxResults a page; Config.Assume overrides. What is unknown
// changes nothing.
//
// It refuses, with a permanent *SchemaError naming the schema, a schema the
// sink would send (Config.Extension) that the provider positively does not
// register, unless Config.Assume.Schemas declares it; the Discovery is
// returned (and followed) all the same. A document that is missing (404),
// refused (400, 403, 405, 406, 501) or unparsable is unknown, not an error;
// any other failure (the connection, 401, 429, 5xx) is returned, as a
// write's would be, and leaves what an earlier Discover read in force.
//
// New reads nothing: the host calls Discover (at start-up, and whenever it
// wants the provider read again), or sets Config.Discover for the sink to
// call it before its first write.
func (s *Sink) Discover(ctx context.Context) (Discovery, error) {
	s.disc.run.Lock()
	defer s.disc.run.Unlock()
	return s.discover(ctx)
}

func (s *Sink) discover(ctx context.Context) (Discovery, error) {
	var d Discovery
	doc, err := s.document(ctx, "/ServiceProviderConfig")
	if err != nil {
		return Discovery{}, err
	}
	if m, ok := doc.(map[string]any); ok {
		readConfig(&d, m)
	}
	schemas, complete, err := s.list(ctx, "/Schemas")
	if err != nil {
		return Discovery{}, err
	}
	for _, r := range schemas {
		if id := attr(r, "id"); id != "" && !slices.Contains(d.Schemas, id) {
			d.Schemas = append(d.Schemas, id)
		}
	}
	d.SchemasKnown = complete && len(d.Schemas) > 0
	types, _, err := s.list(ctx, "/ResourceTypes")
	if err != nil {
		return Discovery{}, err
	}
	for _, r := range types {
		if !strings.EqualFold(attr(r, "id"), "User") && !strings.EqualFold(attr(r, "name"), "User") &&
			!strings.EqualFold(attr(r, "schema"), UserSchema) {
			continue
		}
		d.UserKnown = true
		for _, e := range objects(r, "schemaExtensions") {
			if urn := attr(e, "schema"); urn != "" {
				d.UserExtensions = append(d.UserExtensions, urn)
			}
		}
		break
	}
	refusal := s.refuse(&d)
	s.disc.mu.Lock()
	s.disc.d, s.disc.err = &d, refusal
	s.disc.mu.Unlock()
	return d, refusal
}

// readConfig reads a ServiceProviderConfig; one that mentions none of the
// capabilities is not one.
func readConfig(d *Discovery, m map[string]any) {
	supported := func(name string) (bool, bool) {
		c := child(m, name)
		if c == nil {
			return false, false
		}
		return strings.EqualFold(attr(c, "supported"), "true"), true
	}
	var known bool
	for name, v := range map[string]*bool{"patch": &d.Patch, "etag": &d.ETag, "filter": &d.Filter, "bulk": &d.Bulk} {
		var ok bool
		*v, ok = supported(name)
		known = known || ok
	}
	if !known {
		*d = Discovery{}
		return
	}
	d.ConfigKnown = true
	d.FilterMaxResults, _ = strconv.Atoi(attr(child(m, "filter"), "maxResults"))
	d.BulkMaxOperations, _ = strconv.Atoi(attr(child(m, "bulk"), "maxOperations"))
	d.FilterMaxResults, d.BulkMaxOperations = max(d.FilterMaxResults, 0), max(d.BulkMaxOperations, 0)
}

// refuse returns the refusal of the first schema the sink would send that d
// shows the provider does not register.
func (s *Sink) refuse(d *Discovery) error {
	has := func(list []string, urn string) bool {
		return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, urn) })
	}
	// The provider keys an extension's attributes by the URN exactly as it
	// registered it: one spelt otherwise would be dropped whole.
	spelt := func(list []string, urn string) (string, bool) {
		i := slices.IndexFunc(list, func(v string) bool { return strings.EqualFold(v, urn) })
		if i < 0 {
			return "", false
		}
		return list[i], list[i] != urn
	}
	listed := append(slices.Clone(d.Schemas), d.UserExtensions...)
	for _, urn := range s.sentSchemas() {
		if as, other := spelt(listed, urn); other {
			return retry.Permanent(&SchemaError{Schema: urn, Reason: "the provider spells it " + as + ": write it so"})
		}
		switch {
		case has(s.cfg.Assume.Schemas, urn):
		case d.SchemasKnown && !has(d.Schemas, urn):
			return retry.Permanent(&SchemaError{Schema: urn, Reason: "not in /Schemas"})
		case d.UserKnown && !has(d.UserExtensions, urn):
			return retry.Permanent(&SchemaError{Schema: urn, Reason: "not an extension of the User resource type"})
		}
	}
	return nil
}

// sentSchemas are the schema URNs, beyond the core User schema and the
// enterprise extension, that the sink would send.
func (s *Sink) sentSchemas() []string {
	var out []string
	if s.cfg.Extension != "" {
		out = append(out, s.cfg.Extension)
	}
	for _, m := range s.mapped {
		if u := m.path.urn; u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// document GETs path and decodes it: nil when it is missing, refused or
// unparsable.
func (s *Sink) document(ctx context.Context, path string) (any, error) {
	r, err := s.do(ctx, http.MethodGet, path, nil, "")
	switch status(err) {
	case http.StatusNotFound, http.StatusBadRequest, http.StatusForbidden, http.StatusMethodNotAllowed,
		http.StatusNotAcceptable, http.StatusNotImplemented:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, nil
	}
	return v, nil
}

// list reads a list endpoint (a ListResponse, or a bare array), page by
// page; complete says every resource it announced was read.
func (s *Sink) list(ctx context.Context, path string) (all []map[string]any, complete bool, err error) {
	seen := map[string]bool{}
	for start, pages := 1, 0; pages < 20; pages++ {
		p := path
		if start > 1 {
			p += "?" + url.Values{"startIndex": {strconv.Itoa(start)}}.Encode()
		}
		doc, err := s.document(ctx, p)
		if err != nil || doc == nil {
			return all, false, err
		}
		var page []map[string]any
		total := -1
		switch v := doc.(type) {
		case []any:
			page = objects(map[string]any{"r": v}, "r")
		case map[string]any:
			if _, ok := lookup(v, "Resources"); !ok {
				return all, false, nil
			}
			page = objects(v, "Resources")
			if n, err := strconv.Atoi(attr(v, "totalResults")); err == nil {
				total = n
			}
		default:
			return all, false, nil
		}
		added := 0
		for _, r := range page {
			id := attr(r, "id")
			if id != "" && seen[id] {
				continue
			}
			seen[id] = true
			all = append(all, r)
			added++
		}
		if total < 0 || len(all) >= total {
			return all, true, nil
		}
		if added == 0 {
			return all, false, nil // a provider that ignores startIndex
		}
		start += len(page)
	}
	return all, false, nil
}

// known returns the last Discovery read, or nil.
func (s *Sink) known() *Discovery {
	s.disc.mu.Lock()
	defer s.disc.mu.Unlock()
	return s.disc.d
}

// discoverOnce runs Discover before the first write when Config.Discover is
// set; a refusal stands until the host calls Discover again.
func (s *Sink) discoverOnce(ctx context.Context) error {
	if !s.cfg.Discover {
		return nil
	}
	s.disc.run.Lock()
	defer s.disc.run.Unlock()
	s.disc.mu.Lock()
	done, err := s.disc.d != nil, s.disc.err
	s.disc.mu.Unlock()
	if done {
		return err
	}
	_, err = s.discover(ctx)
	return err
}

// patch says whether updates are sent as PATCH.
func (s *Sink) patch() bool {
	if s.cfg.NoPatch {
		return false
	}
	if s.cfg.Assume.Patch {
		return true
	}
	d := s.known()
	return d == nil || !d.ConfigKnown || d.Patch
}

// ifMatch returns the If-Match to send with a write to an account whose
// ETag is etag: none where the provider advertises no ETags.
func (s *Sink) ifMatch(etag string) string {
	if s.cfg.Assume.ETag {
		return etag
	}
	if d := s.known(); d != nil && d.ConfigKnown && !d.ETag {
		return ""
	}
	return etag
}

// pageSize is the count a search (or a listing) asks for a page: at most
// the provider's filter.maxResults.
func (s *Sink) pageSize() int {
	n := searchPage
	if d := s.known(); d != nil && d.FilterMaxResults > 0 {
		n = min(n, d.FilterMaxResults)
	}
	return n
}
