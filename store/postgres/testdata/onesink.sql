-- A schema an engine of ONE sink wrote before several sinks (issue 25), with data, as
-- pg_dump --inserts wrote it (store/sqlite/testdata/onesink.go -postgres, run at 993986c;
-- the dump's comments, blank lines and psql-only \restrict lines trimmed); it holds the
-- run store/sqlite/testdata/onesink.json describes. TestMigrationFromOneSink loads it
-- into a fresh schema (onesinkdump is replaced) and opens it with this version.

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
CREATE SCHEMA onesinkdump;
SET default_tablespace = '';
SET default_table_access_method = heap;
CREATE TABLE onesinkdump.audit_anchor (
    tenant text NOT NULL,
    seq bigint NOT NULL,
    hash text NOT NULL
);
CREATE TABLE onesinkdump.cursors (
    tenant text NOT NULL,
    name text NOT NULL,
    at bigint NOT NULL
);
CREATE TABLE onesinkdump.events (
    tenant text NOT NULL,
    id text NOT NULL,
    forget bigint NOT NULL,
    fingerprint text DEFAULT ''::text NOT NULL
);
CREATE SEQUENCE onesinkdump.generation
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
CREATE TABLE onesinkdump.outbox (
    seq bigint NOT NULL,
    tenant text NOT NULL,
    id text NOT NULL,
    entry jsonb NOT NULL
);
CREATE SEQUENCE onesinkdump.outbox_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE onesinkdump.outbox_seq_seq OWNED BY onesinkdump.outbox.seq;
CREATE TABLE onesinkdump.people (
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
CREATE TABLE onesinkdump.revocations (
    tenant text NOT NULL,
    budget text NOT NULL,
    at bigint NOT NULL
);
CREATE TABLE onesinkdump.runs (
    tenant text NOT NULL,
    id text NOT NULL,
    started bigint NOT NULL,
    run jsonb NOT NULL
);
CREATE TABLE onesinkdump.schema_version (
    version integer NOT NULL
);
ALTER TABLE ONLY onesinkdump.outbox ALTER COLUMN seq SET DEFAULT nextval('onesinkdump.outbox_seq_seq'::regclass);
INSERT INTO onesinkdump.events VALUES ('default', 'evt-21', 1773043800000000000, '4d5b23e977b1b07c2a333ad2d50dd06a');
INSERT INTO onesinkdump.events VALUES ('default', 'evt-22', 1773043800000000000, '6d9c7c00ca69d7bca8f297f9b519f081');
INSERT INTO onesinkdump.people VALUES ('default', 'w-00', true, true, '{"@active":["true",1772438400000000000,1],"department":["dept-0",1772438400000000000,1],"email":["w-00@example.com",1772438400000000000,1],"employeeNumber":["",1772438400000000000,1],"familyName":["",1772438400000000000,1],"givenName":["",1772438400000000000,1],"location":["",1772438400000000000,1],"managerId":["",1772438400000000000,1],"role":["dev",1772438400000000000,1],"startDate":["2020-01-06",1772438400000000000,1],"status":["active",1772438400000000000,1],"terminationDate":["",1772438400000000000,1]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '7da028e458484603fe2c89a0c67ad753');
INSERT INTO onesinkdump.people VALUES ('default', 'w-12', true, true, '{"@active":["true",1772438400000000000,13],"department":["dept-0",1772438400000000000,13],"email":["w-12@example.com",1772438400000000000,13],"employeeNumber":["",1772438400000000000,13],"familyName":["",1772438400000000000,13],"givenName":["",1772438400000000000,13],"location":["",1772438400000000000,13],"managerId":["",1772438400000000000,13],"role":["dev",1772438400000000000,13],"startDate":["2020-01-06",1772438400000000000,13],"status":["active",1772438400000000000,13],"terminationDate":["",1772438400000000000,13]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '24f879bcca9feecea84fa7a517c52b14');
INSERT INTO onesinkdump.people VALUES ('default', 'w-01', true, true, '{"@active":["true",1772438400000000000,2],"department":["dept-1",1772438400000000000,2],"email":["w-01@example.com",1772438400000000000,2],"employeeNumber":["",1772438400000000000,2],"familyName":["",1772438400000000000,2],"givenName":["",1772438400000000000,2],"location":["",1772438400000000000,2],"managerId":["",1772438400000000000,2],"role":["dev",1772438400000000000,2],"startDate":["2020-01-06",1772438400000000000,2],"status":["active",1772438400000000000,2],"terminationDate":["",1772438400000000000,2]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '417a36a6a9e649c4dcaa66729609e995');
INSERT INTO onesinkdump.people VALUES ('default', 'w-02', true, true, '{"@active":["true",1772438400000000000,3],"department":["dept-2",1772438400000000000,3],"email":["w-02@example.com",1772438400000000000,3],"employeeNumber":["",1772438400000000000,3],"familyName":["",1772438400000000000,3],"givenName":["",1772438400000000000,3],"location":["",1772438400000000000,3],"managerId":["",1772438400000000000,3],"role":["dev",1772438400000000000,3],"startDate":["2020-01-06",1772438400000000000,3],"status":["active",1772438400000000000,3],"terminationDate":["",1772438400000000000,3]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '0f45dd559f5cddaef28c356ae7600560');
INSERT INTO onesinkdump.people VALUES ('default', 'w-03', true, true, '{"@active":["true",1772438400000000000,4],"department":["dept-0",1772438400000000000,4],"email":["w-03@example.com",1772438400000000000,4],"employeeNumber":["",1772438400000000000,4],"familyName":["",1772438400000000000,4],"givenName":["",1772438400000000000,4],"location":["",1772438400000000000,4],"managerId":["",1772438400000000000,4],"role":["dev",1772438400000000000,4],"startDate":["2020-01-06",1772438400000000000,4],"status":["active",1772438400000000000,4],"terminationDate":["",1772438400000000000,4]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '150fd394e8efb11d22e02e6c65a13155');
INSERT INTO onesinkdump.people VALUES ('default', 'w-04', true, true, '{"@active":["true",1772438400000000000,5],"department":["dept-1",1772438400000000000,5],"email":["w-04@example.com",1772438400000000000,5],"employeeNumber":["",1772438400000000000,5],"familyName":["",1772438400000000000,5],"givenName":["",1772438400000000000,5],"location":["",1772438400000000000,5],"managerId":["",1772438400000000000,5],"role":["dev",1772438400000000000,5],"startDate":["2020-01-06",1772438400000000000,5],"status":["active",1772438400000000000,5],"terminationDate":["",1772438400000000000,5]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '38db586063e406bbac1f65e9bf66d99b');
INSERT INTO onesinkdump.people VALUES ('default', 'w-06', true, true, '{"@active":["true",1772438400000000000,7],"department":["dept-0",1772438400000000000,7],"email":["w-06@example.com",1772438400000000000,7],"employeeNumber":["",1772438400000000000,7],"familyName":["",1772438400000000000,7],"givenName":["",1772438400000000000,7],"location":["",1772438400000000000,7],"managerId":["",1772438400000000000,7],"role":["dev",1772438400000000000,7],"startDate":["2020-01-06",1772438400000000000,7],"status":["active",1772438400000000000,7],"terminationDate":["",1772438400000000000,7]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '2f204228a31514f7d24a2dedd6ab098a');
INSERT INTO onesinkdump.people VALUES ('default', 'w-08', true, true, '{"@active":["true",1772438400000000000,9],"department":["dept-2",1772438400000000000,9],"email":["w-08@example.com",1772438400000000000,9],"employeeNumber":["",1772438400000000000,9],"familyName":["",1772438400000000000,9],"givenName":["",1772438400000000000,9],"location":["",1772438400000000000,9],"managerId":["",1772438400000000000,9],"role":["dev",1772438400000000000,9],"startDate":["2020-01-06",1772438400000000000,9],"status":["active",1772438400000000000,9],"terminationDate":["",1772438400000000000,9]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '2d36962cda09b139750caea7a6289b73');
INSERT INTO onesinkdump.people VALUES ('default', 'w-09', true, true, '{"@active":["true",1772438400000000000,10],"department":["dept-0",1772438400000000000,10],"email":["w-09@example.com",1772438400000000000,10],"employeeNumber":["",1772438400000000000,10],"familyName":["",1772438400000000000,10],"givenName":["",1772438400000000000,10],"location":["",1772438400000000000,10],"managerId":["",1772438400000000000,10],"role":["dev",1772438400000000000,10],"startDate":["2020-01-06",1772438400000000000,10],"status":["active",1772438400000000000,10],"terminationDate":["",1772438400000000000,10]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', 'd9d6453288d80e471db4578489f5f9d1');
INSERT INTO onesinkdump.people VALUES ('default', 'w-10', true, true, '{"@active":["true",1772438400000000000,11],"department":["dept-1",1772438400000000000,11],"email":["w-10@example.com",1772438400000000000,11],"employeeNumber":["",1772438400000000000,11],"familyName":["",1772438400000000000,11],"givenName":["",1772438400000000000,11],"location":["",1772438400000000000,11],"managerId":["",1772438400000000000,11],"role":["dev",1772438400000000000,11],"startDate":["2020-01-06",1772438400000000000,11],"status":["active",1772438400000000000,11],"terminationDate":["",1772438400000000000,11]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '66da60de0461211ed0b94199f7bbf7d2');
INSERT INTO onesinkdump.people VALUES ('default', 'w-11', true, true, '{"@active":["true",1772438400000000000,12],"department":["dept-2",1772438400000000000,12],"email":["w-11@example.com",1772438400000000000,12],"employeeNumber":["",1772438400000000000,12],"familyName":["",1772438400000000000,12],"givenName":["",1772438400000000000,12],"location":["",1772438400000000000,12],"managerId":["",1772438400000000000,12],"role":["dev",1772438400000000000,12],"startDate":["2020-01-06",1772438400000000000,12],"status":["active",1772438400000000000,12],"terminationDate":["",1772438400000000000,12]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '5e8c1922f54c0f27664b21f49e357424');
INSERT INTO onesinkdump.people VALUES ('default', 'w-13', true, true, '{"@active":["true",1772438400000000000,14],"department":["dept-1",1772438400000000000,14],"email":["w-13@example.com",1772438400000000000,14],"employeeNumber":["",1772438400000000000,14],"familyName":["",1772438400000000000,14],"givenName":["",1772438400000000000,14],"location":["",1772438400000000000,14],"managerId":["",1772438400000000000,14],"role":["dev",1772438400000000000,14],"startDate":["2020-01-06",1772438400000000000,14],"status":["active",1772438400000000000,14],"terminationDate":["",1772438400000000000,14]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '4131a8619fd1fad9cf5eeb49b05f10ae');
INSERT INTO onesinkdump.people VALUES ('default', 'w-14', true, true, '{"@active":["true",1772438400000000000,15],"department":["dept-2",1772438400000000000,15],"email":["w-14@example.com",1772438400000000000,15],"employeeNumber":["",1772438400000000000,15],"familyName":["",1772438400000000000,15],"givenName":["",1772438400000000000,15],"location":["",1772438400000000000,15],"managerId":["",1772438400000000000,15],"role":["dev",1772438400000000000,15],"startDate":["2020-01-06",1772438400000000000,15],"status":["active",1772438400000000000,15],"terminationDate":["",1772438400000000000,15]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', 'fe4db92054b6669200507ecbc50cd5f6');
INSERT INTO onesinkdump.people VALUES ('default', 'w-15', true, true, '{"@active":["true",1772438400000000000,16],"department":["dept-0",1772438400000000000,16],"email":["w-15@example.com",1772438400000000000,16],"employeeNumber":["",1772438400000000000,16],"familyName":["",1772438400000000000,16],"givenName":["",1772438400000000000,16],"location":["",1772438400000000000,16],"managerId":["",1772438400000000000,16],"role":["dev",1772438400000000000,16],"startDate":["2020-01-06",1772438400000000000,16],"status":["active",1772438400000000000,16],"terminationDate":["",1772438400000000000,16]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '13d30cd47ded6d32e5127f00d98589a7');
INSERT INTO onesinkdump.people VALUES ('default', 'w-16', true, true, '{"@active":["true",1772438400000000000,17],"department":["dept-1",1772438400000000000,17],"email":["w-16@example.com",1772438400000000000,17],"employeeNumber":["",1772438400000000000,17],"familyName":["",1772438400000000000,17],"givenName":["",1772438400000000000,17],"location":["",1772438400000000000,17],"managerId":["",1772438400000000000,17],"role":["dev",1772438400000000000,17],"startDate":["2020-01-06",1772438400000000000,17],"status":["active",1772438400000000000,17],"terminationDate":["",1772438400000000000,17]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', 'e74c10492f0ae4410e4617f2d700a758');
INSERT INTO onesinkdump.people VALUES ('default', 'w-17', true, true, '{"@active":["true",1772438400000000000,18],"department":["dept-2",1772438400000000000,18],"email":["w-17@example.com",1772438400000000000,18],"employeeNumber":["",1772438400000000000,18],"familyName":["",1772438400000000000,18],"givenName":["",1772438400000000000,18],"location":["",1772438400000000000,18],"managerId":["",1772438400000000000,18],"role":["dev",1772438400000000000,18],"startDate":["2020-01-06",1772438400000000000,18],"status":["active",1772438400000000000,18],"terminationDate":["",1772438400000000000,18]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', 'b6c331d179394acb424f2f0f9e619bb8');
INSERT INTO onesinkdump.people VALUES ('default', 'w-18', true, true, '{"@active":["true",1772438400000000000,19],"department":["dept-0",1772438400000000000,19],"email":["w-18@example.com",1772438400000000000,19],"employeeNumber":["",1772438400000000000,19],"familyName":["",1772438400000000000,19],"givenName":["",1772438400000000000,19],"location":["",1772438400000000000,19],"managerId":["",1772438400000000000,19],"role":["dev",1772438400000000000,19],"startDate":["2020-01-06",1772438400000000000,19],"status":["active",1772438400000000000,19],"terminationDate":["",1772438400000000000,19]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '5edaf9b8fcfb17de374db66ad91bdb71');
INSERT INTO onesinkdump.people VALUES ('default', 'w-19', false, false, '{}', 21, '{"Since": "2026-03-02T08:00:00Z", "Classes": 3, "EventID": "", "Trigger": "batch", "Generation": 0, "MinVersion": {"Seq": 0, "Time": "0001-01-01T00:00:00Z"}}', NULL, '{"At": "2026-03-02T08:00:00Z", "Err": "hrissync: email of w-19 is held by the account of w-18", "Dead": true, "Attempts": 1}', true, 'batch-20260302T080000Z-4de698/1', 'b0e3f5bf39c48b139bb1d9d757590f64');
INSERT INTO onesinkdump.people VALUES ('default', 'w-05', true, false, '{"@active":["false",1772439000000000000,21],"department":["dept-2",1772439000000000000,21],"email":["w-05@example.com",1772439000000000000,21],"employeeNumber":["",1772439000000000000,21],"familyName":["",1772439000000000000,21],"givenName":["",1772439000000000000,21],"location":["",1772439000000000000,21],"managerId":["",1772439000000000000,21],"role":["dev",1772439000000000000,21],"startDate":["2020-01-06",1772439000000000000,21],"status":["terminated",1772439000000000000,21],"terminationDate":["2026-03-02",1772439000000000000,21]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', '1c040b17abb1531a8a55edcb65e59367');
INSERT INTO onesinkdump.people VALUES ('default', 'w-07', true, true, '{"@active":["true",1772439000000000000,22],"department":["dept-1",1772438400000000000,8],"email":["w-07@example.com",1772439000000000000,22],"employeeNumber":["",1772438400000000000,8],"familyName":["",1772438400000000000,8],"givenName":["",1772438400000000000,8],"location":["",1772438400000000000,8],"managerId":["",1772439000000000000,22],"role":["dev",1772439000000000000,22],"startDate":["2020-01-06",1772438400000000000,8],"status":["active",1772439000000000000,22],"terminationDate":["",1772439000000000000,22]}', 0, NULL, NULL, NULL, false, 'batch-20260302T080000Z-4de698/1', 'c6cf7ae9929727b0fc163c57b27e88a5');
INSERT INTO onesinkdump.revocations VALUES ('default', 'terminated', 1772439000000000000);
INSERT INTO onesinkdump.runs VALUES ('default', 'batch-20260302T080000Z-4de698', 1772438400000000000, '{"ID": "batch-20260302T080000Z-4de698", "Err": "", "AsOf": "2026-03-02T08:00:00Z", "Seen": 20, "Status": "succeeded", "Writes": 19, "Attempt": 1, "Leavers": null, "Started": "2026-03-02T08:00:00Z", "Accounts": 19, "Finished": "2026-03-02T08:00:00Z"}');
INSERT INTO onesinkdump.schema_version VALUES (1);
INSERT INTO onesinkdump.schema_version VALUES (2);
INSERT INTO onesinkdump.schema_version VALUES (3);
INSERT INTO onesinkdump.schema_version VALUES (4);
INSERT INTO onesinkdump.schema_version VALUES (5);
SELECT pg_catalog.setval('onesinkdump.generation', 24, true);
SELECT pg_catalog.setval('onesinkdump.outbox_seq_seq', 21, true);
ALTER TABLE ONLY onesinkdump.audit_anchor
    ADD CONSTRAINT audit_anchor_pkey PRIMARY KEY (tenant);
ALTER TABLE ONLY onesinkdump.cursors
    ADD CONSTRAINT cursors_pkey PRIMARY KEY (tenant, name);
ALTER TABLE ONLY onesinkdump.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (tenant, id);
ALTER TABLE ONLY onesinkdump.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (seq);
ALTER TABLE ONLY onesinkdump.outbox
    ADD CONSTRAINT outbox_tenant_id_key UNIQUE (tenant, id);
ALTER TABLE ONLY onesinkdump.people
    ADD CONSTRAINT people_pkey PRIMARY KEY (tenant, id);
ALTER TABLE ONLY onesinkdump.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (tenant, id);
CREATE INDEX events_forget ON onesinkdump.events USING btree (tenant, forget);
CREATE INDEX outbox_tenant ON onesinkdump.outbox USING btree (tenant, seq);
CREATE INDEX people_accounts ON onesinkdump.people USING btree (tenant, id) WHERE has_acct;
CREATE INDEX people_active ON onesinkdump.people USING btree (tenant) WHERE (has_acct AND active);
CREATE INDEX people_dead ON onesinkdump.people USING btree (tenant, id) WHERE dead;
CREATE INDEX people_dirty ON onesinkdump.people USING btree (tenant, id) WHERE (dirty_gen <> 0);
CREATE INDEX people_due ON onesinkdump.people USING btree (tenant, due) WHERE (due IS NOT NULL);
CREATE INDEX revocations_at ON onesinkdump.revocations USING btree (tenant, at);
CREATE INDEX runs_started ON onesinkdump.runs USING btree (tenant, started);
