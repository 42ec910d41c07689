package scim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/scim"
	"github.com/hrissync/hrissync/retry"
)

// writeLog records the writes that pass a handler: method, If-Match and a
// search's count.
type writeLog struct {
	mu      sync.Mutex
	methods map[string]int
	ifMatch int // writes sent with If-Match
	counts  []string
}

func (l *writeLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		if l.methods == nil {
			l.methods = map[string]int{}
		}
		if r.Method != http.MethodGet {
			l.methods[r.Method]++
			if r.Header.Get("If-Match") != "" {
				l.ifMatch++
			}
		} else if c := r.URL.Query().Get("count"); c != "" {
			l.counts = append(l.counts, c)
		}
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *writeLog) get() (map[string]int, int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := map[string]int{}
	for k, v := range l.methods {
		m[k] = v
	}
	return m, l.ifMatch, slices.Clone(l.counts)
}

// advertise answers /ServiceProviderConfig with doc, as a provider that
// publishes it would, and passes the rest on.
func advertise(doc string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
				w.Header().Set("Content-Type", "application/scim+json")
				w.Write([]byte(doc))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func discover(t *testing.T, s *scim.Sink) scim.Discovery {
	t.Helper()
	d, err := s.Discover(context.Background())
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	t.Logf("%+v", d)
	return d
}

// updates makes an account and updates it twice, the second time
// deactivating it.
func updates(t *testing.T, s *scim.Sink, id string) {
	t.Helper()
	a := employee(id, id+"@example.com")
	mustApply(t, s, create(a))
	b := a
	b.Role = "Lead"
	mustApply(t, s, change(hrissync.Modify, a, b))
	c := b
	c.Status = hrissync.StatusTerminated
	mustApply(t, s, change(hrissync.Deactivate, b, c))
}

func TestDiscoverElimity(t *testing.T) {
	d := discover(t, newSink(t, newProvider(t), scim.Config{}))
	// elimity's ServiceProviderConfig{} publishes every capability as
	// unsupported, and filter.maxResults 0, though it takes PATCH,
	// filters and checks If-Match.
	if !d.ConfigKnown || d.Patch || d.ETag || d.Bulk || d.BulkMaxOperations != 1000 || d.Filter || d.FilterMaxResults != 0 {
		t.Errorf("ServiceProviderConfig read as %+v", d)
	}
	if !d.SchemasKnown || !slices.Contains(d.Schemas, scim.UserSchema) || !slices.Contains(d.Schemas, scim.EnterpriseSchema) ||
		slices.Contains(d.Schemas, scim.DefaultExtension) {
		t.Errorf("Schemas = %v (known %v), want the core User and the enterprise extension among them", d.Schemas, d.SchemasKnown)
	}
	if !d.UserKnown || !slices.Equal(d.UserExtensions, []string{scim.EnterpriseSchema}) {
		t.Errorf("User extensions = %v (known %v), want the enterprise extension", d.UserExtensions, d.UserKnown)
	}
	l := newSink(t, newProvider(t, withLearnerExtension), scim.Config{Extension: scim.DefaultExtension})
	d = discover(t, l)
	if !slices.Contains(d.Schemas, scim.DefaultExtension) || !slices.Contains(d.UserExtensions, scim.DefaultExtension) {
		t.Errorf("a provider registering the learner extension: Schemas %v, User extensions %v", d.Schemas, d.UserExtensions)
	}
}

func TestDiscoverSCIMMY(t *testing.T) {
	p := newSCIMMYPlatform(t)
	d := discover(t, p.sink(t, scim.Config{}))
	if !d.ConfigKnown || !d.Patch || d.ETag || !d.Bulk || d.BulkMaxOperations != 1000 || !d.Filter || d.FilterMaxResults != 200 {
		t.Errorf("ServiceProviderConfig read as %+v", d)
	}
	if !d.SchemasKnown || !slices.Contains(d.Schemas, scim.UserSchema) || !slices.Contains(d.Schemas, scim.EnterpriseSchema) {
		t.Errorf("Schemas = %v (known %v)", d.Schemas, d.SchemasKnown)
	}
	if !d.UserKnown || !slices.Equal(d.UserExtensions, []string{scim.EnterpriseSchema}) {
		t.Errorf("User extensions = %v (known %v), want the enterprise extension", d.UserExtensions, d.UserKnown)
	}
}

// refusal checks that an Extension the provider does not register is
// refused by name, and accepted when declared.
func refusal(t *testing.T, sink func(scim.Config) *scim.Sink) {
	t.Helper()
	ctx := context.Background()
	_, err := sink(scim.Config{Extension: scim.DefaultExtension}).Discover(ctx)
	var se *scim.SchemaError
	if !errors.As(err, &se) || se.Schema != scim.DefaultExtension || !strings.Contains(err.Error(), scim.DefaultExtension) || !retry.IsPermanent(err) {
		t.Errorf("Discover with an unregistered Extension = %v, want a permanent *SchemaError naming it", err)
	}
	if _, err := sink(scim.Config{Extension: scim.DefaultExtension, Assume: scim.Assume{Schemas: []string{scim.DefaultExtension}}}).Discover(ctx); err != nil {
		t.Errorf("Discover with the Extension declared in Assume.Schemas = %v, want nil", err)
	}
	// A Mapping to an attribute of a schema the provider does not list:
	// refused, naming the schema; declared, accepted.
	const urn = "urn:ietf:params:scim:schemas:extension:example-lms:2.0:User"
	skills := []scim.Mapping{{Field: "attr.skill.go", Path: urn + ":skills"}}
	_, err = sink(scim.Config{Map: skills}).Discover(ctx)
	if !errors.As(err, &se) || se.Schema != urn || !retry.IsPermanent(err) {
		t.Errorf("Discover with a Mapping to an unregistered schema = %v, want a permanent *SchemaError naming %s", err, urn)
	}
	if _, err := sink(scim.Config{Map: skills, Assume: scim.Assume{Schemas: []string{urn}}}).Discover(ctx); err != nil {
		t.Errorf("Discover with the Mapping's schema declared in Assume.Schemas = %v, want nil", err)
	}
	// A Mapping to a listed schema spelt in another case: refused, naming
	// the spelling the provider keys it by (it would drop the attribute).
	odd := "urn:ietf:params:scim:schemas:extension:enterprise:2.0:USER"
	if _, err := sink(scim.Config{Extension: odd}).Discover(ctx); !errors.As(err, &se) || !strings.Contains(err.Error(), scim.EnterpriseSchema) {
		t.Errorf("Discover with an Extension spelt %s = %v, want a *SchemaError naming %s", odd, err, scim.EnterpriseSchema)
	}
	// A Mapping to the enterprise extension, which both list: accepted.
	cost := []scim.Mapping{{Field: "costCenter", Path: scim.EnterpriseSchema + ":costCenter"}}
	if _, err := sink(scim.Config{Map: cost}).Discover(ctx); err != nil {
		t.Errorf("Discover with a Mapping to the enterprise costCenter = %v, want nil", err)
	}
	// Lazily, before the first write: refused, and nothing written.
	s := sink(scim.Config{Extension: scim.DefaultExtension, Discover: true})
	for range 2 {
		if err := s.Apply(ctx, create(employee("w-ref", "ref@example.com"))); !errors.As(err, &se) || !retry.IsPermanent(err) {
			t.Errorf("Apply with Config.Discover and an unregistered Extension = %v, want the *SchemaError", err)
		}
	}
}

func TestDiscoverRefusesUnregisteredExtension(t *testing.T) {
	p := newProvider(t)
	refusal(t, func(c scim.Config) *scim.Sink { return newSink(t, p, c) })
	for _, r := range p.sent() {
		if r.method != http.MethodGet {
			t.Errorf("%s %s sent, want no write", r.method, r.path)
		}
	}
	// Registered: not refused.
	l := newSink(t, newProvider(t, withLearnerExtension), scim.Config{Extension: scim.DefaultExtension})
	if _, err := l.Discover(context.Background()); err != nil {
		t.Errorf("Discover with a registered Extension = %v", err)
	}
}

func TestDiscoverRefusesUnregisteredExtensionSCIMMY(t *testing.T) {
	p := newSCIMMYPlatform(t)
	refusal(t, func(c scim.Config) *scim.Sink { return p.sink(t, c) })
	if n := len(p.s.Users(t)); n != 0 {
		t.Errorf("%d users written, want none", n)
	}
}

// elimity publishes patch and etag unsupported: with discovery the sink
// PUTs and sends no If-Match; without it, or with Assume, it PATCHes under
// If-Match as configured.
func TestDiscoveredNoPatchPuts(t *testing.T) {
	for _, c := range []struct {
		name         string
		cfg          scim.Config
		patch, match bool
	}{
		{"Configured", scim.Config{}, true, true},
		{"Discovered", scim.Config{Discover: true}, false, false},
		{"Assumed", scim.Config{Discover: true, Assume: scim.Assume{Patch: true, ETag: true}}, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newProvider(t)
			var l writeLog
			p.setWrap(l.wrap)
			updates(t, newSink(t, p, c.cfg), "w-np")
			m, ifMatch, _ := l.get()
			t.Logf("writes %v, with If-Match %d", m, ifMatch)
			if (m[http.MethodPatch] > 0) != c.patch || (m[http.MethodPut] > 0) == c.patch {
				t.Errorf("writes %v, want PATCH %v", m, c.patch)
			}
			if (ifMatch > 0) != c.match {
				t.Errorf("%d writes with If-Match, want some: %v", ifMatch, c.match)
			}
			if a, _ := p.raw("w-np"); a["title"] != "Lead" || a["active"] != false {
				t.Errorf("the provider holds %v", a)
			}
		})
	}
}

// A provider that publishes PATCH, ETags and maxResults 1: the sink
// PATCHes under If-Match and asks for one resource a page.
func TestDiscoveredCapabilitiesFollowed(t *testing.T) {
	p := newProvider(t)
	var l writeLog
	adv := advertise(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
		"patch":{"supported":true},"etag":{"supported":true},"filter":{"supported":true,"maxResults":1},
		"bulk":{"supported":false},"sort":{"supported":false},"changePassword":{"supported":false}}`)
	p.setWrap(func(h http.Handler) http.Handler { return l.wrap(adv(h)) })
	s := newSink(t, p, scim.Config{Discover: true})
	updates(t, s, "w-cap")
	m, ifMatch, counts := l.get()
	if m[http.MethodPut] != 0 || m[http.MethodPatch] == 0 || ifMatch != m[http.MethodPatch] {
		t.Errorf("writes %v, %d with If-Match; want PATCHes, all with If-Match", m, ifMatch)
	}
	if len(counts) == 0 || slices.ContainsFunc(counts, func(c string) bool { return c != "1" }) {
		t.Errorf("search counts %v, want 1 each", counts)
	}
	d, _ := s.Discover(context.Background())
	if !d.Patch || !d.ETag || d.FilterMaxResults != 1 {
		t.Errorf("read %+v", d)
	}
}

// SCIMMY publishes PATCH and no ETags: the sink PATCHes without If-Match.
func TestDiscoveredSCIMMY(t *testing.T) {
	p := newSCIMMYPlatform(t)
	var l writeLog
	proxy := p.proxy.Config.Handler
	front := httptest.NewServer(l.wrap(proxy))
	t.Cleanup(front.Close)
	s, err := scim.New(front.URL+"/scim/v2", &scim.Config{Token: p.s.Token, Discover: true})
	if err != nil {
		t.Fatal(err)
	}
	updates(t, s, "w-sc")
	m, ifMatch, counts := l.get()
	if m[http.MethodPut] != 0 || m[http.MethodPatch] == 0 || ifMatch != 0 {
		t.Errorf("writes %v, %d with If-Match; want PATCHes without", m, ifMatch)
	}
	if slices.ContainsFunc(counts, func(c string) bool { return c != "100" }) {
		t.Errorf("search counts %v, want 100 (under maxResults 200)", counts)
	}
	// A provider that published patch unsupported would get PUTs.
	var l2 writeLog
	base, _ := url.Parse(p.s.BaseURL)
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: base.Scheme, Host: base.Host})
	front2 := httptest.NewServer(l2.wrap(advertise(`{"patch":{"supported":false},"etag":{"supported":false},"filter":{"supported":true,"maxResults":200}}`)(rp)))
	t.Cleanup(front2.Close)
	s2, err := scim.New(front2.URL+"/scim/v2", &scim.Config{Token: p.s.Token, Discover: true})
	if err != nil {
		t.Fatal(err)
	}
	updates(t, s2, "w-sc2")
	if m, _, _ := l2.get(); m[http.MethodPatch] != 0 || m[http.MethodPut] == 0 {
		t.Errorf("writes %v, want PUTs", m)
	}
	for _, u := range p.s.Users(t) {
		if u["title"] != "Lead" || u["active"] != false {
			t.Errorf("SCIMMY holds %v", u)
		}
	}
}

// Documents that are missing or unparsable are unknown: no error, and the
// sink behaves as configured.
func TestDiscoverUnknown(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer func(w http.ResponseWriter)
	}{
		{"404", func(w http.ResponseWriter) { scimError(w, http.StatusNotFound, "", "no such endpoint", "") }},
		{"HTML", func(w http.ResponseWriter) { w.Write([]byte("<html>sign in</html>")) }},
		{"Empty", func(w http.ResponseWriter) { w.Write([]byte(`{}`)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			// It registers the extension; unknown, it is not refused.
			p := newProvider(t, withLearnerExtension)
			var l writeLog
			p.setWrap(func(h http.Handler) http.Handler {
				return l.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !strings.HasPrefix(r.URL.Path, "/Users") {
						c.answer(w)
						return
					}
					h.ServeHTTP(w, r)
				}))
			})
			s := newSink(t, p, scim.Config{Discover: true, Extension: scim.DefaultExtension})
			d := discover(t, s)
			if d.ConfigKnown || d.SchemasKnown || d.UserKnown {
				t.Errorf("read %+v, want all unknown", d)
			}
			updates(t, s, "w-unk")
			if m, ifMatch, _ := l.get(); m[http.MethodPut] != 0 || ifMatch == 0 {
				t.Errorf("writes %v, %d with If-Match; want PATCHes under If-Match", m, ifMatch)
			}
		})
	}
}

// A failure other than a missing document is Discover's error.
func TestDiscoverFailure(t *testing.T) {
	p := newProvider(t)
	p.setThrottle("1")
	_, err := newSink(t, p, scim.Config{}).Discover(context.Background())
	if _, ok := retry.After(err); !ok {
		t.Errorf("Discover against a throttling provider = %v, want retry.RetryAfter", err)
	}
}

// Writes that start together discover once.
func TestDiscoverOnceUnderConcurrentWrites(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{Discover: true})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			id := "w-con-" + string(rune('a'+i))
			if err := s.Apply(context.Background(), create(employee(id, id+"@example.com"))); err != nil {
				t.Errorf("Apply %s: %v", id, err)
			}
		})
	}
	wg.Wait()
	n := 0
	for _, r := range p.sent() {
		if r.path == "/ServiceProviderConfig" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("/ServiceProviderConfig read %d times, want once", n)
	}
}

// A host that rotates bearer tokens, and reads at start-up what the
// provider advertises: a schema it would send that the provider does not
// register stops it there. (Not run: no provider at that address.)
func ExampleSink_Discover() {
	ctx := context.Background()
	var mu sync.Mutex
	token := "issued at start-up" // replaced by the host's rotation
	sink, err := scim.New("https://lms.example.com/scim/v2", &scim.Config{
		TokenSource: func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			return token, nil
		},
		Extension: scim.DefaultExtension,
	})
	if err != nil {
		panic(err)
	}
	d, err := sink.Discover(ctx)
	var unregistered *scim.SchemaError
	if errors.As(err, &unregistered) {
		panic("the provider does not register " + unregistered.Schema)
	}
	if err != nil {
		panic(err) // unreachable: retry later
	}
	if d.ConfigKnown && !d.Patch {
		fmt.Println("updates will be PUTs")
	}
}
