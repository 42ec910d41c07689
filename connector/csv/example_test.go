package csv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hrissync/hrissync/connector/csv"
)

// A nightly export read as the batch reads it, then the same path holding a
// bad row: the list stops there with a *RowError naming its line and column.
func Example() {
	dir, err := os.MkdirTemp("", "hrissync-csv")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "workers.csv")

	const export = `Worker ID,Email,First Name,Last Name,Status,Hire Date,Job Title,Manager ID
w-001,ada@example.com,Ada,Lovelace,active,2020-01-06,Engineer,
w-002,bob@example.com,Bob,Smith,active,2021-02-01,Analyst,w-001
#rows,2
`
	if err := os.WriteFile(path, []byte(export), 0o600); err != nil {
		panic(err)
	}
	src, err := csv.Open(context.Background(), path, &csv.Config{AsOf: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	for e, err := range src.List(context.Background()) {
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s, %s, %s since %s, manager %q\n", e.ID, e.GivenName, e.Status, e.Role, e.StartDate, e.ManagerID)
	}

	// Tomorrow's export has an impossible date on its third line. The rows
	// before it stream as usual; then the list ends with the error, so a
	// batch fails rather than taking w-002 for a leaver.
	const bad = `Worker ID,Email,First Name,Last Name,Status,Hire Date,Job Title,Manager ID
w-001,ada@example.com,Ada,Lovelace,active,2020-01-06,Engineer,
w-002,bob@example.com,Bob,Smith,active,2021-02-30,Analyst,w-001
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		panic(err)
	}
	for e, err := range src.List(context.Background()) {
		if err != nil {
			var rowErr *csv.RowError
			if errors.As(err, &rowErr) {
				fmt.Printf("line %d, column %q: %v\n", rowErr.Line, rowErr.Column, rowErr.Err)
			}
			break
		}
		fmt.Println("read", e.ID)
	}
	// Output:
	// w-001 Ada, active, Engineer since 2020-01-06, manager ""
	// w-002 Bob, active, Analyst since 2021-02-01, manager "w-001"
	// read w-001
	// line 3, column "Hire Date": bad date "2021-02-30": want 2006-01-02
}

// The batch takes the export with Snapshot, which says when it was taken —
// here from the "Extracted" column — so that an export older than the one
// the last run read can be refused.
func ExampleSource_Snapshot() {
	dir, err := os.MkdirTemp("", "hrissync-csv")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "workers.csv")
	const export = `Worker ID,Email,Status,Extracted
w-001,ada@example.com,active,2026-03-01T23:00:00Z
w-002,bob@example.com,active,2026-03-01T23:00:00Z
`
	if err := os.WriteFile(path, []byte(export), 0o600); err != nil {
		panic(err)
	}
	src, err := csv.Open(context.Background(), path, &csv.Config{AsOfColumn: "Extracted"})
	if err != nil {
		panic(err)
	}
	asOf, list, err := src.Snapshot(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("taken at", asOf.Format(time.RFC3339))
	for e, err := range list {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.ID, e.Version.Time.Equal(asOf))
	}
	// Output:
	// taken at 2026-03-01T23:00:00Z
	// w-001 true
	// w-002 true
}
