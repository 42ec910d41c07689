-- A schema at version 2 (before the revocations), with data, as pg_dump --inserts
-- wrote it from the Store of that version (v2.go; the dump's comments, blank
-- lines and psql-only \restrict lines trimmed); the migration test loads it into a
-- fresh schema (v2dump is replaced) and opens it with this version.

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

CREATE SCHEMA v2dump;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE v2dump.audit_anchor (
    tenant text NOT NULL,
    seq bigint NOT NULL,
    hash text NOT NULL
);

CREATE TABLE v2dump.cursors (
    tenant text NOT NULL,
    name text NOT NULL,
    at bigint NOT NULL
);

CREATE TABLE v2dump.events (
    tenant text NOT NULL,
    id text NOT NULL,
    forget bigint NOT NULL
);

CREATE SEQUENCE v2dump.generation
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE v2dump.outbox (
    seq bigint NOT NULL,
    tenant text NOT NULL,
    id text NOT NULL,
    entry jsonb NOT NULL
);

CREATE SEQUENCE v2dump.outbox_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE v2dump.outbox_seq_seq OWNED BY v2dump.outbox.seq;

CREATE TABLE v2dump.people (
    tenant text NOT NULL,
    id text NOT NULL,
    has_acct boolean DEFAULT false NOT NULL,
    active boolean DEFAULT false NOT NULL,
    applied text DEFAULT '{}'::text NOT NULL,
    dirty_gen bigint DEFAULT 0 NOT NULL,
    mark jsonb,
    due bigint,
    failure jsonb,
    dead boolean DEFAULT false NOT NULL
);

CREATE TABLE v2dump.runs (
    tenant text NOT NULL,
    id text NOT NULL,
    started bigint NOT NULL,
    run jsonb NOT NULL
);

CREATE TABLE v2dump.schema_version (
    version integer NOT NULL
);

ALTER TABLE ONLY v2dump.outbox ALTER COLUMN seq SET DEFAULT nextval('v2dump.outbox_seq_seq'::regclass);

INSERT INTO v2dump.audit_anchor VALUES ('acme', 1, 'h1');

INSERT INTO v2dump.cursors VALUES ('acme', 'poll', 1793610000000000000);

INSERT INTO v2dump.events VALUES ('acme', 'evt-1', 1793696400000000000);

INSERT INTO v2dump.outbox VALUES (1, 'acme', 'entry-1', '{"id": "entry-1", "action": "create", "tenant": "acme", "applied": "2026-11-02T09:00:00Z", "outcome": "applied", "trigger": "", "employeeId": "w-1", "sourceChanged": "0001-01-01T00:00:00Z"}');

INSERT INTO v2dump.people VALUES ('acme', 'w-1', true, true, '{"email":["w-1@acme.test",1793610001000000000,1],"role":["Engineer",1793610002000000000,2]}', 0, NULL, 1793782800000000000, NULL, false);
INSERT INTO v2dump.people VALUES ('acme', 'w-2', true, true, '{"email":["w-2@acme.test",1793610003000000000,3]}', 0, NULL, NULL, NULL, false);
INSERT INTO v2dump.people VALUES ('acme', 'w-3', true, false, '{"email":["w-3@acme.test",1793610004000000000,4]}', 0, NULL, NULL, NULL, false);
INSERT INTO v2dump.people VALUES ('acme', 'w-4', false, false, '{}', 1, '{"Since": "2026-11-02T09:00:00Z", "Classes": 1, "EventID": "evt-1", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 5, "Time": "2026-11-02T09:00:05Z"}}', NULL, NULL, false);
INSERT INTO v2dump.people VALUES ('acme', 'w-5', false, false, '{}', 2, '{"Since": "2026-11-02T09:00:00Z", "Classes": 1, "EventID": "", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 0, "Time": "0001-01-01T00:00:00Z"}}', NULL, '{"At": "2026-11-02T09:00:00Z", "Err": "503", "Dead": true, "Attempts": 4}', true);
INSERT INTO v2dump.people VALUES ('acme', 'w-6', true, true, '{"email":["w-6@acme.test",1793610006000000000,6]}', 3, '{"Since": "2026-11-02T09:00:00Z", "Unsure": true, "Classes": 1, "EventID": "", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 0, "Time": "0001-01-01T00:00:00Z"}}', NULL, NULL, false);
INSERT INTO v2dump.people VALUES ('beta', 'b-1', true, true, '{"email":["b-1@beta.test",1793610007000000000,7]}', 0, NULL, NULL, NULL, false);
INSERT INTO v2dump.people VALUES ('beta', 'b-2', true, false, '{"email":["b-2@beta.test",1793610008000000000,8]}', 0, NULL, NULL, NULL, false);

INSERT INTO v2dump.runs VALUES ('acme', 'run-1', 1793610000000000000, '{"ID": "run-1", "Err": "", "Seen": 6, "Status": "succeeded", "Writes": 4, "Attempt": 1, "Leavers": null, "Started": "2026-11-02T09:00:00Z", "Finished": "2026-11-02T09:01:00Z", "Checkpoint": "w-6"}');

INSERT INTO v2dump.schema_version VALUES (1);
INSERT INTO v2dump.schema_version VALUES (2);

SELECT pg_catalog.setval('v2dump.generation', 3, true);

SELECT pg_catalog.setval('v2dump.outbox_seq_seq', 2, true);

ALTER TABLE ONLY v2dump.audit_anchor
    ADD CONSTRAINT audit_anchor_pkey PRIMARY KEY (tenant);

ALTER TABLE ONLY v2dump.cursors
    ADD CONSTRAINT cursors_pkey PRIMARY KEY (tenant, name);

ALTER TABLE ONLY v2dump.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (tenant, id);

ALTER TABLE ONLY v2dump.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (seq);

ALTER TABLE ONLY v2dump.outbox
    ADD CONSTRAINT outbox_tenant_id_key UNIQUE (tenant, id);

ALTER TABLE ONLY v2dump.people
    ADD CONSTRAINT people_pkey PRIMARY KEY (tenant, id);

ALTER TABLE ONLY v2dump.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (tenant, id);

CREATE INDEX events_forget ON v2dump.events USING btree (tenant, forget);

CREATE INDEX outbox_tenant ON v2dump.outbox USING btree (tenant, seq);

CREATE INDEX people_accounts ON v2dump.people USING btree (tenant, id) WHERE has_acct;

CREATE INDEX people_dead ON v2dump.people USING btree (tenant, id) WHERE dead;

CREATE INDEX people_dirty ON v2dump.people USING btree (tenant, id) WHERE (dirty_gen <> 0);

CREATE INDEX people_due ON v2dump.people USING btree (tenant, due) WHERE (due IS NOT NULL);

CREATE INDEX runs_started ON v2dump.runs USING btree (tenant, started);
