-- Damaged rows found and kept apart, as in the SQLite store (person.go).
-- sum is a CRC-32C of the row's other columns, written with every row, so
-- that a row altered on disk is found even when it still parses; rows
-- written before this migration have none until they are next written.
-- damaged marks a row found damaged: the person's state is lost and is
-- rebuilt from the Source, and Pending lists them until a Commit replaces
-- the row. Neither addition rewrites the table: a nullable column, and a
-- constant default, are recorded in the catalogue alone.
ALTER TABLE {{schema}}.people ADD COLUMN sum bigint, ADD COLUMN damaged boolean NOT NULL DEFAULT false;
CREATE INDEX people_damaged ON {{schema}}.people (tenant, id) WHERE damaged;
