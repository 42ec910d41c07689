package bamboohr

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hrissync/hrissync/connector/internal/httpapi"
)

// Error is an answer of BambooHR's other than success: its status, the
// request it answered (method and path, never the query or body), and
// BambooHR's reason where its X-BambooHR-Error-Message header gives one —
// never the body, which may hold an employee's data. Errors the engine
// should not retry (a 400, a 403) come wrapped in retry.Permanent; 429 and
// 503 in retry.RetryAfter with BambooHR's pause.
type Error = httpapi.Error

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

// client sends BambooHR requests with the API key.
type client struct {
	base string // "https://acme.bamboohr.com", no trailing slash
	key  string
	http *http.Client // httpapi.NewClient's
}

// do sends one request and returns the response of a 2xx, whose body the
// caller closes; any other answer is an *Error, sorted as httpapi.Do says.
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
	return httpapi.Do(c.http, req, "bamboohr", path, errorMessage)
}

// errorMessage is BambooHR's reason for an error. Its error-code page
// spells the header with three s's; its other pages with two.
func errorMessage(h http.Header) string {
	return cmp.Or(h.Get("X-BambooHR-Error-Message"), h.Get("X-BambooHR-Error-Messsage"))
}
