// Package httpapi is what the library's connectors to vendors' REST APIs
// share: a client that retries in place only what it should (through
// go-retryablehttp), vendor errors sorted for the engine's one retry
// policy, and strict decoding of answers.
//
// The retry model (docs/design.md §5.7, §5.8): a broken connection, a 502
// or 504, and a 429 or 503 whose Retry-After is within the client's wait
// bound are retried in place; a longer pause is returned as
// retry.RetryAfter, for the engine to schedule; 401 (a key being rotated),
// 404 and other 5xx are plain *Error values the caller reads or the engine
// retries; every other 4xx is retry.Permanent.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/hrissync/hrissync/internal/strictjson"
	"github.com/hrissync/hrissync/retry"
)

// Error is a vendor's answer other than success: the status, the request it
// answered (method and path, never the query or body), and the vendor's
// reason where a header of its gives one — never the body, which may hold an
// employee's data.
type Error struct {
	Vendor  string // "bamboohr", "merge": the error's prefix
	Status  int
	Method  string
	Path    string
	Message string // the vendor's reason, printable ASCII, at most 200 bytes
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s %s: %d %s", e.Vendor, e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Status is the HTTP status of an *Error in err's chain, or 0.
func Status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// requestTimeout bounds one request, its answer read whole, on the default
// transport.
const requestTimeout = 2 * time.Minute

// maxRetryAfter bounds the pause a Retry-After can ask for: a day, past
// which a value is more likely a fault than a plan.
const maxRetryAfter = 24 * time.Hour

// NewClient is a client that retries in place, at most retries times, what
// the package doc says, over base (nil: a pooled client whose requests time
// out after two minutes, so that a vendor that stops answering does not hold
// a worker for ever where the caller's context has no deadline).
func NewClient(base *http.Client, retries int, waitMax time.Duration) *http.Client {
	c := retryablehttp.NewClient()
	if base != nil {
		c.HTTPClient = base
	} else {
		c.HTTPClient.Timeout = requestTimeout
	}
	c.Logger = nil
	c.RetryMax = retries
	c.RetryWaitMin = 500 * time.Millisecond
	c.RetryWaitMax = waitMax
	c.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if resp == nil {
			return err != nil, nil
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			return RetryAfter(resp.Header.Get("Retry-After"), time.Now) <= waitMax, nil
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			return true, nil
		}
		return false, nil
	}
	c.Backoff = func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp != nil && resp.Header.Get("Retry-After") != "" {
			return RetryAfter(resp.Header.Get("Retry-After"), time.Now)
		}
		return retryablehttp.DefaultBackoff(min, max, attempt, resp)
	}
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return c.StandardClient()
}

// Do sends req with c and returns the response of a 2xx, whose body the
// caller closes; any other answer is an *Error of vendor's, sorted as the
// package doc says, its Message read by reason from the answer's headers
// (nil: none). path names the request in errors.
func Do(c *http.Client, req *http.Request, vendor, path string, reason func(http.Header) string) (*http.Response, error) {
	resp, err := c.Do(req)
	if err != nil {
		// A *url.Error spells out the URL, query and all; the error names
		// the path only, as an *Error does.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %s %s: %w", vendor, req.Method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	e := &Error{Vendor: vendor, Status: resp.StatusCode, Method: req.Method, Path: path}
	if reason != nil {
		e.Message = Printable(reason(resp.Header), 200)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return nil, retry.RetryAfter(e, RetryAfter(resp.Header.Get("Retry-After"), time.Now))
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusNotFound:
		return nil, e
	}
	return nil, retry.Permanent(e)
}

// RetryAfter reads Retry-After: seconds or an HTTP date, at most a day; 30 s
// if it is missing or unreadable. A date already past is 0.
func RetryAfter(v string, now func() time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		return time.Duration(min(n, uint64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now()), 0), maxRetryAfter)
	}
	return 30 * time.Second
}

// DecodeWhole decodes one JSON answer of at most limit bytes into v, as
// DecodeBytes does. An answer cut off by ctx is ctx's error, not a
// malformed one; a malformed one wraps malformed.
func DecodeWhole(ctx context.Context, r io.Reader, limit int64, v any, malformed error) error {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("an answer over %d bytes: %w", limit, malformed)
	}
	return DecodeBytes(b, v, malformed)
}

// DecodeBytes decodes one JSON value into v, numbers as json.Number,
// refusing what two parsers may read apart (a name given twice, names
// differing only in case), anything after the value, and bytes that are not
// UTF-8 (which encoding/json would quietly make U+FFFD). Its errors wrap
// malformed.
func DecodeBytes(b []byte, v any, malformed error) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("not UTF-8: %w", malformed)
	}
	if err := strictjson.Decode(b, new(any)); err != nil {
		return fmt.Errorf("%v: %w", err, malformed)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%v: %w", err, malformed)
	}
	return nil
}

// Printable keeps at most n bytes of s, with anything not printable ASCII
// replaced: a message must not carry a control character into a log.
func Printable(s string, n int) string {
	b := []byte(s)
	if len(b) > n {
		b = b[:n]
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return strings.TrimSpace(string(b))
}

// Clip quotes at most 32 bytes of a value an answer chose, for an error.
func Clip(s string) string { return strconv.Quote(Printable(s, 32)) }
