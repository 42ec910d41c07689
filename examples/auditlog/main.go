// Command auditlog checks and reads a hrissync audit log.
//
//	go run ./examples/auditlog -verify /path/to/audit.jsonl          # exit 1 on a broken chain
//	go run ./examples/auditlog -employee w-000042 /path/to/audit.jsonl
//
// Given a log's path, it reads the rotated files too (path.1, path.2 …), in
// chain order. With -keys, values encrypted for erasure are shown where the
// person's key is still held.
package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hrissync/hrissync/audit"
)

func main() { os.Exit(run()) }

func run() int {
	verify := flag.Bool("verify", false, "verify the hash chains of the logs given and exit 1 if broken")
	employee := flag.String("employee", "", "print this employee's history")
	tenant := flag.String("tenant", "", "only this tenant (with -employee)")
	keys := flag.String("keys", "", "directory of per-person keys, to show encrypted values")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: auditlog -verify LOG...\n       auditlog -employee ID [-tenant T] [-keys DIR] LOG...\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 || (!*verify && *employee == "") {
		flag.Usage()
		return 2
	}
	var files []string
	for _, p := range flag.Args() {
		set, err := audit.LogFiles(p)
		if err != nil || len(set) == 0 {
			fmt.Fprintf(os.Stderr, "auditlog: %s: no such log\n", p)
			return 2
		}
		files = append(files, set...)
	}
	if *verify {
		if err := audit.Verify(files...); err != nil {
			fmt.Fprintln(os.Stderr, "BROKEN:", err)
			return 1
		}
		n := 0
		for range audit.Read(files...) {
			n++
		}
		fmt.Printf("ok: %d entries in %d file(s), every chain intact\n", n, len(files))
		return 0
	}
	var ks audit.KeyStore
	if *keys != "" {
		ks = &audit.DirKeys{Dir: *keys}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "APPLIED\tACTION\tTRIGGER\tFIELD\tOLD → NEW\tHR CHANGE\tRECEIVED\tLATENCY")
	found := 0
	for r, err := range audit.Read(files...) {
		if err != nil {
			tw.Flush()
			fmt.Fprintln(os.Stderr, "BROKEN:", err)
			return 1
		}
		e := r.Entry
		if e.EmployeeID != *employee || (*tenant != "" && e.Tenant != *tenant) {
			continue
		}
		if ks != nil {
			if e, err = audit.Reveal(e, ks); err != nil {
				fmt.Fprintln(os.Stderr, "auditlog:", err)
				return 1
			}
		}
		found++
		for i, c := range e.Changes {
			applied, action, trigger := stamp(e.Applied), e.Action, e.Trigger
			if i > 0 {
				applied, action, trigger = "", "", ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%q → %q\t%s\t%s\t%s\n", applied, action, trigger, c.Field, c.Old, c.New,
				stamp(e.SourceChanged), stamp(e.Received), e.Applied.Sub(e.SourceChanged).Round(time.Second))
		}
	}
	tw.Flush()
	if found == 0 {
		fmt.Fprintf(os.Stderr, "auditlog: no entries for %s\n", *employee)
		return 1
	}
	return 0
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05Z07:00")
}
