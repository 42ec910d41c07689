package sqlite

import "context"

// ExecForTest runs a statement on the writer connection.
func (s *Store) ExecForTest(ctx context.Context, stmt string) error {
	_, err := s.writer.ExecContext(ctx, stmt)
	return err
}
