package bamboohr

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/hrissync/hrissync/retry"
)

// Error is an answer of BambooHR's other than success: its status, the
// request it answered (method and path, never the query or body), and
// BambooHR's reason where its X-BambooHR-Error-Message header gives one —
// never the body, which may hold an employee's data. Errors the engine should not retry (a 400, a 403, a 404 that
// is not a missing employee) come wrapped in retry.Permanent; 429 and 503
// in retry.RetryAfter with BambooHR's pause.
type Error struct {
	Status  int
	Method  string
	Path    string
	Message string // X-BambooHR-Error-Message, printable ASCII, at most 200 bytes
}

func (e *Error) Error() string {
	s := fmt.Sprintf("bamboohr: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// ErrMalformed is an answer BambooHR sent with success but that is not of
// the documented shape (not JSON, a field of the wrong type, a date that is
// not a date). It ends a list: a list read in part must not be taken for
// everyone.
var ErrMalformed = errors.New("bamboohr: malformed answer")

// ErrIncomplete is a list that cannot be everyone: the report left out an
// employee the directory listed, or the directory listed fewer than it
// counts. BambooHR hides from a key the employees and fields its access
// level does not cover; give the key one for the whole company.
var ErrIncomplete = errors.New("bamboohr: the list is incomplete")

// maxAnswer bounds one answer's body, read whole only for Get and the
// change feed; listings are streamed.
const maxAnswer = 64 << 20

// requestTimeout bounds one request, its answer read whole, on the default
// transport.
const requestTimeout = 2 * time.Minute

// client sends BambooHR requests with the API key, through go-retryablehttp.
type client struct {
	base string // "https://acme.bamboohr.com", no trailing slash
	key  string
	http *http.Client
}

// newRetryClient repeats a request whose connection broke, and a 429, 503,
// 502 or 504, within RetryMax tries — honouring Retry-After — as long as
// the pause asked for is within waitMax. A longer pause is not waited out
// here but handed to the engine (retry.RetryAfter), which schedules the
// retry without holding a worker; and every other answer is the engine's to
// judge, under its one retry policy.
func newRetryClient(base *http.Client, retries int, waitMax time.Duration) *http.Client {
	c := retryablehttp.NewClient()
	if base != nil {
		c.HTTPClient = base
	} else {
		// A BambooHR that stops answering must not hold a worker for ever
		// where the caller's context has no deadline.
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
			return retryAfter(resp.Header.Get("Retry-After"), time.Now) <= waitMax, nil
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			return true, nil
		}
		return false, nil
	}
	c.Backoff = func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp != nil && resp.Header.Get("Retry-After") != "" {
			return retryAfter(resp.Header.Get("Retry-After"), time.Now)
		}
		return retryablehttp.DefaultBackoff(min, max, attempt, resp)
	}
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return c.StandardClient()
}

// do sends one request and returns the response of a 2xx, whose body the
// caller closes; any other answer is an *Error (see Error for how it is
// wrapped).
func (c *client) do(ctx context.Context, method, path string, query string, body []byte) (*http.Response, error) {
	u := c.base + path
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("bamboohr: %s %s: %w", method, path, err)
	}
	// BambooHR's API key is the basic-auth user name; the password is
	// ignored ("x" by convention).
	req.SetBasicAuth(c.key, "x")
	req.Header.Set("Accept", "application/json")
	if body != nil {
		// Exactly this: BambooHR parses any other content type, even
		// with "; charset=utf-8", as XML.
		req.Header.Set("Content-Type", "application/json")
	}
	if body != nil {
		// A body must be replayable for the retrying client.
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bamboohr: %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	// BambooHR's error-code page spells the header with three s's; its
	// other pages with two.
	reason := cmp.Or(resp.Header.Get("X-BambooHR-Error-Message"), resp.Header.Get("X-BambooHR-Error-Messsage"))
	e := &Error{Status: resp.StatusCode, Method: method, Path: path, Message: printable([]byte(reason), 200)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return nil, retry.RetryAfter(e, retryAfter(resp.Header.Get("Retry-After"), time.Now))
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusNotFound:
		// A 5xx passes; a 401 is the key (revoked, or being rotated), which
		// the host mends without losing the change; a 404 is the caller's
		// to read (a missing employee).
		return nil, e
	}
	return nil, retry.Permanent(e)
}

// maxRetryAfter bounds the pause a Retry-After can ask for: a day, past
// which a value is more likely a fault than a plan.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads Retry-After: seconds or an HTTP date, at most a day; 30 s
// if it is missing or unreadable. A date already past is 0.
func retryAfter(v string, now func() time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		return time.Duration(min(n, uint64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now()), 0), maxRetryAfter)
	}
	return 30 * time.Second
}

// printable keeps at most n bytes of b, with anything not printable ASCII
// replaced: an error message must not carry a control character into a log.
func printable(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return strings.TrimSpace(string(out))
}

// status is the HTTP status of a BambooHR error, or 0.
func status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
