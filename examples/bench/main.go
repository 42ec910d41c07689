// Command bench measures what each cadence costs, how fast changes land and
// how far the engine scales, and prints Markdown tables for BENCHMARKS.md.
//
//	go run ./examples/bench                        # every scenario at its default size
//	go run ./examples/bench -scenarios cadences -people 2000 -days 7
//	go run ./examples/bench -scenarios batch -batch-sizes 10000,100000,1000000
//	go run ./examples/bench -scenarios batch -batch-orders ordered -batch-cpuprofile batch.prof
//
// Scenarios: cadences (one organisation's month synced four ways), batch (the
// nightly batch on SQLite at several sizes, 1 % changed), realtime (signed
// webhooks over loopback HTTP into the receiver and the SQLite store), storm
// (a reorganisation against a rate-limited sink, in simulated time).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

func main() {
	scenarios := flag.String("scenarios", "cadences,batch,realtime,storm", "scenarios to run, comma-separated")
	people := flag.Int("people", 10000, "cadences: people in the organisation")
	days := flag.Int("days", 30, "cadences: days of changes")
	batchSizes := flag.String("batch-sizes", "1000000", "batch: organisation sizes, comma-separated (issue 30's target is measured at 1000000, which takes a long while to load)")
	batchOrders := flag.String("batch-orders", "ordered,shuffled", "batch: the Source's list order, comma-separated: ordered (by id), shuffled")
	burst := flag.Int("burst", 20000, "realtime: deliveries in the burst")
	stormPeople := flag.Int("storm-people", 50000, "storm: manager changes, one per person, within 10 s")
	stormRate := flag.Float64("storm-rate", 500, "storm: writes per second the sink accepts")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.StringVar(&batchProfile, "batch-cpuprofile", "", "batch: write a CPU profile of the measured batch alone (not the load) to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	fmt.Printf("# hrissync benchmarks\n\n%s, %s/%s, %d cores (GOMAXPROCS %d), %s memory; %s\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), memTotal(), time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("Command: `go run ./examples/bench %s`\n\n", strings.Join(os.Args[1:], " "))
	for _, s := range strings.Split(*scenarios, ",") {
		start := time.Now()
		var err error
		switch strings.TrimSpace(s) {
		case "cadences":
			err = cadences(*people, *days)
		case "batch":
			err = batchScale(sizes(*batchSizes), strings.Split(*batchOrders, ","))
		case "realtime":
			err = realtime(*burst)
		case "storm":
			err = storm(*stormPeople, *stormRate)
		default:
			err = fmt.Errorf("unknown scenario %q", s)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", s+":", err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		fmt.Printf("_%s: %v of real time._\n\n", s, time.Since(start).Round(100*time.Millisecond))
	}
}

func sizes(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.Atoi(f[1])
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

// peakRSS returns the process's peak resident set since resetPeak, in MiB.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// resetPeak resets the peak RSS (Linux: writing 5 to clear_refs).
func resetPeak() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}

// verdict says whether a target is met.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
