package scim_test

// A real, third-party SCIM 2.0 server (github.com/elimity-com/scim) running
// in-process, with an in-memory resource handler written here: the server
// parses, validates and answers per RFC 7644; the handler only stores.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	elimity "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/hrissync/hrissync/connector/scim"
)

type stored struct {
	id, externalID string
	attrs          elimity.ResourceAttributes
	version        int
}

// users is the in-memory resource handler.
type users struct {
	mu      sync.Mutex
	byID    map[string]*stored
	next    int
	writes  int
	posts   int
	deletes int
	// staleOnce makes the next If-Match check fail once (someone else
	// changed the account): 412.
	staleOnce bool
}

func newUsers() *users { return &users{byID: map[string]*stored{}} }

func (u *users) resource(s *stored) elimity.Resource {
	attrs := elimity.ResourceAttributes{}
	for k, v := range s.attrs {
		attrs[k] = v
	}
	return elimity.Resource{ID: s.id, ExternalID: optional.NewString(s.externalID), Attributes: attrs,
		Meta: elimity.Meta{Version: etag(s.version)}}
}

func etag(v int) string { return `W/"` + strconv.Itoa(v) + `"` }

func (u *users) Create(r *http.Request, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if name, _ := attrs["userName"].(string); name == "" {
		return elimity.Resource{}, scimerrors.ScimErrorInvalidValue // this provider's own validation
	}
	for _, s := range u.byID {
		if s.attrs["userName"] == attrs["userName"] {
			return elimity.Resource{}, scimerrors.ScimErrorUniqueness
		}
	}
	u.next++
	u.writes++
	u.posts++
	ext, _ := attrs["externalId"].(string)
	delete(attrs, "externalId")
	s := &stored{id: fmt.Sprintf("u%04d", u.next), externalID: ext, attrs: attrs, version: 1}
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
	var page elimity.Page
	for _, s := range u.byID {
		full := map[string]any{"id": s.id, "externalId": s.externalID}
		for k, v := range s.attrs {
			full[k] = v
			// The library's filter matches extension attributes by
			// their bare names.
			if ext, ok := v.(map[string]any); ok && strings.HasPrefix(k, "urn:") {
				for ek, ev := range ext {
					full[ek] = ev
				}
			}
		}
		if params.FilterValidator != nil && params.FilterValidator.PassesFilter(full) != nil {
			continue
		}
		page.TotalResults++
		page.Resources = append(page.Resources, u.resource(s))
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
	if ext, ok := attrs["externalId"].(string); ok {
		s.externalID = ext
	}
	delete(attrs, "externalId")
	s.attrs, s.version = attrs, s.version+1
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
	for _, op := range ops {
		if op.Path != nil {
			return elimity.Resource{}, scimerrors.ScimErrorInvalidPath // the sink sends value objects only
		}
		value, _ := op.Value.(map[string]any)
		for k, v := range value {
			switch {
			case k == "externalId":
				s.externalID, _ = v.(string)
			case strings.HasPrefix(k, "urn:"):
				// An extension: replace the sub-attributes given.
				ext, _ := s.attrs[k].(map[string]any)
				if ext == nil {
					ext = map[string]any{}
				}
				for ek, ev := range v.(map[string]any) {
					ext[ek] = ev
				}
				s.attrs[k] = ext
			default:
				s.attrs[k] = v
			}
		}
	}
	s.version++
	u.writes++
	return u.resource(s), nil
}

// learnerExtension is the schema of scim.DefaultExtension.
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

// provider is the in-process SCIM server; wrap lets a test put a handler in
// front (to throttle).
type provider struct {
	users *users
	srv   *httptest.Server
	wrap  func(http.Handler) http.Handler
	mu    sync.Mutex
}

func newProvider(t testing.TB) *provider {
	t.Helper()
	p := &provider{users: newUsers()}
	server, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{},
		ResourceTypes: []elimity.ResourceType{{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Schema: schema.CoreUserSchema(),
			SchemaExtensions: []elimity.SchemaExtension{
				{Schema: schema.ExtensionEnterpriseUser()}, {Schema: learnerExtension()},
			},
			Handler: p.users,
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
		p.mu.Lock()
		wrap := p.wrap
		p.mu.Unlock()
		var h http.Handler = server
		if wrap != nil {
			h = wrap(h)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}
