package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/scim"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// groupServer is one of the third-party providers, seen by the group tests.
type groupServer struct {
	base, token string
	groups      func(t *testing.T) []map[string]any // every stored Group, id included
	seedGroup   func(t *testing.T, g map[string]any) string
	userID      func(t *testing.T, worker string) string
}

func elimityGroups(t *testing.T) *groupServer {
	p := newProvider(t)
	return &groupServer{
		base: p.srv.URL, token: "secret-token",
		groups: func(t *testing.T) []map[string]any {
			p.groups.mu.Lock()
			defer p.groups.mu.Unlock()
			var out []map[string]any
			for _, id := range slices.Sorted(maps.Keys(p.groups.byID)) {
				g := deepCopy(p.groups.byID[id].attrs).(map[string]any)
				g["id"] = id
				out = append(out, g)
			}
			return out
		},
		seedGroup: func(t *testing.T, g map[string]any) string {
			r, err := p.groups.Create(nil, g)
			if err != nil {
				t.Fatal(err)
			}
			return r.ID
		},
		userID: func(t *testing.T, worker string) string { _, id := p.raw(worker); return id },
	}
}

func scimmyGroups(t *testing.T) *groupServer {
	s := startSCIMMY(t)
	return &groupServer{
		base: s.BaseURL, token: s.Token,
		groups: func(t *testing.T) []map[string]any {
			var out []map[string]any
			s.call(t, http.MethodGet, s.root+"/_groups", nil, http.StatusOK, &out)
			return out
		},
		seedGroup: func(t *testing.T, g map[string]any) string {
			var created struct{ ID string }
			s.call(t, http.MethodPost, s.root+"/_seedGroup", g, http.StatusCreated, &created)
			return created.ID
		},
		userID: func(t *testing.T, worker string) string {
			for _, u := range s.Users(t) {
				if u["externalId"] == worker {
					return u["id"].(string)
				}
			}
			return ""
		},
	}
}

// onBothServers runs f against the elimity server and SCIMMY.
func onBothServers(t *testing.T, f func(t *testing.T, gs *groupServer)) {
	t.Run("elimity", func(t *testing.T) { f(t, elimityGroups(t)) })
	t.Run("scimmy", func(t *testing.T) { f(t, scimmyGroups(t)) })
}

// groupCalls records the sink's requests to /Groups.
type groupCalls struct {
	mu   sync.Mutex
	reqs []request
	next http.RoundTripper
}

func (g *groupCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/Groups") {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		g.mu.Lock()
		g.reqs = append(g.reqs, request{r.Method, r.URL.Path, r.URL.Query().Get("filter"), string(body)})
		g.mu.Unlock()
	}
	return g.next.RoundTrip(r)
}

func (g *groupCalls) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reqs = nil
}

// tally counts the group writes since the last reset: POSTs, member adds
// and removes (one per PATCH operation), displayName replaces, and any
// other write.
type tally struct{ posts, adds, removes, renames, other int }

func (g *groupCalls) tally(t *testing.T) tally {
	g.mu.Lock()
	defer g.mu.Unlock()
	var n tally
	for _, r := range g.reqs {
		switch r.method {
		case http.MethodGet:
		case http.MethodPost:
			n.posts++
		case http.MethodPatch:
			var body struct {
				Operations []struct {
					Op, Path string
					Value    any
				}
			}
			if err := json.Unmarshal([]byte(r.body), &body); err != nil {
				t.Fatal(err)
			}
			for _, o := range body.Operations {
				switch {
				case strings.EqualFold(o.Op, "add") && o.Path == "members":
					n.adds++
				case strings.EqualFold(o.Op, "remove") && strings.HasPrefix(o.Path, "members["):
					n.removes++
				case strings.EqualFold(o.Op, "replace") && o.Path == "displayName":
					n.renames++
				default:
					n.other++
				}
			}
		default:
			n.other++
		}
	}
	return n
}

func groupSink(t *testing.T, gs *groupServer, cfg scim.Config) (*scim.Sink, *groupCalls) {
	calls := &groupCalls{next: http.DefaultTransport}
	cfg.Token, cfg.HTTPClient = gs.token, &http.Client{Transport: calls}
	s, err := scim.New(gs.base, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, calls
}

const deptField = hrissync.GroupPrefix + "department"

var depts = map[string]string{"D1": "Sales", "D2": "Engineering", "D3": "Finance"}

func personFields(i int, dept string) hrissync.Fields {
	return hrissync.Fields{
		hrissync.FieldEmail:      fmt.Sprintf("p%02d@example.com", i),
		hrissync.FieldGivenName:  "Given",
		hrissync.FieldFamilyName: fmt.Sprintf("Family%02d", i),
		deptField:                hrissync.GroupRef(dept, depts[dept]),
	}
}

func worker(i int) string { return fmt.Sprintf("W%02d", i) }

func createUpdate(i int, f hrissync.Fields) hrissync.Update {
	var changes []hrissync.Change
	for _, k := range slices.Sorted(maps.Keys(f)) {
		changes = append(changes, hrissync.Change{Field: k, New: f[k]})
	}
	return hrissync.Update{EmployeeID: worker(i), Kind: hrissync.Create, Fields: f, Changes: changes, Active: true}
}

func gapply(t *testing.T, s *scim.Sink, u hrissync.Update) {
	t.Helper()
	if err := s.Apply(context.Background(), u); err != nil {
		t.Fatalf("Apply %s %v: %v", u.EmployeeID, u.Kind, err)
	}
}

// staff creates n people, person i in dept D(i%3+1), and returns their
// fields.
func staff(t *testing.T, s *scim.Sink, n int) []hrissync.Fields {
	var all []hrissync.Fields
	for i := range n {
		f := personFields(i, fmt.Sprintf("D%d", i%3+1))
		gapply(t, s, createUpdate(i, f))
		all = append(all, f)
	}
	return all
}

// byCode returns the groups bound to a code (externalId), by code.
func byCode(t *testing.T, gs *groupServer) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, g := range gs.groups(t) {
		if ext, _ := g["externalId"].(string); ext != "" {
			if _, dup := out[ext]; dup {
				t.Fatalf("two groups with externalId %q", ext)
			}
			out[ext] = g
		}
	}
	return out
}

func members(g map[string]any) []string {
	var out []string
	list, _ := g["members"].([]any)
	for _, m := range list {
		if m, ok := m.(map[string]any); ok {
			out = append(out, fmt.Sprint(m["value"]))
		}
	}
	slices.Sort(out)
	return out
}

// checkMemberships checks that each code's group holds exactly the people
// whose fields say so.
func checkMemberships(t *testing.T, gs *groupServer, people []hrissync.Fields) {
	t.Helper()
	want := map[string][]string{}
	for i, f := range people {
		code, _ := hrissync.ParseGroupRef(f[deptField])
		want[code] = append(want[code], gs.userID(t, worker(i)))
	}
	groups := byCode(t, gs)
	for code, ids := range want {
		slices.Sort(ids)
		g := groups[code]
		if g == nil {
			t.Fatalf("no group for %s", code)
		}
		if got := members(g); !slices.Equal(got, ids) {
			t.Errorf("group %s members = %v, want %v", code, got, ids)
		}
	}
}

func TestGroupsCreatedOnce(t *testing.T) {
	onBothServers(t, func(t *testing.T, gs *groupServer) {
		s, calls := groupSink(t, gs, scim.Config{})
		people := staff(t, s, 12)
		checkMemberships(t, gs, people)
		groups := byCode(t, gs)
		if len(groups) != 3 {
			t.Fatalf("%d groups, want 3", len(groups))
		}
		for code, g := range groups {
			if g["displayName"] != depts[code] {
				t.Errorf("group %s displayName %v, want %s", code, g["displayName"], depts[code])
			}
		}
		if n := calls.tally(t); n.posts != 3 || n.adds != 12 || n.removes+n.renames+n.other != 0 {
			t.Errorf("group writes %+v, want 3 POSTs and 12 adds only", n)
		}
	})
}

// reorganise moves 30% of people: person i with i%10 < 3 moves to the next
// department (people's fields are changed to say so).
func reorganise(t *testing.T, s *scim.Sink, people []hrissync.Fields) (moved int) {
	for i, f := range people {
		if i%10 >= 3 {
			continue
		}
		old := f[deptField]
		code, _ := hrissync.ParseGroupRef(old)
		next := fmt.Sprintf("D%d", (int(code[1]-'0'))%3+1)
		f[deptField] = hrissync.GroupRef(next, depts[next])
		gapply(t, s, hrissync.Update{EmployeeID: worker(i), Kind: hrissync.Modify, Fields: f, Active: true,
			Changes: []hrissync.Change{{Field: deptField, Old: old, New: f[deptField]}}})
		moved++
	}
	return moved
}

func TestGroupsReorganisation(t *testing.T) {
	onBothServers(t, func(t *testing.T, gs *groupServer) {
		s, calls := groupSink(t, gs, scim.Config{})
		people := staff(t, s, 20)
		calls.reset()
		moved := reorganise(t, s, people)
		if moved != 6 {
			t.Fatalf("moved %d, want 6", moved)
		}
		checkMemberships(t, gs, people)
		if n := calls.tally(t); n.adds != moved || n.removes != moved || n.posts+n.renames+n.other != 0 {
			t.Errorf("group writes %+v, want %d adds and %d removes only", n, moved, moved)
		}
	})
}

func TestGroupsRename(t *testing.T) {
	onBothServers(t, func(t *testing.T, gs *groupServer) {
		s, calls := groupSink(t, gs, scim.Config{})
		people := staff(t, s, 9)
		before := byCode(t, gs)["D1"]
		calls.reset()
		for i, f := range people {
			old := f[deptField]
			if code, _ := hrissync.ParseGroupRef(old); code != "D1" {
				continue
			}
			f[deptField] = hrissync.GroupRef("D1", "Sales & Marketing")
			gapply(t, s, hrissync.Update{EmployeeID: worker(i), Kind: hrissync.Modify, Fields: f, Active: true,
				Changes: []hrissync.Change{{Field: deptField, Old: old, New: f[deptField]}}})
		}
		after := byCode(t, gs)["D1"]
		if after["id"] != before["id"] || after["displayName"] != "Sales & Marketing" {
			t.Errorf("renamed group: id %v → %v, displayName %v", before["id"], after["id"], after["displayName"])
		}
		if !slices.Equal(members(before), members(after)) {
			t.Errorf("members %v → %v", members(before), members(after))
		}
		if n := calls.tally(t); n.renames != 1 || n.posts+n.adds+n.removes+n.other != 0 {
			t.Errorf("group writes %+v, want one rename only", n)
		}
	})
}

func TestGroupsHandMadeLeftAlone(t *testing.T) {
	onBothServers(t, func(t *testing.T, gs *groupServer) {
		s, _ := groupSink(t, gs, scim.Config{LeaversLeaveGroups: true})
		people := staff(t, s, 10)
		member := map[string]any{"value": gs.userID(t, worker(0))}
		hand := []string{
			gs.seedGroup(t, map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Sales", "members": []any{member}}),
			gs.seedGroup(t, map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Hand", "externalId": "not-a-code", "members": []any{member}}),
		}
		snapshot := func() map[string]string {
			out := map[string]string{}
			for _, g := range gs.groups(t) {
				if id := g["id"].(string); slices.Contains(hand, id) {
					out[id] = fmt.Sprint(g["displayName"], members(g), g["externalId"])
				}
			}
			return out
		}
		before := snapshot()
		if len(before) != 2 {
			t.Fatalf("seeded groups: %v", before)
		}
		reorganise(t, s, people)
		f := people[0]
		gapply(t, s, hrissync.Update{EmployeeID: worker(0), Kind: hrissync.Deactivate, Fields: f})
		if after := snapshot(); !maps.Equal(before, after) {
			t.Errorf("hand-made groups changed:\n%v\n%v", before, after)
		}
	})
}

func TestGroupsLeavers(t *testing.T) {
	for _, leave := range []bool{false, true} {
		t.Run(fmt.Sprintf("LeaversLeaveGroups=%v", leave), func(t *testing.T) {
			onBothServers(t, func(t *testing.T, gs *groupServer) {
				s, calls := groupSink(t, gs, scim.Config{LeaversLeaveGroups: leave})
				people := staff(t, s, 6)
				calls.reset()
				gapply(t, s, hrissync.Update{EmployeeID: worker(0), Kind: hrissync.Deactivate, Fields: people[0]})
				uid := gs.userID(t, worker(0))
				in := slices.Contains(members(byCode(t, gs)["D1"]), uid)
				if in == leave {
					t.Errorf("leaver member of D1: %v", in)
				}
				want := tally{}
				if leave {
					want.removes = 1
				}
				if n := calls.tally(t); n != want {
					t.Errorf("group writes %+v, want %+v", n, want)
				}
				// The rehire joins again.
				calls.reset()
				gapply(t, s, hrissync.Update{EmployeeID: worker(0), Kind: hrissync.Reactivate, Fields: people[0], Active: true})
				if !slices.Contains(members(byCode(t, gs)["D1"]), uid) {
					t.Error("rehire not a member of D1")
				}
				checkMemberships(t, gs, people)
			})
		})
	}
}

func TestGroupsIdempotent(t *testing.T) {
	onBothServers(t, func(t *testing.T, gs *groupServer) {
		s, calls := groupSink(t, gs, scim.Config{LeaversLeaveGroups: true})
		people := staff(t, s, 6)
		reorganise(t, s, people) // moves people 0..2, changing their fields
		moved := people
		leaver := hrissync.Update{EmployeeID: worker(3), Kind: hrissync.Deactivate, Fields: people[3]}
		gapply(t, s, leaver)
		state := byCode(t, gs)
		calls.reset()
		// Every write again, on a fresh sink too (no cache).
		fresh, freshCalls := groupSink(t, gs, scim.Config{LeaversLeaveGroups: true})
		for _, sk := range []*scim.Sink{s, fresh} {
			for i := range 3 {
				gapply(t, sk, hrissync.Update{EmployeeID: worker(i), Kind: hrissync.Modify, Fields: moved[i], Active: true,
					Changes: []hrissync.Change{{Field: deptField, Old: personFields(i, fmt.Sprintf("D%d", i%3+1))[deptField], New: moved[i][deptField]}}})
			}
			gapply(t, sk, createUpdate(4, people[4]))
			gapply(t, sk, leaver)
		}
		if after := byCode(t, gs); !equalJSON(state, after) {
			t.Errorf("groups changed by repeated writes:\n%v\n%v", state, after)
		}
		for _, c := range []*groupCalls{calls, freshCalls} {
			if n := c.tally(t); n != (tally{}) {
				t.Errorf("group writes %+v, want none", n)
			}
		}
	})
}

func equalJSON(a, b any) bool {
	strip := func(v any) string {
		b, _ := json.Marshal(v)
		var m map[string]map[string]any
		json.Unmarshal(b, &m)
		for _, g := range m {
			delete(g, "meta")
			if g["members"] != nil {
				g["members"] = members(g)
			}
		}
		out, _ := json.Marshal(m)
		return string(out)
	}
	return strip(a) == strip(b)
}

// TestGroupsWithoutPatch: with PATCH off, each membership change is one PUT
// of the group, and the result is the same.
func TestGroupsWithoutPatch(t *testing.T) {
	onBothServers(t, func(t *testing.T, gs *groupServer) {
		s, calls := groupSink(t, gs, scim.Config{NoPatch: true, LeaversLeaveGroups: true})
		people := staff(t, s, 10)
		checkMemberships(t, gs, people)
		calls.reset()
		moved := reorganise(t, s, people)
		checkMemberships(t, gs, people)
		puts := 0
		calls.mu.Lock()
		for _, r := range calls.reqs {
			if r.method == http.MethodPut {
				puts++
			}
		}
		calls.mu.Unlock()
		if puts != 2*moved {
			t.Errorf("%d PUTs, want %d", puts, 2*moved)
		}
		gapply(t, s, hrissync.Update{EmployeeID: worker(5), Kind: hrissync.Deactivate, Fields: people[5]})
		if slices.Contains(members(byCode(t, gs)["D3"]), gs.userID(t, worker(5))) {
			t.Error("leaver still a member")
		}
	})
}

// TestGroupsConcurrentCreates: people of one new department written at
// once make one group.
func TestGroupsConcurrentCreates(t *testing.T) {
	onBothServers(t, func(t *testing.T, gs *groupServer) {
		s, calls := groupSink(t, gs, scim.Config{})
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				errs <- s.Apply(context.Background(), createUpdate(i, personFields(i, "D2")))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if g := byCode(t, gs); len(g) != 1 || len(members(g["D2"])) != 16 {
			t.Errorf("groups %v", g)
		}
		if n := calls.tally(t); n.posts != 1 || n.adds != 16 {
			t.Errorf("group writes %+v", n)
		}
	})
}

// TestGroupsListedOpaque: a listing reports the group fields as opaque.
func TestGroupsListedOpaque(t *testing.T) {
	gs := elimityGroups(t)
	s, _ := groupSink(t, gs, scim.Config{})
	staff(t, s, 2)
	n := 0
	for a, err := range s.Accounts(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if !slices.Contains(a.Opaque, hrissync.GroupPrefix+"*") {
			t.Errorf("%s: Opaque %v, want %s*", a.EmployeeID, a.Opaque, hrissync.GroupPrefix)
		}
		if _, ok := a.Fields[deptField]; ok {
			t.Errorf("%s: group field listed", a.EmployeeID)
		}
	}
	if n != 2 {
		t.Errorf("%d accounts", n)
	}
}

// A person who vanishes from HR (not terminated: gone from the list) is
// deactivated by the batch; with LeaversLeaveGroups they leave their groups
// too, by default they stay (outside finding: the deactivation of a person
// with no record carried no groups).
func TestVanishedLeaverAndGroups(t *testing.T) {
	for _, leave := range []bool{false, true} {
		t.Run(fmt.Sprintf("LeaversLeaveGroups=%v", leave), func(t *testing.T) {
			onBothServers(t, func(t *testing.T, gs *groupServer) {
				ctx := context.Background()
				s, _ := groupSink(t, gs, scim.Config{LeaversLeaveGroups: leave})
				hris := memory.NewHRIS(hrissync.RealClock{}, 1)
				for _, id := range []string{"v-1", "v-2"} {
					hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
						StartDate: hrissync.NewDate(2020, 1, 6), Department: "R&D"})
				}
				eng, err := hrissync.New(hris, s, memstore.New(), &hrissync.Config{
					Groups:        []hrissync.GroupRule{hrissync.ByValue("department", hrissync.FieldDepartment, nil)},
					DeletionLimit: hrissync.Budget{Off: true}, Logger: slog.New(slog.DiscardHandler),
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := eng.Batch(ctx); err != nil {
					t.Fatal(err)
				}
				hris.Remove("v-1")
				if err := eng.Batch(ctx); err != nil {
					t.Fatal(err)
				}
				g := byCode(t, gs)["department:R&D"]
				got := members(g)
				want := []string{gs.userID(t, "v-2")}
				if !leave {
					want = append(want, gs.userID(t, "v-1"))
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("R&D members %v, want %v", got, want)
				}
			})
		})
	}
}

// Two rules giving one person the same group code: refused with an error
// naming both, rather than the group flipping between two names (outside
// finding).
func TestSameGroupCodeFromTwoRulesIsRefused(t *testing.T) {
	hris := memory.NewHRIS(hrissync.RealClock{}, 1)
	hris.Load(hrissync.Employee{ID: "m-1", Email: "m@example.com", Status: hrissync.StatusActive, Role: "Manager"})
	both := func(hrissync.Employee) (string, string) { return "X", "Group" }
	eng, err := hrissync.New(hris, memory.NewPlatform(hrissync.RealClock{}, 1), memstore.New(), &hrissync.Config{
		Groups: []hrissync.GroupRule{{Name: "a", Field: hrissync.FieldDepartment, Group: both}, {Name: "b", Field: hrissync.FieldRole, Group: both}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Reconcile(context.Background(), "m-1"); err == nil || !strings.Contains(err.Error(), `"a" and "b"`) {
		t.Errorf("Reconcile: %v, want an error naming both rules", err)
	}
}
