package store_test

import (
	"fmt"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// A Store merges each commit's fields with MergeApplied, so that commits
// arriving out of order never let an older value overwrite a newer one.
func ExampleMergeApplied() {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	held := map[string]store.Applied{
		"role":  {Value: "Lead", Version: hrtype.Version{Time: at.Add(time.Hour)}},
		"email": {Value: "ada@example.com", Version: hrtype.Version{Time: at}},
	}
	late := map[string]store.Applied{ // a slow reconcile's commit, of an older record
		"role":  {Value: "Engineer", Version: hrtype.Version{Time: at}},
		"email": {Value: "ada@example.org", Version: hrtype.Version{Time: at.Add(2 * time.Hour)}},
	}
	merged := store.MergeApplied(held, late)
	fmt.Println(merged["role"].Value, merged["email"].Value)
	// Output: Lead ada@example.org
}

// Marks merge: the classes are united, the later event and the newer
// minimum version kept.
func ExampleMergeMark() {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	held := store.Mark{Generation: 4, Since: at, Classes: cadence.Realtime, Trigger: "poll", EventID: "evt-1"}
	m := store.Mark{Since: at.Add(time.Minute), Classes: cadence.Batch, Trigger: "realtime", EventID: "evt-2",
		MinVersion: hrtype.Version{Time: at.Add(time.Minute)}}
	got := store.MergeMark(held, m)
	fmt.Println(got.Since.Equal(at), got.Classes, got.Trigger, got.EventID, got.MinVersion.Time.Format(time.Kitchen))
	// Output: true realtime+batch realtime evt-2 9:01AM
}
