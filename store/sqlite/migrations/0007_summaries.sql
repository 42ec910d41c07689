-- Each person's applied fields summarized (rowcodec.EncodeSummary): their
-- digest and newest version, written by every Commit, so that the batch
-- reads a million people without decoding a million applied records
-- (store.Summarizer) and decodes only those whose desired state differs.
-- NULL until a Commit writes the person: a row from before this migration
-- keeps its checksum (person.go sums the summary only when set) and is
-- decoded and summarized when read, until its next Commit.
ALTER TABLE people ADD COLUMN summary TEXT;
