package scim_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/scim"
	"github.com/hrissync/hrissync/retry"
)

// gate stands in front of a provider as its token endpoint's partner: it
// lets through only the bearer token currently issued (rotated by the test),
// passing the request on with the provider's own token.
type gate struct {
	mu       sync.Mutex
	current  string
	seen     map[string]int // token → requests let through
	refused  int
	upstream string
	next     http.Handler
}

func newGate(next http.Handler, upstream string) *gate {
	return &gate{current: "t1", seen: map[string]int{}, upstream: upstream, next: next}
}

func (g *gate) rotate(token string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.current = token
}

// issue is a Config.TokenSource: the token currently issued.
func (g *gate) issue(context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.current, nil
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	ok := r.Header.Get("Authorization") == "Bearer "+g.current
	if ok {
		g.seen[g.current]++
	} else {
		g.refused++
	}
	g.mu.Unlock()
	if !ok {
		scimError(w, http.StatusUnauthorized, "", "invalid or expired bearer token", "")
		return
	}
	r.Header.Set("Authorization", "Bearer "+g.upstream)
	g.next.ServeHTTP(w, r)
}

func employee(id, email string) hrissync.Employee {
	return hrissync.Employee{ID: id, Email: email, GivenName: "Ada", FamilyName: "Byron", Status: hrissync.StatusActive,
		StartDate: hrissync.NewDate(2020, 1, 6), Role: "Engineer"}
}

// rotation runs writes through g before and after a rotation of the token.
func rotation(t *testing.T, g *gate, base string) {
	t.Helper()
	ctx := context.Background()
	s, err := scim.New(base, &scim.Config{Token: "ignored: TokenSource wins", TokenSource: g.issue})
	if err != nil {
		t.Fatal(err)
	}
	a := employee("w-rot-a", "rot-a@example.com")
	mustApply(t, s, create(a))
	g.rotate("t2")
	a2 := a
	a2.Role = "Lead"
	mustApply(t, s, change(hrissync.Modify, a, a2))
	mustApply(t, s, create(employee("w-rot-b", "rot-b@example.com")))
	g.mu.Lock()
	seen, refused := g.seen["t1"], g.seen["t2"]
	denied := g.refused
	g.mu.Unlock()
	if seen == 0 || refused == 0 || denied != 0 {
		t.Errorf("requests with t1: %d, with t2: %d, refused: %d; want some with each and none refused", seen, refused, denied)
	}

	// A fixed token, stale since the rotation: 401, a retryable *Error.
	stale, err := scim.New(base, &scim.Config{Token: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	err = stale.Apply(ctx, create(employee("w-rot-c", "rot-c@example.com")))
	var se *scim.Error
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || retry.IsPermanent(err) {
		t.Errorf("a stale token: %v (permanent %v), want a retryable 401 *scim.Error", err, retry.IsPermanent(err))
	}

	// A TokenSource that fails fails the request, keeping its retry class.
	down := errors.New("issuer down")
	for _, c := range []struct {
		err       error
		permanent bool
	}{{down, false}, {retry.Permanent(down), true}} {
		s, err := scim.New(base, &scim.Config{TokenSource: func(context.Context) (string, error) { return "", c.err }})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Apply(ctx, create(employee("w-rot-d", "rot-d@example.com")))
		if !errors.Is(err, down) || retry.IsPermanent(err) != c.permanent {
			t.Errorf("TokenSource error %v: Apply = %v (permanent %v), want it wrapped, permanent %v", c.err, err, retry.IsPermanent(err), c.permanent)
		}
	}
}

// The elimity server behind a gate that rotates the bearer token.
func TestTokenSourceRotation(t *testing.T) {
	p := newProvider(t)
	g := newGate(p.srv.Config.Handler, "secret-token")
	front := httptest.NewServer(g)
	t.Cleanup(front.Close)
	rotation(t, g, front.URL)
	if a, _ := p.raw("w-rot-a"); a["title"] != "Lead" {
		t.Errorf("w-rot-a's title = %v, want Lead", a["title"])
	}
	if b, _ := p.raw("w-rot-b"); b == nil {
		t.Error("w-rot-b was not created after the rotation")
	}
}

// SCIMMY checks one fixed token of its own; the gate in front rotates.
func TestTokenSourceRotationSCIMMY(t *testing.T) {
	s := startSCIMMY(t)
	base, err := url.Parse(s.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	g := newGate(httputil.NewSingleHostReverseProxy(&url.URL{Scheme: base.Scheme, Host: base.Host}), s.Token)
	front := httptest.NewServer(g)
	t.Cleanup(front.Close)
	rotation(t, g, front.URL+"/scim/v2")
	roles := map[string]any{}
	for _, u := range s.Users(t) {
		roles[u["externalId"].(string)] = u["title"]
	}
	if roles["w-rot-a"] != "Lead" || len(roles) != 2 {
		t.Errorf("SCIMMY holds %v, want w-rot-a (Lead) and w-rot-b", roles)
	}
}
