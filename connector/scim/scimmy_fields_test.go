package scim_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/scim"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// Against a provider that is not ours and enforces userName uniqueness as
// RFC 7643 asks: a change of email to one another account holds comes back
// 409 uniqueness, the sink names the email (a FieldError), and the engine
// parks it while the promotion in the same write lands.
func TestTakenEmailIsParkedThroughSCIMMY(t *testing.T) {
	p := newSCIMMYPlatform(t)
	sink := p.sink(t, scim.Config{})
	ctx := context.Background()
	hr := memory.NewHRIS(hrissync.RealClock{}, 1)
	person := func(id, email string) hrissync.Employee {
		return hrissync.Employee{ID: id, Email: email, GivenName: "Ada", FamilyName: "Byron", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2020, 1, 6), Role: "Engineer"}
	}
	hr.Load(person("w-a", "ada@example.com"), person("w-b", "bea@example.com"))
	eng, err := hrissync.New(hr, sink, memstore.New(), &hrissync.Config{Policy: cadence.RealtimeOnly(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"w-a", "w-b"} {
		if err := eng.Reconcile(ctx, id); err != nil {
			t.Fatalf("provisioning %s: %v", id, err)
		}
	}
	if _, err := hr.Update("employee.updated", "w-b", func(e *hrissync.Employee) { e.Email, e.Role = "ada@example.com", "Lead" }); err != nil {
		t.Fatal(err)
	}
	if err := eng.Reconcile(ctx, "w-b"); err != nil {
		t.Fatalf("the write with a taken email: %v, want the rest landed", err)
	}
	accs, _, _ := p.accounts(t)
	if b := accs["w-b"]; b.Fields[hrissync.FieldRole] != "Lead" || b.Fields[hrissync.FieldEmail] != "bea@example.com" {
		t.Errorf("w-b on the provider = %v, want the role landed and its own email kept", b.Fields)
	}
	parked := eng.Parked()
	if len(parked) != 1 || parked[0].EmployeeID != "w-b" || parked[0].Field != hrissync.FieldEmail {
		t.Fatalf("parked = %+v, want w-b's email", parked)
	}
	var fe *hrissync.FieldError
	if err := sink.Apply(ctx, hrissync.Update{EmployeeID: "w-b", Kind: hrissync.Modify, Active: true,
		Fields:  hrissync.Fields{hrissync.FieldEmail: "ada@example.com"},
		Changes: []hrissync.Change{{Field: hrissync.FieldEmail, Old: "bea@example.com", New: "ada@example.com"}}}); !errors.As(err, &fe) || fe.Field != hrissync.FieldEmail {
		t.Errorf("the sink's answer to a taken email = %v, want a FieldError naming the email", err)
	}
}
