-- The deactivation budgets' rolling window (Store.Revocations): one row per
-- commit that ended someone's access, with the budget it spent
-- (Commit.Revoked) and when it was applied (Commit.At, Unix nanoseconds),
-- written in the commit's transaction. ForgetEvents drops the rows older
-- than hrissync.RevocationRetention.
CREATE TABLE {{schema}}.revocations (
	tenant text   NOT NULL,
	budget text   NOT NULL,
	at     bigint NOT NULL
);
CREATE INDEX revocations_at ON {{schema}}.revocations (tenant, at);
-- The people with an active account, which Revocations counts: without it
-- the count reads every account's row.
CREATE INDEX people_active ON {{schema}}.people (tenant) WHERE has_acct AND active;
