package audit_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hrissync/hrissync/audit"
)

// A log checkpointing to a witness service over loopback HTTP: the service
// keeps what it is given in a file, and the auditor verifies the log
// against the service's list.
func TestHTTPWitness(t *testing.T) {
	a := newSigner("key-a")
	fw := &audit.FileWitness{Path: filepath.Join(t.TempDir(), "witness.jsonl")}
	defer fw.Close()
	srv := httptest.NewServer(&audit.WitnessHandler{Witness: fw, Keys: keysOf(a)}) // 127.0.0.1
	defer srv.Close()
	hw := &audit.HTTPWitness{URL: srv.URL + "/checkpoints", Client: srv.Client()}

	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.OpenLog(t.Context(), path, checkpointed(a, hw, 5, newClock()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		record(t, l, entry(i, "acme"), entry(i, "globex"))
	}
	if err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.Close()

	r := checkLog(t, path, keysOf(a), hw)
	if r.Err() != nil || len(r.Findings) != 0 {
		t.Fatalf("Err = %v, findings:\n%s", r.Err(), list(r.Findings))
	}
	held, _ := fw.Checkpoints(t.Context())
	var got []string
	for _, c := range held {
		got = append(got, c.Tenant)
	}
	slices.Sort(got)
	if want := []string{"acme", "acme", "acme", "globex", "globex", "globex"}; !slices.Equal(got, want) {
		t.Errorf("the service's file holds checkpoints of %v, want %v", got, want)
	}
}

// The service refuses what is not one checkpoint its keys verify.
func TestWitnessHandlerRefuses(t *testing.T) {
	a, b := newSigner("key-a"), newSigner("key-b")
	fw := &audit.FileWitness{Path: filepath.Join(t.TempDir(), "witness.jsonl")}
	defer fw.Close()
	srv := httptest.NewServer(&audit.WitnessHandler{Witness: fw, Keys: keysOf(a)})
	defer srv.Close()

	// A real checkpoint, signed with b: a log under key b, witnessed in memory.
	mem := &audit.FileWitness{Path: filepath.Join(t.TempDir(), "mem.jsonl")}
	defer mem.Close()
	l, err := audit.OpenLog(t.Context(), filepath.Join(t.TempDir(), "audit.jsonl"), checkpointed(b, mem, 1, newClock()))
	if err != nil {
		t.Fatal(err)
	}
	record(t, l, entry(1, "acme"))
	if err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.Close()
	byB, _ := mem.Checkpoints(t.Context())
	other := must(bytesOf(byB[0]))

	for _, c := range []struct {
		method, body string
		want         int
	}{
		{"POST", string(other), http.StatusUnprocessableEntity}, // signed with a key the service does not know
		{"POST", `{"tenant":"acme","seq":1,"extra":true}`, http.StatusBadRequest},
		{"POST", `{"tenant":"acme"} {"tenant":"acme"}`, http.StatusBadRequest},
		{"POST", `{"tenant":"` + strings.Repeat("x", 70<<10) + `"}`, http.StatusRequestEntityTooLarge},
		{"DELETE", "", http.StatusMethodNotAllowed},
		{"GET", "", http.StatusOK},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, srv.URL, bytes.NewReader([]byte(c.body)))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %.40s: %d, want %d", c.method, c.body, resp.StatusCode, c.want)
		}
	}
	if held, _ := fw.Checkpoints(t.Context()); len(held) != 0 {
		t.Errorf("the service kept %d checkpoint(s), want none", len(held))
	}
}

func bytesOf(c audit.Checkpoint) ([]byte, error) { return json.Marshal(c) }
