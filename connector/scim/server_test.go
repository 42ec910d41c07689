package scim_test

// A real, third-party SCIM 2.0 server (github.com/elimity-com/scim) running
// in-process, configured as a provider's deployment would be: the core User
// schema and the enterprise extension only, nothing of this library's. The
// server parses and validates requests and answers per RFC 7644; the
// resource handler written here stores Users and applies PATCH operations.
//
// What the elimity server does that matters here: on POST and PUT it keeps
// only the attributes of the registered schemas and silently drops the rest
// (an unregistered extension included); a PATCH naming an attribute or
// schema it does not know is refused with 400 before the handler sees it;
// it validates a filter's attributes against the registered schemas but
// answers an empty list for "emails.value eq …" (its matcher cannot descend
// into a multi-valued attribute that way), while
// `emails[type eq "work" and value eq …]` works.
//
// Options and hooks add what other providers do: drop an attribute they do
// accept, refuse changes to one, throttle, refuse filters on the enterprise
// extension, answer a PATCH with 204 and no resource.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	elimity "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/hrissync/hrissync/connector/scim"
)

type stored struct {
	id      string
	attrs   map[string]any // every attribute but id, externalId included
	version int
}

// users is the in-memory resource handler.
type users struct {
	mu      sync.Mutex
	schemas []schema.Schema // the core schema first, then the extensions
	byID    map[string]*stored
	next    int
	writes  int
	posts   int
	deletes int
	// staleOnce makes the next If-Match check fail once (someone else
	// changed the account): 412.
	staleOnce bool
	// drops are attribute locations ("title", "active", "name.givenName",
	// "<urn>:department") the provider accepts on every write yet does not
	// keep; refuses are those whose change it refuses with 400.
	drops, refuses map[string]bool
	// pageSize caps a search's page (0: Count decides); ignoreFilters
	// answers every search with every user.
	pageSize      int
	ignoreFilters bool
	// group: this handler stores Groups (displayName required, not
	// unique; ids "g…").
	group bool
}

func (u *users) resource(s *stored) elimity.Resource {
	attrs := elimity.ResourceAttributes(deepCopy(s.attrs).(map[string]any))
	ext, _ := attrs["externalId"].(string)
	delete(attrs, "externalId")
	r := elimity.Resource{ID: s.id, Attributes: attrs, Meta: elimity.Meta{Version: etag(s.version)}}
	if ext != "" {
		r.ExternalID = optional.NewString(ext)
	}
	return r
}

func etag(v int) string { return `W/"` + strconv.Itoa(v) + `"` }

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = deepCopy(x)
		}
		return c
	case elimity.ResourceAttributes:
		return deepCopy(map[string]any(v))
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = deepCopy(x)
		}
		return c
	}
	return v
}

// keyOf returns the name under which m holds name (attribute names are
// case-insensitive), or name.
func keyOf(m map[string]any, name string) string {
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

func subMap(m map[string]any, name string) map[string]any {
	k := keyOf(m, name)
	c, ok := m[k].(map[string]any)
	if !ok {
		c = map[string]any{}
		m[k] = c
	}
	return c
}

// split turns a location into its container (a schema URN or "") and the
// attribute and sub-attribute names.
func split(loc string) (urn, name, sub string) {
	if i := strings.LastIndex(loc, ":"); i >= 0 {
		urn, loc = loc[:i], loc[i+1:]
	}
	name, sub, _ = strings.Cut(loc, ".")
	return urn, name, sub
}

func getLoc(m map[string]any, loc string) any {
	urn, name, sub := split(loc)
	if urn != "" {
		m, _ = m[keyOf(m, urn)].(map[string]any)
	}
	v := m[keyOf(m, name)]
	if sub != "" {
		c, _ := v.(map[string]any)
		return c[keyOf(c, sub)]
	}
	return v
}

func setLoc(m map[string]any, loc string, v any) {
	urn, name, sub := split(loc)
	if urn != "" {
		m = subMap(m, urn)
	}
	k := keyOf(m, name)
	if sub != "" {
		c := subMap(m, k)
		if v == nil {
			delete(c, keyOf(c, sub))
		} else {
			c[keyOf(c, sub)] = v
		}
		if len(c) == 0 {
			delete(m, k)
		}
	} else if v == nil {
		delete(m, k)
	} else {
		m[k] = v
	}
}

func same(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// commit stores next as id's attributes (prev: what it held, nil for a
// create), after the provider's quirks: dropped attributes keep their old
// value, and a change to a refused one fails the whole write.
func (u *users) commit(prev, next map[string]any) error {
	for loc := range u.refuses {
		if !same(getLoc(prev, loc), getLoc(next, loc)) {
			return scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidValue, Status: http.StatusBadRequest,
				Detail: loc + " cannot be changed here"}
		}
	}
	for loc := range u.drops {
		setLoc(next, loc, deepCopy(getLoc(prev, loc)))
	}
	return nil
}

func (u *users) Create(r *http.Request, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	name, _ := attrs["userName"].(string)
	if u.group {
		name, _ = attrs["displayName"].(string)
	}
	if name == "" {
		return elimity.Resource{}, scimerrors.ScimErrorInvalidValue // this provider's own validation
	}
	for _, s := range u.byID {
		if u.group {
			break
		}
		if n, _ := s.attrs["userName"].(string); strings.EqualFold(n, name) {
			return elimity.Resource{}, scimerrors.ScimErrorUniqueness
		}
	}
	next := deepCopy(attrs).(map[string]any)
	if err := u.commit(map[string]any{}, next); err != nil {
		return elimity.Resource{}, err
	}
	u.next++
	u.writes++
	u.posts++
	prefix := "u"
	if u.group {
		prefix = "g"
	}
	s := &stored{id: fmt.Sprintf("%s%04d", prefix, u.next), attrs: next, version: 1}
	u.byID[s.id] = s
	return u.resource(s), nil
}

func (u *users) Get(r *http.Request, id string) (elimity.Resource, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, ok := u.byID[id]
	if !ok {
		return elimity.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return u.resource(s), nil
}

func (u *users) GetAll(r *http.Request, params elimity.ListRequestParams) (elimity.Page, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	page := elimity.Page{Resources: []elimity.Resource{}}
	for _, id := range slices.Sorted(maps.Keys(u.byID)) {
		s := u.byID[id]
		full := map[string]any{"id": s.id}
		for k, v := range s.attrs {
			full[k] = v
			// The library's filter finds an extension attribute under
			// "<urn>:<name>".
			if ext, ok := v.(map[string]any); ok && strings.HasPrefix(k, "urn:") {
				for ek, ev := range ext {
					full[k+":"+ek] = ev
				}
			}
		}
		if !u.ignoreFilters && params.FilterValidator != nil && params.FilterValidator.PassesFilter(full) != nil {
			continue
		}
		page.TotalResults++
		// One page: from the 1-based StartIndex, at most Count (and
		// at most pageSize, as providers cap their pages).
		size := params.Count
		if u.pageSize > 0 {
			size = min(size, u.pageSize)
		}
		if page.TotalResults >= max(params.StartIndex, 1) && len(page.Resources) < size {
			page.Resources = append(page.Resources, u.resource(s))
		}
	}
	return page, nil
}

// writable returns the stored user a write targets, checking its If-Match
// against the stored version; u.mu is held.
func (u *users) writable(r *http.Request, id string) (*stored, error) {
	s, ok := u.byID[id]
	if !ok {
		return nil, scimerrors.ScimErrorResourceNotFound(id)
	}
	if u.staleOnce {
		u.staleOnce = false
		s.version++ // someone else wrote it
	}
	if m := r.Header.Get("If-Match"); m != "" && m != etag(s.version) {
		return nil, scimerrors.ScimError{Status: http.StatusPreconditionFailed, Detail: "version mismatch"}
	}
	return s, nil
}

func (u *users) Replace(r *http.Request, id string, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, err := u.writable(r, id)
	if err != nil {
		return elimity.Resource{}, err
	}
	next := deepCopy(attrs).(map[string]any)
	if err := u.commit(s.attrs, next); err != nil {
		return elimity.Resource{}, err
	}
	s.attrs, s.version = next, s.version+1
	u.writes++
	return u.resource(s), nil
}

func (u *users) Delete(r *http.Request, id string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.byID[id]; !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	delete(u.byID, id)
	u.deletes++
	return nil
}

func (u *users) Patch(r *http.Request, id string, ops []elimity.PatchOperation) (elimity.Resource, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, err := u.writable(r, id)
	if err != nil {
		return elimity.Resource{}, err
	}
	next := deepCopy(s.attrs).(map[string]any)
	for _, op := range ops {
		if err := u.apply(next, op); err != nil {
			return elimity.Resource{}, err // a PATCH is atomic
		}
	}
	if err := u.commit(s.attrs, next); err != nil {
		return elimity.Resource{}, err
	}
	s.attrs, s.version = next, s.version+1
	u.writes++
	return u.resource(s), nil
}

var noTarget = scimerrors.ScimError{ScimType: scimerrors.ScimTypeNoTarget, Status: http.StatusBadRequest,
	Detail: "the value filter matched nothing"}

// apply applies one validated PATCH operation (RFC 7644 §3.5.2) to m.
func (u *users) apply(m map[string]any, op elimity.PatchOperation) error {
	if op.Path == nil {
		value, _ := op.Value.(map[string]any)
		for k, v := range value {
			switch v := v.(type) {
			case map[string]any: // an extension or a complex attribute: merge
				c := subMap(m, k)
				maps.Copy(c, v)
			case []any:
				if op.Op == elimity.PatchOperationAdd {
					old, _ := m[keyOf(m, k)].([]any)
					v = append(old, v...)
				}
				m[keyOf(m, k)] = v
			default:
				m[keyOf(m, k)] = v
			}
		}
		return nil
	}
	p := op.Path
	container := m
	uri := p.AttributePath.URI()
	if uri != "" && !strings.EqualFold(uri, scim.UserSchema) {
		container = subMap(m, uri)
		defer func() {
			if len(container) == 0 {
				delete(m, keyOf(m, uri))
			}
		}()
	}
	k := keyOf(container, p.AttributePath.AttributeName)
	if sub := p.AttributePath.SubAttributeName(); sub != "" { // name.givenName
		if op.Op == elimity.PatchOperationRemove {
			setLoc(container, k+"."+sub, nil)
		} else {
			setLoc(container, k+"."+sub, op.Value)
		}
		return nil
	}
	if p.ValueExpression != nil { // emails[type eq "work"], …[…].value
		def, ok := u.attribute(uri, p.AttributePath.AttributeName)
		if !ok {
			return scimerrors.ScimErrorInvalidPath
		}
		match := filter.NewFilterValidator(p.ValueExpression, schema.Schema{Attributes: def.SubAttributes()})
		list, _ := container[k].([]any)
		var out []any
		matched := 0
		for _, e := range list {
			el, _ := e.(map[string]any)
			if el == nil || match.PassesFilter(el) != nil {
				out = append(out, e)
				continue
			}
			matched++
			sub := p.SubAttributeName()
			switch {
			case op.Op == elimity.PatchOperationRemove && sub == "":
				continue
			case op.Op == elimity.PatchOperationRemove:
				delete(el, keyOf(el, sub))
			case sub != "":
				el[keyOf(el, sub)] = op.Value
			default:
				el, _ = op.Value.(map[string]any)
			}
			out = append(out, el)
		}
		if matched == 0 && op.Op != elimity.PatchOperationRemove {
			return noTarget
		}
		if len(out) == 0 {
			delete(container, k)
		} else {
			container[k] = out
		}
		return nil
	}
	switch {
	case op.Op == elimity.PatchOperationRemove:
		delete(container, k)
	case op.Op == elimity.PatchOperationAdd:
		if add, ok := op.Value.([]any); ok {
			old, _ := container[k].([]any)
			for _, e := range add {
				if el, _ := e.(map[string]any); el["primary"] == true { // one primary (RFC 7643 §2.4)
					for _, o := range old {
						if o, ok := o.(map[string]any); ok {
							delete(o, "primary")
						}
					}
				}
			}
			container[k] = append(old, add...)
		} else {
			container[k] = op.Value
		}
	default:
		container[k] = op.Value
	}
	return nil
}

// attribute returns the definition of a registered attribute.
func (u *users) attribute(uri, name string) (schema.CoreAttribute, bool) {
	for _, s := range u.schemas {
		if uri != "" && !strings.EqualFold(uri, s.ID) {
			continue
		}
		if a, ok := s.Attributes.ContainsAttribute(name); ok {
			return a, true
		}
	}
	return schema.CoreAttribute{}, false
}

// learnerExtension is the schema of scim.DefaultExtension, for a provider
// that agreed to register it.
func learnerExtension() schema.Schema {
	str := func(name string) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: name}))
	}
	return schema.Schema{
		ID: scim.DefaultExtension, Name: optional.NewString("Learner"),
		Attributes: []schema.CoreAttribute{
			str("status"), str("startDate"), str("terminationDate"), str("location"),
			schema.ComplexCoreAttribute(schema.ComplexParams{Name: "attributes", MultiValued: true,
				SubAttributes: []schema.SimpleParams{
					schema.SimpleStringParams(schema.StringParams{Name: "name"}),
					schema.SimpleStringParams(schema.StringParams{Name: "value"}),
				}}),
		},
	}
}

// request is one request the provider received.
type request struct {
	method, path, filter, body string
}

// provider is the in-process SCIM server.
type provider struct {
	users  *users
	groups *users // the Group resource type's handler
	srv    *httptest.Server

	mu       sync.Mutex
	wrap     func(http.Handler) http.Handler // a test's handler in front
	throttle string                          // answer 429 with this Retry-After
	requests []request

	// Options, set before the first request.
	learner            bool            // register scim.DefaultExtension too
	extensions         []schema.Schema // register these extensions too
	noEnterpriseFilter bool            // 400 invalidFilter for a filter on the enterprise extension
	patchNoContent     bool            // answer a PATCH with 204 and no resource
}

// pagedIgnoringFilters makes the provider answer every search with all its
// users, one a page, as some providers do.
func pagedIgnoringFilters(p *provider) { p.users.pageSize, p.users.ignoreFilters = 1, true }

// paged makes the provider answer searches one user a page.
func paged(p *provider) { p.users.pageSize = 1 }

type option func(*provider)

var (
	withLearnerExtension = func(p *provider) { p.learner = true }
	noEnterpriseFilter   = func(p *provider) { p.noEnterpriseFilter = true }
	patchNoContent       = func(p *provider) { p.patchNoContent = true }
)

func newProvider(t testing.TB, opts ...option) *provider {
	t.Helper()
	p := &provider{users: &users{byID: map[string]*stored{}, drops: map[string]bool{}, refuses: map[string]bool{}},
		groups: &users{byID: map[string]*stored{}, drops: map[string]bool{}, refuses: map[string]bool{}, group: true,
			schemas: []schema.Schema{schema.CoreGroupSchema()}}}
	for _, o := range opts {
		o(p)
	}
	exts := []elimity.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}}
	if p.learner {
		exts = append(exts, elimity.SchemaExtension{Schema: learnerExtension()})
	}
	for _, e := range p.extensions {
		exts = append(exts, elimity.SchemaExtension{Schema: e})
	}
	p.users.schemas = []schema.Schema{schema.CoreUserSchema()}
	for _, e := range exts {
		p.users.schemas = append(p.users.schemas, e.Schema)
	}
	server, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{},
		ResourceTypes: []elimity.ResourceType{{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Schema: schema.CoreUserSchema(), SchemaExtensions: exts, Handler: p.users,
		}, {
			ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups",
			Schema: schema.CoreGroupSchema(), Handler: p.groups,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		p.mu.Lock()
		p.requests = append(p.requests, request{r.Method, r.URL.Path, r.URL.Query().Get("filter"), string(body)})
		wrap, throttle := p.wrap, p.throttle
		p.mu.Unlock()
		if throttle != "" {
			scimError(w, http.StatusTooManyRequests, "", "slow down", throttle)
			return
		}
		if f := r.URL.Query().Get("filter"); p.noEnterpriseFilter && strings.Contains(strings.ToLower(f), strings.ToLower(scim.EnterpriseSchema)) {
			scimError(w, http.StatusBadRequest, "invalidFilter", "filtering on extension attributes is not supported", "")
			return
		}
		var h http.Handler = server
		if wrap != nil {
			h = wrap(h)
		}
		if p.patchNoContent && r.Method == http.MethodPatch {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code == http.StatusOK {
				w.Header().Set("ETag", rec.Header().Get("Etag"))
				w.WriteHeader(http.StatusNoContent)
				return
			}
			maps.Copy(w.Header(), rec.Header())
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func scimError(w http.ResponseWriter, code int, scimType, detail, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status": strconv.Itoa(code), "scimType": scimType, "detail": detail})
}

// sent returns the requests received so far.
func (p *provider) sent() []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

func (p *provider) setWrap(wrap func(http.Handler) http.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wrap = wrap
}

func (p *provider) setThrottle(retryAfter string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttle = retryAfter
}

func (p *provider) drop(loc string) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	p.users.drops[loc] = true
}

func (p *provider) refuse(loc string) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	p.users.refuses[loc] = true
}

// raw returns a copy of what the provider stores for the account bound to
// worker.
func (p *provider) raw(worker string) (map[string]any, string) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	for _, s := range p.users.byID {
		if s.attrs["externalId"] == worker {
			return deepCopy(s.attrs).(map[string]any), s.id
		}
	}
	return nil, ""
}
