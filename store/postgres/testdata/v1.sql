-- A schema at version 1 (before the audit anchor), with data, as pg_dump --inserts
-- wrote it from the Store of that version; the migration test loads it into a
-- fresh schema (v1dump is replaced) and opens it with this version.

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

CREATE SCHEMA v1dump;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE v1dump.cursors (
    tenant text NOT NULL,
    name text NOT NULL,
    at bigint NOT NULL
);

CREATE TABLE v1dump.events (
    tenant text NOT NULL,
    id text NOT NULL,
    forget bigint NOT NULL
);

CREATE SEQUENCE v1dump.generation
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE v1dump.outbox (
    seq bigint NOT NULL,
    tenant text NOT NULL,
    id text NOT NULL,
    entry jsonb NOT NULL
);

CREATE SEQUENCE v1dump.outbox_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE v1dump.outbox_seq_seq OWNED BY v1dump.outbox.seq;

CREATE TABLE v1dump.people (
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

CREATE TABLE v1dump.runs (
    tenant text NOT NULL,
    id text NOT NULL,
    started bigint NOT NULL,
    run jsonb NOT NULL
);

CREATE TABLE v1dump.schema_version (
    version integer NOT NULL
);

ALTER TABLE ONLY v1dump.outbox ALTER COLUMN seq SET DEFAULT nextval('v1dump.outbox_seq_seq'::regclass);

INSERT INTO v1dump.cursors VALUES ('acme', 'poll', 1793523600000000000);

INSERT INTO v1dump.events VALUES ('acme', 'evt-1', 1794128400000000000);

INSERT INTO v1dump.outbox VALUES (1, 'acme', 'entry-1', '{"id": "entry-1", "action": "create", "tenant": "acme", "applied": "2026-11-01T09:00:00Z", "outcome": "", "trigger": "", "employeeId": "w-2", "sourceChanged": "0001-01-01T00:00:00Z"}');

INSERT INTO v1dump.people VALUES ('acme', 'w-1', false, false, '{}', 1, '{"Since": "2026-11-01T09:00:00Z", "Classes": 1, "EventID": "evt-1", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 7, "Time": "2026-11-01T09:00:00Z"}}', NULL, NULL, false);
INSERT INTO v1dump.people VALUES ('acme', 'w-2', true, true, '{"email":["w-2@example.com",1793523600000000000,7],"role":["Engineer",1793523600000000000,7]}', 0, NULL, 1793696400000000000, NULL, false);

INSERT INTO v1dump.runs VALUES ('acme', 'run-1', 1793523600000000000, '{"ID": "run-1", "Err": "", "Seen": 2, "Status": "succeeded", "Writes": 1, "Attempt": 1, "Leavers": null, "Started": "2026-11-01T09:00:00Z", "Finished": "2026-11-01T09:01:00Z", "Checkpoint": ""}');

INSERT INTO v1dump.schema_version VALUES (1);

SELECT pg_catalog.setval('v1dump.generation', 1, true);

SELECT pg_catalog.setval('v1dump.outbox_seq_seq', 1, true);

ALTER TABLE ONLY v1dump.cursors
    ADD CONSTRAINT cursors_pkey PRIMARY KEY (tenant, name);

ALTER TABLE ONLY v1dump.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (tenant, id);

ALTER TABLE ONLY v1dump.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (seq);

ALTER TABLE ONLY v1dump.outbox
    ADD CONSTRAINT outbox_tenant_id_key UNIQUE (tenant, id);

ALTER TABLE ONLY v1dump.people
    ADD CONSTRAINT people_pkey PRIMARY KEY (tenant, id);

ALTER TABLE ONLY v1dump.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (tenant, id);

CREATE INDEX events_forget ON v1dump.events USING btree (tenant, forget);

CREATE INDEX outbox_tenant ON v1dump.outbox USING btree (tenant, seq);

CREATE INDEX people_accounts ON v1dump.people USING btree (tenant, id) WHERE has_acct;

CREATE INDEX people_dead ON v1dump.people USING btree (tenant, id) WHERE dead;

CREATE INDEX people_dirty ON v1dump.people USING btree (tenant, id) WHERE (dirty_gen <> 0);

CREATE INDEX people_due ON v1dump.people USING btree (tenant, due) WHERE (due IS NOT NULL);

CREATE INDEX runs_started ON v1dump.runs USING btree (tenant, started);

