-- A schema at version 3 (before event fingerprints), with data, as pg_dump --inserts
-- wrote it from the Store of that version (v3.go; the dump's comments, blank
-- lines and psql-only \restrict lines trimmed); the migration test loads it into a
-- fresh schema (v3dump is replaced) and opens it with this version.

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

CREATE SCHEMA v3dump;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE v3dump.audit_anchor (
    tenant text NOT NULL,
    seq bigint NOT NULL,
    hash text NOT NULL
);

CREATE TABLE v3dump.cursors (
    tenant text NOT NULL,
    name text NOT NULL,
    at bigint NOT NULL
);

CREATE TABLE v3dump.events (
    tenant text NOT NULL,
    id text NOT NULL,
    forget bigint NOT NULL
);

CREATE SEQUENCE v3dump.generation
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE v3dump.outbox (
    seq bigint NOT NULL,
    tenant text NOT NULL,
    id text NOT NULL,
    entry jsonb NOT NULL
);

CREATE SEQUENCE v3dump.outbox_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE v3dump.outbox_seq_seq OWNED BY v3dump.outbox.seq;

CREATE TABLE v3dump.people (
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

CREATE TABLE v3dump.revocations (
    tenant text NOT NULL,
    budget text NOT NULL,
    at bigint NOT NULL
);

CREATE TABLE v3dump.runs (
    tenant text NOT NULL,
    id text NOT NULL,
    started bigint NOT NULL,
    run jsonb NOT NULL
);

CREATE TABLE v3dump.schema_version (
    version integer NOT NULL
);

ALTER TABLE ONLY v3dump.outbox ALTER COLUMN seq SET DEFAULT nextval('v3dump.outbox_seq_seq'::regclass);

INSERT INTO v3dump.events VALUES ('acme', 'msg_1', 1796202000000000000);
INSERT INTO v3dump.events VALUES ('acme', 'msg_2', 1796720400000000000);
INSERT INTO v3dump.events VALUES ('beta', 'msg_1', 1796202000000000000);

INSERT INTO v3dump.people VALUES ('acme', 'w-1', false, false, '{}', 1, '{"Since": "2026-12-01T09:00:00Z", "Classes": 1, "EventID": "msg_1", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 0, "Time": "0001-01-01T00:00:00Z"}}', NULL, NULL, false);
INSERT INTO v3dump.people VALUES ('acme', 'w-2', false, false, '{}', 2, '{"Since": "2026-12-01T09:00:00Z", "Classes": 1, "EventID": "msg_2", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 0, "Time": "0001-01-01T00:00:00Z"}}', NULL, NULL, false);
INSERT INTO v3dump.people VALUES ('beta', 'b-1', false, false, '{}', 3, '{"Since": "2026-12-01T09:00:00Z", "Classes": 1, "EventID": "msg_1", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 0, "Time": "0001-01-01T00:00:00Z"}}', NULL, NULL, false);
INSERT INTO v3dump.people VALUES ('acme', 'w-3', true, false, '{"email":["w-3@acme.test",1796115600000000000,0]}', 0, NULL, NULL, NULL, false);

INSERT INTO v3dump.revocations VALUES ('acme', 'terminated', 1796115600000000000);

INSERT INTO v3dump.schema_version VALUES (1);
INSERT INTO v3dump.schema_version VALUES (2);
INSERT INTO v3dump.schema_version VALUES (3);

SELECT pg_catalog.setval('v3dump.generation', 3, true);

SELECT pg_catalog.setval('v3dump.outbox_seq_seq', 1, false);

ALTER TABLE ONLY v3dump.audit_anchor
    ADD CONSTRAINT audit_anchor_pkey PRIMARY KEY (tenant);

ALTER TABLE ONLY v3dump.cursors
    ADD CONSTRAINT cursors_pkey PRIMARY KEY (tenant, name);

ALTER TABLE ONLY v3dump.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (tenant, id);

ALTER TABLE ONLY v3dump.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (seq);

ALTER TABLE ONLY v3dump.outbox
    ADD CONSTRAINT outbox_tenant_id_key UNIQUE (tenant, id);

ALTER TABLE ONLY v3dump.people
    ADD CONSTRAINT people_pkey PRIMARY KEY (tenant, id);

ALTER TABLE ONLY v3dump.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (tenant, id);

CREATE INDEX events_forget ON v3dump.events USING btree (tenant, forget);

CREATE INDEX outbox_tenant ON v3dump.outbox USING btree (tenant, seq);

CREATE INDEX people_accounts ON v3dump.people USING btree (tenant, id) WHERE has_acct;

CREATE INDEX people_active ON v3dump.people USING btree (tenant) WHERE (has_acct AND active);

CREATE INDEX people_dead ON v3dump.people USING btree (tenant, id) WHERE dead;

CREATE INDEX people_dirty ON v3dump.people USING btree (tenant, id) WHERE (dirty_gen <> 0);

CREATE INDEX people_due ON v3dump.people USING btree (tenant, due) WHERE (due IS NOT NULL);

CREATE INDEX revocations_at ON v3dump.revocations USING btree (tenant, at);

CREATE INDEX runs_started ON v3dump.runs USING btree (tenant, started);

