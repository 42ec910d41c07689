package scim_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"

	elimity "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/scim"
)

// The SCIM sink provisioning a SCIM 2.0 service provider on loopback (a
// small server built with github.com/elimity-com/scim, below): a hire is a
// POST of the new User, a termination a PATCH of active=false on the same
// account.
//
// Like many service providers, this one registers the core User schema
// only, and the default settings suit it: the sink sends the core schema's
// attributes (and the enterprise extension's only when it has values for
// them), and adopts existing accounts by externalId, then userName.
func Example() {
	ctx := context.Background()
	lms := newUserStore()
	srv := httptest.NewServer(lms.handler())
	defer srv.Close()

	sink, err := scim.New(srv.URL, &scim.Config{Token: "secret-token"})
	if err != nil {
		panic(err)
	}
	ada := hrissync.Fields{
		hrissync.FieldEmail: "ada@example.com", hrissync.FieldGivenName: "Ada",
		hrissync.FieldFamilyName: "Lovelace", hrissync.FieldRole: "Engineer",
	}

	err = sink.Apply(ctx, hrissync.Update{EmployeeID: "w-42", Kind: hrissync.Create, Active: true, Fields: ada})
	fmt.Println("create:", err)
	lms.print()

	err = sink.Apply(ctx, hrissync.Update{EmployeeID: "w-42", Kind: hrissync.Deactivate, Active: false, Fields: ada})
	fmt.Println("deactivate:", err)
	lms.print()
	// Output:
	// create: <nil>
	// u1 externalId=w-42 userName=ada@example.com active=true title=Engineer
	// deactivate: <nil>
	// u1 externalId=w-42 userName=ada@example.com active=false title=Engineer
}

// userStore is the provider's storage of Users, behind an elimity SCIM
// server registering the core User schema only.
type userStore struct {
	mu    sync.Mutex
	users map[string]elimity.Resource
	token string // the bearer token it accepts
}

func newUserStore() *userStore {
	return &userStore{users: map[string]elimity.Resource{}, token: "secret-token"}
}

// rotate makes the provider accept another token, as an identity provider
// rotating a credential does.
func (s *userStore) rotate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

func (s *userStore) handler() http.Handler {
	server, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{},
		ResourceTypes: []elimity.ResourceType{{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Schema: schema.CoreUserSchema(), Handler: s,
		}},
	})
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		accepted := "Bearer " + s.token
		s.mu.Unlock()
		if r.Header.Get("Authorization") != accepted {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		server.ServeHTTP(w, r)
	})
}

func (s *userStore) print() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, u := range s.users {
		fmt.Printf("%s externalId=%s userName=%s active=%v title=%s\n",
			id, u.ExternalID.Value(), u.Attributes["userName"], u.Attributes["active"], u.Attributes["title"])
	}
}

func (s *userStore) Create(r *http.Request, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ext, _ := attrs["externalId"].(string)
	delete(attrs, "externalId")
	u := elimity.Resource{ID: fmt.Sprintf("u%d", len(s.users)+1), ExternalID: optional.NewString(ext), Attributes: attrs}
	s.users[u.ID] = u
	return u, nil
}

func (s *userStore) Get(r *http.Request, id string) (elimity.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return elimity.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return u, nil
}

func (s *userStore) GetAll(r *http.Request, params elimity.ListRequestParams) (elimity.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var page elimity.Page
	for _, u := range s.users {
		full := map[string]any{"id": u.ID, "externalId": u.ExternalID.Value()}
		for k, v := range u.Attributes {
			full[k] = v
		}
		if params.FilterValidator == nil || params.FilterValidator.PassesFilter(full) == nil {
			page.TotalResults++
			page.Resources = append(page.Resources, u)
		}
	}
	return page, nil
}

// The sink PUTs only with Config.NoPatch and DELETEs only with Config.Delete.

func (s *userStore) Replace(r *http.Request, id string, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	return elimity.Resource{}, scimerrors.ScimError{Status: http.StatusNotImplemented}
}

func (s *userStore) Delete(r *http.Request, id string) error {
	return scimerrors.ScimError{Status: http.StatusNotImplemented}
}

// Patch applies "replace" operations of top-level attributes by path
// (active, title, userName), enough for this example.
func (s *userStore) Patch(r *http.Request, id string, ops []elimity.PatchOperation) (elimity.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return elimity.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	for _, op := range ops {
		if op.Op != elimity.PatchOperationReplace || op.Path == nil || op.Path.AttributePath.SubAttribute != nil || op.Path.ValueExpression != nil {
			return elimity.Resource{}, scimerrors.ScimError{Status: http.StatusNotImplemented}
		}
		u.Attributes[op.Path.AttributePath.AttributeName] = op.Value
	}
	return u, nil
}

// A host's choices on a provider that registers the core User schema only:
// the department sent to the core userType (Config.Map), PATCH used though
// the provider's ServiceProviderConfig does not advertise it (Config.Assume
// overriding Discover), a bearer token rotated mid-run (Config.TokenSource),
// and the accounts listed back, as hrissync.Engine.CheckDrift lists them.
func ExampleMapping() {
	ctx := context.Background()
	lms := newUserStore()
	srv := httptest.NewServer(lms.handler())
	defer srv.Close()

	var mu sync.Mutex
	token := "secret-token"
	sink, err := scim.New(srv.URL, &scim.Config{
		TokenSource: func(context.Context) (string, error) { mu.Lock(); defer mu.Unlock(); return token, nil },
		Map:         []scim.Mapping{{Field: hrissync.FieldDepartment, Path: "userType"}},
		Assume:      scim.Assume{Patch: true},
		Discover:    true,
	})
	if err != nil {
		panic(err)
	}
	d, err := sink.Discover(ctx)
	fmt.Println("advertises PATCH:", d.Patch, "err:", err)

	ada := hrissync.Fields{hrissync.FieldEmail: "ada@example.com", hrissync.FieldRole: "Engineer", hrissync.FieldDepartment: "R&D"}
	err = sink.Apply(ctx, hrissync.Update{EmployeeID: "w-42", Kind: hrissync.Create, Active: true, Fields: ada})
	fmt.Println("create:", err)

	lms.rotate("rotated-token") // the old token is refused from now on
	mu.Lock()
	token = "rotated-token"
	mu.Unlock()
	moved := maps.Clone(ada)
	moved[hrissync.FieldDepartment] = "Research"
	err = sink.Apply(ctx, hrissync.Update{EmployeeID: "w-42", Kind: hrissync.Modify, Active: true, Fields: moved,
		Changes: []hrissync.Change{{Field: hrissync.FieldDepartment, Old: "R&D", New: "Research"}}})
	fmt.Println("update after the rotation:", err)

	for a, err := range sink.Accounts(ctx) {
		if err != nil {
			panic(err)
		}
		fmt.Println(a.EmployeeID, "active:", a.Active, "department:", a.Fields[hrissync.FieldDepartment])
	}
	// Output:
	// advertises PATCH: false err: <nil>
	// create: <nil>
	// update after the rotation: <nil>
	// w-42 active: true department: Research
}
