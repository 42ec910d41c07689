package sqlite

import "context"

// ExecForTest runs a statement on the writer connection.
func (s *Store) ExecForTest(ctx context.Context, stmt string) error {
	_, err := s.writer.ExecContext(ctx, stmt)
	return err
}

// FoldsForTest returns how many groups had their marks folded: a fold that
// fails falls back to the ops one by one, silently but for this count.
func (s *Store) FoldsForTest() int64 { return s.folds.Load() }
