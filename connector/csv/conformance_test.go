package csv_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/csv"
	"github.com/hrissync/hrissync/connector/sourcetest"
)

// Each Set is a new export under the same path, taken a minute after the
// last (its modification time): what a nightly drop does.
func TestSourceConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
		path := filepath.Join(t.TempDir(), "workers.csv")
		taken := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
		export := func(people []hrissync.Employee) error {
			var b strings.Builder
			b.WriteString("Worker ID,Employee Number,Email,First Name,Last Name,Status,Hire Date,Termination Date,Job Title,Manager ID,Department,Location\n")
			for _, e := range people { // in the order given: numeric ids, not sorted
				term := ""
				if !e.TerminationDate.IsZero() {
					term = e.TerminationDate.String()
				}
				fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", e.ID, e.EmployeeNumber, e.Email, e.GivenName, e.FamilyName,
					e.Status, e.StartDate, term, e.Role, e.ManagerID, e.Department, e.Location)
			}
			if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
				return err
			}
			taken = taken.Add(time.Minute)
			return os.Chtimes(path, taken, taken)
		}
		if err := export(nil); err != nil {
			t.Fatal(err)
		}
		src, err := csv.Open(t.Context(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sourcetest.Harness{Source: src, Set: export}
	})
}
