package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

// QueueOptions configure a Queue. A nil *QueueOptions is all defaults.
type QueueOptions struct {
	// Name identifies this replica in River and in logs. Default River's
	// (host name and start time).
	Name string
	// Workers bounds the people this replica reconciles at once. Default
	// 32 (see BENCHMARKS.md: on two cores, more workers only queue on
	// the database).
	Workers int
	// FetchCooldown and FetchPollInterval are River's: the least time
	// between two fetches of ready jobs, and the most. Defaults 20 ms and
	// one second (River's are 100 ms and one second; the shorter cooldown
	// is what lets a replica pass a thousand reconciles a second).
	FetchCooldown, FetchPollInterval time.Duration
	// JobTimeout bounds one reconcile, or one poll or batch. Default one
	// hour, for the batch; the Sink's own timeouts bound a write.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before River takes
	// it for lost (its replica died) and runs it again; it must exceed
	// JobTimeout. Default JobTimeout plus five minutes. The Store's
	// dirty mark does not wait for it: the next poll's sweep finds the
	// person, and River then runs its job when rescued.
	RescueAfter time.Duration
	// LockConns is how many connections hold people's advisory locks
	// (apart from the pool given to Open, so a reconcile holding a lock
	// never waits for a connection held by another). Default Workers
	// plus a quarter, for managers provisioned on a report's behalf.
	LockConns int
	// Logger receives River's logs and the Queue's own (which replica ran
	// each poll and batch, at Info). Default discarded.
	Logger *slog.Logger
}

// Queue is a store.Dispatcher, Scheduler, Locker, Backlogger, Idler and
// Binder on River, sharing the Store's database: pass it as the engine's
// Config.Dispatcher on every replica. The engine binds it at New, handing it
// its tenant, Store and Clock; one Queue serves one engine.
//
//   - A person's work is a River job, unique per person among jobs not yet
//     finished. The Store inserts it in the transaction that accepts an
//     event or marks the person dirty, so neither exists without the other,
//     and the engine dispatches no accepted event again.
//   - River counts a running job as unique too, so an event that arrives
//     while its person is being reconciled inserts nothing. Once the event
//     is committed, a Queue in this process that has the person in hand
//     runs the job again afterwards; otherwise the person is dispatched
//     again (a job finished meanwhile is followed by a new one), and the
//     Store's dirty generation catches the rest: a job that ends with its
//     person still dirty and nothing asked of it runs again at once.
//   - When a job runs again is the engine's to say, through Dispatch while
//     the job is in hand (a retry, a put-off, a due date); the Queue
//     passes it on to River, and decides no time of its own. A failed
//     reconcile is recorded as a failed attempt of the job, retried when
//     the engine's retry.Policy said; a dead-lettered person's job is
//     cancelled.
//   - River has no per-key mutual exclusion, so each reconcile holds a
//     PostgreSQL advisory lock on its person: a replica that dies releases
//     it with its connection.
//   - The poll and the batch are River periodic jobs on the engine's
//     cadence schedules, inserted by River's elected leader, so they run
//     once per scheduled time across the replicas. The next scheduled time
//     is kept in the Store, so a time that falls while no leader is
//     elected runs as soon as one is.
//   - Len counts the tenant's jobs in River's table, across the replicas,
//     at most once a second (the engine's Backlog, and a webhook
//     receiver's backlog guard, ask it on every delivery); Idle is true
//     when no job of the tenant is ready or running on any replica.
//
// It is no store.Pauser: pausing River's queue would pause every replica,
// and the poll and the batch with it, until someone resumed it — a replica
// dying in between would leave it paused. While the sink is paused the
// engine puts people off one by one instead.
//
// River keeps real time (it schedules and snoozes jobs by the database's
// clock), so the engine's Clock must be the real one.
type Queue struct {
	store *Store // River's tables are in its schema
	opts  QueueOptions
	log   *slog.Logger
	locks *pgxpool.Pool

	// Set once by Bind.
	bound  bool
	state  store.Store // the engine's Store
	tenant string
	now    func() time.Time // the engine's Clock
	name   string           // River's queue
	client *river.Client[pgx.Tx]

	backlog backlog

	mu       sync.Mutex
	work     func(ctx context.Context, id string)
	periodic map[string]periodicJob
	running  map[string]time.Time // people in hand here → the earliest time asked for again (zero: not asked)
	retryAt  map[int64]time.Time  // failed jobs → when the engine retries them
	waiting  []dispatch           // asked for outside a transaction, not yet inserted
	inserts  int                  // batches of waiting being inserted
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
}

type periodicJob struct {
	schedule cadence.Schedule
	run      func(ctx context.Context) time.Time
}

type dispatch struct {
	id string
	at time.Time
}

// personArgs is the job that reconciles one person.
type personArgs struct {
	Tenant string `json:"tenant" river:"unique"`
	Person string `json:"person" river:"unique"`
}

func (personArgs) Kind() string { return "hrissync_person" }

// scheduledArgs is the job that runs a poll or a batch.
type scheduledArgs struct {
	Tenant string `json:"tenant"`
	Name   string `json:"name"`
}

func (scheduledArgs) Kind() string { return "hrissync_scheduled" }

// NewQueue migrates River's tables into the Store's schema and returns a
// Queue. The engine binds it to its tenant at New; Run starts it (the
// engine's Run does).
func NewQueue(ctx context.Context, st *Store, opts *QueueOptions) (*Queue, error) {
	var o QueueOptions
	if opts != nil {
		o = *opts
	}
	o.Workers = cmp.Or(o.Workers, 32)
	o.FetchCooldown = cmp.Or(o.FetchCooldown, 20*time.Millisecond)
	o.FetchPollInterval = cmp.Or(o.FetchPollInterval, time.Second)
	o.JobTimeout = cmp.Or(o.JobTimeout, time.Hour)
	o.RescueAfter = cmp.Or(o.RescueAfter, o.JobTimeout+5*time.Minute)
	o.LockConns = cmp.Or(o.LockConns, o.Workers+o.Workers/4+2)
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := migrateRiver(ctx, st, riverpgxv5.New(st.pool), o.Logger); err != nil {
		return nil, err
	}
	q := &Queue{
		store: st, opts: o, log: o.Logger,
		periodic: map[string]periodicJob{}, running: map[string]time.Time{}, retryAt: map[int64]time.Time{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	lockCfg := st.pool.Config().Copy()
	lockCfg.MaxConns = int32(o.LockConns)
	lockCfg.MinConns = 0
	// A lock and the person's read after it go in one batch (see
	// jobReads), which PostgreSQL runs as one implicit transaction: read
	// committed, the read's snapshot is taken once the lock is held,
	// whatever isolation the server defaults to.
	if lockCfg.ConnConfig.RuntimeParams == nil {
		lockCfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	lockCfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	var err error
	if q.locks, err = pgxpool.NewWithConfig(ctx, lockCfg); err != nil {
		return nil, fmt.Errorf("postgres queue: lock pool: %w", err)
	}
	return q, nil
}

var (
	_ store.Binder     = (*Queue)(nil)
	_ store.Backlogger = (*Queue)(nil)
	_ store.Idler      = (*Queue)(nil)
	_ store.Scheduler  = (*Queue)(nil)
	_ store.Locker     = (*Queue)(nil)
)

// Bind implements store.Binder: the Queue takes the engine's tenant, Store
// and Clock, and starts River's client on the tenant's queue. When the
// engine's Store is a Store on the Queue's schema, it inserts each person's
// job in the transaction that marks them dirty, and Bind says so.
func (q *Queue) Bind(b store.Binding) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.bound {
		return false, fmt.Errorf("postgres queue: already bound to the engine of tenant %q (one Queue serves one engine)", q.tenant)
	}
	st, marks := b.Store.(*Store)
	if marks && st.schema != q.store.schema {
		return false, fmt.Errorf("postgres queue: the engine's Store is in schema %q, the Queue's River tables in %q", st.schema, q.store.schema)
	}
	q.state, q.tenant, q.now = b.Store, cmp.Or(b.Tenant, "default"), b.Now
	if q.now == nil {
		q.now = time.Now
	}
	q.name = queueName(q.store.schema, q.tenant)
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(q.workPerson))
	river.AddWorker(workers, river.WorkFunc(q.workScheduled))
	o := q.opts
	client, err := river.NewClient(riverpgxv5.New(q.store.pool), &river.Config{
		ID:                   o.Name,
		Schema:               q.store.schema,
		Queues:               map[string]river.QueueConfig{q.name: {MaxWorkers: o.Workers}},
		Workers:              workers,
		FetchCooldown:        o.FetchCooldown,
		FetchPollInterval:    o.FetchPollInterval,
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: o.RescueAfter,
		RetryPolicy:          q,
		MaxAttempts:          1000, // the engine decides when to give up
		Logger:               o.Logger,
	})
	if err != nil {
		return false, fmt.Errorf("postgres queue: %w", err)
	}
	q.client, q.bound = client, true
	if marks {
		st.addQueue(q.tenant, q)
	}
	return marks, nil
}

// queueName is River's queue for a tenant's people: one per tenant, so that
// a tenant's replicas never fetch another tenant's jobs.
func queueName(schema, tenant string) string {
	return fmt.Sprintf("hrissync_%x", hashString(schema+"/"+tenant))
}

func hashString(s string) uint32 {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// migrateRiver brings River's tables in the schema up to date, one replica
// at a time.
func migrateRiver(ctx context.Context, st *Store, driver *riverpgxv5.Driver, log *slog.Logger) error {
	conn, err := st.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres queue: migrating River: %w", err)
	}
	defer conn.Release()
	key := "hrissync river " + st.schema
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", key); err != nil {
		return fmt.Errorf("postgres queue: migrating River: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: st.schema, Logger: log})
	if err == nil {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return fmt.Errorf("postgres queue: migrating River: %w", err)
	}
	return nil
}

// uniquePerson: one job per person among those not finished. River requires
// running among the states; completed is left out, so a finished job does
// not stop the next.
var uniquePerson = &river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}}

func (q *Queue) insertParams(id string, at time.Time) river.InsertManyParams {
	return river.InsertManyParams{
		Args:       personArgs{Tenant: q.tenant, Person: id},
		InsertOpts: &river.InsertOpts{Queue: q.name, ScheduledAt: at, UniqueOpts: *uniquePerson},
	}
}

// insertTx inserts people's jobs, runnable now, in the Store's transaction.
// It returns the people whose job was running: River's unique insert added
// nothing for them, and the Store hands them to redispatch once the
// transaction has committed.
func (q *Queue) insertTx(ctx context.Context, tx pgx.Tx, ids []string) (running []string, err error) {
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = q.insertParams(id, time.Time{})
	}
	res, err := q.client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("postgres queue: inserting jobs: %w", err)
	}
	now := q.now()
	for i, r := range res {
		if r.UniqueSkippedAsDuplicate && r.Job.State == rivertype.JobStateRunning {
			running = append(running, ids[i])
		}
	}
	return running, q.hurry(ctx, tx, res, func(int) time.Time { return now })
}

// redispatch asks again, now that their marks are committed, for people
// whose job was running when the marks were made: a Queue that has them in
// hand (peers share River's queue in this process) runs them again once
// done; a job running elsewhere, or just finished, gets a job inserted
// after it (or, if it is still running then, the Store's dirty mark
// catches it when it ends).
func (q *Queue) redispatch(ids []string, peers []*Queue) {
	now := q.now()
	for _, id := range ids {
		held := false
		for _, p := range peers {
			held = p.again(id, now) || held
		}
		if !held {
			q.Dispatch(id, now)
		}
	}
}

// again notes that a person in hand here is asked for again at at, keeping
// the earlier of two times; it reports whether the person is in hand here.
func (q *Queue) again(id string, at time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	again, ok := q.running[id]
	if ok && (again.IsZero() || at.Before(again)) {
		q.running[id] = at
	}
	return ok
}

// hurry makes jobs that were already waiting for later than asked (at(i)
// for the i-th) run now: River's unique insert keeps the waiting job as it
// was, but the Dispatcher contract keeps the earlier time. (Now rather than
// at: River can only retry a job at once; a job run early finds nothing to
// do and waits on.)
func (q *Queue) hurry(ctx context.Context, tx pgx.Tx, res []*rivertype.JobInsertResult, at func(i int) time.Time) error {
	for i, r := range res {
		if !r.UniqueSkippedAsDuplicate || r.Job.State == rivertype.JobStateRunning || !r.Job.ScheduledAt.After(at(i)) {
			continue
		}
		var err error
		if tx != nil {
			_, err = q.client.JobRetryTx(ctx, tx, r.Job.ID)
		} else {
			_, err = q.client.JobRetry(ctx, r.Job.ID)
		}
		if err != nil && !errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("postgres queue: hurrying job %d: %w", r.Job.ID, err)
		}
	}
	return nil
}

// Dispatch implements store.Dispatcher. A person in hand here is
// noted, and the job runs again once done; otherwise the job is inserted in
// the background (a crash may lose it: the Store's dirty mark does not).
func (q *Queue) Dispatch(id string, at time.Time) {
	if q.again(id, at) {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, dispatch{id, at})
	q.wakeInserter()
}

func (q *Queue) wakeInserter() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// insertWaiting inserts what Dispatch was asked for, until ctx ends.
func (q *Queue) insertWaiting(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		q.mu.Lock()
		batch := q.waiting
		q.waiting = nil
		q.inserts++
		q.mu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), 1000)
			params := make([]river.InsertManyParams, n)
			for i, d := range batch[:n] {
				params[i] = q.insertParams(d.id, d.at)
			}
			res, err := q.client.InsertMany(ctx, params)
			if err == nil {
				err = q.hurry(ctx, nil, res, func(i int) time.Time { return batch[i].at })
			}
			if err != nil && ctx.Err() == nil {
				q.log.Error("inserting jobs; the people stay dirty in the Store", "err", err)
			}
			batch = batch[n:]
		}
		q.mu.Lock()
		q.inserts--
		q.mu.Unlock()
	}
}

// Run implements store.Dispatcher: it starts River and works jobs until
// ctx ends or Stop is called. limit is not used: QueueOptions.Workers bounds
// the replica's reconciles.
func (q *Queue) Run(ctx context.Context, limit int, work func(ctx context.Context, id string)) error {
	q.mu.Lock()
	if !q.bound {
		q.mu.Unlock()
		return errors.New("postgres queue: not bound to an engine (pass it as the engine's Config.Dispatcher)")
	}
	q.work = work
	for name, p := range q.periodic {
		q.client.PeriodicJobs().Add(river.NewPeriodicJob(q.remembered(name, p.schedule),
			func() (river.JobArgs, *river.InsertOpts) {
				return scheduledArgs{Tenant: q.tenant, Name: name}, &river.InsertOpts{Queue: q.name}
			}, &river.PeriodicJobOpts{ID: q.tenant + "/" + name}))
	}
	q.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inserting := make(chan struct{})
	go func() { defer close(inserting); q.insertWaiting(ctx) }()
	defer func() { cancel(); <-inserting }()
	q.wakeInserter() // for what was asked before Run
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("postgres queue: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-q.stop:
	}
	// Finish the work in hand; when ctx has ended River cancels it.
	err := q.client.Stop(context.WithoutCancel(ctx))
	q.locks.Close()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// Stop implements store.Dispatcher.
func (q *Queue) Stop() { q.stopOnce.Do(func() { close(q.stop) }) }

// workPerson is the job of one person. When it runs again is the engine's
// decision, asked through Dispatch while the job was in hand; the Queue only
// tells River. Asked nothing, the job ends — unless the person was marked on
// another replica meanwhile (River's unique insert found this job running
// and added nothing), when it runs again at once.
func (q *Queue) workPerson(ctx context.Context, job *river.Job[personArgs]) error {
	id := job.Args.Person
	q.mu.Lock()
	q.running[id] = time.Time{}
	work := q.work
	q.mu.Unlock()
	var reads *jobReads
	if _, ours := q.state.(*Store); ours {
		reads = &jobReads{schema: q.store.schema, tenant: q.tenant, id: id}
		work(context.WithValue(ctx, jobReadsKey{}, reads), id)
	} else {
		work(ctx, id)
	}
	q.mu.Lock()
	again := q.running[id]
	delete(q.running, id)
	q.mu.Unlock()

	p, ok := store.Person{}, false
	if reads != nil {
		p, ok = reads.takeFinal() // read as the lock was released
	}
	var err error
	if !ok {
		p, err = q.state.Person(ctx, q.tenant, id)
	}
	if err != nil {
		q.retryLater(job.ID, again)
		return err // retried by River; the person is still dirty
	}
	dead := p.Failure != nil && p.Failure.Dead
	switch {
	case dead && again.IsZero():
		return river.JobCancel(fmt.Errorf("dead-lettered after %d attempts: %s", p.Failure.Attempts, p.Failure.Err))
	case p.Failure != nil && !dead && p.Dirty.Generation != 0:
		// A failed attempt, recorded as one by River too.
		q.retryLater(job.ID, again)
		return fmt.Errorf("attempt %d failed: %s", p.Failure.Attempts, p.Failure.Err)
	case !again.IsZero():
		return river.JobSnooze(max(again.Sub(q.now()), 0))
	case p.Dirty.Generation != 0:
		return river.JobSnooze(0) // marked on another replica while in hand
	}
	return nil
}

// retryLater has River retry a failed job at at (zero: a minute from now).
func (q *Queue) retryLater(job int64, at time.Time) {
	q.mu.Lock()
	q.retryAt[job] = at
	q.mu.Unlock()
}

// NextRetry implements River's ClientRetryPolicy: a failed person is retried
// when the engine's retry.Policy said (it recorded the failure and asked for
// the retry through Dispatch); any other failed job (one the engine asked
// nothing of, or a poll or batch that panicked) after a minute.
func (q *Queue) NextRetry(job *rivertype.JobRow) time.Time {
	q.mu.Lock()
	at := q.retryAt[job.ID]
	delete(q.retryAt, job.ID)
	q.mu.Unlock()
	if at.IsZero() {
		return q.now().Add(time.Minute)
	}
	return at
}

// Every implements store.Scheduler. It must be called before Run.
func (q *Queue) Every(name string, s cadence.Schedule, run func(ctx context.Context) (again time.Time)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.periodic[name] = periodicJob{schedule: s, run: run}
}

// workScheduled is the job of one poll or batch.
func (q *Queue) workScheduled(ctx context.Context, job *river.Job[scheduledArgs]) error {
	q.mu.Lock()
	p, ok := q.periodic[job.Args.Name]
	q.mu.Unlock()
	if !ok || job.Args.Tenant != q.tenant {
		return river.JobCancel(fmt.Errorf("no scheduled job %q for tenant %q here", job.Args.Name, job.Args.Tenant))
	}
	q.log.Info("scheduled job", "name", job.Args.Name, "tenant", q.tenant, "slot", job.ScheduledAt,
		"replica", q.client.ID(), "attempt", job.Attempt)
	if again := p.run(ctx); !again.IsZero() {
		// The rerun of a failed batch: the same job, once more, at
		// again — still run once across the replicas.
		return river.JobSnooze(max(again.Sub(q.now()), 0))
	}
	return nil
}

// remembered wraps a schedule so that its next time is kept in the Store:
// River's leader keeps it only in memory, and a newly elected leader would
// otherwise skip a time that fell while there was none.
func (q *Queue) remembered(name string, s cadence.Schedule) river.PeriodicSchedule {
	return rememberedSchedule{q: q, name: name, cursor: "schedule/" + name, s: s}
}

type rememberedSchedule struct {
	q      *Queue
	name   string
	cursor string
	s      cadence.Schedule
}

func (r rememberedSchedule) Next(t time.Time) time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	held, err := r.q.state.Cursor(ctx, r.q.tenant, r.cursor)
	if err == nil && !held.IsZero() && held.Before(t) {
		return held // missed: due now
	}
	next := r.s.Next(t)
	if now := r.q.now(); next.Before(now) {
		// Missed several (no leader, or one too busy): once is enough.
		missed := next
		next = r.s.Next(now)
		r.q.log.Warn("scheduled times missed; the next runs once", "name", r.name,
			"missed", missed, "next", next)
	}
	if err := r.q.state.SetCursor(ctx, r.q.tenant, r.cursor, next); err != nil {
		r.q.log.Error("keeping the next scheduled time", "name", r.cursor, "err", err)
	}
	return next
}

// Lock implements store.Locker with a PostgreSQL advisory lock, held on
// a connection of its own for the length of the reconcile. In a job of
// this Queue, the person's read that follows is sent with it (jobReads).
func (q *Queue) Lock(ctx context.Context, tenant, id string) (func(), error) {
	conn, err := q.locks.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	var (
		batch pgx.Batch
		read  store.Person
		base  *baseRow
	)
	batch.Queue("SELECT pg_advisory_lock(hashtextextended($1, 0))", lockKey(tenant, id))
	j := q.store.readsOf(ctx, tenant, id)
	if j != nil {
		q.store.queueBase(&batch, tenant, id, &read, &base)
	}
	if err := conn.SendBatch(ctx, &batch).Close(); err != nil {
		// The lock may be held (the read failed after it): closing the
		// session releases it.
		conn.Conn().Close(context.WithoutCancel(ctx))
		conn.Release()
		return nil, err
	}
	if j != nil {
		j.setNext(&read)
		j.setBase(base)
	}
	return q.unlocker(conn, tenant, id, j), nil
}

// TryLock implements store.Locker. A lock connection not free at once
// counts as busy: the caller already holds one, and waiting could deadlock.
func (q *Queue) TryLock(ctx context.Context, tenant, id string) (func(), bool, error) {
	actx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	conn, err := q.locks.Acquire(actx)
	if err != nil {
		return nil, false, ctx.Err()
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", lockKey(tenant, id)).Scan(&ok); err != nil || !ok {
		conn.Release()
		return nil, false, err
	}
	return q.unlocker(conn, tenant, id, nil), true, nil
}

// unlocker releases the lock; with j, the job's final read of the person
// goes with it.
func (q *Queue) unlocker(conn *pgxpool.Conn, tenant, id string, j *jobReads) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var (
			batch pgx.Batch
			read  store.Person
		)
		batch.Queue("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lockKey(tenant, id))
		if j != nil {
			q.store.queuePerson(&batch, tenant, id, &read)
		}
		if err := conn.SendBatch(ctx, &batch).Close(); err != nil {
			// Closing the session releases its locks.
			conn.Conn().Close(ctx)
		} else if j != nil {
			j.mu.Lock()
			j.final = &read
			j.mu.Unlock()
		}
		conn.Release()
	}
}

// lockKey names a person's advisory lock. Two people whose keys collide in
// the 64-bit hash are only serialised, never mixed up.
func lockKey(tenant, id string) string { return "hrissync person " + tenant + "/" + id }

// jobReads carries a person's reads that come back with round trips a job
// makes anyway. A job's reconcile reads its person right after taking
// their lock, and again right after recording the intent; the job reads
// them once more after releasing the lock, to tell River how it ended.
// Each of these reads is sent with the round trip before it — the lock
// and the read in one batch, the release and the read in one batch, the
// intent's row as written — so that it is taken at the same point of the
// reconcile as before, one round trip sooner: a mark made after it is
// one made a moment after the read, as it always could be.
//
// workPerson puts one in the job's context; the Queue's Lock and unlock,
// and the Store's Person, Intend and other writes of the person find it
// there. A read is used once, by the next Person of that person in the
// job, and any other write of theirs in the job drops it.
type jobReads struct {
	schema, tenant, id string

	mu    sync.Mutex
	next  *store.Person // for the next Person
	base  *baseRow      // for the next Intend or Commit
	final *store.Person // read as the lock was released
}

// baseRow is the person's row as the job last read or wrote it, with the
// transaction that wrote it (xmin, which every write of a row changes): a
// write made from it, conditional on xmin, is the write that reading it
// locked would have made, in one statement instead of a transaction. If
// anything wrote the row meanwhile, the write finds no row, and the Store
// makes it again the usual way. gen, if not 0, is a mark generation drawn
// after the read, for an intent.
type baseRow struct {
	row  rowcodec.Row // as a write starts from it (ForWrite)
	xmin string
	gen  int64
}

type jobReadsKey struct{}

// readsOf returns the job's reads in ctx if they are of this person in
// this schema; nil otherwise.
func (s *Store) readsOf(ctx context.Context, tenant, id string) *jobReads {
	j, _ := ctx.Value(jobReadsKey{}).(*jobReads)
	if j == nil || j.schema != s.schema || j.tenant != tenant || j.id != id {
		return nil
	}
	return j
}

// setNext keeps p for the next Person; nil drops what was kept.
func (j *jobReads) setNext(p *store.Person) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.next = p
}

func (j *jobReads) takeNext() (store.Person, bool) {
	if j == nil {
		return store.Person{}, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.next
	j.next = nil
	if p == nil {
		return store.Person{}, false
	}
	return *p, true
}

func (j *jobReads) setBase(b *baseRow) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.base = b
}

func (j *jobReads) takeBase() *baseRow {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	b := j.base
	j.base = nil
	return b
}

func (j *jobReads) takeFinal() (store.Person, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.final
	j.final = nil
	if p == nil {
		return store.Person{}, false
	}
	return *p, true
}

// stale drops the reads kept for the person: the Store writes them in the
// job.
func (s *Store) stale(ctx context.Context, tenant string, ids ...string) {
	for _, id := range ids {
		j := s.readsOf(ctx, tenant, id)
		j.setNext(nil)
		j.setBase(nil)
	}
}
