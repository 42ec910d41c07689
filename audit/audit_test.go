package audit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hrissync/hrissync/audit"
)

func TestMemorySkipsRepeatedIDs(t *testing.T) {
	var m audit.Memory
	ctx := context.Background()
	if err := m.Record(ctx, []audit.Entry{{ID: "a"}, {ID: "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Record(ctx, []audit.Entry{{ID: "b"}, {ID: "c"}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range m.Entries() {
		ids = append(ids, e.ID)
	}
	if got := strings.Join(ids, ","); got != "a,b,c" {
		t.Errorf("entries = %s, want a,b,c", got)
	}
	if err := m.Record(ctx, []audit.Entry{{}}); err == nil {
		t.Error("an entry without ID was accepted")
	}
}

func TestMultiFailsIfAnyFails(t *testing.T) {
	var m audit.Memory
	broken := errors.New("disk full")
	a := audit.Multi(&m, audit.AuditorFunc(func(context.Context, []audit.Entry) error { return broken }))
	if err := a.Record(context.Background(), []audit.Entry{{ID: "x"}}); !errors.Is(err, broken) {
		t.Fatalf("Multi = %v, want the failure", err)
	}
	if m.Len() != 1 {
		t.Errorf("the healthy auditor holds %d entries, want 1", m.Len())
	}
}

func TestSlogLogsEachEntry(t *testing.T) {
	var buf bytes.Buffer
	a := audit.NewSlog(slog.New(slog.NewJSONHandler(&buf, nil)))
	if err := a.Record(context.Background(), []audit.Entry{{ID: "e1", EmployeeID: "w-1", Action: audit.ActionDeactivate}}); err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); !strings.Contains(s, `"id":"e1"`) || !strings.Contains(s, `"action":"deactivate"`) {
		t.Errorf("log = %s", s)
	}
}
