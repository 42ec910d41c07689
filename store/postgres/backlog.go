package postgres

import (
	"context"
	"sync"
	"time"
)

// backlogCap bounds each count Len makes: a backlog beyond it reads as
// backlogCap, and counting it costs no more than that many index entries.
const backlogCap = 100_000

// backlogFresh is how long Len answers from its last count.
const backlogFresh = time.Second

// backlog is Len's last count, refreshed by one caller at a time.
type backlog struct {
	refresh sync.Mutex // held while counting: the others wait for its count
	mu      sync.Mutex
	at      time.Time // when counted, by the engine's Clock; zero: never
	counts  [3]int
}

// backlogQuery counts a queue's people by River state — ready (available),
// being worked on (running), waiting for a later time (scheduled, or
// retryable: a failed attempt's retry) — each up to $2, in one statement on
// River's (state, queue, …) index.
const backlogQuery = `SELECT
	(SELECT count(*) FROM (SELECT 1 FROM {{schema}}.river_job WHERE state = 'available' AND queue = $1 AND kind = $3 LIMIT $2) r),
	(SELECT count(*) FROM (SELECT 1 FROM {{schema}}.river_job WHERE state = 'running' AND queue = $1 AND kind = $3 LIMIT $2) p),
	(SELECT count(*) FROM (SELECT 1 FROM {{schema}}.river_job WHERE state IN ('scheduled', 'retryable') AND queue = $1 AND kind = $3 LIMIT $2) w)`

// Len implements store.Backlogger: the tenant's people in River's table,
// across every replica, by state — ready for a worker, being worked on,
// waiting for a later time — each counted up to 100 000. The count is
// taken at most once a second by the engine's Clock (a webhook flood asks
// on every delivery): callers within the second share it, and a count
// failing keeps the last one for the second.
func (q *Queue) Len() (ready, processing, waiting int) {
	if !q.isBound() {
		return 0, 0, 0
	}
	b := &q.backlog
	fresh := func() (bool, [3]int) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return !b.at.IsZero() && q.now().Sub(b.at) < backlogFresh, b.counts
	}
	if ok, c := fresh(); ok {
		return c[0], c[1], c[2]
	}
	b.refresh.Lock()
	defer b.refresh.Unlock()
	if ok, c := fresh(); ok { // counted while this caller waited
		return c[0], c[1], c[2]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var c [3]int
	err := q.store.pool.QueryRow(ctx, q.store.qualify(backlogQuery), q.name, backlogCap, personArgs{}.Kind()).Scan(&c[0], &c[1], &c[2])
	b.mu.Lock()
	defer b.mu.Unlock()
	b.at = q.now()
	if err != nil {
		q.log.Warn("counting the backlog; the last count stands", "err", err)
		c = b.counts
	}
	b.counts = c
	return c[0], c[1], c[2]
}

// idleQuery finds a job of the queue (a person's, or a poll or batch) that
// is ready, running, or due by $2.
const idleQuery = `SELECT EXISTS (SELECT 1 FROM {{schema}}.river_job WHERE queue = $1 AND (state IN ('available', 'running')
	OR (state IN ('scheduled', 'retryable') AND scheduled_at <= $2)))`

// Idle implements store.Idler: nothing dispatched here is waiting to be
// inserted or in hand, and no job of the tenant — on any replica — is ready,
// running, or due (River makes a due job ready within seconds). Jobs set
// for later do not count. It asks the database every time.
func (q *Queue) Idle() bool {
	if !q.isBound() {
		return true
	}
	q.mu.Lock()
	local := len(q.waiting) + q.inserts + len(q.running)
	q.mu.Unlock()
	if local > 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var busy bool
	if err := q.store.pool.QueryRow(ctx, q.store.qualify(idleQuery), q.name, q.now()).Scan(&busy); err != nil {
		q.log.Warn("asking whether the queue is idle", "err", err)
		return false
	}
	return !busy
}

// idlePoll is how often WaitIdle asks: River tells no one when its queue
// empties.
const idlePoll = 20 * time.Millisecond

// WaitIdle implements store.Idler: it asks Idle until it is true, or ctx
// ends.
func (q *Queue) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(idlePoll)
	defer t.Stop()
	for !q.Idle() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func (q *Queue) isBound() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bound
}
