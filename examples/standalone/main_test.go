package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// standalone runs the command with args, returning its exit status and
// what it printed.
func standalone(t *testing.T, args ...string) (int, string) {
	t.Helper()
	oldArgs, oldFlags, oldStdout := os.Args, flag.CommandLine, os.Stdout
	t.Cleanup(func() { os.Args, flag.CommandLine, os.Stdout = oldArgs, oldFlags, oldStdout })
	os.Args = append([]string{"standalone"}, args...)
	flag.CommandLine = flag.NewFlagSet("standalone", flag.ContinueOnError)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	code := run()
	w.Close()
	os.Stdout = oldStdout
	return code, <-out
}

// TestSinksFlag: -sinks lms,lxp runs one engine keeping both platforms and
// prints a line per sink, the Source's calls for the LMS alone and for both
// (the same listings, no person read twice at one instant), and the
// engine's summary last.
func TestSinksFlag(t *testing.T) {
	code, out := standalone(t, "-memory", "-people", "200", "-days", "4", "-sinks", "lms,lxp")
	t.Log("\n" + out)
	if code != 0 {
		t.Errorf("exit status %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	summary := regexp.MustCompile(`^converged=yes lost=0 writes=(\d+) needed=(\d+) attempts=\d+$`)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^ +sink +lms +lxp *$`),
		regexp.MustCompile(`(?m)^sink lms: converged=yes lost=0 writes=(\d+) needed=(\d+) attempts=\d+$`),
		regexp.MustCompile(`(?m)^sink lxp: converged=yes lost=0 writes=(\d+) needed=(\d+) attempts=\d+$`),
		regexp.MustCompile(`(?m)^source calls, lms alone: get=\d+ `),
		regexp.MustCompile(`(?m)^source calls, lms\+lxp: get=\d+ \(repeated at one instant 0\) `),
	} {
		if !want.MatchString(out) {
			t.Errorf("no line matching %s", want)
		}
	}
	if m := summary.FindStringSubmatch(lines[len(lines)-1]); m == nil || m[1] != m[2] {
		t.Errorf("last line %q: want the engine's summary, writes = needed", lines[len(lines)-1])
	}
	listings := regexp.MustCompile(`(?m)^source calls, [a-z+]+(?: alone)?: get=\d+ \(repeated at one instant \d+\) (.*)$`)
	if m := listings.FindAllStringSubmatch(out, -1); len(m) != 2 || m[0][1] != m[1][1] {
		t.Errorf("the listings differ with the lxp: %q", m)
	}
}

// TestSinksFlagRefused: an unknown sink, or -sinks with -compare, is a usage
// error.
func TestSinksFlagRefused(t *testing.T) {
	for _, args := range [][]string{{"-memory", "-sinks", "lms,crm"}, {"-memory", "-sinks", "lms,lms"}, {"-memory", "-compare", "-sinks", "lms"}} {
		if code, _ := standalone(t, args...); code != 2 {
			t.Errorf("%v: exit status %d, want 2", args, code)
		}
	}
}

// TestSourceVendors: -source bamboohr and -source merge run the engine
// against a fake of the vendor's API over loopback HTTP, lose some
// webhooks, and converge.
func TestSourceVendors(t *testing.T) {
	for vendor, calls := range map[string]string{
		"bamboohr": `changed=[1-9]\d* directory=[1-9]\d* get=[1-9]\d* report=[1-9]\d*`,
		"merge":    `employees=[1-9]\d* employees-changed=[1-9]\d* employments-changed=[1-9]\d* get=[1-9]\d*`,
	} {
		t.Run(vendor, func(t *testing.T) {
			code, out := standalone(t, "-source", vendor, "-people", "200", "-days", "5", "-lost", "0.3")
			t.Log("\n" + out)
			if code != 0 {
				t.Errorf("exit status %d", code)
			}
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`(?m)^` + vendor + `: 200 people, 5 days of changes \(\d+\), the webhooks of [1-9]\d* lost`),
				regexp.MustCompile(`(?m)^api calls after the first load: ` + calls + ` \(total \d+\)$`),
				regexp.MustCompile(`(?m)^leavers terminated at once: [1-9]\d*, `),
				regexp.MustCompile(`converged=yes differ=0 writes=(\d+) changed=(\d+) attempts=\d+\n$`),
			} {
				if !want.MatchString(out) {
					t.Errorf("no line matching %s", want)
				}
			}
		})
	}
	for _, args := range [][]string{{"-source", "workday"}, {"-source", "bamboohr", "-compare"}, {"-source", "merge", "-sinks", "lms"}} {
		if code, _ := standalone(t, args...); code != 2 {
			t.Errorf("%v: exit status %d, want 2", args, code)
		}
	}
}
