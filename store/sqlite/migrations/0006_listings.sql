-- How the last full list to show each person saw them (store.Listing): the
-- batch run that read the list, and the record's digest. Two plain columns
-- rather than one of JSON: "which accounts did run R's list not show" is
-- then a comparison a query can make (and an index can serve, should the
-- batch come to need one), and reading a listing has no decoding that could
-- fail. Both are NULL until a list first shows the person, which is how a
-- row written before this migration keeps its checksum: person.go adds the
-- listing to a row's checksum only when it has one.
ALTER TABLE people ADD COLUMN listed_run TEXT;
ALTER TABLE people ADD COLUMN listed_digest TEXT;
