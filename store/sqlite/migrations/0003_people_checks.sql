-- Damaged rows found and kept apart (person.go). sum is a CRC-32C of the
-- row's other columns, written with every row, so that a row altered on disk
-- is found even when it still parses; rows written before this migration
-- have none until they are next written. damaged marks a row found damaged:
-- the person's state is lost and is rebuilt from the Source, and Pending
-- lists them until a Commit replaces the row.
ALTER TABLE people ADD COLUMN damaged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN sum INTEGER;
CREATE INDEX people_damaged ON people (tenant, id) WHERE damaged != 0;
