-- The audit anchor: per tenant, the end of the audit chain (sequence and
-- hash) as last acknowledged, raised in the transaction that removes the
-- acknowledged entries from the outbox (docs/design.md §6.5).
CREATE TABLE {{schema}}.audit_anchor (
	tenant text   NOT NULL PRIMARY KEY,
	seq    bigint NOT NULL,
	hash   text   NOT NULL
);
