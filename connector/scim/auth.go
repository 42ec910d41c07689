package scim

import (
	"context"
	"fmt"
	"net/http"
)

// authorize sets the request's bearer token: from Config.TokenSource, asked
// afresh for every request, else Config.Token. A TokenSource error fails the
// request, keeping its retry class: retryable unless it wraps
// retry.Permanent.
func (s *Sink) authorize(ctx context.Context, req *http.Request) error {
	token := s.cfg.Token
	if s.cfg.TokenSource != nil {
		t, err := s.cfg.TokenSource(ctx)
		if err != nil {
			return fmt.Errorf("scim: %s %s: getting a token: %w", req.Method, req.URL.Path, err)
		}
		token = t
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return nil
}
