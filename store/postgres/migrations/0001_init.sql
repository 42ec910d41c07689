-- hrissync's tables, in the schema the host chose ({{schema}} is replaced by
-- its quoted name). One row per person: the applied record and its field
-- versions packed as JSON. Times are Unix nanoseconds, as in the SQLite store.
CREATE TABLE {{schema}}.people (
	tenant    text    NOT NULL,
	id        text    NOT NULL,
	has_acct  boolean NOT NULL DEFAULT false,
	active    boolean NOT NULL DEFAULT false,
	applied   text    NOT NULL DEFAULT '{}',
	dirty_gen bigint  NOT NULL DEFAULT 0,
	mark      jsonb,
	due       bigint,
	failure   jsonb,
	dead      boolean NOT NULL DEFAULT false,
	PRIMARY KEY (tenant, id)
);
CREATE INDEX people_dirty ON {{schema}}.people (tenant, id) WHERE dirty_gen <> 0;
CREATE INDEX people_due ON {{schema}}.people (tenant, due) WHERE due IS NOT NULL;
CREATE INDEX people_accounts ON {{schema}}.people (tenant, id) WHERE has_acct;
CREATE INDEX people_dead ON {{schema}}.people (tenant, id) WHERE dead;

CREATE TABLE {{schema}}.events (
	tenant text   NOT NULL,
	id     text   NOT NULL,
	forget bigint NOT NULL,
	PRIMARY KEY (tenant, id)
);
CREATE INDEX events_forget ON {{schema}}.events (tenant, forget);

CREATE TABLE {{schema}}.outbox (
	seq    bigserial PRIMARY KEY,
	tenant text  NOT NULL,
	id     text  NOT NULL,
	entry  jsonb NOT NULL,
	UNIQUE (tenant, id)
);
CREATE INDEX outbox_tenant ON {{schema}}.outbox (tenant, seq);

CREATE TABLE {{schema}}.cursors (
	tenant text   NOT NULL,
	name   text   NOT NULL,
	at     bigint NOT NULL,
	PRIMARY KEY (tenant, name)
);

CREATE TABLE {{schema}}.runs (
	tenant  text   NOT NULL,
	id      text   NOT NULL,
	started bigint NOT NULL,
	run     jsonb  NOT NULL,
	PRIMARY KEY (tenant, id)
);
CREATE INDEX runs_started ON {{schema}}.runs (tenant, started);

-- The dirty-mark generation: one sequence for the schema, so that marks
-- made by every replica are ordered.
CREATE SEQUENCE {{schema}}.generation;
