// Command auditlog checks and reads a hrissync audit log.
//
//	go run ./examples/auditlog -verify /path/to/audit.jsonl                 # exit 1 on damage
//	go run ./examples/auditlog -verify -db state.db /path/to/audit.jsonl    # and against the Store's anchors
//	go run ./examples/auditlog -verify -pubkey keys.pub -witness https://witness.example/checkpoints /path/to/audit.jsonl
//	go run ./examples/auditlog -employee w-000042 /path/to/audit.jsonl
//
// A person HR re-keyed is shown under all their worker ids.
//
// Given a log's path, it reads the rotated files too (path.1, path.2 …), in
// chain order. -verify says, in plain words, what it found: notes (a torn
// tail recovered after a crash, a torn final line not yet recovered, a head
// file behind the chain, a chain restarted and why) and damage (altered or
// missing entries from a sequence on, a log shorter than its anchor or its
// head file, a log that differs from its anchor, a log missing). With -db it
// reads each tenant's anchor from the SQLite store the engine acknowledges
// into — for the tenants in the log, the -tenant given, and the engine's
// default tenant — and checks that the log holds its chains up to them. With
// -keys, values encrypted for erasure are shown where the person's key is
// still held.
//
// With -pubkey (a file of public keys, one "KEYID BASE64" a line, as
// audit.PublicKeyLine writes them; repeat the flag or separate files with
// commas) it checks the signed checkpoints the log records; with -witness
// too (a witness file, as audit.FileWitness writes it, or the http(s) URL
// of an audit.WitnessHandler) it compares them with the witness's: a
// rewritten log, one cut short, a checkpoint dropped at the witness, a bad
// signature or an unknown key id are damage; entries after the last
// witnessed checkpoint are a note, with how many.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/store/sqlite"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	flag := flag.NewFlagSet("auditlog", flag.ContinueOnError)
	flag.SetOutput(stderr)
	verify := flag.Bool("verify", false, "check the logs given, say what was found, and exit 1 on damage")
	db := flag.String("db", "", "with -verify: the SQLite store (state.db) whose anchors the log must hold")
	var pubkeys []string
	flag.Func("pubkey", "with -verify: file(s) of public keys (\"KEYID BASE64\" a line) to check signed checkpoints with; repeat or separate with commas", func(v string) error {
		pubkeys = append(pubkeys, strings.Split(v, ",")...)
		return nil
	})
	witness := flag.String("witness", "", "with -verify: the witness's checkpoints, a file or an http(s) URL, to compare the log with")
	employee := flag.String("employee", "", "print this employee's history")
	tenant := flag.String("tenant", "", "only this tenant (with -employee); with -db, check its anchor too")
	keys := flag.String("keys", "", "directory of per-person keys, to show encrypted values")
	flag.Usage = func() {
		fmt.Fprintf(flag.Output(), "usage: auditlog -verify [-db state.db] [-pubkey FILE] [-witness FILE|URL] [-tenant T] LOG...\n       auditlog -employee ID [-tenant T] [-keys DIR] LOG...\n\n")
		flag.PrintDefaults()
	}
	if err := flag.Parse(args); err != nil {
		return 2
	}
	if *witness != "" && len(pubkeys) == 0 {
		fmt.Fprintln(stderr, "auditlog: -witness needs -pubkey: the witness's checkpoints are judged by their signatures")
		return 2
	}
	if flag.NArg() == 0 || (!*verify && *employee == "") {
		flag.Usage()
		return 2
	}
	c := cli{stdout, stderr}
	var files []string
	for _, p := range flag.Args() {
		set, err := audit.LogFiles(p)
		// With no files, only -verify has something to say: that the
		// log is missing, if its head file, the store or a witness knows
		// of it.
		if err != nil || len(set) == 0 && !(*verify && (exists(p+".head") || *db != "" || *witness != "")) {
			fmt.Fprintf(stderr, "auditlog: %s: no such log\n", p)
			return 2
		}
		files = append(files, set...)
	}
	if *verify {
		head := flag.Arg(flag.NArg()-1) + ".head"
		return c.verifyLog(files, head, *db, *tenant, pubkeys, *witness)
	}
	return c.history(files, *employee, *tenant, *keys)
}

// cli is where the command writes.
type cli struct{ out, err io.Writer }

// verifyLog checks the log, against the store's anchors if db is given and
// the signed checkpoints if pubkeys are, and prints what it found.
func (c cli) verifyLog(files []string, head, db, tenant string, pubkeys []string, witness string) int {
	opts := audit.CheckOptions{HeadFile: head}
	if len(pubkeys) > 0 {
		var err error
		if opts.Keys, opts.Witnessed, err = checkpoints(pubkeys, witness); err != nil {
			fmt.Fprintln(c.err, "auditlog:", err)
			return 1
		}
	}
	r, err := audit.Check(opts, files...)
	if err != nil {
		fmt.Fprintln(c.err, "auditlog:", err)
		return 1
	}
	if db != "" {
		if opts.Anchors, err = anchors(db, tenantsOf(r, tenant)); err != nil {
			fmt.Fprintln(c.err, "auditlog:", err)
			return 1
		}
		if r, err = audit.Check(opts, files...); err != nil {
			fmt.Fprintln(c.err, "auditlog:", err)
			return 1
		}
	}
	fmt.Fprintf(c.out, "%d entries in %d file(s) verify; %s\n", r.Entries, len(files), chains("chains:", r.Heads))
	if db != "" {
		fmt.Fprintf(c.out, "anchors in %s: %s\n", db, chains("", opts.Anchors))
	}
	if opts.Keys != nil {
		ids := slices.Sorted(maps.Keys(opts.Keys))
		if witness != "" {
			fmt.Fprintf(c.out, "checkpoints: %d at the witness %s; public keys: %s\n", len(opts.Witnessed), witness, strings.Join(ids, ", "))
		} else {
			fmt.Fprintf(c.out, "checkpoints: those the log records (no witness given); public keys: %s\n", strings.Join(ids, ", "))
		}
	}
	damaged := 0
	for _, f := range r.Findings {
		label := "note:"
		if f.Kind.Damage() {
			label, damaged = "BROKEN:", damaged+1
		}
		fmt.Fprintln(c.out, label, f)
	}
	if damaged > 0 {
		fmt.Fprintf(c.out, "BROKEN: %d problem(s) found\n", damaged)
		return 1
	}
	var held []string
	if db != "" {
		held = append(held, "its anchor")
	}
	if witness != "" {
		held = append(held, "every checkpoint at the witness")
	} else if opts.Keys != nil {
		held = append(held, "every checkpoint it records")
	}
	if len(held) > 0 {
		fmt.Fprintf(c.out, "ok: every chain intact and holding %s\n", strings.Join(held, " and "))
	} else {
		fmt.Fprintln(c.out, "ok: every chain intact")
	}
	return 0
}

// checkpoints reads the public keys files and, if witness is given, the
// witness's checkpoints: from an HTTP witness when it is a URL, else from
// a witness file.
func checkpoints(pubkeys []string, witness string) (map[string]ed25519.PublicKey, []audit.Checkpoint, error) {
	keys := map[string]ed25519.PublicKey{}
	for _, name := range pubkeys {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		ks, err := audit.ReadPublicKeys(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		for id, k := range ks {
			if _, dup := keys[id]; dup {
				return nil, nil, fmt.Errorf("%s: key id %q given in two files", name, id)
			}
			keys[id] = k
		}
	}
	if witness == "" {
		return keys, nil, nil
	}
	var w audit.Witness = &audit.FileWitness{Path: witness}
	if strings.HasPrefix(witness, "http://") || strings.HasPrefix(witness, "https://") {
		w = &audit.HTTPWitness{URL: witness, Client: &http.Client{Timeout: time.Minute}}
	} else if !exists(witness) {
		return nil, nil, fmt.Errorf("%s: no such witness file", witness)
	}
	held, err := w.Checkpoints(context.Background())
	if err != nil {
		return nil, nil, err
	}
	if held == nil {
		held = []audit.Checkpoint{} // a witness that holds none
	}
	return keys, held, nil
}

// tenantsOf lists the tenants whose anchors to read: those the report
// names, the one asked for, and the engine's default.
func tenantsOf(r *audit.Report, also string) []string {
	set := map[string]bool{"default": true}
	if also != "" {
		set[also] = true
	}
	for t := range r.Heads {
		set[t] = true
	}
	for _, f := range r.Findings {
		if f.Tenant != "" {
			set[f.Tenant] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// anchors reads each tenant's anchor from the SQLite store at path.
func anchors(path string, tenants []string) (map[string]audit.Head, error) {
	if !exists(path) {
		return nil, fmt.Errorf("%s: no such store", path)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := map[string]audit.Head{}
	for _, t := range tenants {
		a, err := st.Anchor(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("the anchor of tenant %q: %w", t, err)
		}
		if a.Seq > 0 {
			out[t] = a
		}
	}
	return out, nil
}

// chains lists where each chain ends (or is anchored), after prefix.
func chains(prefix string, heads map[string]audit.Head) string {
	if len(heads) == 0 {
		return strings.TrimSpace(prefix + " none")
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(heads)) {
		parts = append(parts, fmt.Sprintf("%s at %d", t, heads[t].Seq))
	}
	return strings.TrimSpace(prefix + " " + strings.Join(parts, ", "))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// history prints one employee's entries, and those of every worker id HR
// re-keyed them from or to: one person's history across their ids.
func (c cli) history(files []string, employee, tenant, keys string) int {
	var ks audit.KeyStore
	if keys != "" {
		ks = &audit.DirKeys{Dir: keys}
	}
	ids, err := aliases(files, employee, tenant)
	if err != nil {
		fmt.Fprintln(c.err, "BROKEN:", err)
		return 1
	}
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "APPLIED\tID\tACTION\tTRIGGER\tFIELD\tOLD → NEW\tHR CHANGE\tRECEIVED\tLATENCY")
	found := 0
	for r, err := range audit.Read(files...) {
		if err != nil {
			tw.Flush()
			fmt.Fprintln(c.err, "BROKEN:", err)
			return 1
		}
		e := r.Entry
		if !ids[e.EmployeeID] || (tenant != "" && e.Tenant != tenant) {
			continue
		}
		if ks != nil {
			if e, err = audit.Reveal(e, ks); err != nil {
				fmt.Fprintln(c.err, "auditlog:", err)
				return 1
			}
		}
		found++
		for i, ch := range e.Changes {
			applied, id, action, trigger := stamp(e.Applied), e.EmployeeID, e.Action, e.Trigger
			if e.Sink != "" {
				action += " @" + e.Sink // one sink of several
			}
			if i > 0 {
				applied, id, action, trigger = "", "", "", ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%q → %q\t%s\t%s\t%s\n", applied, id, action, trigger, ch.Field, ch.Old, ch.New,
				stamp(e.SourceChanged), stamp(e.Received), e.Applied.Sub(e.SourceChanged).Round(time.Second))
		}
	}
	tw.Flush()
	if found == 0 {
		fmt.Fprintf(c.err, "auditlog: no entries for %s\n", employee)
		return 1
	}
	return 0
}

// aliases reads the re-keys in the logs and returns employee's worker ids:
// theirs, and those re-keyed to or from them, transitively.
func aliases(files []string, employee, tenant string) (map[string]bool, error) {
	var links [][2]string
	for r, err := range audit.Read(files...) {
		if err != nil {
			return nil, err
		}
		e := r.Entry
		if e.Action != audit.ActionRekey || (tenant != "" && e.Tenant != tenant) {
			continue
		}
		for _, c := range e.Changes {
			if c.Field == audit.ChangeEmployeeID {
				links = append(links, [2]string{c.Old, c.New})
			}
		}
	}
	ids := map[string]bool{employee: true}
	for grew := true; grew; {
		grew = false
		for _, l := range links {
			if ids[l[0]] != ids[l[1]] {
				ids[l[0]], ids[l[1]], grew = true, true, true
			}
		}
	}
	return ids, nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05Z07:00")
}
