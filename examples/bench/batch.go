package main

import (
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store/sqlite"
)

// generated is an HRIS of n people computed on the fly (so that the source
// itself costs no memory): person i's record is a function of i and of the
// run; from run 2 on, one person in a hundred has a new role.
type generated struct {
	n   int
	run atomic.Int32
	at  time.Time
	// shuffled: List gives person (i·stride) mod n at step i, a
	// permutation of everyone (stride is a prime that divides no n used
	// here) in an order that is neither ID order nor its reverse — what a
	// vendor's API paging by its internal key gives — at no memory cost.
	shuffled bool
}

const stride = 1_000_003

func (g *generated) record(i int) hrissync.Employee {
	role := "Engineer"
	run := int(g.run.Load())
	if run >= 2 && i%100 == 0 {
		role = "Lead " + strconv.Itoa(run)
	}
	id := fmt.Sprintf("p%07d", i)
	e := hrissync.Employee{ID: id, EmployeeNumber: strconv.Itoa(100000 + i), Email: id + "@example.com",
		GivenName: "Given", FamilyName: "Family", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2020, 1, 6),
		Role: role, Department: "R&D", Location: "Paris",
		Attributes: map[string]string{"skill.go": strconv.Itoa(1 + i%5)},
		Version:    hrtype.Version{Time: g.at.Add(time.Duration(run) * time.Hour)}}
	if i > 0 {
		e.ManagerID = fmt.Sprintf("p%07d", i/8)
	}
	return e
}

func (g *generated) Get(_ context.Context, id string) (hrissync.Employee, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(id, "p"))
	if err != nil || i >= g.n {
		return hrissync.Employee{}, hrissync.ErrNotFound
	}
	return g.record(i), nil
}

func (g *generated) List(context.Context) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		for i := range g.n {
			if g.shuffled {
				i = int(uint64(i) * stride % uint64(g.n))
			}
			if !yield(g.record(i), nil) {
				return
			}
		}
	}
}

func (g *generated) ChangedSince(context.Context, time.Time) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		yield(hrissync.Employee{}, hrissync.ErrChangedSinceUnsupported)
	}
}

// batchScale loads n people with one batch, changes 1 %, and measures the
// next batch: time, peak RSS, writes.
func batchScale(ns []int, orders []string) error {
	fmt.Printf("## Batch scale on SQLite\n\nThe nightly batch over n people already applied, 1 %% of them with a changed role: the batch reads the full list, diffs every person against the store and writes the changed. The source is computed on the fly and the sink only counts, so memory and time are the engine's and the store's. Peak RSS is the process's high-water mark during that batch.\n\n")
	fmt.Println("| people | list order | initial load | batch (read, diff, write) | people/s | peak RSS | writes | changed |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, n := range ns {
		for _, order := range orders {
			if err := batchAt(n, order == "shuffled"); err != nil {
				return err
			}
		}
	}
	fmt.Println()
	for _, t := range targets {
		fmt.Println(t)
	}
	fmt.Println()
	return nil
}

// The nightly batch's targets (issue 30), at targetPeople: its time and the
// process's peak RSS while it runs.
const (
	targetPeople = 1_000_000
	targetTime   = 5 * time.Second
	targetRSS    = 300 // MiB
)

// targets are the lines batchAt leaves for batchScale to print after its
// table: each size's figures against the targets.
var targets []string

// againstTargets compares one batch's figures with the targets: met or not
// at targetPeople; at another size, only what they would be if the batch
// scaled linearly, which is said to be no measure.
func againstTargets(n int, order string, took time.Duration, peak float64) string {
	if n == targetPeople {
		return fmt.Sprintf("- %d people, %s: batch %s against < %s (%s); peak RSS %.0f MiB against < %d MiB (%s).",
			n, order, ms(took), ms(targetTime), verdict(took < targetTime), peak, targetRSS, verdict(peak < targetRSS))
	}
	scaled := time.Duration(float64(took) * targetPeople / float64(n))
	return fmt.Sprintf("- %d people, %s: batch %s, peak RSS %.0f MiB; the targets (< %s, < %d MiB) are for %d people — linearly, %s (not a measure: run -batch-sizes %d).",
		n, order, ms(took), peak, ms(targetTime), targetRSS, targetPeople, ms(scaled), targetPeople)
}

// batchProfile, when set, is where batchAt writes a CPU profile of the
// measured batch alone (not of the initial load before it).
var batchProfile string

// startProfile starts a CPU profile into path, if one is asked for, and
// returns what stops it.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func batchAt(n int, shuffled bool) error {
	{
		dir, err := os.MkdirTemp("", "hrissync-bench-")
		if err != nil {
			return err
		}
		st, err := sqlite.Open(context.Background(), filepath.Join(dir, "state.db"), nil)
		if err != nil {
			return err
		}
		src := &generated{n: n, at: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), shuffled: shuffled}
		order := "ID order"
		if shuffled {
			order = "shuffled"
		}
		src.run.Store(1)
		var writes atomic.Int64
		sink := hrissync.SinkFunc(func(context.Context, hrissync.Update) error { writes.Add(1); return nil })
		eng, err := hrissync.New(src, sink, st, &hrissync.Config{Concurrency: 16, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Progress:      func(p hrissync.BatchProgress) { fmt.Fprintf(os.Stderr, "\r\033[Kbatch %s", p) },
			DeletionLimit: hrissync.Budget{Count: n, Share: 1}})
		if err != nil {
			return err
		}
		start := time.Now()
		if err := eng.Batch(context.Background()); err != nil {
			return err
		}
		load := time.Since(start)
		src.run.Store(2)
		writes.Store(0)
		runtime.GC()
		resetPeak()
		stopProfile, err := startProfile(batchProfile)
		if err != nil {
			return err
		}
		start = time.Now()
		err = eng.Batch(context.Background())
		took := time.Since(start)
		stopProfile()
		if err != nil {
			return err
		}
		fmt.Fprint(os.Stderr, "\r\033[K")
		peak := peakRSS()
		fmt.Printf("| %d | %s | %s | %s | %.0f | %.0f MiB | %d | %d |\n", n, order, ms(load), ms(took), float64(n)/took.Seconds(), peak, writes.Load(), (n+99)/100)
		targets = append(targets, againstTargets(n, order, took, peak))
		st.Close()
		os.RemoveAll(dir)
	}
	return nil
}
