-- A schema at version 5 (before people's checksums), with data, as pg_dump --inserts
-- wrote it from the Store of that version (v5.go; the dump's comments, blank
-- lines and psql-only \restrict lines trimmed); the migration test loads it into a
-- fresh schema (v5dump is replaced) and opens it with this version.

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

CREATE SCHEMA v5dump;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE v5dump.audit_anchor (
    tenant text NOT NULL,
    seq bigint NOT NULL,
    hash text NOT NULL
);

CREATE TABLE v5dump.cursors (
    tenant text NOT NULL,
    name text NOT NULL,
    at bigint NOT NULL
);

CREATE TABLE v5dump.events (
    tenant text NOT NULL,
    id text NOT NULL,
    forget bigint NOT NULL,
    fingerprint text DEFAULT ''::text NOT NULL
);

CREATE SEQUENCE v5dump.generation
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE v5dump.outbox (
    seq bigint NOT NULL,
    tenant text NOT NULL,
    id text NOT NULL,
    entry jsonb NOT NULL
);

CREATE SEQUENCE v5dump.outbox_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE v5dump.outbox_seq_seq OWNED BY v5dump.outbox.seq;

CREATE TABLE v5dump.people (
    tenant text NOT NULL,
    id text NOT NULL,
    has_acct boolean DEFAULT false NOT NULL,
    active boolean DEFAULT false NOT NULL,
    applied text DEFAULT '{}'::text NOT NULL,
    dirty_gen bigint DEFAULT 0 NOT NULL,
    mark jsonb,
    due bigint,
    failure jsonb,
    dead boolean DEFAULT false NOT NULL,
    listed_run text,
    listed_digest text
);

CREATE TABLE v5dump.revocations (
    tenant text NOT NULL,
    budget text NOT NULL,
    at bigint NOT NULL
);

CREATE TABLE v5dump.runs (
    tenant text NOT NULL,
    id text NOT NULL,
    started bigint NOT NULL,
    run jsonb NOT NULL
);

CREATE TABLE v5dump.schema_version (
    version integer NOT NULL
);

ALTER TABLE ONLY v5dump.outbox ALTER COLUMN seq SET DEFAULT nextval('v5dump.outbox_seq_seq'::regclass);

INSERT INTO v5dump.events VALUES ('acme', 'e-1', 1796288400000000000, '');

INSERT INTO v5dump.outbox VALUES (1, 'acme', 'a-1', '{"id": "a-1", "action": "deactivate", "tenant": "acme", "applied": "2026-12-02T09:00:00Z", "outcome": "applied", "trigger": "batch", "employeeId": "w-5", "sourceChanged": "0001-01-01T00:00:00Z"}');

INSERT INTO v5dump.people VALUES ('acme', 'w-2', false, false, '{}', 1, '{"Since": "2026-12-02T09:00:00Z", "Classes": 1, "EventID": "e-1", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 3, "Time": "2026-12-02T09:00:03Z"}}', NULL, NULL, false, NULL, NULL);
INSERT INTO v5dump.people VALUES ('acme', 'w-4', false, false, '{}', 3, '{"Since": "2026-12-02T09:00:00Z", "Unsure": true, "Classes": 1, "EventID": "", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 0, "Time": "0001-01-01T00:00:00Z"}}', NULL, NULL, false, NULL, NULL);
INSERT INTO v5dump.people VALUES ('acme', 'w-5', true, false, '{"@active":["false",1796202005000000000,5]}', 0, NULL, NULL, NULL, false, NULL, NULL);
INSERT INTO v5dump.people VALUES ('beta', 'b-1', true, true, '{"email":["b-1@beta.test",1796202006000000000,6]}', 0, NULL, NULL, NULL, false, NULL, NULL);
INSERT INTO v5dump.people VALUES ('acme', 'n-1', false, false, '{}', 0, NULL, NULL, NULL, false, 'r1', 'dn');
INSERT INTO v5dump.people VALUES ('acme', 'w-1', true, true, '{"email":["w-1@acme.test",1796202001000000000,1],"role":["dev",1796202002000000000,2]}', 0, NULL, 1796461200000000000, NULL, false, 'r1', 'd1');
INSERT INTO v5dump.people VALUES ('acme', 'w-3', true, true, '{"email":["w-3@acme.test",1796202004000000000,4]}', 2, '{"Since": "2026-12-02T09:00:00Z", "Classes": 1, "EventID": "", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 0, "Time": "0001-01-01T00:00:00Z"}}', NULL, '{"At": "2026-12-02T09:00:00Z", "Err": "503", "Dead": true, "Attempts": 4}', true, 'r1', 'd3');

INSERT INTO v5dump.revocations VALUES ('acme', 'terminated', 1796202000000000000);

INSERT INTO v5dump.schema_version VALUES (1);
INSERT INTO v5dump.schema_version VALUES (2);
INSERT INTO v5dump.schema_version VALUES (3);
INSERT INTO v5dump.schema_version VALUES (4);
INSERT INTO v5dump.schema_version VALUES (5);

SELECT pg_catalog.setval('v5dump.generation', 3, true);

SELECT pg_catalog.setval('v5dump.outbox_seq_seq', 1, true);

ALTER TABLE ONLY v5dump.audit_anchor
    ADD CONSTRAINT audit_anchor_pkey PRIMARY KEY (tenant);

ALTER TABLE ONLY v5dump.cursors
    ADD CONSTRAINT cursors_pkey PRIMARY KEY (tenant, name);

ALTER TABLE ONLY v5dump.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (tenant, id);

ALTER TABLE ONLY v5dump.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (seq);

ALTER TABLE ONLY v5dump.outbox
    ADD CONSTRAINT outbox_tenant_id_key UNIQUE (tenant, id);

ALTER TABLE ONLY v5dump.people
    ADD CONSTRAINT people_pkey PRIMARY KEY (tenant, id);

ALTER TABLE ONLY v5dump.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (tenant, id);

CREATE INDEX events_forget ON v5dump.events USING btree (tenant, forget);

CREATE INDEX outbox_tenant ON v5dump.outbox USING btree (tenant, seq);

CREATE INDEX people_accounts ON v5dump.people USING btree (tenant, id) WHERE has_acct;

CREATE INDEX people_active ON v5dump.people USING btree (tenant) WHERE (has_acct AND active);

CREATE INDEX people_dead ON v5dump.people USING btree (tenant, id) WHERE dead;

CREATE INDEX people_dirty ON v5dump.people USING btree (tenant, id) WHERE (dirty_gen <> 0);

CREATE INDEX people_due ON v5dump.people USING btree (tenant, due) WHERE (due IS NOT NULL);

CREATE INDEX revocations_at ON v5dump.revocations USING btree (tenant, at);

CREATE INDEX runs_started ON v5dump.runs USING btree (tenant, started);

