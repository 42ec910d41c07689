package sqlite

// A person's row, and how damage to it is found and contained.
//
// Every row is written whole, with a checksum of its columns (sum), so that a
// row altered on disk is found even when what it holds still parses: a flipped
// digit in a field's version could otherwise make every later change of that
// field look stale, silently and for good. A row that fails its checksum, has
// a column of the wrong type, or holds JSON that does not decode is damaged:
// it is read as store.Person{ID, Damaged: true}, never as an error that
// would stop a whole poll or batch; and a write to it first replaces it with a
// quarantined row (damaged = 1, nothing kept), so that Pending lists the person
// until a Commit rebuilds it whole. Rows written before checksums existed
// (migration 0003) are trusted if they decode, until they are next written.
//
// The listing (migration 0006) is in the checksum only once a row has one:
// rows summed before the migration have NULL there, and summing them as
// they were keeps them sound without rewriting every row of the file.

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

// personRow is one row of people, as stored.
type personRow struct {
	tenant, id      string
	hasAcct, active bool
	applied         string
	dirtyGen        int64
	mark            sql.NullString
	due             sql.NullInt64
	failure         sql.NullString
	dead            bool
	damaged         bool // quarantined: the person's state is lost
	// listedRun and listedDigest are the person's store.Listing, both
	// NULL until a list first shows them.
	listedRun, listedDigest sql.NullString
}

const rowColumns = "tenant, id, has_acct, active, applied, dirty_gen, mark, due, failure, dead, damaged, sum, listed_run, listed_digest"

// freshRow is the row of a person not yet stored.
func freshRow(tenant, id string) personRow {
	return personRow{tenant: tenant, id: id, applied: "{}"}
}

// quarantined replaces a damaged row: nothing of it is kept, since none of it
// can be trusted, not even its mark.
func quarantined(tenant, id string) personRow {
	r := freshRow(tenant, id)
	r.damaged = true
	return r
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is a CRC-32C of every column but the checksum itself, each
// length-prefixed or flagged NULL, so that no change of one column can be
// mistaken for a change of its neighbour. The listing's columns are summed
// only when either is set, so that a row summed before they existed still
// checks out; one set is summed in full, so that a listing damaged to NULL
// fails too.
func (r *personRow) checksum() int64 {
	b := make([]byte, 0, 64+len(r.tenant)+len(r.id)+len(r.applied)+len(r.mark.String)+len(r.failure.String)+
		len(r.listedRun.String)+len(r.listedDigest.String))
	text := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	integer := func(n int64) { b = binary.BigEndian.AppendUint64(b, uint64(n)) }
	flag := func(ok bool) { b = append(b, boolByte(ok)) }
	text(r.tenant)
	text(r.id)
	flag(r.hasAcct)
	flag(r.active)
	text(r.applied)
	integer(r.dirtyGen)
	flag(r.mark.Valid)
	text(r.mark.String)
	flag(r.due.Valid)
	integer(r.due.Int64)
	flag(r.failure.Valid)
	text(r.failure.String)
	flag(r.dead)
	flag(r.damaged)
	if r.listedRun.Valid || r.listedDigest.Valid {
		flag(r.listedRun.Valid)
		text(r.listedRun.String)
		flag(r.listedDigest.Valid)
		text(r.listedDigest.String)
	}
	return int64(crc32.Checksum(b, castagnoli))
}

func boolByte(ok bool) byte {
	if ok {
		return 1
	}
	return 0
}

// storedRow is a row as read, and what checking it found.
type storedRow struct {
	personRow
	intact bool // every column has its type, and the checksum, if any, matches
	summed bool // it has a checksum: rows from before migration 0003 do not
}

// sound reports whether the row can be relied on. An intact row with a
// checksum decodes, since this code wrote it; one from before checksums is
// decoded to be sure.
func (r *storedRow) sound() bool {
	if !r.intact || r.summed {
		return r.intact
	}
	_, err := r.person()
	return err == nil
}

// readRow scans a row of rowColumns. An error is the query's, never the
// row's: what is wrong with the row, the storedRow says.
func readRow(sc rowcodec.Scanner) (storedRow, error) {
	raw := make([]any, 14)
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	if err := sc.Scan(dest...); err != nil {
		return storedRow{}, err
	}
	c := columns{raw: raw}
	r := personRow{
		tenant: c.text(0), id: c.text(1), hasAcct: c.flag(2), active: c.flag(3), applied: c.text(4),
		dirtyGen: c.integer(5), mark: c.nullText(6), due: c.nullInteger(7), failure: c.nullText(8),
		dead: c.flag(9), damaged: c.flag(10), listedRun: c.nullText(12), listedDigest: c.nullText(13),
	}
	sum := c.nullInteger(11)
	return storedRow{personRow: r, intact: !c.bad && (!sum.Valid || sum.Int64 == r.checksum()), summed: sum.Valid}, nil
}

// columns converts a row's values strictly: a value of another type than
// the column's, as a damaged record header would give, makes the row bad
// rather than converted.
type columns struct {
	raw []any
	bad bool
}

func (c *columns) text(i int) string {
	s, ok := c.raw[i].(string)
	c.bad = c.bad || !ok
	return s
}

func (c *columns) integer(i int) int64 {
	n, ok := c.raw[i].(int64)
	c.bad = c.bad || !ok
	return n
}

func (c *columns) flag(i int) bool {
	n := c.integer(i)
	c.bad = c.bad || (n != 0 && n != 1)
	return n == 1
}

func (c *columns) nullText(i int) sql.NullString {
	if c.raw[i] == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: c.text(i), Valid: true}
}

func (c *columns) nullInteger(i int) sql.NullInt64 {
	if c.raw[i] == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: c.integer(i), Valid: true}
}

// person decodes a row: a quarantined row is a damaged person, and JSON that
// does not decode an error.
func (r *personRow) person() (store.Person, error) {
	if r.damaged {
		return store.Person{ID: r.id, Damaged: true}, nil
	}
	p := store.Person{ID: r.id, Exists: r.hasAcct, Active: r.active, Due: fromNanos(r.due),
		Listed: store.Listing{Run: r.listedRun.String, Digest: r.listedDigest.String}}
	var err error
	if p.Applied, err = rowcodec.DecodeApplied(r.applied); err != nil {
		return p, err
	}
	if p.Dirty, err = r.heldMark(); err != nil {
		return p, err
	}
	if r.failure.Valid {
		p.Failure = &store.Failure{}
		if err := json.Unmarshal([]byte(r.failure.String), p.Failure); err != nil {
			return p, fmt.Errorf("corrupt failure: %w", err)
		}
	}
	return p, nil
}

// heldMark decodes the row's dirty mark, zero if the person is clean.
func (r *personRow) heldMark() (store.Mark, error) {
	var m store.Mark
	if r.dirtyGen == 0 || !r.mark.Valid {
		return m, nil
	}
	if err := json.Unmarshal([]byte(r.mark.String), &m); err != nil {
		return m, fmt.Errorf("corrupt mark: %w", err)
	}
	m.Generation = uint64(r.dirtyGen)
	return m, nil
}

// scanPerson reads a row as the engine sees it: a damaged row is a damaged
// person, not an error.
func scanPerson(sc rowcodec.Scanner) (store.Person, error) {
	r, err := readRow(sc)
	if err != nil {
		return store.Person{}, err
	}
	if !r.intact {
		return store.Person{ID: r.id, Damaged: true}, nil
	}
	p, err := r.person()
	if err != nil {
		return store.Person{ID: r.id, Damaged: true}, nil
	}
	return p, nil
}

// load reads a person's row for a write: as stored, fresh for a person not
// yet stored, or quarantined in place of a damaged one, so that a write
// never seals damage under a new checksum.
func (s *Store) load(ctx context.Context, tx *txn, tenant, id string) (personRow, error) {
	r, err := readRow(s.txQueryRow(ctx, tx, "SELECT "+rowColumns+" FROM people WHERE tenant = ? AND id = ?", tenant, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return freshRow(tenant, id), nil
	case err != nil:
		return personRow{}, err
	case !r.sound():
		return quarantined(tenant, id), nil
	}
	return r.personRow, nil
}

// save writes a row whole, with its checksum.
func (s *Store) save(ctx context.Context, tx *txn, r personRow) error {
	_, err := s.txExec(ctx, tx, "INSERT INTO people ("+rowColumns+") VALUES ("+placeholders(14)+`)
		ON CONFLICT (tenant, id) DO UPDATE SET has_acct = excluded.has_acct, active = excluded.active,
			applied = excluded.applied, dirty_gen = excluded.dirty_gen, mark = excluded.mark, due = excluded.due,
			failure = excluded.failure, dead = excluded.dead, damaged = excluded.damaged, sum = excluded.sum,
			listed_run = excluded.listed_run, listed_digest = excluded.listed_digest`,
		r.tenant, r.id, r.hasAcct, r.active, r.applied, r.dirtyGen, r.mark, r.due, r.failure, r.dead, r.damaged, r.checksum(),
		r.listedRun, r.listedDigest)
	return err
}

// quarantine replaces every damaged row with a quarantined one, so that
// Pending lists the person and the engine rebuilds them at once rather than
// whenever they are next read. Open runs it after its check of the file.
func (s *Store) quarantine(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT "+rowColumns+" FROM people WHERE damaged = 0")
	if err != nil {
		return err
	}
	found := map[string][]string{}
	for rows.Next() {
		r, err := readRow(rows)
		if err != nil {
			rows.Close()
			return err
		}
		if !r.sound() {
			found[r.tenant] = append(found[r.tenant], r.id)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if len(found) == 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		for tenant, ids := range found {
			for _, id := range ids {
				if err := s.save(ctx, tx, quarantined(tenant, id)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
