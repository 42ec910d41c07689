// Package scim is a hrissync.Sink for any SCIM 2.0 service provider (RFC 7643,
// RFC 7644): the way most learning platforms take user provisioning.
//
//	sink, err := scim.New("https://lms.example.com/scim/v2", &scim.Config{Token: token})
//
// # What reaches the provider
//
// Each person is one User whose externalId is the HRIS worker id. By default
// the sink sends only the two schemas every provider registers — the core
// User schema and the enterprise extension (RFC 7643 §4.1, §4.3) — and so
// carries these fields (Sink.Carries):
//
//	email           emails[type eq "work"].value (and userName, by default)
//	givenName       name.givenName
//	familyName      name.familyName
//	role            title
//	employeeNumber  enterprise employeeNumber
//	department      enterprise department
//	managerId       enterprise manager (the manager's provider id)
//
// and the account's activity as active. Employment status, start and
// termination dates, location and the attributes (skill and performance
// ratings) have no place in those schemas, so by default they are not
// carried: the engine leaves them out of this sink's state rather than record
// as applied what the provider never received. A provider that registers a
// schema for them (by agreement with the host) gets them when Config.Extension
// names that schema (DefaultExtension is the one this package describes).
// Why not send them anyway: providers that do not know a schema silently drop
// it on POST and PUT and refuse with 400 every PATCH that names it — and a
// refused PATCH takes the termination it carried down with it.
//
// Config.Map sends a field where the host chooses: each Mapping names a field
// and an attribute path — a core attribute ("title", "name.givenName"), an
// extension's (prefixed by the extension's URN, which the sink then names in
// the resource's schemas), or one element of a multi-valued attribute chosen
// by a value filter (`phoneNumbers[type eq "work"].value`; the other elements
// are kept, and a PATCH replaces the whole list, since a filter matching no
// element yet is refused) — and may transform the value on the way (Constant,
// DateFormat, Join). The sink's declared field set follows the mapping: a
// mapped field is carried, and a Mapping replaces the field's place above,
// except for the email and managerId, which cannot be mapped.
//
// # Writes
//
// A create is a POST of the resource, without empty values. An update is a
// PATCH of exactly the changed attributes, one operation per attribute with a
// path (emails[type eq "work"].value, name.givenName, the enterprise
// manager…), a cleared value being a "remove" of that path, so that nothing
// else the provider holds (a second email, a formatted name) is lost; or,
// with Config.NoPatch, a PUT of the resource as the provider holds it with
// the carried attributes replaced. Every write is sent with If-Match when the
// provider gives ETags (and, once discovered, advertises them).
//
// A write that deactivates sends active=false on its own first, then the
// rest: a PATCH is atomic, so an attribute the provider refuses must not take
// the deactivation down with it. Deprovisioning is active=false (DELETE only
// with Config.Delete), and a rehire active=true on the same account, never a
// second POST.
//
// Every write is confirmed: from the resource the provider answers with, or a
// GET when it answers without one. An attribute the provider does not hold
// afterwards — dropped silently, or active still true after a deactivation —
// is a *NotAppliedError, so that nothing is recorded as applied that the
// provider does not hold.
//
// # Adoption
//
// An account the provider already holds (made by SSO or an import) is found
// by the keys of Config.Adopt, one "eq" search each: by default externalId,
// then userName. Adoption never guesses and never makes a second account:
// two candidates, or an account bound to another worker, are a
// *ConflictError; a search the provider refuses is a *SearchError that stops
// the create.
//
// # Re-keying
//
// When HR gives a person a new worker id, Sink.Rekey (hrissync.Rekeyer)
// moves the account bound to the old id to the new one: its externalId is
// rewritten in the same PATCH (or PUT) as the update, so the account keeps
// its provider id and the learning history the provider keys by it. Only
// externalId binds there, never the other adoption keys.
//
// # Listing and drift
//
// Sink.Accounts (hrissync.AccountLister) lists the Users bound to a worker
// (externalId set) with the carried fields as the provider holds them, so
// that hrissync.Engine.CheckDrift can find accounts changed by hand in the
// provider and repair them. It pages GET /Users by startIndex and count
// (Config.ListPageSize, default 100) up to totalResults, asking on when a
// provider caps its pages below count; the manager's provider id is
// translated back to the manager's worker id. Users bound to no worker (made
// by SSO or an admin) are skipped. A provider that ignores startIndex,
// answering the same page again, is reported with ErrPagingIgnored rather
// than listed forever.
//
// # Groups
//
// A group field (named with hrissync.GroupPrefix, "group.department"; its
// value a hrissync.GroupRef of the group's code and display name) is
// carried as a membership of a SCIM Group (RFC 7643 §4.2), for platforms
// that assign learning to groups. The Group of a code is the one whose
// externalId is the code: found by GET /Groups?filter=externalId eq "…"
// (and then remembered), else made by POST /Groups with the code as
// externalId and the name as displayName; a displayName that differs from
// the name is replaced (a rename keeps the group and its id). Groups with
// any other externalId, or none (made by hand on the provider), are never
// touched.
//
// After the account's own write, a write that changes a group field adds
// the account to the new code's Group (PATCH "add" of members) and removes
// it from the old code's, if the provider holds that Group (PATCH "remove"
// of members[value eq "…"]); a create or reactivation joins the Group of
// every group field it carries. A write that leaves a group field alone
// does nothing to Groups. Each Group is read first and only what it lacks
// is written, so that repeating a write changes nothing; with PATCH off
// (Config.NoPatch or discovery) the Group is PUT whole, under If-Match. A
// failed group operation fails the write with a *GroupError of the
// provider's retry class; the engine repeats the whole write. A
// deactivation keeps the person's memberships (on some platforms leaving a
// group unenrols and loses completion history) unless
// Config.LeaversLeaveGroups. Operations on one Group are serialised within
// the sink. Sink.Accounts does not read memberships back: it lists the
// group fields it knows of as hrissync.Account.Opaque, which drift checks
// leave alone.
//
// # Credentials
//
// Config.Token is a fixed bearer token. Config.TokenSource, when set, is
// asked for the token before every request instead, so that a host can
// rotate tokens, or wrap an OAuth 2 client-credentials source
// (golang.org/x/oauth2/clientcredentials: its TokenSource's Token, which
// caches and refreshes). A host may instead pass its own Config.HTTPClient
// that authorizes requests itself, such as an oauth2 client (leave Token
// and TokenSource empty then). A TokenSource error fails the request,
// retryable unless it wraps retry.Permanent. A 401 is a retryable *Error:
// it is about the credentials, not the person written (before TokenSource
// it was permanent, as other 4xx are), and the next attempt asks the
// TokenSource again; with a fixed Token that is stale, writes keep failing
// until the host fixes it.
//
// # Discovery
//
// New reads nothing. Sink.Discover reads what the provider advertises —
// /ServiceProviderConfig, /Schemas and /ResourceTypes (RFC 7643 §5–7) — as
// a Discovery; the host calls it at start-up and whenever it wants, or sets
// Config.Discover for the sink to call it before its first write. Each
// document may be missing or unparsable: that is "unknown", which changes
// nothing. From then on the sink follows what was read: PATCH only where
// patch is advertised (else PUT, as with Config.NoPatch), If-Match only
// where ETags are, and no more than filter.maxResults resources asked for a
// page. It refuses only on positive evidence: a Config.Extension that
// /Schemas (or the User resource type's extensions) does not list is a
// permanent *SchemaError naming it. Config.Assume overrides, for a provider
// that does more than it advertises.
//
// # Errors
//
// Errors follow hrissync's one-layer retry model: the HTTP client repeats a
// request only when its connection broke; 429 and 503 become
// retry.RetryAfter with the provider's Retry-After; other 5xx and 401 are
// retryable *Error values; other 4xx are retry.Permanent(*Error) carrying
// the SCIM scimType and detail. A manager the provider does not hold yet is a
// *hrissync.MissingManagerError, which makes the engine provision the manager
// first. A *NotAppliedError is retryable; a *PartialWriteError says that a
// deactivation landed but the rest of its write did not.
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
	// DefaultExtension is a schema a host may choose for Config.Extension,
	// for a provider that registers it: employment status, start and
	// termination dates, location (strings named as the fields), and
	// "attributes", the skill and performance ratings as name/value pairs.
	// It is not sent unless chosen.
	DefaultExtension = "urn:hrissync:params:scim:schemas:extension:learner:2.0:User"
)

// Key is a way to find an account the provider already holds.
type Key int

// Keys, for Config.Adopt.
const (
	// ByExternalID: externalId eq the worker id. An account bound by an
	// earlier write is found this way.
	ByExternalID Key = iota
	// ByEmployeeNumber: the enterprise employeeNumber eq the employee
	// number. Opt-in: many providers cannot filter on the enterprise
	// extension.
	ByEmployeeNumber
	// ByEmail: a work email eq the email, searched as
	// emails[type eq "work" and value eq "…"]. Opt-in: a mailbox may be
	// reused.
	ByEmail
	// ByUserName: userName eq the user name (Config.UserName).
	ByUserName
)

func (k Key) String() string {
	switch k {
	case ByExternalID:
		return "externalId"
	case ByEmployeeNumber:
		return "employeeNumber"
	case ByEmail:
		return "email"
	case ByUserName:
		return "userName"
	}
	return "Key(" + strconv.Itoa(int(k)) + ")"
}

func (k Key) goName() string {
	switch k {
	case ByExternalID:
		return "scim.ByExternalID"
	case ByEmployeeNumber:
		return "scim.ByEmployeeNumber"
	case ByEmail:
		return "scim.ByEmail"
	case ByUserName:
		return "scim.ByUserName"
	}
	return k.String()
}

// Config configures New. Every field is optional: a nil *Config, like the
// zero value, means the defaults. (The provider's base URL, which has no
// default, is an argument of New.)
type Config struct {
	Token string // sent as "Authorization: Bearer …" if set; default none (see TokenSource)
	// UserName derives the userName from the carried fields (those for
	// which Sink.Carries is true); default the email. An empty userName
	// is never sent.
	UserName func(hrissync.Fields) string
	// Extension is the URN of a schema extension, registered by the
	// provider, that carries what the core and enterprise schemas have no
	// place for (see DefaultExtension). Default none: those fields are
	// not carried.
	Extension string
	// Adopt is the order of keys by which an existing account is found
	// and adopted (its externalId then bound to the worker); default
	// ByExternalID, then ByUserName. ByEmail and ByEmployeeNumber are
	// opt-in. Adoption never guesses: a key matching two accounts, or an
	// account bound to another worker (externalId set to another worker
	// id), is a permanent *ConflictError, and so is an inactive account
	// unless AdoptInactive. A search the provider refuses (a 400
	// invalidFilter: it cannot filter on that attribute) is a permanent
	// *SearchError naming the key to remove; the create stops there
	// rather than risk a second account.
	Adopt []Key
	// AdoptInactive lets adoption take an inactive account not bound to
	// any worker, and reactivate it. Off by default: a mailbox reused
	// for a new hire must not hand them a leaver's training record.
	AdoptInactive bool
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
	// ListPageSize is the count Sink.Accounts asks for a page of Users;
	// default 100. Providers may answer fewer.
	ListPageSize int
	// Map sends fields to attribute paths of the host's choosing (see
	// Mapping). A Mapping for a field the sink maps itself replaces that
	// mapping, except for the email and managerId, which cannot be
	// mapped; any other field it names is carried (Sink.Carries).
	Map []Mapping
	// TokenSource, when set, gives the bearer token for every request,
	// asked afresh each time, and takes precedence over Token: for a
	// host that rotates tokens, or wraps an OAuth 2 token source (see
	// Credentials). An error fails the request, retryable unless it
	// wraps retry.Permanent. Default nil: Token is sent.
	TokenSource func(ctx context.Context) (string, error)
	// Discover makes the sink call Sink.Discover itself before its first
	// write, and follow what the provider advertises (see Discovery).
	// Default false: nothing is read until the host calls Discover, and
	// until then the sink behaves as configured.
	Discover bool
	// Assume overrides what discovery reads, for a provider that does
	// more than it advertises. Default: nothing assumed.
	Assume Assume
	// LeaversLeaveGroups makes a deactivation remove the person from the
	// group of every group field it carries (see Groups). Default false:
	// a leaver keeps their memberships, since on some platforms leaving
	// a group unenrols and loses completion history.
	LeaversLeaveGroups bool
}

// Sink is a SCIM 2.0 hrissync.Sink. Use New. It is safe for concurrent use.
type Sink struct {
	cfg     Config
	base    string
	client  *http.Client
	limiter *rate.Limiter

	mu  sync.Mutex
	ids map[string]string // worker id → provider id

	mapped map[string]*mapped // Config.Map by field
	disc   discovery          // what Discover read

	groups     map[string]string      // group code → provider group id (under mu)
	groupLocks map[string]*sync.Mutex // by group code (under mu)
}

var (
	_ hrissync.Sink         = (*Sink)(nil)
	_ hrissync.FieldCarrier = (*Sink)(nil)
	_ hrissync.Rekeyer      = (*Sink)(nil)
)

// New returns a Sink for the provider whose SCIM base is baseURL (without a
// trailing /Users), such as "https://lms.example.com/scim/v2". cfg may be nil
// for the defaults.
func New(baseURL string, cfg *Config) (*Sink, error) {
	if _, err := url.Parse(baseURL); err != nil || baseURL == "" {
		return nil, fmt.Errorf("scim: bad base URL %q", baseURL)
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Extension == UserSchema || c.Extension == EnterpriseSchema {
		return nil, fmt.Errorf("scim: Extension %q is a standard schema; its attributes are carried already", c.Extension)
	}
	if c.UserName == nil {
		c.UserName = func(f hrissync.Fields) string { return f[hrissync.FieldEmail] }
	}
	if len(c.Adopt) == 0 {
		c.Adopt = []Key{ByExternalID, ByUserName}
	}
	for _, k := range c.Adopt {
		if k < ByExternalID || k > ByUserName {
			return nil, fmt.Errorf("scim: unknown adoption key %v", k)
		}
	}
	c.Adopt = slices.Clone(c.Adopt)
	c.Map = slices.Clone(c.Map)
	ms, err := mappings(c.Map, c.Extension)
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: c, base: strings.TrimSuffix(baseURL, "/"), client: c.HTTPClient, ids: map[string]string{}, mapped: ms}
	if s.client == nil {
		s.client = connectionRetryClient()
	}
	if c.RateLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(c.RateLimit), 1)
	}
	return s, nil
}

// Carries implements hrissync.FieldCarrier: the fields of the core and
// enterprise schemas, with Config.Extension the rest (status, dates,
// location, attributes), the fields of Config.Map, and every group field
// (hrissync.GroupPrefix), carried as Group memberships.
func (s *Sink) Carries(field string) bool {
	if isGroupField(field) {
		return true
	}
	if s.mapping(field) != nil {
		return true
	}
	switch field {
	case hrissync.FieldEmail, hrissync.FieldGivenName, hrissync.FieldFamilyName, hrissync.FieldRole,
		hrissync.FieldEmployeeNumber, hrissync.FieldDepartment, hrissync.FieldManagerID:
		return true
	case hrissync.FieldStatus, hrissync.FieldStartDate, hrissync.FieldTerminationDate, hrissync.FieldLocation:
		return s.cfg.Extension != ""
	}
	return s.cfg.Extension != "" && strings.HasPrefix(field, hrissync.AttributePrefix) && len(field) > len(hrissync.AttributePrefix)
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
	ScimType string // invalidValue, invalidFilter, uniqueness, mutability, …
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

// ConflictError: adoption found an account it will not take, and will not
// create a second one beside it. The engine dead-letters the person for an
// operator to resolve (Config.Adopt). It is always permanent. One of:
//
//   - two or more candidates for one key (Candidates lists them all);
//   - an account bound to another worker (BoundTo: its externalId), such as
//     a leaver's account whose mailbox was reused;
//   - an inactive account bound to no worker, without Config.AdoptInactive
//     (Inactive).
type ConflictError struct {
	EmployeeID string
	Key        Key
	Candidates []string // provider ids
	BoundTo    string   // the worker the one candidate is bound to, if that is the conflict
	Inactive   bool     // the one candidate is inactive and AdoptInactive is off
}

func (e *ConflictError) Error() string {
	switch {
	case e.BoundTo != "":
		return fmt.Sprintf("scim: adopting %s by %s: account %v is bound to worker %s", e.EmployeeID, e.Key, e.Candidates, e.BoundTo)
	case e.Inactive:
		return fmt.Sprintf("scim: adopting %s by %s: account %v is inactive (set AdoptInactive to adopt it)", e.EmployeeID, e.Key, e.Candidates)
	}
	return fmt.Sprintf("scim: adopting %s by %s: %d candidate accounts %v", e.EmployeeID, e.Key, len(e.Candidates), e.Candidates)
}

// As reads a conflict with an account bound to another worker as an
// *hrissync.AccountTakenError, the refusal the engine's Config.Correlate
// judges: the same person under a worker id HR retired, or two people.
func (e *ConflictError) As(target any) bool {
	t, ok := target.(**hrissync.AccountTakenError)
	if !ok || e.BoundTo == "" {
		return false
	}
	field := e.Key.String()
	if e.Key == ByEmail {
		field = hrissync.FieldEmail
	}
	*t = &hrissync.AccountTakenError{EmployeeID: e.EmployeeID, Field: field, HeldBy: e.BoundTo}
	return true
}

// SearchError: the provider answered an adoption search with an error. The
// write stops there, since creating an account when the search could not
// tell whether one exists could make a second one. When the provider refused
// the filter (400, 501) it will refuse it every time: the error is permanent
// and says to remove the key from Config.Adopt. Err is the *Error, wrapped as
// the provider's answer dictates (retry.RetryAfter for 429…).
type SearchError struct {
	EmployeeID string
	Key        Key
	Filter     string
	Err        error
}

func (e *SearchError) Error() string {
	s := fmt.Sprintf("scim: searching for %s by %s (filter %s): %v", e.EmployeeID, e.Key, e.Filter, e.Err)
	if refusedFilter(e.Err) {
		s += fmt.Sprintf("; the provider cannot search by %s: remove %s from scim.Config.Adopt", e.Key, e.Key.goName())
	}
	return s
}

func (e *SearchError) Unwrap() error { return e.Err }

func refusedFilter(err error) bool {
	st := status(err)
	return st == http.StatusBadRequest || st == http.StatusNotImplemented
}

// NotAppliedError: the provider acknowledged a write but does not hold what
// was written — an attribute silently dropped (a provider does that with
// attributes it does not know), or active still true after a deactivation.
// It is retryable. Values are compared exactly, an absent attribute being "";
// a provider that normalises a value (lower-cases an email) therefore reports
// one too, and the host should map the value to the provider's form.
type NotAppliedError struct {
	EmployeeID string
	ProviderID string
	// Attribute is the SCIM attribute path ("title", "active",
	// `emails[type eq "work"].value`, the enterprise manager…).
	Attribute string
	// Field is the hrissync field it carries; "" for active and
	// externalId.
	Field     string
	Want, Got string
}

func (e *NotAppliedError) Error() string {
	return fmt.Sprintf("scim: %s (account %s): the provider acknowledged the write but holds %s = %q, want %q",
		e.EmployeeID, e.ProviderID, e.Attribute, e.Got, e.Want)
}

// PartialWriteError: a write that deactivates sent active=false on its own
// first, and the provider confirmed it, but the rest of the write (Err)
// failed. Access has ended; the fields are behind. Retrying the whole write
// is safe: a repeated active=false changes nothing. Its retry class is Err's.
type PartialWriteError struct {
	EmployeeID string
	Err        error
}

func (e *PartialWriteError) Error() string {
	return fmt.Sprintf("scim: %s: deactivated (confirmed), but the rest of the write failed: %v", e.EmployeeID, e.Err)
}

func (e *PartialWriteError) Unwrap() error { return e.Err }

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
	if err := s.authorize(ctx, req); err != nil {
		return nil, err
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
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusUnauthorized:
		return r, e // a 401: the credentials, not the write (see Credentials)
	case resp.StatusCode == http.StatusConflict, resp.StatusCode == http.StatusPreconditionFailed, resp.StatusCode == http.StatusNotFound:
		return r, e // the caller resolves these
	}
	return r, retry.Permanent(e)
}

// retryAfter reads Retry-After: seconds or an HTTP date; default 30 s. Zero
// and a date already past are 0: the engine sets the floor.
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

// A resource is a SCIM User as decoded from JSON. Attribute names are
// matched case-insensitively (RFC 7643 §2.1).
type resource map[string]any

func decode(b []byte) (resource, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var r resource
	if err := d.Decode(&r); err != nil {
		return nil, err
	}
	return r, nil
}

// lookup returns m's attribute name, matched exactly or else without case.
func lookup(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// key returns the name under which m holds name, or name.
func key(m map[string]any, name string) string {
	if _, ok := m[name]; ok {
		return name
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

func child(m map[string]any, name string) map[string]any {
	v, _ := lookup(m, name)
	c, _ := v.(map[string]any)
	return c
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func attr(m map[string]any, name string) string {
	v, _ := lookup(m, name)
	return str(v)
}

func (r resource) id() string         { return attr(r, "id") }
func (r resource) externalID() string { return attr(r, "externalId") }

// active is "true", "false" or "" when the provider holds no value.
func (r resource) active() string { return strings.ToLower(attr(r, "active")) }

func (r resource) emails() []map[string]any { return objects(r, "emails") }

// objects returns the complex values of the multi-valued attribute name of
// m, skipping any that are not objects.
func objects(m map[string]any, name string) []map[string]any {
	v, _ := lookup(m, name)
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

// workEmail returns the index of the email of type work, or -1.
func (r resource) workEmail() int {
	return slices.IndexFunc(r.emails(), func(e map[string]any) bool { return strings.EqualFold(attr(e, "type"), "work") })
}

// email is the email the account holds for the person: the work email, else
// the primary one, else the only one.
func (r resource) email() string {
	es := r.emails()
	if i := r.workEmail(); i >= 0 {
		return attr(es[i], "value")
	}
	for _, e := range es {
		if attr(e, "primary") == "true" {
			return attr(e, "value")
		}
	}
	if len(es) == 1 {
		return attr(es[0], "value")
	}
	return ""
}

// pairs returns the name/value pairs of the extension's attributes.
func pairs(ext map[string]any) []map[string]any { return objects(ext, "attributes") }

// path is the SCIM attribute path that carries field.
func (s *Sink) path(field string) string {
	if m := s.mapping(field); m != nil {
		return m.path.String()
	}
	switch field {
	case hrissync.FieldEmail:
		return `emails[type eq "work"].value`
	case hrissync.FieldGivenName:
		return "name.givenName"
	case hrissync.FieldFamilyName:
		return "name.familyName"
	case hrissync.FieldRole:
		return "title"
	case hrissync.FieldEmployeeNumber, hrissync.FieldDepartment:
		return EnterpriseSchema + ":" + field
	case hrissync.FieldManagerID:
		return EnterpriseSchema + ":manager"
	case hrissync.FieldStatus, hrissync.FieldStartDate, hrissync.FieldTerminationDate, hrissync.FieldLocation:
		return s.cfg.Extension + ":" + field
	}
	name := strings.TrimPrefix(field, hrissync.AttributePrefix)
	return fmt.Sprintf("%s:attributes[name eq %s].value", s.cfg.Extension, filterString(name))
}

// held is the value r holds for field ("" when none); the manager is the
// manager's provider id.
func (s *Sink) held(r resource, field string) string {
	if m := s.mapping(field); m != nil {
		return m.path.held(r)
	}
	switch field {
	case hrissync.FieldEmail:
		return r.email()
	case hrissync.FieldGivenName:
		return attr(child(r, "name"), "givenName")
	case hrissync.FieldFamilyName:
		return attr(child(r, "name"), "familyName")
	case hrissync.FieldRole:
		return attr(r, "title")
	case hrissync.FieldEmployeeNumber, hrissync.FieldDepartment:
		return attr(child(r, EnterpriseSchema), field)
	case hrissync.FieldManagerID:
		return attr(child(child(r, EnterpriseSchema), "manager"), "value")
	case hrissync.FieldStatus, hrissync.FieldStartDate, hrissync.FieldTerminationDate, hrissync.FieldLocation:
		return attr(child(r, s.cfg.Extension), field)
	}
	name := strings.TrimPrefix(field, hrissync.AttributePrefix)
	for _, p := range pairs(child(r, s.cfg.Extension)) {
		if attr(p, "name") == name {
			return attr(p, "value")
		}
	}
	return ""
}

// heldFor is held, except that clearing the email asks only that no work
// email be held: another email the account holds is not the sink's to
// remove.
func (s *Sink) heldFor(r resource, field, want string) string {
	if field == hrissync.FieldEmail && want == "" {
		if i := r.workEmail(); i >= 0 {
			return attr(r.emails()[i], "value")
		}
		return ""
	}
	return s.held(r, field)
}

// sub returns r's complex attribute name, made if absent.
func sub(r map[string]any, name string) map[string]any {
	k := key(r, name)
	c, ok := r[k].(map[string]any)
	if !ok {
		c = map[string]any{}
		r[k] = c
	}
	return c
}

// setSub sets (or, for "", removes) c's attribute name, then removes c from
// parent if it is left empty.
func setSub(parent map[string]any, container, name string, v any) {
	c := sub(parent, container)
	if v == "" || v == nil {
		delete(c, key(c, name))
	} else {
		c[key(c, name)] = v
	}
	if len(c) == 0 {
		delete(parent, key(parent, container))
	}
}

// put sets field to v in a whole resource (a POST or PUT body), removing the
// attribute for "": bodies never carry empty values. v is the manager's
// provider id for FieldManagerID.
func (s *Sink) put(r resource, field, v string) {
	if m := s.mapping(field); m != nil {
		m.path.put(r, v)
		return
	}
	switch field {
	case hrissync.FieldEmail:
		if s.heldFor(r, field, v) == v {
			return // held already, if untyped: not duplicated
		}
		es := r.emails()
		i := r.workEmail()
		switch {
		case v == "" && i >= 0:
			es = slices.Delete(es, i, i+1)
		case v == "":
		case i >= 0:
			es[i][key(es[i], "value")] = v
		default:
			for _, e := range es {
				delete(e, key(e, "primary"))
			}
			es = slices.Insert(es, 0, map[string]any{"value": v, "type": "work", "primary": true})
		}
		if len(es) == 0 {
			delete(r, key(r, "emails"))
		} else {
			list := make([]any, len(es))
			for i, e := range es {
				list[i] = e
			}
			r[key(r, "emails")] = list
		}
	case hrissync.FieldGivenName, hrissync.FieldFamilyName:
		setSub(r, "name", field, v)
	case hrissync.FieldRole:
		if v == "" {
			delete(r, key(r, "title"))
		} else {
			r[key(r, "title")] = v
		}
	case hrissync.FieldEmployeeNumber, hrissync.FieldDepartment:
		setSub(r, EnterpriseSchema, field, v)
	case hrissync.FieldManagerID:
		if v == "" {
			setSub(r, EnterpriseSchema, "manager", nil)
		} else {
			setSub(r, EnterpriseSchema, "manager", map[string]any{"value": v})
		}
	case hrissync.FieldStatus, hrissync.FieldStartDate, hrissync.FieldTerminationDate, hrissync.FieldLocation:
		setSub(r, s.cfg.Extension, field, v)
	default:
		name := strings.TrimPrefix(field, hrissync.AttributePrefix)
		ext := child(r, s.cfg.Extension)
		list := setPair(pairs(ext), name, v)
		if len(list) == 0 {
			setSub(r, s.cfg.Extension, "attributes", nil)
		} else {
			setSub(r, s.cfg.Extension, "attributes", list)
		}
	}
}

// setPair sets (or, for "", removes) the value of the pair named name.
func setPair(ps []map[string]any, name, v string) []any {
	var out []any
	found := false
	for _, p := range ps {
		if attr(p, "name") == name {
			found = true
			if v == "" {
				continue
			}
			p = map[string]any{"name": name, "value": v}
		}
		out = append(out, p)
	}
	if !found && v != "" {
		out = append(out, map[string]any{"name": name, "value": v})
	}
	return out
}

// schemas names the schemas r carries: the core, and each extension present.
func schemas(r resource) []string {
	out := []string{UserSchema}
	for _, k := range slices.Sorted(maps.Keys(r)) {
		if strings.HasPrefix(strings.ToLower(k), "urn:") && !strings.EqualFold(k, UserSchema) {
			out = append(out, k)
		}
	}
	return out
}

// An op is one PATCH operation.
type op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// ops returns the PATCH operations that take cur's field to v ("" clears
// it): none when cur holds v already.
func (s *Sink) ops(cur resource, field, v string) []op {
	if s.mapping(field) != nil {
		return s.mappedOps(cur, []string{field}, func(string) string { return v })
	}
	if s.heldFor(cur, field, v) == v {
		return nil
	}
	p := s.path(field)
	switch {
	case field == hrissync.FieldEmail && v == "":
		return []op{{Op: "remove", Path: `emails[type eq "work"]`}}
	case field == hrissync.FieldEmail && cur.workEmail() < 0:
		return []op{{Op: "add", Path: "emails", Value: []any{map[string]any{"value": v, "type": "work", "primary": true}}}}
	case v == "":
		return []op{{Op: "remove", Path: p}}
	case field == hrissync.FieldManagerID:
		return []op{{Op: "replace", Path: p, Value: map[string]any{"value": v}}}
	}
	return []op{{Op: "replace", Path: p, Value: v}}
}

// pairOps returns the PATCH operation that takes the extension's
// name/value pairs to the values of the attribute fields given, the other
// pairs kept as held: one operation for the whole multi-valued list, since
// a value filter matching no pair yet would be refused.
func (s *Sink) pairOps(cur resource, w *write, fields []string) []op {
	held := pairs(child(cur, s.cfg.Extension))
	list := make([]any, len(held))
	for i, p := range held {
		list[i] = p
	}
	changed := false
	for _, f := range fields {
		if s.held(cur, f) == w.want(f) {
			continue
		}
		changed = true
		var ps []map[string]any
		for _, p := range list {
			ps = append(ps, p.(map[string]any))
		}
		list = setPair(ps, strings.TrimPrefix(f, hrissync.AttributePrefix), w.want(f))
	}
	p := s.cfg.Extension + ":attributes"
	switch {
	case !changed:
		return nil
	case len(list) == 0:
		return []op{{Op: "remove", Path: p}}
	}
	return []op{{Op: "replace", Path: p, Value: list}}
}

// A write is one Update, reduced to the fields the sink carries.
type write struct {
	worker  string
	active  bool            // the account's activity after the write
	fields  hrissync.Fields // the carried desired fields
	changed []string        // the carried fields this write changes, sorted
	old     hrissync.Fields // the changed fields' values before the write
	manager string          // the manager's provider id, once resolved
	// rekey: the write moves the account to worker from another worker
	// id, so its externalId is confirmed whatever Config.Adopt says.
	rekey bool
	// values: what the mapped fields with a Mapping.Value are sent as.
	values map[string]string
	// groups: the group fields, kept apart from fields (they are Group
	// memberships, not attributes of the User).
	groups map[string]groupChange
	// created: the account was created by this write.
	created bool
}

func (s *Sink) newWrite(u hrissync.Update) *write {
	w := &write{worker: u.EmployeeID, active: u.Active && u.Kind != hrissync.Deactivate, fields: hrissync.Fields{}, old: hrissync.Fields{}}
	for k, v := range u.Fields {
		if isGroupField(k) {
			if w.groups == nil {
				w.groups = map[string]groupChange{}
			}
			w.groups[k] = groupChange{new: v}
			continue
		}
		if s.Carries(k) {
			w.fields[k] = v
		}
	}
	for _, c := range u.Changes {
		if isGroupField(c.Field) {
			if w.groups == nil {
				w.groups = map[string]groupChange{}
			}
			g, ok := w.groups[c.Field]
			if !ok {
				g.new = c.New
			}
			g.old, g.changed = c.Old, c.Old != g.new
			w.groups[c.Field] = g
			continue
		}
		if s.Carries(c.Field) && !slices.Contains(w.changed, c.Field) {
			w.changed = append(w.changed, c.Field)
			w.old[c.Field] = c.Old
			if _, ok := w.fields[c.Field]; !ok {
				w.fields[c.Field] = c.New
			}
		}
	}
	slices.Sort(w.changed)
	s.transform(w)
	return w
}

// all returns the carried fields of the desired record, sorted.
func (w *write) all() []string { return slices.Sorted(maps.Keys(w.fields)) }

// want is the value field should hold after the write.
func (w *write) want(field string) string {
	if field == hrissync.FieldManagerID {
		return w.manager
	}
	if v, ok := w.values[field]; ok {
		return v
	}
	return w.fields[field]
}

// resolveManager finds the manager's provider id if fields writes one.
func (s *Sink) resolveManager(ctx context.Context, w *write, fields []string) error {
	m := w.fields[hrissync.FieldManagerID]
	if m == "" || w.manager != "" || !slices.Contains(fields, hrissync.FieldManagerID) {
		return nil
	}
	id, err := s.findBound(ctx, m)
	if err != nil {
		return err
	}
	if id == "" {
		return &hrissync.MissingManagerError{EmployeeID: w.worker, ManagerID: m}
	}
	w.manager = id
	return nil
}

// Apply implements hrissync.Sink. Fields the sink does not carry are
// ignored.
func (s *Sink) Apply(ctx context.Context, u hrissync.Update) error {
	if err := s.discoverOnce(ctx); err != nil {
		return err
	}
	w := s.newWrite(u)
	if err := s.applyUser(ctx, w); err != nil {
		return err
	}
	return s.syncGroups(ctx, u.Kind, w)
}

// applyUser writes the account of an Apply.
func (s *Sink) applyUser(ctx context.Context, w *write) error {
	id, err := s.locate(ctx, w)
	if err != nil {
		return err
	}
	if id == "" {
		if !w.active {
			return nil // nothing to deprovision
		}
		return s.create(ctx, w)
	}
	if !w.active && s.cfg.Delete {
		return s.remove(ctx, id, w.worker)
	}
	return s.update(ctx, id, w)
}

// remove deprovisions the account id, bound to worker, by DELETE
// (Config.Delete). An account gone already is removed.
func (s *Sink) remove(ctx context.Context, id, worker string) error {
	_, err := s.do(ctx, http.MethodDelete, "/Users/"+id, nil, "")
	if status(err) == http.StatusNotFound {
		err = nil
	}
	if err == nil {
		s.forget(worker)
	}
	return err
}

// Rekey implements hrissync.Rekeyer: the account bound to from (its
// externalId) is bound to u.EmployeeID instead, its new externalId sent in
// the one PATCH (or PUT, with Config.NoPatch) that carries u's changes, under
// If-Match as every update is. The account keeps its provider id, and with
// it the learning history. Called again after it succeeded, Rekey finds only
// the new binding and applies u as Apply does. An account bound to each id
// is a permanent *hrissync.RekeyConflictError; none bound to either, a
// permanent error wrapping hrissync.ErrNotFound — only externalId binds
// here, never the other adoption keys: the engine re-keys only accounts it
// bound.
//
// A re-key that deactivates sends active=false alone first, as every
// deactivation does, then the new externalId with the rest. With
// Config.Delete it deletes the account bound to from instead, as Apply
// would: nothing is left to re-key, and a second call finds neither.
func (s *Sink) Rekey(ctx context.Context, from string, u hrissync.Update) error {
	if err := s.discoverOnce(ctx); err != nil {
		return err
	}
	w := s.newWrite(u)
	oldID, newID, err := s.rekeyed(ctx, from, w.worker)
	if err != nil {
		return err
	}
	switch {
	case oldID != "" && newID != "":
		return retry.Permanent(&hrissync.RekeyConflictError{From: from, To: w.worker})
	case newID != "":
		return s.Apply(ctx, u) // re-keyed already (findBound cached newID): u alone
	case oldID == "":
		return retry.Permanent(fmt.Errorf("scim: re-keying %s to %s: no account is bound to either: %w", from, w.worker, hrissync.ErrNotFound))
	case !w.active && s.cfg.Delete:
		return s.remove(ctx, oldID, from)
	}
	if err := s.rebind(ctx, oldID, from, w); err != nil {
		return err
	}
	return s.syncGroups(ctx, u.Kind, w)
}

// rekeyed returns the provider ids of the accounts bound to from and to
// ("" for none), searched afresh: the cache may still hold a binding that
// an earlier Rekey moved before failing. A re-key to the same id has no
// old account, only a new one.
func (s *Sink) rekeyed(ctx context.Context, from, to string) (oldID, newID string, err error) {
	s.forget(from)
	s.forget(to)
	if newID, err = s.findBound(ctx, to); err != nil || from == to {
		return "", newID, err
	}
	oldID, err = s.findBound(ctx, from)
	return oldID, newID, err
}

// rebind moves the account id from the worker from to w.worker: update
// rewrites an externalId that differs from w.worker (as adoption binds an
// account) together with w's changes.
func (s *Sink) rebind(ctx context.Context, id, from string, w *write) error {
	// Forgotten before the write, whatever its outcome: a write that
	// landed but failed its confirmation leaves the account bound to
	// w.worker, and a cached from would have the next Apply for from
	// bind it back.
	s.forget(from)
	w.rekey = true
	if err := s.update(ctx, id, w); err != nil {
		return err
	}
	s.remember(w.worker, id)
	return nil
}

// userName derives the userName; "" is never sent.
func (s *Sink) userName(w *write) string { return s.cfg.UserName(w.fields) }

func (s *Sink) create(ctx context.Context, w *write) error {
	fields := w.all()
	if err := s.resolveManager(ctx, w, fields); err != nil {
		return err
	}
	body := resource{"externalId": w.worker, "active": w.active}
	if n := s.userName(w); n != "" {
		body["userName"] = n
	}
	for _, f := range fields {
		s.put(body, f, w.want(f))
	}
	body["schemas"] = schemas(body)
	r, err := s.do(ctx, http.MethodPost, "/Users", body, "")
	if status(err) == http.StatusConflict {
		// A uniqueness conflict: the account exists (a lost answer to
		// an earlier POST, or an SSO-created account): find and update.
		s.forget(w.worker)
		id, ferr := s.locate(ctx, w)
		if ferr != nil {
			return errors.Join(err, ferr)
		}
		if id == "" {
			return retry.Permanent(err)
		}
		w.changed = fields
		return s.update(ctx, id, w)
	}
	if err != nil {
		return err
	}
	created, _ := decode(r.body)
	id := created.id()
	if id == "" {
		return fmt.Errorf("scim: POST /Users answered without an id")
	}
	s.remember(w.worker, id)
	w.created = true
	if _, ok := lookup(created, "userName"); !ok {
		if created, _, err = s.get(ctx, id); err != nil {
			return err
		}
	}
	return s.confirm(w, id, created, fields)
}

// update writes the changed attributes (and activity) of an account,
// re-reading it once if its ETag moved. A write that deactivates sends
// active=false alone first, and confirms it.
func (s *Sink) update(ctx context.Context, id string, w *write) error {
	deactivated := false
	finish := func(err error) error {
		if err == nil {
			return nil
		}
		if st := status(err); st == http.StatusNotFound || st == http.StatusPreconditionFailed || st == http.StatusConflict {
			err = retry.Permanent(err)
		}
		if f := s.refused(w, err); f != "" {
			// The engine parks that field and writes the rest.
			err = &hrissync.FieldError{Field: f, Err: err}
		}
		if deactivated {
			return &PartialWriteError{EmployeeID: w.worker, Err: err}
		}
		return err
	}
	for attempt := 0; ; attempt++ {
		cur, etag, err := s.get(ctx, id)
		if status(err) == http.StatusNotFound && !deactivated {
			s.forget(w.worker)
			if !w.active {
				return nil
			}
			w.changed = w.all()
			return s.create(ctx, w) // the provider lost it
		}
		if err != nil {
			return finish(err)
		}
		if !w.active && cur.active() != "false" {
			cur, etag, err = s.deactivate(ctx, id, w, cur, etag)
			if status(err) == http.StatusPreconditionFailed && attempt == 0 {
				continue // someone else changed it: re-read, try once more
			}
			if err != nil {
				return finish(err)
			}
			deactivated = true
		}
		err = s.modify(ctx, id, w, cur, etag)
		if status(err) == http.StatusPreconditionFailed && attempt == 0 {
			continue
		}
		return finish(err)
	}
}

// refused names the one changed field a provider's refusal of an update is
// about, when its SCIM error says enough: a uniqueness conflict (RFC 7644
// §3.12) over the userName or email that a single changed field set, or an
// invalid value the provider says is the manager. Otherwise "": the engine
// then bisects the write.
func (s *Sink) refused(w *write, err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	switch {
	case e.Status == http.StatusConflict && e.ScimType == "uniqueness":
		var setters []string
		for _, f := range w.changed {
			before := maps.Clone(w.fields)
			before[f] = w.old[f]
			if f == hrissync.FieldEmail || s.cfg.UserName(before) != s.cfg.UserName(w.fields) {
				setters = append(setters, f)
			}
		}
		if len(setters) == 1 {
			return setters[0]
		}
	case e.Status == http.StatusBadRequest && e.ScimType == "invalidValue" &&
		slices.Contains(w.changed, hrissync.FieldManagerID) && strings.Contains(strings.ToLower(e.Detail), "manager"):
		return hrissync.FieldManagerID
	}
	return ""
}

// deactivate sends active=false alone and confirms it; it returns the
// resource as the provider then holds it.
func (s *Sink) deactivate(ctx context.Context, id string, w *write, cur resource, etag string) (resource, string, error) {
	method, body := http.MethodPatch, any(map[string]any{"schemas": []string{PatchOpSchema},
		"Operations": []op{{Op: "replace", Path: "active", Value: false}}})
	if !s.patch() {
		r := clone(cur)
		r[key(r, "active")] = false
		method, body = http.MethodPut, r
	}
	res, etag, err := s.send(ctx, method, id, body, etag)
	if err != nil {
		return nil, "", err
	}
	if got := res.active(); got != "false" {
		return nil, "", &NotAppliedError{EmployeeID: w.worker, ProviderID: id, Attribute: "active", Want: "false", Got: got}
	}
	return res, etag, nil
}

// modify writes the changed fields (all of them for a PUT), activity and the
// externalId binding, and confirms them.
func (s *Sink) modify(ctx context.Context, id string, w *write, cur resource, etag string) error {
	fields := w.changed
	if !s.patch() {
		fields = w.all()
	}
	if err := s.resolveManager(ctx, w, fields); err != nil {
		return err
	}
	var body any
	method := http.MethodPatch
	if !s.patch() {
		r := clone(cur)
		for _, f := range fields {
			s.put(r, f, w.want(f))
		}
		r[key(r, "active")] = w.active
		r[key(r, "externalId")] = w.worker
		if n := s.userName(w); n != "" {
			r[key(r, "userName")] = n
		}
		r["schemas"] = schemas(r)
		method, body = http.MethodPut, r
	} else {
		var ops []op
		if n := s.userName(w); n != "" && !strings.EqualFold(n, attr(cur, "userName")) {
			ops = append(ops, op{Op: "replace", Path: "userName", Value: n})
		}
		var attrs, mappedFields []string
		for _, f := range fields {
			if s.mapping(f) != nil {
				mappedFields = append(mappedFields, f)
				continue
			}
			if strings.HasPrefix(f, hrissync.AttributePrefix) {
				attrs = append(attrs, f)
				continue
			}
			ops = append(ops, s.ops(cur, f, w.want(f))...)
		}
		ops = append(ops, s.pairOps(cur, w, attrs)...)
		ops = append(ops, s.mappedOps(cur, mappedFields, w.want)...)
		if cur.active() != strconv.FormatBool(w.active) {
			ops = append(ops, op{Op: "replace", Path: "active", Value: w.active})
		}
		if cur.externalID() != w.worker {
			ops = append(ops, op{Op: "replace", Path: "externalId", Value: w.worker}) // adoption binds the account
		}
		if len(ops) == 0 {
			return s.confirm(w, id, cur, fields)
		}
		body = map[string]any{"schemas": []string{PatchOpSchema}, "Operations": ops}
	}
	res, _, err := s.send(ctx, method, id, body, etag)
	if err != nil {
		return err
	}
	return s.confirm(w, id, res, fields)
}

// send writes body to the account and returns the resource as the provider
// then holds it: from the answer when it carries the resource, else read
// back.
func (s *Sink) send(ctx context.Context, method, id string, body any, etag string) (resource, string, error) {
	r, err := s.do(ctx, method, "/Users/"+id, body, s.ifMatch(etag))
	if err != nil {
		return nil, "", err
	}
	if res, err := decode(r.body); err == nil {
		if _, ok := lookup(res, "userName"); ok {
			return res, etagOf(r.header, res), nil
		}
	}
	return s.get(ctx, id)
}

// confirm checks that res holds what w wrote of fields, its activity and,
// where the sink relies on it, its externalId.
func (s *Sink) confirm(w *write, id string, res resource, fields []string) error {
	var errs []error
	miss := func(attribute, field, want, got string) {
		errs = append(errs, &NotAppliedError{EmployeeID: w.worker, ProviderID: id, Attribute: attribute, Field: field, Want: want, Got: got})
	}
	for _, f := range fields {
		if want, got := w.want(f), s.heldFor(res, f, w.want(f)); want != got {
			miss(s.path(f), f, want, got)
		}
	}
	if want, got := strconv.FormatBool(w.active), res.active(); want != got {
		miss("active", "", want, got)
	}
	if (w.rekey || slices.Contains(s.cfg.Adopt, ByExternalID)) && res.externalID() != w.worker {
		miss("externalId", "", w.worker, res.externalID())
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// clone returns a deep copy of r, for a PUT body: without the attributes a
// client never writes (id, meta), nor empty values.
func clone(r resource) resource {
	b, _ := json.Marshal(r)
	c, _ := decode(b)
	if c == nil {
		c = resource{}
	}
	delete(c, key(c, "id"))
	delete(c, key(c, "meta"))
	prune(c)
	return c
}

// prune removes empty strings, and the complex values they leave empty.
func prune(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case string:
			if v == "" {
				delete(m, k)
			}
		case map[string]any:
			if prune(v); len(v) == 0 {
				delete(m, k)
			}
		case []any:
			for _, e := range v {
				if e, ok := e.(map[string]any); ok {
					prune(e)
				}
			}
		}
	}
}

func etagOf(h http.Header, r resource) string {
	if e := h.Get("ETag"); e != "" {
		return e
	}
	return attr(child(r, "meta"), "version")
}

func (s *Sink) get(ctx context.Context, id string) (resource, string, error) {
	r, err := s.do(ctx, http.MethodGet, "/Users/"+id, nil, "")
	if err != nil {
		return nil, "", err
	}
	res, err := decode(r.body)
	if err != nil {
		return nil, "", fmt.Errorf("scim: GET /Users/%s: %w", id, err)
	}
	return res, etagOf(r.header, res), nil
}

// locate returns the provider id of the worker's account: from the cache,
// or by the adoption keys in order. "" means none. Each key is its own
// search, stopping at the first hit: many providers filter only on one
// attribute with "eq", and some not on an "or" of them.
func (s *Sink) locate(ctx context.Context, w *write) (string, error) {
	if id, ok := s.cached(w.worker); ok {
		return id, nil
	}
	for _, k := range s.cfg.Adopt {
		filter, match := s.key(k, w)
		if filter == "" {
			continue
		}
		found, err := s.search(ctx, filter)
		if err != nil {
			err = &SearchError{EmployeeID: w.worker, Key: k, Filter: filter, Err: err}
			if st := status(err); st >= 400 && st < 500 && st != http.StatusTooManyRequests && st != http.StatusUnauthorized || st == http.StatusNotImplemented {
				err = retry.Permanent(err)
			}
			return "", err
		}
		// Providers that ignore a filter they cannot apply answer
		// every account: only a real match counts.
		found = slices.DeleteFunc(found, func(r resource) bool { return !match(r) })
		switch len(found) {
		case 0:
			continue
		case 1:
		default:
			var ids []string
			for _, r := range found {
				ids = append(ids, r.id())
			}
			return "", retry.Permanent(&ConflictError{EmployeeID: w.worker, Key: k, Candidates: ids})
		}
		r := found[0]
		switch ext := r.externalID(); {
		case ext == w.worker:
		case ext != "":
			if !w.active {
				continue // another worker's account: nothing of ours to deprovision
			}
			return "", retry.Permanent(&ConflictError{EmployeeID: w.worker, Key: k, Candidates: []string{r.id()}, BoundTo: ext})
		case r.active() == "false" && !s.cfg.AdoptInactive:
			if !w.active {
				continue // inactive already
			}
			return "", retry.Permanent(&ConflictError{EmployeeID: w.worker, Key: k, Candidates: []string{r.id()}, Inactive: true})
		}
		s.remember(w.worker, r.id())
		return r.id(), nil
	}
	return "", nil
}

// key returns the filter of an adoption key for w ("" when w has no value
// for it) and the test a found account must pass.
func (s *Sink) key(k Key, w *write) (string, func(resource) bool) {
	switch k {
	case ByExternalID:
		return "externalId eq " + filterString(w.worker), func(r resource) bool { return r.externalID() == w.worker }
	case ByUserName:
		if n := s.userName(w); n != "" {
			return "userName eq " + filterString(n), func(r resource) bool { return strings.EqualFold(attr(r, "userName"), n) }
		}
	case ByEmail:
		if e := w.fields[hrissync.FieldEmail]; e != "" {
			return fmt.Sprintf(`emails[type eq "work" and value eq %s]`, filterString(e)), func(r resource) bool {
				return slices.ContainsFunc(r.emails(), func(m map[string]any) bool { return strings.EqualFold(attr(m, "value"), e) })
			}
		}
	case ByEmployeeNumber:
		if n := w.want(hrissync.FieldEmployeeNumber); n != "" {
			return s.eq(hrissync.FieldEmployeeNumber, n), func(r resource) bool {
				return s.held(r, hrissync.FieldEmployeeNumber) == n
			}
		}
	}
	return "", nil
}

// findBound returns the provider id of the account bound to worker (the
// cache, then externalId), or "".
func (s *Sink) findBound(ctx context.Context, worker string) (string, error) {
	if id, ok := s.cached(worker); ok {
		return id, nil
	}
	filter := "externalId eq " + filterString(worker)
	found, err := s.search(ctx, filter)
	if err != nil {
		return "", err
	}
	found = slices.DeleteFunc(found, func(r resource) bool { return r.externalID() != worker })
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		s.remember(worker, found[0].id())
		return found[0].id(), nil
	}
	var ids []string
	for _, r := range found {
		ids = append(ids, r.id())
	}
	return "", retry.Permanent(&ConflictError{EmployeeID: worker, Key: ByExternalID, Candidates: ids})
}

// filterString quotes v as a SCIM filter string (a JSON string).
func filterString(v string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

func (s *Sink) search(ctx context.Context, filter string) ([]resource, error) {
	return s.searchIn(ctx, "/Users", filter)
}

// searchIn searches the resources of endpoint ("/Users", "/Groups").
func (s *Sink) searchIn(ctx context.Context, endpoint, filter string) ([]resource, error) {
	// Providers page their answers (RFC 7644 §3.4.2.4), some one resource
	// at a time and some ignoring the filter: every page is read, or a
	// second candidate — or the only true one — would go unseen.
	var all []resource
	for start := 1; ; {
		q := url.Values{"filter": {filter}, "startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(s.pageSize())}}
		r, err := s.do(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil, "")
		if err != nil {
			return nil, err
		}
		page, total, err := listResponse(r)
		if err != nil {
			return nil, fmt.Errorf("scim: searching %s: %w", filter, err)
		}
		all = append(all, page...)
		start += len(page)
		if len(page) == 0 || len(all) >= total {
			return all, nil
		}
		if len(all) >= searchLimit {
			return nil, retry.Permanent(fmt.Errorf("scim: searching %s: over %d results (does the provider ignore filters?)", filter, searchLimit))
		}
	}
}

// listResponse decodes a ListResponse (RFC 7644 §3.4.2): its resources, and
// its totalResults (-1 when the provider gives none).
func listResponse(r *response) ([]resource, int, error) {
	var list struct {
		TotalResults *int       `json:"totalResults"`
		Resources    []resource `json:"Resources"`
	}
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&list); err != nil {
		return nil, 0, err
	}
	if list.TotalResults == nil {
		return list.Resources, -1, nil
	}
	return list.Resources, *list.TotalResults, nil
}

// A search asks for searchPage resources at a time and gives up past
// searchLimit: an "eq" search that matches that many is not a search.
const (
	searchPage  = 100
	searchLimit = 10_000
)

func (s *Sink) cached(worker string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[worker]
	return id, ok
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
