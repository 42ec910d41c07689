package scim

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/retry"
)

// GroupSchema is the URN of the core Group schema (RFC 7643 §4.2).
const GroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"

// isGroupField reports whether field carries a group membership
// (hrissync.GroupPrefix and a rule name).
func isGroupField(field string) bool {
	return strings.HasPrefix(field, hrissync.GroupPrefix) && len(field) > len(hrissync.GroupPrefix)
}

// A groupChange is what a write says of one group field: the value before
// (when the write changes it) and the desired value, both
// hrissync.GroupRef values.
type groupChange struct {
	old, new string
	changed  bool
}

// GroupError: the person's account was written, but a group operation that
// the write carries failed. Err has the retry class of the provider's
// answer; the engine retries the whole write, which is safe: the account's
// write and every group operation are idempotent.
type GroupError struct {
	EmployeeID string
	Field      string // the group field, "group.department"
	Code       string // the group's code: its externalId at the provider
	Op         string // "add", "remove" or "rename"
	Err        error
}

func (e *GroupError) Error() string {
	return fmt.Sprintf("scim: %s: %s (group %q, %s): %v", e.EmployeeID, e.Op, e.Code, e.Field, e.Err)
}

func (e *GroupError) Unwrap() error { return e.Err }

func (s *Sink) cachedGroup(code string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.groups[code]
	return id, ok
}

func (s *Sink) rememberGroup(code, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups == nil {
		s.groups = map[string]string{}
	}
	s.groups[code] = id
}

func (s *Sink) forgetGroup(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.groups, code)
}

// lockGroup serialises this sink's operations on the group of one code:
// two writes must not both create it, and with PUT one must not undo the
// other's member.
func (s *Sink) lockGroup(code string) func() {
	s.mu.Lock()
	if s.groupLocks == nil {
		s.groupLocks = map[string]*sync.Mutex{}
	}
	m := s.groupLocks[code]
	if m == nil {
		m = &sync.Mutex{}
		s.groupLocks[code] = m
	}
	s.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// syncGroups does the group operations of a write whose account write
// landed: the account (its provider id cached by then) joins the group of
// each changed group field's new code and leaves the old code's; a create
// or reactivation joins every group it carries; a deactivation with
// Config.LeaversLeaveGroups leaves them all.
func (s *Sink) syncGroups(ctx context.Context, kind hrissync.UpdateKind, w *write) error {
	if len(w.groups) == 0 {
		return nil
	}
	uid, ok := s.cached(w.worker)
	if !ok || uid == "" {
		return nil // deleted (Config.Delete), or nothing provisioned
	}
	leave := !w.active && s.cfg.LeaversLeaveGroups
	whole := kind == hrissync.Create || kind == hrissync.Reactivate || w.created
	for _, f := range slices.Sorted(maps.Keys(w.groups)) {
		g := w.groups[f]
		newCode, newName := hrissync.ParseGroupRef(g.new)
		oldCode, _ := hrissync.ParseGroupRef(g.old)
		if leave {
			codes := []string{newCode}
			if g.changed && oldCode != newCode {
				codes = append(codes, oldCode)
			}
			for _, c := range codes {
				if c == "" {
					continue
				}
				if err := s.leaveGroup(ctx, c, uid); err != nil {
					return &GroupError{EmployeeID: w.worker, Field: f, Code: c, Op: "remove", Err: err}
				}
			}
			continue
		}
		if !g.changed && !whole {
			continue
		}
		if newCode != "" {
			if err := s.joinGroup(ctx, newCode, newName, uid); err != nil {
				return &GroupError{EmployeeID: w.worker, Field: f, Code: newCode, Op: "add", Err: err}
			}
		}
		if g.changed && oldCode != "" && oldCode != newCode {
			if err := s.leaveGroup(ctx, oldCode, uid); err != nil {
				return &GroupError{EmployeeID: w.worker, Field: f, Code: oldCode, Op: "remove", Err: err}
			}
		}
	}
	return nil
}

// joinGroup makes uid a member of the group of code, creating the group
// (or renaming it to name) as needed.
func (s *Sink) joinGroup(ctx context.Context, code, name, uid string) error {
	defer s.lockGroup(code)()
	id, cur, etag, err := s.group(ctx, code, name, true)
	if err != nil {
		return err
	}
	if name != "" && attr(cur, "displayName") != name {
		cur, etag, err = s.writeGroup(ctx, id, cur, etag,
			[]op{{Op: "replace", Path: "displayName", Value: name}},
			func(r resource) { r[key(r, "displayName")] = name })
		if err != nil {
			return err
		}
	}
	if member(cur, uid) {
		return nil
	}
	_, _, err = s.writeGroup(ctx, id, cur, etag,
		[]op{{Op: "add", Path: "members", Value: []any{map[string]any{"value": uid}}}},
		func(r resource) {
			list, _ := r[key(r, "members")].([]any)
			r[key(r, "members")] = append(list, map[string]any{"value": uid})
		})
	return err
}

// leaveGroup removes uid from the group of code, if the provider holds
// that group and uid is a member.
func (s *Sink) leaveGroup(ctx context.Context, code, uid string) error {
	defer s.lockGroup(code)()
	id, cur, etag, err := s.group(ctx, code, "", false)
	if err != nil || id == "" || !member(cur, uid) {
		return err
	}
	_, _, err = s.writeGroup(ctx, id, cur, etag,
		[]op{{Op: "remove", Path: "members[value eq " + filterString(uid) + "]"}},
		func(r resource) {
			list, _ := r[key(r, "members")].([]any)
			list = slices.DeleteFunc(slices.Clone(list), func(e any) bool {
				m, _ := e.(map[string]any)
				return attr(m, "value") == uid
			})
			if len(list) == 0 {
				delete(r, key(r, "members"))
			} else {
				r[key(r, "members")] = list
			}
		})
	return err
}

// member reports whether the group g lists uid among its members.
func member(g resource, uid string) bool {
	return slices.ContainsFunc(objects(g, "members"), func(m map[string]any) bool { return attr(m, "value") == uid })
}

// group returns the provider's group of code, as it holds it now: the
// cached one, else the one whose externalId is code; with create, one is
// made (named name, or code) when there is none; without, id "" is none.
// Only a group whose externalId is code is ever taken: the groups the
// provider holds otherwise are not the sink's.
func (s *Sink) group(ctx context.Context, code, name string, create bool) (id string, cur resource, etag string, err error) {
	if id, ok := s.cachedGroup(code); ok {
		cur, etag, err = s.getGroup(ctx, id)
		if status(err) != http.StatusNotFound {
			return id, cur, etag, err
		}
		s.forgetGroup(code) // deleted on the provider: found afresh, or made again
	}
	found, err := s.searchIn(ctx, "/Groups", "externalId eq "+filterString(code))
	if err != nil {
		return "", nil, "", err
	}
	found = slices.DeleteFunc(found, func(r resource) bool { return r.externalID() != code })
	switch {
	case len(found) > 1:
		var ids []string
		for _, r := range found {
			ids = append(ids, r.id())
		}
		return "", nil, "", retry.Permanent(fmt.Errorf("scim: %d groups have externalId %q: %v", len(found), code, ids))
	case len(found) == 1:
		id = found[0].id()
		s.rememberGroup(code, id)
		// A listing may leave members out (RFC 7644 §3.4.2.5 lets a
		// provider): the group itself is read.
		cur, etag, err = s.getGroup(ctx, id)
		return id, cur, etag, err
	case !create:
		return "", nil, "", nil
	}
	if name == "" {
		name = code
	}
	body := resource{"schemas": []string{GroupSchema}, "externalId": code, "displayName": name}
	r, err := s.do(ctx, http.MethodPost, "/Groups", body, "")
	if status(err) == http.StatusConflict {
		// A lost answer to an earlier POST made it, or another group
		// holds the name: only the former is taken.
		found, ferr := s.searchIn(ctx, "/Groups", "externalId eq "+filterString(code))
		if ferr != nil {
			return "", nil, "", ferr
		}
		for _, g := range found {
			if g.externalID() == code {
				s.rememberGroup(code, g.id())
				cur, etag, err = s.getGroup(ctx, g.id())
				return g.id(), cur, etag, err
			}
		}
		return "", nil, "", retry.Permanent(err)
	}
	if err != nil {
		return "", nil, "", err
	}
	created, _ := decode(r.body)
	if id = created.id(); id == "" {
		return "", nil, "", fmt.Errorf("scim: POST /Groups answered without an id")
	}
	s.rememberGroup(code, id)
	return id, created, etagOf(r.header, created), nil
}

func (s *Sink) getGroup(ctx context.Context, id string) (resource, string, error) {
	r, err := s.do(ctx, http.MethodGet, "/Groups/"+id, nil, "")
	if err != nil {
		return nil, "", err
	}
	res, err := decode(r.body)
	if err != nil {
		return nil, "", fmt.Errorf("scim: GET /Groups/%s: %w", id, err)
	}
	return res, etagOf(r.header, res), nil
}

// writeGroup sends ops as a PATCH of the group (without If-Match: member
// operations commute), or, where PATCH is not used, a PUT of cur changed
// by put (with If-Match). It returns the group as the provider then holds
// it.
func (s *Sink) writeGroup(ctx context.Context, id string, cur resource, etag string, ops []op, put func(resource)) (resource, string, error) {
	method, body, ifMatch := http.MethodPatch, any(map[string]any{"schemas": []string{PatchOpSchema}, "Operations": ops}), ""
	if !s.patch() {
		r := clone(cur)
		put(r)
		r["schemas"] = []string{GroupSchema}
		method, body, ifMatch = http.MethodPut, r, s.ifMatch(etag)
	}
	r, err := s.do(ctx, method, "/Groups/"+id, body, ifMatch)
	if err != nil {
		return nil, "", err
	}
	if res, err := decode(r.body); err == nil && res.id() != "" {
		if _, ok := lookup(res, "displayName"); ok {
			return res, etagOf(r.header, res), nil
		}
	}
	return s.getGroup(ctx, id)
}
