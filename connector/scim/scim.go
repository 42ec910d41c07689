// Package scim is a hrissync.Sink for any SCIM 2.0 service provider (RFC 7643,
// RFC 7644): the way most learning platforms take user provisioning.
//
//	sink, err := scim.New(scim.Config{BaseURL: "https://lms.example.com/scim/v2", Token: token})
//
// Each person is one User whose externalId is the HRIS worker id. A create is
// a POST of the whole resource; an update is a PATCH "replace" of exactly the
// changed attributes (or a PUT of the whole resource, for providers without
// PATCH), sent with If-Match when the provider gives ETags; deprovisioning is
// PATCH active=false, and a rehire PATCH active=true on the same account —
// never a DELETE, unless configured, and never a second POST.
//
// Errors follow hrissync's one-layer retry model: the HTTP client repeats a
// request only when its connection broke; 429 and 503 become
// retry.RetryAfter with the provider's Retry-After; other 5xx are retryable
// *Error values; 4xx are retry.Permanent(*Error) carrying the SCIM scimType
// and detail. A manager the provider does not hold yet is a
// *hrissync.MissingManagerError, which makes the engine provision the manager
// first.
package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/retry"
)

// Schema URNs.
const (
	UserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	PatchOpSchema    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	// DefaultExtension holds what the core and enterprise schemas have no
	// place for: employment status and dates, location, and the
	// attributes (skill and performance ratings) as name/value pairs.
	DefaultExtension = "urn:hrissync:params:scim:schemas:extension:learner:2.0:User"
)

// Key is a way to find an account the provider already holds.
type Key int

// Keys, for Config.Adopt.
const (
	ByExternalID     Key = iota // externalId eq the worker id
	ByEmployeeNumber            // enterprise employeeNumber eq the employee number
	ByEmail                     // userName eq the user name (the email by default)
)

// Config configures New. BaseURL is required.
type Config struct {
	BaseURL string // the provider's SCIM base, without a trailing /Users
	Token   string // sent as "Authorization: Bearer …" if set
	// UserName derives the userName; default the email.
	UserName func(hrissync.Fields) string
	// Extension is the URN of the schema extension for custom fields;
	// default DefaultExtension.
	Extension string
	// Adopt is the order of keys by which an existing account is found
	// and adopted; default externalId, then employee number, then email.
	// A key matching more than one account, or an account already bound
	// to another worker, is a *ConflictError, never a guess.
	Adopt []Key
	// NoPatch sends updates as PUT of the whole resource, for providers
	// that lack PATCH.
	NoPatch bool
	// Delete deprovisions with DELETE instead of active=false.
	Delete bool
	// RateLimit bounds writes per second to the provider; 0 is no limit.
	RateLimit float64
	// HTTPClient overrides the transport; default a go-retryablehttp
	// client that repeats a request only when its connection broke, at
	// most twice within a second.
	HTTPClient *http.Client
}

// Sink is a SCIM 2.0 hrissync.Sink. Use New. It is safe for concurrent use.
type Sink struct {
	cfg     Config
	base    string
	client  *http.Client
	limiter *rate.Limiter

	mu  sync.Mutex
	ids map[string]string // worker id → provider id
}

var _ hrissync.Sink = (*Sink)(nil)

// New returns a Sink for the provider at cfg.BaseURL.
func New(cfg Config) (*Sink, error) {
	if _, err := url.Parse(cfg.BaseURL); err != nil || cfg.BaseURL == "" {
		return nil, fmt.Errorf("scim: bad BaseURL %q", cfg.BaseURL)
	}
	if cfg.UserName == nil {
		cfg.UserName = func(f hrissync.Fields) string { return f[hrissync.FieldEmail] }
	}
	if cfg.Extension == "" {
		cfg.Extension = DefaultExtension
	}
	if len(cfg.Adopt) == 0 {
		cfg.Adopt = []Key{ByExternalID, ByEmployeeNumber, ByEmail}
	}
	s := &Sink{cfg: cfg, base: strings.TrimSuffix(cfg.BaseURL, "/"), client: cfg.HTTPClient, ids: map[string]string{}}
	if s.client == nil {
		s.client = connectionRetryClient()
	}
	if cfg.RateLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), 1)
	}
	return s, nil
}

// connectionRetryClient repeats a request only when the connection broke
// before an answer came: retries of answered requests are the engine's.
func connectionRetryClient() *http.Client {
	c := retryablehttp.NewClient()
	c.Logger = nil
	c.RetryMax = 2
	c.RetryWaitMin = 50 * time.Millisecond
	c.RetryWaitMax = 500 * time.Millisecond
	c.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return err != nil && resp == nil, nil
	}
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return c.StandardClient()
}

// Error is a SCIM error response (RFC 7644 §3.12).
type Error struct {
	Status   int
	ScimType string // invalidValue, uniqueness, mutability, …
	Detail   string
	Method   string
	Path     string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("scim: %s %s: %d", e.Method, e.Path, e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// ConflictError: adoption found more than one candidate account, or one
// already bound to another worker. The engine dead-letters the person for an
// operator to resolve.
type ConflictError struct {
	EmployeeID string
	Key        string
	Candidates []string // provider ids
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("scim: adopting %s by %s: %d candidate accounts %v", e.EmployeeID, e.Key, len(e.Candidates), e.Candidates)
}

// response is an HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request and turns error statuses into the retry vocabulary.
func (s *Sink) do(ctx context.Context, method, path string, body any, ifMatch string) (*response, error) {
	if s.limiter != nil && method != http.MethodGet {
		if err := s.limiter.Wait(ctx); err != nil {
			return nil, err
		}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scim: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("scim: %s %s: reading the answer: %w", method, path, err)
	}
	r := &response{status: resp.StatusCode, header: resp.Header, body: b}
	if resp.StatusCode < 400 {
		return r, nil
	}
	e := &Error{Status: resp.StatusCode, Method: method, Path: path}
	var scimErr struct {
		ScimType string `json:"scimType"`
		Detail   string `json:"detail"`
	}
	if json.Unmarshal(b, &scimErr) == nil {
		e.ScimType, e.Detail = scimErr.ScimType, scimErr.Detail
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return r, retry.RetryAfter(e, retryAfter(resp.Header.Get("Retry-After")))
	case resp.StatusCode >= 500:
		return r, e
	case resp.StatusCode == http.StatusConflict, resp.StatusCode == http.StatusPreconditionFailed, resp.StatusCode == http.StatusNotFound:
		return r, e // the caller resolves these
	}
	return r, retry.Permanent(e)
}

// retryAfter reads Retry-After: seconds or an HTTP date; default 30 s.
func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 30 * time.Second
}

func status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// user is the SCIM resource of a desired record.
func (s *Sink) user(u hrissync.Update, managerID string) map[string]any {
	f := u.Fields
	res := map[string]any{
		"schemas":    []string{UserSchema, EnterpriseSchema, s.cfg.Extension},
		"externalId": u.EmployeeID,
		"userName":   s.cfg.UserName(f),
		"active":     u.Active,
	}
	for k, v := range s.attributes(u, managerID, nil) {
		res[k] = v
	}
	return res
}

// attributes returns the SCIM attributes for the given fields (nil: all),
// shaped as a PATCH replace value or part of a whole resource.
func (s *Sink) attributes(u hrissync.Update, managerID string, only map[string]bool) map[string]any {
	f := u.Fields
	want := func(fields ...string) bool {
		if only == nil {
			return true
		}
		return slices.ContainsFunc(fields, func(x string) bool { return only[x] })
	}
	out := map[string]any{}
	if want(hrissync.FieldGivenName, hrissync.FieldFamilyName) {
		out["name"] = map[string]any{"givenName": f[hrissync.FieldGivenName], "familyName": f[hrissync.FieldFamilyName]}
	}
	if want(hrissync.FieldEmail) {
		out["emails"] = []map[string]any{{"value": f[hrissync.FieldEmail], "type": "work", "primary": true}}
		if only != nil {
			out["userName"] = s.cfg.UserName(f)
		}
	}
	if want(hrissync.FieldRole) {
		out["title"] = f[hrissync.FieldRole]
	}
	ent := map[string]any{}
	if want(hrissync.FieldEmployeeNumber) {
		ent["employeeNumber"] = f[hrissync.FieldEmployeeNumber]
	}
	if want(hrissync.FieldDepartment) {
		ent["department"] = f[hrissync.FieldDepartment]
	}
	if want(hrissync.FieldManagerID) {
		ent["manager"] = map[string]any{"value": managerID}
	}
	if len(ent) > 0 {
		out[EnterpriseSchema] = ent
	}
	ext := map[string]any{}
	for _, field := range []string{hrissync.FieldStatus, hrissync.FieldStartDate, hrissync.FieldTerminationDate, hrissync.FieldLocation} {
		if want(field) {
			ext[field] = f[field]
		}
	}
	attrsChanged := only == nil
	for k := range only {
		attrsChanged = attrsChanged || strings.HasPrefix(k, hrissync.AttributePrefix)
	}
	if attrsChanged {
		var pairs []map[string]any
		for _, k := range slices.Sorted(maps.Keys(f)) {
			if name, ok := strings.CutPrefix(k, hrissync.AttributePrefix); ok && f[k] != "" {
				pairs = append(pairs, map[string]any{"name": name, "value": f[k]})
			}
		}
		ext["attributes"] = pairs
	}
	if len(ext) > 0 {
		out[s.cfg.Extension] = ext
	}
	return out
}

// Apply implements hrissync.Sink.
func (s *Sink) Apply(ctx context.Context, u hrissync.Update) error {
	managerID := ""
	if m := u.Fields[hrissync.FieldManagerID]; m != "" {
		id, err := s.find(ctx, m, nil)
		if err != nil {
			return err
		}
		if id == "" {
			return &hrissync.MissingManagerError{EmployeeID: u.EmployeeID, ManagerID: m}
		}
		managerID = id
	}
	id, err := s.find(ctx, u.EmployeeID, u.Fields)
	if err != nil {
		return err
	}
	if id == "" {
		if !u.Active {
			return nil // nothing to deprovision
		}
		return s.create(ctx, u, managerID)
	}
	if u.Kind == hrissync.Deactivate && s.cfg.Delete {
		_, err := s.do(ctx, http.MethodDelete, "/Users/"+id, nil, "")
		if status(err) == http.StatusNotFound {
			err = nil
		}
		if err == nil {
			s.forget(u.EmployeeID)
		}
		return err
	}
	return s.update(ctx, id, u, managerID)
}

func (s *Sink) create(ctx context.Context, u hrissync.Update, managerID string) error {
	r, err := s.do(ctx, http.MethodPost, "/Users", s.user(u, managerID), "")
	if status(err) == http.StatusConflict {
		// A uniqueness conflict: the account exists (a lost answer to
		// an earlier POST, or an SSO-created account): find and update.
		s.forget(u.EmployeeID)
		id, ferr := s.find(ctx, u.EmployeeID, u.Fields)
		if ferr != nil {
			return errors.Join(err, ferr)
		}
		if id == "" {
			return retry.Permanent(err)
		}
		all := u
		all.Changes = nil
		for k, v := range u.Fields {
			all.Changes = append(all.Changes, hrissync.Change{Field: k, New: v})
		}
		return s.update(ctx, id, all, managerID)
	}
	if err != nil {
		return err
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.body, &created); err != nil || created.ID == "" {
		return fmt.Errorf("scim: POST /Users answered without an id")
	}
	s.remember(u.EmployeeID, created.ID)
	return nil
}

// update writes the changed attributes (and activity) of an account,
// re-reading it once if its ETag moved.
func (s *Sink) update(ctx context.Context, id string, u hrissync.Update, managerID string) error {
	changed := map[string]bool{}
	for _, c := range u.Changes {
		changed[c.Field] = true
	}
	for attempt := 0; ; attempt++ {
		cur, etag, err := s.get(ctx, id)
		if status(err) == http.StatusNotFound {
			s.forget(u.EmployeeID)
			if !u.Active {
				return nil
			}
			return s.create(ctx, u, managerID) // the provider lost it
		}
		if err != nil {
			return err
		}
		var body any
		method := http.MethodPatch
		if s.cfg.NoPatch {
			method = http.MethodPut
			body = s.user(u, managerID)
		} else {
			value := s.attributes(u, managerID, changed)
			value["active"] = u.Active
			if cur.ExternalID != u.EmployeeID {
				value["externalId"] = u.EmployeeID // adoption binds the account
			}
			body = map[string]any{"schemas": []string{PatchOpSchema},
				"Operations": []map[string]any{{"op": "replace", "value": value}}}
		}
		_, err = s.do(ctx, method, "/Users/"+id, body, etag)
		if status(err) == http.StatusPreconditionFailed && attempt == 0 {
			continue // someone else changed it: re-read, try once more
		}
		if status(err) == http.StatusNotFound || status(err) == http.StatusPreconditionFailed || status(err) == http.StatusConflict {
			return retry.Permanent(err)
		}
		return err
	}
}

// account is what the sink reads back of a User.
type account struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId"`
	UserName   string `json:"userName"`
}

func (s *Sink) get(ctx context.Context, id string) (account, string, error) {
	r, err := s.do(ctx, http.MethodGet, "/Users/"+id, nil, "")
	if err != nil {
		return account{}, "", err
	}
	var a account
	if err := json.Unmarshal(r.body, &a); err != nil {
		return account{}, "", fmt.Errorf("scim: GET /Users/%s: %w", id, err)
	}
	return a, r.header.Get("ETag"), nil
}

// find returns the provider id of a worker's account: from the cache, by
// externalId, or — when fields are given — by adoption keys in order. ""
// means none. Each key is its own search, stopping at the first hit: many
// providers filter only on one attribute with "eq", and some not on an
// "or" of them.
func (s *Sink) find(ctx context.Context, worker string, fields hrissync.Fields) (string, error) {
	s.mu.Lock()
	id, ok := s.ids[worker]
	s.mu.Unlock()
	if ok {
		return id, nil
	}
	keys := []Key{ByExternalID}
	if fields != nil {
		keys = s.cfg.Adopt
	}
	for _, k := range keys {
		var attr, value string
		switch k {
		case ByExternalID:
			attr, value = "externalId", worker
		case ByEmployeeNumber:
			attr, value = EnterpriseSchema+":employeeNumber", fields[hrissync.FieldEmployeeNumber]
		case ByEmail:
			attr, value = "userName", s.cfg.UserName(fields)
		}
		if value == "" {
			continue
		}
		found, err := s.search(ctx, attr, value)
		if err != nil {
			return "", err
		}
		// An account bound to another worker is never adopted.
		found = slices.DeleteFunc(found, func(a account) bool { return a.ExternalID != "" && a.ExternalID != worker })
		switch len(found) {
		case 0:
			continue
		case 1:
			s.remember(worker, found[0].ID)
			return found[0].ID, nil
		}
		var ids []string
		for _, a := range found {
			ids = append(ids, a.ID)
		}
		return "", retry.Permanent(&ConflictError{EmployeeID: worker, Key: attr, Candidates: ids})
	}
	return "", nil
}

func (s *Sink) search(ctx context.Context, attr, value string) ([]account, error) {
	filter := fmt.Sprintf("%s eq %s", attr, strconv.Quote(value))
	r, err := s.do(ctx, http.MethodGet, "/Users?filter="+url.QueryEscape(filter), nil, "")
	if err != nil {
		return nil, err
	}
	var list struct {
		Resources []account `json:"Resources"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		return nil, fmt.Errorf("scim: searching %s: %w", filter, err)
	}
	return list.Resources, nil
}

func (s *Sink) remember(worker, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[worker] = id
}

func (s *Sink) forget(worker string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, worker)
}
