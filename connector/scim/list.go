package scim

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/retry"
)

var _ hrissync.AccountLister = (*Sink)(nil)

// SearchRequestSchema is the URN of a query by POST (RFC 7644 §3.4.3).
const SearchRequestSchema = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// ErrPagingIgnored: asked for a later page of the Users, the provider
// answered the same resources as the page before (it ignores startIndex).
// Listing stops there rather than loop; the error wrapping it says what was
// seen, and is permanent.
var ErrPagingIgnored = errors.New("scim: the provider ignores paging (startIndex)")

// defaultListPage is the page size Accounts asks for without
// Config.ListPageSize.
const defaultListPage = 100

// unboundManager is the prefix of the managerId Accounts reports for a
// manager the provider holds that no worker is bound to (or that it no
// longer holds): the provider id, marked so that it equals no worker id the
// engine applied, and drift shows.
const unboundManager = "scim:unbound:"

// Accounts implements hrissync.AccountLister: every User bound to a worker
// (externalId set), as the provider holds it, in the provider's order. Users
// bound to no worker — made by SSO or by an admin — are not the engine's
// and are skipped.
//
// It pages GET /Users with startIndex and count (RFC 7644 §3.4.2.4),
// Config.ListPageSize at a time (default 100), and stops at totalResults or
// at an empty page (only at an empty page once the provider listed more
// than its totalResults said); a provider that answers fewer than asked (many cap a
// page below count) is asked on while totalResults says there are more. A
// provider that answers no totalResults is done when a page comes short. A
// page made only of resources listed already (the page before, again: the
// provider ignores startIndex in the query) is asked again as a POST
// /Users/.search (RFC 7644 §3.4.3), whose startIndex and count are JSON
// numbers, and the listing goes on that way; a provider that has no search
// endpoint, or ignores paging there too, is ErrPagingIgnored. A
// resource seen twice (the provider's pages shifted under a concurrent
// create) is streamed once.
//
// Each Account carries the fields the sink carries (Sink.Carries), empty
// ones left out. The manager, which the provider holds as the manager's
// provider id, is translated to the manager's worker id from the listing
// itself: an account whose manager the listing has not reached yet is held
// back until the listing ends (at worst every account, a few strings each),
// and a manager the listing never showed is read with one GET /Users/{id}
// per distinct manager. A manager bound to no worker, or gone, is reported
// as "scim:unbound:" and its provider id, which equals no worker id.
//
// Errors are those of the writes (see the package doc), the first one
// ending the iteration; ctx is checked between pages.
func (s *Sink) Accounts(ctx context.Context) iter.Seq2[hrissync.Account, error] {
	return func(yield func(hrissync.Account, error) bool) {
		l := &lister{s: s, workers: map[string]string{}, seen: map[string]bool{}}
		if err := l.list(ctx, yield); err != nil {
			yield(hrissync.Account{}, err)
		}
	}
}

// lister is one run of Accounts.
type lister struct {
	s       *Sink
	workers map[string]string // provider id → externalId ("" for unbound), as listed or read
	seen    map[string]bool   // provider ids streamed or held back
	held    []pending         // accounts waiting for their manager to be listed
	search  bool              // pages are asked by POST /Users/.search: GET's paging was ignored
	ignored error             // how GET's paging was seen ignored
	// exhaustive: a page went past the provider's totalResults, so only
	// an empty page ends the listing.
	exhaustive bool
}

type pending struct {
	account hrissync.Account
	manager string // provider id
}

// errStop ends list when the consumer stops.
var errStop = errors.New("stop")

func (l *lister) list(ctx context.Context, yield func(hrissync.Account, error) bool) error {
	size := l.s.cfg.ListPageSize
	if size <= 0 {
		size = defaultListPage
	}
	if d := l.s.known(); d != nil && d.FilterMaxResults > 0 {
		size = min(size, d.FilterMaxResults) // what the provider said it answers at most
	}
	emit := func(a hrissync.Account) error {
		if !yield(a, nil) {
			return errStop
		}
		return nil
	}
	var prev []string // the previous page's ids
	for start, pages := 1, 0; ; pages++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, total, err := l.page(ctx, start, size)
		if err != nil {
			return err
		}
		ids := make([]string, len(page))
		again := len(page) > 0 && pages > 0
		for i, r := range page {
			ids[i] = r.id()
			if _, ok := l.workers[ids[i]]; !ok {
				again = false
			}
		}
		if again {
			err := fmt.Errorf("%w: %s answered %d resources all listed already (%s…; the page before had %d, %s…)",
				ErrPagingIgnored, l.request(start, size), len(ids), ids[0], len(prev), prev[0])
			if l.search {
				return retry.Permanent(err)
			}
			// Ask the same page by POST /Users/.search, whose
			// startIndex and count are JSON numbers: some providers
			// page only that way.
			l.search, l.ignored = true, err
			pages--
			continue
		}
		prev = ids
		// The page's ids first, so that a manager on this page resolves.
		for _, r := range page {
			if id := r.id(); id != "" {
				l.workers[id] = r.externalID()
			}
		}
		for _, r := range page {
			if err := l.take(r, emit); err != nil {
				if err == errStop {
					return nil
				}
				return err
			}
		}
		start += len(page)
		if total >= 0 && start-1 > total {
			// More listed than the provider's own totalResults: it is
			// wrong, and only an empty page says the list is done.
			l.exhaustive = true
		}
		if len(page) == 0 || !l.exhaustive && (total >= 0 && start > total || total < 0 && len(page) < size) {
			break
		}
	}
	return l.flush(ctx, emit)
}

// request names the request for a page.
func (l *lister) request(start, size int) string {
	if l.search {
		return fmt.Sprintf("POST /Users/.search {startIndex: %d, count: %d}", start, size)
	}
	return fmt.Sprintf("GET /Users?startIndex=%d&count=%d", start, size)
}

// page reads one page: its resources and totalResults (-1 when the
// provider gives none).
func (l *lister) page(ctx context.Context, start, size int) ([]resource, int, error) {
	q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(size)}}
	path := "/Users?" + q.Encode()
	method, body := http.MethodGet, any(nil)
	if l.search {
		path, method = "/Users/.search", http.MethodPost
		body = map[string]any{"schemas": []string{SearchRequestSchema}, "startIndex": start, "count": size}
	}
	r, err := l.s.do(ctx, method, path, body, "")
	if err != nil {
		if st := status(err); l.search && (st == http.StatusBadRequest || st == http.StatusNotFound ||
			st == http.StatusMethodNotAllowed || st == http.StatusNotImplemented) {
			// No search endpoint: GET's paging was all there was.
			return nil, 0, retry.Permanent(fmt.Errorf("%w; and %s: %w", l.ignored, l.request(start, size), err))
		}
		return nil, 0, err
	}
	page, total, err := listResponse(r)
	if err != nil {
		return nil, 0, fmt.Errorf("scim: %s %s: %w", method, path, err)
	}
	return page, total, nil
}

// take streams r if it is bound to a worker, or holds it back until its
// manager is listed.
func (l *lister) take(r resource, emit func(hrissync.Account) error) error {
	id, worker := r.id(), r.externalID()
	if worker == "" || l.seen[id] {
		return nil
	}
	l.seen[id] = true
	a := hrissync.Account{EmployeeID: worker, Active: r.active() == "true", Fields: hrissync.Fields{}}
	for _, f := range l.s.listed(r) {
		if m := l.s.mapped[f]; m != nil && m.Value != nil {
			// Held transformed: the field's own value cannot be told
			// from it.
			a.Opaque = append(a.Opaque, f)
			continue
		}
		if v := l.s.held(r, f); v != "" {
			a.Fields[f] = v
		}
	}
	// Group memberships are not read back (see Groups): drift checks
	// leave the group fields alone.
	a.Opaque = append(a.Opaque, hrissync.GroupPrefix+"*") // memberships are the Groups', not read back
	m := a.Fields[hrissync.FieldManagerID]
	if m == "" {
		return emit(a)
	}
	if w, ok := l.workers[m]; ok {
		l.setManager(&a, m, w)
		return emit(a)
	}
	l.held = append(l.held, pending{a, m})
	return nil
}

// flush streams the accounts held back, reading each manager the listing
// did not show.
func (l *lister) flush(ctx context.Context, emit func(hrissync.Account) error) error {
	for _, p := range l.held {
		w, ok := l.workers[p.manager]
		if !ok {
			r, _, err := l.s.get(ctx, url.PathEscape(p.manager))
			switch {
			case status(err) == http.StatusNotFound:
			case err != nil:
				return err
			default:
				w = r.externalID()
			}
			l.workers[p.manager] = w
		}
		l.setManager(&p.account, p.manager, w)
		if err := emit(p.account); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
	return nil
}

func (l *lister) setManager(a *hrissync.Account, providerID, worker string) {
	if worker == "" {
		worker = unboundManager + providerID
	}
	a.Fields[hrissync.FieldManagerID] = worker
}

// listed are the carried fields a listed resource may hold: the standard
// ones, the mapped ones (Config.Map), and with Config.Extension its fields
// and the attributes it holds.
func (s *Sink) listed(r resource) []string {
	fields := []string{hrissync.FieldEmail, hrissync.FieldGivenName, hrissync.FieldFamilyName, hrissync.FieldRole,
		hrissync.FieldEmployeeNumber, hrissync.FieldDepartment, hrissync.FieldManagerID,
		hrissync.FieldStatus, hrissync.FieldStartDate, hrissync.FieldTerminationDate, hrissync.FieldLocation}
	for _, f := range slices.Sorted(maps.Keys(s.mapped)) {
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	if s.cfg.Extension != "" {
		for _, p := range pairs(child(r, s.cfg.Extension)) {
			if n := attr(p, "name"); n != "" {
				fields = append(fields, hrissync.AttributePrefix+n)
			}
		}
	}
	return slices.DeleteFunc(fields, func(f string) bool { return !s.Carries(f) })
}
