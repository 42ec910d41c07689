-- How the last full list to show each person saw them (store.Listing): the
-- batch run that read the list, and the record's digest, as in the SQLite
-- store. Plain columns rather than jsonb: Listed keeps the stored run when
-- a listing brings none, a coalesce on a column; and "which accounts did
-- run R's list not show" is a comparison a query can make. NULL until a
-- list first shows the person; adding nullable columns without a default
-- rewrites no rows, however many the table holds.
ALTER TABLE {{schema}}.people ADD COLUMN listed_run text, ADD COLUMN listed_digest text;
