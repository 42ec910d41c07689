package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/csv"
)

// readExport reads the organisation's current export with the CSV source
// (connector/csv), in its format and with its checks: a bad header is
// csv.ErrHeader, a bad row a *csv.RowError naming its line and column. The
// CSV source ends its list at the first bad row, so an export reports one
// error at a time.
func readExport(ctx context.Context, path string) (map[string]hrissync.Employee, error) {
	if info, err := os.Stat(path); err == nil && info.Size() == 0 {
		return nil, fmt.Errorf("export %s: the file is empty: want a header row, then a row per worker (see -h)", path)
	}
	src, err := csv.Open(ctx, path, nil)
	if errors.Is(err, csv.ErrHeader) {
		return nil, fmt.Errorf("export %s: %w\n(whatif -h lists the columns it accepts)", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", path, err)
	}
	people := map[string]hrissync.Employee{}
	for e, err := range src.List(ctx) {
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", path, err)
		}
		people[e.ID] = e
	}
	return people, nil
}
