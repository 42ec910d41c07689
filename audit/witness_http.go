package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// HTTPWitness is a Witness behind an HTTP endpoint, such as a
// WitnessHandler run by someone the log's writer cannot overrule: Witness
// POSTs the checkpoint to URL as JSON and wants a 2xx; Checkpoints GETs
// URL and reads a JSON array.
type HTTPWitness struct {
	URL string
	// Client makes the requests. Default http.DefaultClient.
	Client *http.Client
	// Header is added to every request: the witness service's
	// credentials, say.
	Header http.Header
}

var _ Witness = (*HTTPWitness)(nil)

// maxCheckpoint bounds one checkpoint's JSON, in either direction.
const maxCheckpoint = 64 << 10

func (w *HTTPWitness) do(ctx context.Context, method string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, w.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("audit: witness: %w", err)
	}
	for k, vs := range w.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := w.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("audit: witness: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("audit: witness: %s %s: %s: %s", method, w.URL, resp.Status, bytes.TrimSpace(msg))
	}
	return resp, nil
}

// Witness POSTs c.
func (w *HTTPWitness) Witness(ctx context.Context, c Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	resp, err := w.do(ctx, http.MethodPost, b)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxCheckpoint)) // so the connection is reused
	return resp.Body.Close()
}

// Checkpoints GETs the list.
func (w *HTTPWitness) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	resp, err := w.do(ctx, http.MethodGet, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// A witness's operator may answer anything: the list is bounded as
	// the witness's own file is read (a checkpoint a line, maxLine in all).
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxLine+1))
	if err != nil {
		return nil, fmt.Errorf("audit: witness: GET %s: %w", w.URL, err)
	}
	if len(b) > maxLine {
		return nil, fmt.Errorf("audit: witness: GET %s: an answer over %d bytes", w.URL, maxLine)
	}
	var out []Checkpoint
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("audit: witness: GET %s: %w", w.URL, err)
	}
	if out == nil {
		out = []Checkpoint{} // a witness that holds none, not none given
	}
	return out, nil
}

// WitnessHandler is the service side of HTTPWitness, keeping what it is
// given in Witness (a FileWitness, typically). A witness is only worth as
// much as its independence: run it under an account, on a volume, the log's
// writer cannot reach. It answers:
//
//   - POST, a checkpoint as JSON: 204 once kept; 400 when the body is not
//     one checkpoint (unknown fields refused), 413 when it is over 64 KiB,
//     422 when Keys is set and the signature does not verify with them,
//     500 when Witness fails.
//   - GET: 200, every checkpoint held as a JSON array, in the order received.
//   - any other method: 405, with Allow.
type WitnessHandler struct {
	Witness Witness
	// Keys, if set, are the writer's public keys: a checkpoint that does
	// not verify with them is refused, so that nobody else can fill the
	// witness with checkpoints the auditor would then report as bad.
	Keys map[string]ed25519.PublicKey
}

func (h *WitnessHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		cs, err := h.Witness.Checkpoints(r.Context())
		if err != nil {
			http.Error(w, "cannot list checkpoints", http.StatusInternalServerError)
			return
		}
		if cs == nil {
			cs = []Checkpoint{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(cs)
	case http.MethodPost:
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxCheckpoint))
		dec.DisallowUnknownFields()
		var c Checkpoint
		err := dec.Decode(&c)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			http.Error(w, "checkpoint too large", http.StatusRequestEntityTooLarge)
			return
		case err != nil || dec.More():
			http.Error(w, "want one checkpoint as JSON", http.StatusBadRequest)
			return
		}
		if h.Keys != nil {
			if err := c.Check(h.Keys); err != nil {
				http.Error(w, err.Error(), http.StatusUnprocessableEntity)
				return
			}
		}
		if err := h.Witness.Witness(r.Context(), c); err != nil {
			http.Error(w, "cannot keep the checkpoint", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
	}
}
