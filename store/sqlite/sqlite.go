// Package sqlite is the embedded default store.Store: one SQLite file in
// WAL mode, through modernc.org/sqlite (pure Go, no cgo).
//
//	st, err := sqlite.Open(ctx, "/var/lib/hrissync/state.db", nil)
//	...
//	defer st.Close()
//
// Writes go through one connection and are grouped: the operations that
// arrive while a transaction commits share the next one, each in a savepoint
// of its own, so a burst of webhooks pays for a few fsyncs rather than one
// each — and no caller returns before its own operation is committed. The
// marks of a group (its accepts, intents and MarkDirty calls) are made
// together, by a few multi-row statements, each as it would be alone.
//
// Durability is a choice (Options.Durability): SurviveCrash, the default,
// keeps every committed transaction through a crash of the process
// (synchronous=NORMAL in WAL mode); SurvivePowerLoss also keeps the last
// transactions through a power cut or kernel panic (synchronous=FULL), at
// the cost of an fsync per group commit.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hrissync/hrissync/store"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Durability says what a commit survives.
type Durability int

// Durability settings.
const (
	// SurviveCrash keeps committed transactions through a crash of the
	// process; a power cut may lose the last ones. synchronous=NORMAL.
	SurviveCrash Durability = iota
	// SurvivePowerLoss keeps them through a power cut too.
	// synchronous=FULL.
	SurvivePowerLoss
)

// Options configure Open. A nil *Options means the defaults.
type Options struct {
	Durability Durability // default SurviveCrash
	// MaxGroup bounds the operations that share one transaction. Default 256.
	MaxGroup int
	// SkipCheck skips Open's check of the file, which reads all of it:
	// PRAGMA integrity_check, which refuses a damaged file (ErrDamaged)
	// and rebuilds damaged indexes, then every person's row against its
	// checksum, which quarantines the damaged ones so that the engine
	// rebuilds them at once. For 100,000 people (a 93 MB file, in the page
	// cache) the check takes about 0.6 s, 0.25 s of it integrity_check;
	// from a cold disk, add the time to read the file. Skipped, a damaged
	// file is found only when SQLite trips over it, and a damaged row only
	// when it is read.
	SkipCheck bool
}

// ErrNewerSchema: the file was written by a newer hrissync whose schema this
// one does not know. Upgrade hrissync rather than risk the data.
var ErrNewerSchema = errors.New("sqlite store: the file's schema is newer than this hrissync")

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on one SQLite file. Use Open; Close when done.
type Store struct {
	db       *sql.DB // readers
	writer   *sql.Conn
	ops      chan *op
	maxGroup int
	closing  chan struct{}
	closed   sync.WaitGroup
	once     sync.Once
	commits  atomic.Int64 // transactions the group committer has committed
	folds    atomic.Int64 // groups whose marks foldGroup made together

	// Prepared statements, by query text: parsing SQL costs more than
	// running these small queries.
	stmtMu  sync.Mutex
	readers map[string]*sql.Stmt // on the pool
	writers map[string]*sql.Stmt // on the writer connection
}

var _ store.Store = (*Store)(nil)

// txn marks code that runs inside the writer's open transaction. The
// transaction is begun and committed with plain statements on the writer
// connection rather than through sql.Tx, so that the statements prepared on
// that connection are reused as they are (sql.Tx would prepare them again).
type txn struct {
	gen genCounter
}

// genCounter is the generation counter (design §4.3) as one group commit
// sees it. The group's first draw updates the counters row as every draw
// once did (value + 1, returned); its later draws are counted here, and the
// row is written once more as the group commits if there were any — two
// statements a group rather than one a mark. The row is updated inside the
// group's transaction (BEGIN IMMEDIATE holds the file's write lock), so
// every generation stored or returned was drawn above the value the file
// held and is committed with the new value: a crash loses both or neither,
// and a reopened file, or another Store on it, never draws one again.
type genCounter struct {
	loaded bool
	stored int64 // the row's value, as updated by the first draw
	value  int64 // the last generation drawn
}

func (g *genCounter) draw(ctx context.Context, s *Store, tx *txn) (int64, error) {
	if g.loaded {
		g.value++
		return g.value, nil
	}
	if err := s.txQueryRow(ctx, tx, "UPDATE counters SET value = value + 1 WHERE name = 'generation' RETURNING value").Scan(&g.stored); err != nil {
		return 0, err
	}
	g.value, g.loaded = g.stored, true
	return g.value, nil
}

// mark and restore take back the draws of an op rolled back to a savepoint:
// the counter as it was at the savepoint, as the row is once rolled back
// (the first draw's update included), so that the counter counts exactly
// the marks committed, as when every draw updated the row.
func (g *genCounter) mark() genCounter     { return *g }
func (g *genCounter) restore(m genCounter) { *g = m }

// flush writes the counter's row if the group drew more than once.
func (g *genCounter) flush(ctx context.Context, s *Store, tx *txn) error {
	if !g.loaded || g.value == g.stored {
		return nil
	}
	_, err := s.txExec(ctx, tx, "UPDATE counters SET value = ? WHERE name = 'generation'", g.value)
	return err
}

// op is one write waiting for a group commit.
type op struct {
	fn   func(ctx context.Context, tx *txn) error
	ctx  context.Context
	done chan error
	// marks, if set, are the marks fn makes (an Accept's, an
	// AcceptBatch's, an Intend's, a MarkDirty's), all it does: the
	// committer may make them with the group's others instead (foldMarks).
	marks []*markOp
}

// uriPath escapes what a file: URI would read in a path: a "%" as an
// escape, a "?" or "#" as the end of the path.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// Open opens (creating if need be) the Store in the file at path, applies
// the migrations it lacks, and starts the group committer, which Close stops.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxGroup <= 0 {
		o.MaxGroup = 256
	}
	sync := "NORMAL"
	if o.Durability == SurvivePowerLoss {
		sync = "FULL"
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(" + sync + ")", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+uriPath.Replace(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	// Keep every connection open: database/sql keeps only two idle by
	// default, and each one it closes and reopens under load pays for
	// opening the file, its pragmas and preparing every statement again
	// (a fifth of a batch's time, before this).
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	writer, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, damaged(path, fmt.Errorf("sqlite store: opening %s: %w", path, err))
	}
	s := &Store{db: db, writer: writer, ops: make(chan *op, o.MaxGroup), maxGroup: o.MaxGroup, closing: make(chan struct{}),
		readers: map[string]*sql.Stmt{}, writers: map[string]*sql.Stmt{}}
	// The committer starts first, for the quarantine's writes; the check
	// and the migrations use the writer before it, which is safe because
	// nothing else can reach the Store until Open returns.
	s.closed.Add(1)
	go s.commitLoop()
	if err := s.ready(ctx, path, o.SkipCheck); err != nil {
		s.Close()
		return nil, damaged(path, err)
	}
	return s, nil
}

// ready migrates the file, checking it (unless told not to): its pages and
// its schema before a migration writes to it, its rows once the migrations
// have given them their checksums.
func (s *Store) ready(ctx context.Context, path string, skipCheck bool) error {
	if skipCheck {
		return migrate(ctx, s.writer, -1)
	}
	if err := s.check(ctx, path); err != nil {
		return err
	}
	if err := s.checkSchema(ctx, path); err != nil {
		return err
	}
	if err := migrate(ctx, s.writer, -1); err != nil {
		return err
	}
	return s.quarantine(ctx)
}

// Close stops the committer after the writes in hand and closes the file.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.closing) })
	s.closed.Wait()
	s.stmtMu.Lock()
	var errs []error
	for _, m := range []map[string]*sql.Stmt{s.readers, s.writers} {
		for q, st := range m {
			errs = append(errs, st.Close())
			delete(m, q)
		}
	}
	s.stmtMu.Unlock()
	return errors.Join(append(errs, s.writer.Close(), s.db.Close())...)
}

// stmt returns the prepared statement for query in m, preparing it once.
func (s *Store) stmt(ctx context.Context, m map[string]*sql.Stmt, query string, prepare func(context.Context, string) (*sql.Stmt, error)) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := m[query]; ok {
		return st, nil
	}
	st, err := prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	m[query] = st
	return st, nil
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, s.readers, query, s.db.PrepareContext)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// row is a *sql.Row or the error of preparing it.
type row struct {
	*sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.Row.Scan(dest...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) row {
	st, err := s.stmt(ctx, s.readers, query, s.db.PrepareContext)
	if err != nil {
		return row{err: err}
	}
	return row{Row: st.QueryRowContext(ctx, args...)}
}

func (s *Store) txExec(ctx context.Context, _ *txn, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, s.writers, query, s.writer.PrepareContext)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s *Store) txQuery(ctx context.Context, _ *txn, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, s.writers, query, s.writer.PrepareContext)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) txQueryRow(ctx context.Context, _ *txn, query string, args ...any) row {
	st, err := s.stmt(ctx, s.writers, query, s.writer.PrepareContext)
	if err != nil {
		return row{err: err}
	}
	return row{Row: st.QueryRowContext(ctx, args...)}
}

// migrate applies the embedded migrations the database lacks, in order, up
// to version to (all of them if to < 0), each in a transaction, recording
// the version in PRAGMA user_version.
func migrate(ctx context.Context, conn *sql.Conn, to int) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	have, err := schemaVersion(ctx, conn)
	if err != nil {
		return err
	}
	if to < 0 {
		to = len(names)
	}
	if newest := max(have, to); newest > len(names) {
		return fmt.Errorf("%w: file at version %d, this build knows %d", ErrNewerSchema, newest, len(names))
	}
	for i := have; i < to; i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite store: migration %s: %w", names[i], err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite store: migration %s: %w", names[i], err)
		}
	}
	return nil
}

func schemaVersion(ctx context.Context, conn *sql.Conn) (int, error) {
	var v int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite store: reading schema version: %w", err)
	}
	return v, nil
}

// write runs fn in the next group commit and returns once that commit is
// durable (or failed). A cancelled ctx before the op is taken changes nothing.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *txn) error) error {
	return s.writeOp(ctx, &op{fn: fn})
}

// writeOp is write for an op its caller built: fn, and marks if fn makes
// marks and nothing else.
func (s *Store) writeOp(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.ctx, o.done = ctx, make(chan error, 1)
	select {
	case s.ops <- o:
	case <-s.closing:
		return errors.New("sqlite store: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-o.done
}

func (s *Store) commitLoop() {
	defer s.closed.Done()
	for {
		var first *op
		select {
		case first = <-s.ops:
		case <-s.closing:
			// Finish what is queued, then stop.
			for {
				select {
				case o := <-s.ops:
					s.commit([]*op{o})
				default:
					return
				}
			}
		}
		// Let the writers that are ready to run queue their ops first:
		// on busy cores the committer would otherwise take each op as it
		// comes and pay a commit for it, and a larger group costs less
		// per op (its statements are folded, its commit shared).
		runtime.Gosched()
		group := []*op{first}
	more:
		for len(group) < s.maxGroup {
			select {
			case o := <-s.ops:
				group = append(group, o)
			default:
				break more
			}
		}
		s.commit(group)
	}
}

// commit runs a group in one transaction, each op in its own savepoint so
// that one op's error undoes only that op.
func (s *Store) commit(group []*op) {
	ctx := context.Background()
	errs := make([]error, len(group))
	tx := &txn{}
	if _, err := s.writer.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		for _, o := range group {
			o.done <- fmt.Errorf("sqlite store: begin: %w", err)
		}
		return
	}
	folded := s.foldGroup(ctx, tx, group)
	for i, o := range group {
		if folded != nil && folded[i] {
			continue
		}
		if err := o.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := s.txExec(ctx, tx, "SAVEPOINT op"); err != nil {
			errs[i] = err
			continue
		}
		drawn := tx.gen.mark()
		if err := o.fn(o.ctx, tx); err != nil {
			errs[i] = err
			tx.gen.restore(drawn)
			if _, rerr := s.txExec(ctx, tx, "ROLLBACK TO op"); rerr != nil {
				errs[i] = errors.Join(err, rerr)
			}
		}
		if _, err := s.txExec(ctx, tx, "RELEASE op"); err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	err := tx.gen.flush(ctx, s, tx)
	if err == nil {
		_, err = s.writer.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		_, rerr := s.writer.ExecContext(ctx, "ROLLBACK")
		for i := range errs {
			errs[i] = errors.Join(errs[i], fmt.Errorf("sqlite store: commit: %w", err), rerr)
		}
	} else {
		s.commits.Add(1)
	}
	for i, o := range group {
		o.done <- errs[i]
	}
}

// foldGroup makes the group's marks together (foldMarks), in a savepoint
// of their own, and says which ops it made: none if fewer than two ops
// make marks, or if the fold failed, which leaves them to run one by one.
// The fold runs ahead of the group's other ops, which is safe: every op of
// a group was waiting at once (a caller waits for its write to commit), so
// none of their callers has seen another's outcome, and the transaction
// commits them all or none: the group is as if they had come in this
// order.
func (s *Store) foldGroup(ctx context.Context, tx *txn, group []*op) []bool {
	var ms []*markOp
	var at []int
	for i, o := range group {
		if len(o.marks) > 0 && o.ctx.Err() == nil {
			ms, at = append(ms, o.marks...), append(at, i)
		}
	}
	if len(at) < 2 {
		return nil
	}
	if _, err := s.txExec(ctx, tx, "SAVEPOINT fold"); err != nil {
		return nil
	}
	drawn := tx.gen.mark()
	err := s.foldMarks(ctx, tx, ms)
	if err != nil {
		tx.gen.restore(drawn)
		if _, rerr := s.txExec(ctx, tx, "ROLLBACK TO fold"); rerr != nil {
			err = rerr
		}
	}
	if _, rerr := s.txExec(ctx, tx, "RELEASE fold"); rerr != nil || err != nil {
		return nil
	}
	s.folds.Add(1)
	folded := make([]bool, len(group))
	for _, i := range at {
		folded[i] = true
	}
	return folded
}

// Commits returns how many transactions the Store has committed since Open
// (each group commit is one, however many writes it carries; the
// migrations are not counted): with SurvivePowerLoss, one fsync each. A
// host may export it as a metric; tests count the commits a write takes.
func (s *Store) Commits() int64 { return s.commits.Load() }

// placeholders returns "?,?,…" for n values.
func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }
