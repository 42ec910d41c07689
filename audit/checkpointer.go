package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// checkpointer is a Log's side of checkpoints: which chains have entries
// not yet checkpointed (under Log.mu), and the checkpoints made but not yet
// held by the witness, which one goroutine of the Log's hands over in order
// (under its own mu, so that a slow witness never holds up Record).
//
// The rules:
//   - A checkpoint is recorded in its chain (ActionCheckpoint) and made
//     durable with the entries it follows before it is handed over, so the
//     witness never holds a checkpoint the log could still lose.
//   - A witness that fails never fails Record: the checkpoint stays queued,
//     in memory, and is tried again, in order, at the next checkpoint (or
//     Log.Checkpoint). WitnessBehind says how far behind it is.
//   - Checkpoints queued when the log is closed are not lost: each is in
//     the chain. The next OpenLog compares the chain's checkpoints with the
//     witness's list and hands over those it lacks.
type checkpointer struct {
	opts CheckpointOptions

	open map[string]*unwitnessed // under Log.mu: chains with entries since their last checkpoint

	mu        sync.Mutex
	pending   []Checkpoint
	recorded  []Checkpoint  // the chain's checkpoints found at OpenLog, until compared with the witness's
	err       error         // the last hand-over's failure, nil once one succeeds
	kicked    bool          // a hand-over is asked for and not yet begun
	busy      bool          // a hand-over is under way
	changed   chan struct{} // closed, and replaced, whenever the above change
	kick      chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
	signError error // the last Signer failure, for WitnessBehind
}

// unwitnessed counts one chain's entries since its last checkpoint.
type unwitnessed struct {
	n     int
	first time.Time // on the log's clock
}

func newCheckpointer(opts CheckpointOptions) *checkpointer {
	return &checkpointer{opts: opts, open: map[string]*unwitnessed{}, changed: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// saw counts an entry read or written: a checkpoint of the chain resets it.
func (k *checkpointer) saw(e Entry, now func() time.Time) {
	if e.Action == ActionCheckpoint {
		delete(k.open, e.Tenant)
		return
	}
	u := k.open[e.Tenant]
	if u == nil {
		u = &unwitnessed{first: now()}
		k.open[e.Tenant] = u
	}
	u.n++
}

// checkpoint signs the head of each chain that is due (every chain with
// entries since its last checkpoint, if force) and records each checkpoint
// in its chain; Log.mu is held. A Signer that fails leaves the chain due for
// the next Record. The error is the log's own failure to write.
func (l *Log) checkpoint(force bool) ([]Checkpoint, error) {
	k := l.ck
	now := l.opts.Now()
	var due []string
	for tenant, u := range k.open {
		if force || u.n >= k.opts.Every || now.Sub(u.first) >= k.opts.Interval {
			due = append(due, tenant)
		}
	}
	slices.Sort(due)
	var made []Checkpoint
	for _, tenant := range due {
		head := l.chain.heads[tenant]
		c, err := Checkpoint{Tenant: tenant, Seq: head.Seq, Hash: head.Hash, Time: now.UTC(), KeyID: k.opts.KeyID}.sign(k.opts.Signer)
		k.mu.Lock()
		k.signError = err
		k.mu.Unlock()
		if err != nil {
			continue
		}
		e := l.own(tenant, head, ActionCheckpoint, nil, fmt.Sprintf("checkpoint of entry %d, signed with key %q", head.Seq, c.KeyID))
		e.Checkpoint = &c
		if err := l.append(e, head); err != nil {
			return made, err
		}
		made = append(made, c)
	}
	return made, nil
}

// queue hands checkpoints, durable in the log, to the delivering goroutine.
// retry asks it to try again what is pending even if nothing was made.
func (k *checkpointer) queue(made []Checkpoint, retry bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pending = append(k.pending, made...)
	if len(made) > 0 || (retry && (len(k.pending) > 0 || k.recorded != nil)) {
		k.kicked = true
		k.broadcast()
		select {
		case k.kick <- struct{}{}:
		default:
		}
	}
}

// broadcast wakes whoever waits on a change; k.mu is held.
func (k *checkpointer) broadcast() {
	close(k.changed)
	k.changed = make(chan struct{})
}

// start starts the delivering goroutine, which Log.Close stops.
func (k *checkpointer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	k.cancel, k.done = cancel, make(chan struct{})
	if k.recorded != nil {
		k.queue(nil, true)
	}
	go k.run(ctx)
}

func (k *checkpointer) stop() {
	if k.cancel != nil {
		k.cancel()
		<-k.done
		k.cancel = nil
	}
}

func (k *checkpointer) run(ctx context.Context) {
	defer close(k.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.kick:
		}
		k.mu.Lock()
		k.kicked, k.busy = false, true
		k.mu.Unlock()
		err := k.handOver(ctx)
		k.mu.Lock()
		k.busy, k.err = false, err
		k.broadcast()
		k.mu.Unlock()
	}
}

// handOver brings the witness up to date: first, once after OpenLog, with
// the checkpoints the chain recorded that the witness lacks, then with what
// is pending, in order, stopping at the first failure.
func (k *checkpointer) handOver(ctx context.Context) error {
	w := k.opts.Witness
	k.mu.Lock()
	recorded := k.recorded
	k.mu.Unlock()
	if recorded != nil {
		held, err := w.Checkpoints(ctx)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, c := range held {
			have[c.key()] = true
		}
		var missing []Checkpoint
		for _, c := range recorded {
			if !have[c.key()] {
				missing = append(missing, c)
			}
		}
		k.mu.Lock()
		k.pending = append(missing, k.pending...)
		k.recorded = nil
		k.broadcast()
		k.mu.Unlock()
	}
	for {
		k.mu.Lock()
		if len(k.pending) == 0 {
			k.mu.Unlock()
			return nil
		}
		c := k.pending[0]
		k.mu.Unlock()
		if err := w.Witness(ctx, c); err != nil {
			return err
		}
		k.mu.Lock()
		k.pending = k.pending[1:]
		k.broadcast()
		k.mu.Unlock()
	}
}

// wait returns once the witness holds every checkpoint queued, or with the
// witness's error once a hand-over has failed and no other is under way.
func (k *checkpointer) wait(ctx context.Context) error {
	for {
		k.mu.Lock()
		pending, idle, err, ch := len(k.pending), !k.kicked && !k.busy, k.err, k.changed
		// Caught up once idle too: a hand-over that has just emptied the
		// queue has not yet said whether it ended well (k.err).
		caughtUp := pending == 0 && k.recorded == nil && idle
		k.mu.Unlock()
		switch {
		case caughtUp:
			return nil
		case idle && err != nil:
			return &WitnessError{Behind: pending, Err: err}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// WitnessError says the witness does not yet hold every checkpoint the log
// recorded: Behind of them wait, and Err is why the last hand-over failed.
// The entries are safe in the log; the checkpoints are tried again at the
// next one.
type WitnessError struct {
	Behind int
	Err    error
}

func (e *WitnessError) Error() string {
	return fmt.Sprintf("audit: the witness is %d checkpoint(s) behind: %v", e.Behind, e.Err)
}

func (e *WitnessError) Unwrap() error { return e.Err }

// errNoCheckpoints is Log.Checkpoint's answer when checkpoints are off.
var errNoCheckpoints = errors.New("audit: checkpoints are off (LogOptions.Checkpoints.Signer is nil)")

// Checkpoint checkpoints now every chain with entries since its last
// checkpoint, then waits, within ctx, until the witness holds every
// checkpoint the log has made: nil then, else a *WitnessError (or ctx's
// error). Record checkpoints by itself (CheckpointOptions.Every and
// Interval); a host calls Checkpoint to bound how long a quiet log's last
// entries go unwitnessed, or before it closes the log. It is safe to call
// alongside Record.
func (l *Log) Checkpoint(ctx context.Context) error {
	if l.ck == nil {
		return errNoCheckpoints
	}
	l.mu.Lock()
	switch {
	case l.f == nil:
		l.mu.Unlock()
		return errors.New("audit: log closed")
	case l.failed != nil:
		l.mu.Unlock()
		return fmt.Errorf("audit: the log takes no more entries after a failed write; reopen it: %w", l.failed)
	}
	made, err := l.checkpoint(true)
	if err == nil && len(made) > 0 {
		err = l.sync()
	}
	if err != nil {
		l.mu.Unlock()
		return err
	}
	l.ck.queue(made, true)
	l.mu.Unlock()
	return l.ck.wait(ctx)
}

// WitnessBehind says how many checkpoints the log has made that the
// witness does not yet hold, and why the last hand-over (or signing)
// failed, nil when none did: a host's metric and alert. Checkpoints found in
// the log at OpenLog count only once compared with the witness's list.
func (l *Log) WitnessBehind() (int, error) {
	if l.ck == nil {
		return 0, nil
	}
	k := l.ck
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.pending), errors.Join(k.err, k.signError)
}
