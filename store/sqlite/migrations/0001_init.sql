-- One row per person: the applied record and its field versions packed as
-- JSON, so that a million people are a million rows.
CREATE TABLE people (
	tenant    TEXT    NOT NULL,
	id        TEXT    NOT NULL,
	has_acct  INTEGER NOT NULL DEFAULT 0,
	active    INTEGER NOT NULL DEFAULT 0,
	applied   TEXT    NOT NULL DEFAULT '{}',
	dirty_gen INTEGER NOT NULL DEFAULT 0,
	mark      TEXT,
	due       INTEGER, -- unix nanoseconds
	failure   TEXT,
	dead      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX people_dirty ON people (tenant, id) WHERE dirty_gen != 0;
CREATE INDEX people_due ON people (tenant, due) WHERE due IS NOT NULL;
CREATE INDEX people_accounts ON people (tenant, id) WHERE has_acct != 0;
CREATE INDEX people_dead ON people (tenant, id) WHERE dead != 0;

CREATE TABLE events (
	tenant TEXT    NOT NULL,
	id     TEXT    NOT NULL,
	forget INTEGER NOT NULL,
	PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX events_forget ON events (tenant, forget);

CREATE TABLE outbox (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant TEXT NOT NULL,
	id     TEXT NOT NULL,
	entry  TEXT NOT NULL,
	UNIQUE (tenant, id)
);
CREATE INDEX outbox_tenant ON outbox (tenant, seq);

CREATE TABLE cursors (
	tenant TEXT    NOT NULL,
	name   TEXT    NOT NULL,
	at     INTEGER NOT NULL,
	PRIMARY KEY (tenant, name)
) WITHOUT ROWID;

CREATE TABLE runs (
	tenant  TEXT    NOT NULL,
	id      TEXT    NOT NULL,
	started INTEGER NOT NULL,
	run     TEXT    NOT NULL,
	PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX runs_started ON runs (tenant, started);

-- The dirty-mark generation: one counter for the file, so marks of every
-- tenant are ordered.
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters VALUES ('generation', 0);
