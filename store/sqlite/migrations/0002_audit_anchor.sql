-- The audit anchor: per tenant, the end of the audit chain (sequence and
-- hash) as last acknowledged, raised in the transaction that removes the
-- acknowledged entries from the outbox (docs/design.md §6.5). A tenant with
-- no row has no anchor yet.
CREATE TABLE audit_anchor (
	tenant TEXT    NOT NULL PRIMARY KEY,
	seq    INTEGER NOT NULL,
	hash   TEXT    NOT NULL
) WITHOUT ROWID;
