-- The deactivation budgets' rolling window (Store.Revocations): one row per
-- commit that ended someone's access, with the budget it spent
-- (Commit.Revoked) and when it was applied (Commit.At, Unix nanoseconds),
-- written in the commit's transaction. ForgetEvents drops the rows older
-- than hrissync.RevocationRetention.
CREATE TABLE revocations (
	tenant TEXT    NOT NULL,
	budget TEXT    NOT NULL,
	at     INTEGER NOT NULL
);
CREATE INDEX revocations_at ON revocations (tenant, at);
-- The people with an active account, which Revocations counts: without it
-- the count reads every account's row.
CREATE INDEX people_active ON people (tenant) WHERE has_acct != 0 AND active != 0;
