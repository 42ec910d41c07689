package rowcodec

// A person's row as both SQL stores keep it, and how damage to it is found
// and contained.
//
// Every row is written whole, with a checksum of its columns, so that a row
// altered on disk is found even when what it holds still parses: a flipped
// digit in a field's version could otherwise make every later change of that
// field look stale, silently and for good. A row that fails its checksum, has
// a column the store could not read, or holds JSON that does not decode is
// damaged: it is read as store.Person{ID, Damaged: true}, never as an error
// that would stop a whole poll or batch; and a write to it first replaces it
// with a quarantined row (Damaged, nothing kept), so that Pending lists the
// person until a Commit rebuilds it whole. Rows written before a store had
// checksums (Sum NULL) are trusted if they decode, until they are next
// written.
//
// What is summed is the text each store writes: SQLite keeps it as it is
// given; PostgreSQL keeps the mark and the failure as jsonb, which it
// rewrites in a form of its own, so that store decodes and re-encodes them
// before summing what it read (a change of meaning still changes the sum).

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"

	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// Row is one row of people, as stored.
type Row struct {
	Tenant, ID      string
	HasAcct, Active bool
	Applied         string // EncodeApplied's
	DirtyGen        int64
	Mark            sql.NullString // a store.Mark as JSON, its Generation 0
	Due             sql.NullInt64  // Unix nanoseconds
	Failure         sql.NullString // a store.Failure as JSON
	Dead            bool
	Damaged         bool // quarantined: the person's state is lost
	// ListedRun and ListedDigest are the person's store.Listing, both
	// NULL until a list first shows them.
	ListedRun, ListedDigest sql.NullString
	// Summary is the applied fields' digest and newest version
	// (EncodeSummary's), so that a person can be summarized
	// (store.Summarizer) without decoding Applied. NULL when not known:
	// a store that keeps none (PostgreSQL), a row written before the
	// store kept them, or a write that changed Applied without noting it
	// again (CommitSummarized does). A NULL summary costs only a decode.
	Summary sql.NullString
}

// Fresh is the row of a person not yet stored.
func Fresh(tenant, id string) Row {
	return Row{Tenant: tenant, ID: id, Applied: "{}"}
}

// Quarantined replaces a damaged row: nothing of it is kept, since none of
// it can be trusted, not even its mark.
func Quarantined(tenant, id string) Row {
	r := Fresh(tenant, id)
	r.Damaged = true
	return r
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is a CRC-32C of every column but the checksum itself, each
// length-prefixed or flagged NULL, so that no change of one column can be
// mistaken for a change of its neighbour. The listing's columns are summed
// only when either is set, so that a row summed before they existed (in
// SQLite) still checks out; one set is summed in full, so that a listing
// damaged to NULL fails too. The layout is what SQLite files hold: it cannot
// change without failing every row they have. The summary, likewise, is
// summed only when set, after a tag of its own: a summary damaged to NULL
// passes, and costs only a decode (a row without one is summarized from its
// applied fields); any other damage to it fails the row.
func (r *Row) Checksum() int64 {
	b := make([]byte, 0, 64+len(r.Tenant)+len(r.ID)+len(r.Applied)+len(r.Mark.String)+len(r.Failure.String)+
		len(r.ListedRun.String)+len(r.ListedDigest.String)+len(r.Summary.String))
	text := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	integer := func(n int64) { b = binary.BigEndian.AppendUint64(b, uint64(n)) }
	flag := func(ok bool) { b = append(b, boolByte(ok)) }
	text(r.Tenant)
	text(r.ID)
	flag(r.HasAcct)
	flag(r.Active)
	text(r.Applied)
	integer(r.DirtyGen)
	flag(r.Mark.Valid)
	text(r.Mark.String)
	flag(r.Due.Valid)
	integer(r.Due.Int64)
	flag(r.Failure.Valid)
	text(r.Failure.String)
	flag(r.Dead)
	flag(r.Damaged)
	if r.ListedRun.Valid || r.ListedDigest.Valid {
		flag(r.ListedRun.Valid)
		text(r.ListedRun.String)
		flag(r.ListedDigest.Valid)
		text(r.ListedDigest.String)
	}
	if r.Summary.Valid {
		b = append(b, 's')
		text(r.Summary.String)
	}
	return int64(crc32.Checksum(b, castagnoli))
}

func boolByte(ok bool) byte {
	if ok {
		return 1
	}
	return 0
}

// Stored is a row as read, and what checking it found.
type Stored struct {
	Row
	Intact bool // every column could be read, and the checksum, if any, matches
	Summed bool // it has a checksum: rows from before a store had them do not
}

// Check judges a row as read: sum is its stored checksum (NULL if it has
// none), unreadable whether a column could not be read as its type.
func Check(r Row, sum sql.NullInt64, unreadable bool) Stored {
	return Stored{Row: r, Intact: !unreadable && (!sum.Valid || sum.Int64 == r.Checksum()), Summed: sum.Valid}
}

// Sound reports whether the row can be relied on. An intact row with a
// checksum decodes, since a store wrote it; one from before checksums is
// decoded to be sure.
func (s *Stored) Sound() bool {
	if !s.Intact || s.Summed {
		return s.Intact
	}
	_, err := s.Row.Person()
	return err == nil
}

// Person is the row as the engine sees it: a damaged row is a damaged
// person, not an error.
func (s *Stored) Person() store.Person {
	if !s.Intact {
		return store.Person{ID: s.ID, Damaged: true}
	}
	p, err := s.Row.Person()
	if err != nil {
		return store.Person{ID: s.ID, Damaged: true}
	}
	return p
}

// ForWrite is the row a write starts from: as stored, or quarantined in
// place of a damaged one, so that a write never seals damage under a new
// checksum.
func (s *Stored) ForWrite() Row {
	if !s.Sound() {
		return Quarantined(s.Tenant, s.ID)
	}
	return s.Row
}

// Person decodes a row: a quarantined row is a damaged person, and JSON
// that does not decode an error.
func (r *Row) Person() (store.Person, error) {
	if r.Damaged {
		return store.Person{ID: r.ID, Damaged: true}, nil
	}
	p := store.Person{ID: r.ID, Exists: r.HasAcct, Active: r.Active, Due: FromNanos(r.Due),
		Listed: store.Listing{Run: r.ListedRun.String, Digest: r.ListedDigest.String}}
	var err error
	if p.Applied, err = DecodeApplied(r.Applied); err != nil {
		return p, err
	}
	if p.Dirty, err = r.HeldMark(); err != nil {
		return p, err
	}
	if r.Failure.Valid {
		p.Failure = &store.Failure{}
		if err := json.Unmarshal([]byte(r.Failure.String), p.Failure); err != nil {
			return p, fmt.Errorf("corrupt failure: %w", err)
		}
	}
	return p, nil
}

// HeldMark decodes the row's dirty mark, zero if the person is clean.
func (r *Row) HeldMark() (store.Mark, error) {
	var m store.Mark
	if r.DirtyGen == 0 || !r.Mark.Valid {
		return m, nil
	}
	if err := json.Unmarshal([]byte(r.Mark.String), &m); err != nil {
		return m, fmt.Errorf("corrupt mark: %w", err)
	}
	m.Generation = uint64(r.DirtyGen)
	return m, nil
}

// SetMark merges m into the row's mark under generation gen, which the
// store drew. replaceUnsure sets Unsure to m's rather than merging it.
func (r *Row) SetMark(m store.Mark, replaceUnsure bool, gen int64) error {
	held, err := r.HeldMark()
	if err != nil {
		return fmt.Errorf("%s: %w", r.ID, err)
	}
	merged := store.MergeMark(held, m)
	if replaceUnsure {
		merged.Unsure = m.Unsure
	}
	merged.Generation = 0
	enc, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	r.DirtyGen, r.Mark = gen, sql.NullString{String: string(enc), Valid: true}
	return nil
}

// SetFailure records a failed write.
func (r *Row) SetFailure(f store.Failure) error {
	js, err := json.Marshal(f)
	if err != nil {
		return err
	}
	r.Failure, r.Dead = sql.NullString{String: string(js), Valid: true}, f.Dead
	return nil
}

// Commit applies a commit to a row. A quarantined row is replaced whole:
// there is nothing trustworthy to merge the commit's fields with. The
// row's summary is dropped: CommitSummarized notes it again.
func (r *Row) Commit(c store.Commit) error {
	_, err := r.commit(c)
	return err
}

// CommitSummarized is Commit for a store that keeps summaries: the row's
// summary is that of the fields as merged.
func (r *Row) CommitSummarized(c store.Commit) error {
	applied, err := r.commit(c)
	if err != nil {
		return err
	}
	r.Summary = sql.NullString{String: EncodeSummary(store.AppliedDigest(applied), store.NewestApplied(applied)), Valid: true}
	return nil
}

// commit applies c and returns the applied fields as merged.
func (r *Row) commit(c store.Commit) (map[string]store.Applied, error) {
	held := map[string]store.Applied{}
	if !r.Damaged {
		var err error
		if held, err = DecodeApplied(r.Applied); err != nil {
			return nil, fmt.Errorf("%s: %w", r.ID, err)
		}
	}
	merged := store.MergeApplied(held, c.Applied)
	applied, err := EncodeApplied(merged)
	if err != nil {
		return nil, err
	}
	r.HasAcct, r.Active, r.Applied, r.Due = c.Exists, c.Active, applied, sql.NullInt64{}
	if !c.Due.IsZero() {
		r.Due = sql.NullInt64{Int64: c.Due.UnixNano(), Valid: true}
	}
	r.Failure, r.Dead, r.Damaged, r.Summary = sql.NullString{}, false, false, sql.NullString{}
	// The mark is cleared only if no mark came since the reconcile read
	// it; one that came stays, no longer unsure and owing no re-key: the
	// write it was unsure of, which rebound a re-keyed account, is now
	// recorded.
	if r.DirtyGen == int64(c.Generation) || !r.Mark.Valid {
		r.DirtyGen, r.Mark = 0, sql.NullString{}
		return merged, nil
	}
	m, err := r.HeldMark()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.ID, err)
	}
	m.Generation, m.Unsure, m.RekeyFrom = 0, false, ""
	enc, err := json.Marshal(m)
	r.Mark.String = string(enc)
	return merged, err
}

// List records a listing: one without a run keeps the stored run.
func (r *Row) List(l store.Listing) {
	run := l.Run
	if run == "" {
		run = r.ListedRun.String
	}
	r.ListedRun = sql.NullString{String: run, Valid: true}
	r.ListedDigest = sql.NullString{String: l.Digest, Valid: true}
}

// FromNanos is a time stored as Unix nanoseconds, NULL the zero time.
func FromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// Rekey moves from's account to to, under a mark drawn at generation gen,
// and returns the row the old id keeps. A damaged row is refused like a
// conflict: a quarantined from has no account to move, and whether a
// quarantined to has one is not known, so moving an account onto it could
// leave two bound to one person; the Commit that rebuilds it lets a later
// re-key through.
func Rekey(from Row, to *Row, rk store.Rekeying, gen int64) (Row, error) {
	fromPerson, err := from.Person()
	if err != nil {
		return Row{}, fmt.Errorf("%s: %w", from.ID, err)
	}
	toPerson, err := to.Person()
	if err != nil {
		return Row{}, fmt.Errorf("%s: %w", to.ID, err)
	}
	if err := store.CheckRekey(fromPerson, toPerson); err != nil {
		return Row{}, err
	}
	if to.Damaged {
		return Row{}, fmt.Errorf("re-keying %s to %s: %s is damaged, whether it has an account is not known: %w",
			rk.From, rk.To, rk.To, store.ErrConflict)
	}
	applied, err := EncodeApplied(store.Rekeyed(fromPerson))
	if err != nil {
		return Row{}, err
	}
	to.HasAcct, to.Active, to.Applied, to.Summary = from.HasAcct, from.Active, applied, sql.NullString{}
	m := rk.Mark
	m.Unsure, m.RekeyFrom = true, rk.From
	if err := to.SetMark(m, false, gen); err != nil {
		return Row{}, err
	}
	// All the old id keeps is where its account went, and the listing,
	// which is the list's: not dirty, nothing failed or due, no account for
	// People or Revocations to count twice.
	moved, err := EncodeApplied(store.MovedTo(rk.To))
	if err != nil {
		return Row{}, err
	}
	left := Fresh(from.Tenant, rk.From)
	left.Applied, left.ListedRun, left.ListedDigest = moved, from.ListedRun, from.ListedDigest
	return left, nil
}

// EncodeSummary packs a summary as the row keeps it: the digest, then the
// newest version's time in Unix nanoseconds (0 for none) and sequence.
func EncodeSummary(digest string, newest hrtype.Version) string {
	var t int64
	if !newest.Time.IsZero() {
		t = newest.Time.UnixNano()
	}
	return digest + " " + strconv.FormatInt(t, 10) + " " + strconv.FormatInt(newest.Seq, 10)
}

// decodeSummary unpacks what EncodeSummary packed.
func decodeSummary(s string) (digest string, newest hrtype.Version, ok bool) {
	digest, rest, ok1 := strings.Cut(s, " ")
	ts, seq, ok2 := strings.Cut(rest, " ")
	t, err1 := strconv.ParseInt(ts, 10, 64)
	n, err2 := strconv.ParseInt(seq, 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || digest == "" {
		return "", hrtype.Version{}, false
	}
	newest.Seq = n
	if t != 0 {
		newest.Time = time.Unix(0, t).UTC()
	}
	return digest, newest, true
}

// Summarized is the row as a store.Summarizer reads it: store.Summarize of
// what Person reads, without decoding the applied fields, the mark or the
// failure where the row holds its summary — an intact row with a checksum
// decodes, since a store wrote it (Sound), so only their presence counts.
// A row without one is decoded and summarized.
func (s *Stored) Summarized() store.Summary {
	if !s.Intact || s.Damaged {
		return store.Summary{ID: s.ID, Damaged: true}
	}
	digest, newest, ok := decodeSummary(s.Row.Summary.String)
	if !s.Summed || !s.Row.Summary.Valid || !ok {
		return store.Summarize(s.Person())
	}
	return store.Summary{ID: s.ID, Exists: s.HasAcct, Active: s.Active, Dirty: s.DirtyGen != 0 && s.Mark.Valid,
		Failed: s.Failure.Valid, Due: FromNanos(s.Due), Listed: store.Listing{Run: s.ListedRun.String, Digest: s.ListedDigest.String},
		Digest: digest, Newest: newest}
}
