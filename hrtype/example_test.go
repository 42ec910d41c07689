package hrtype_test

import (
	"fmt"
	"time"

	"github.com/hrissync/hrissync/hrtype"
)

// Two observations of one record: the later last-changed time is newer,
// and within one instant the source's sequence breaks the tie.
func ExampleVersion_Compare() {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	export := hrtype.Version{Time: at}
	edit := hrtype.Version{Time: at, Seq: 7}
	later := hrtype.Version{Time: at.Add(time.Second)}
	fmt.Println(export.Before(edit), edit.Before(later), later.Compare(export))
	fmt.Println(edit)
	// Output:
	// true true 1
	// 2026-03-02T09:00:00Z#7
}
