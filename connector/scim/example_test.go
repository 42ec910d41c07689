package scim_test

import (
	"context"
	"fmt"
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
}

func newUserStore() *userStore { return &userStore{users: map[string]elimity.Resource{}} }

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
		if r.Header.Get("Authorization") != "Bearer secret-token" {
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
