package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// line is one entry as written: its place in its tenant's chain, the hash
// of the previous entry of that tenant, its own hash over prev, seq, tenant
// and the entry's bytes exactly as written, and the hash of the line before
// it in the log (of whatever tenant), so that the order of the whole log is
// fixed too.
type line struct {
	Seq    int64           `json:"seq"`
	Tenant string          `json:"tenant"`
	Prev   string          `json:"prev"`
	Hash   string          `json:"hash"`
	Link   string          `json:"link"`
	Entry  json.RawMessage `json:"entry"`
}

// Head is a place in one tenant's chain: an entry's sequence number and
// hash. Heads are where each chain ends; an anchor is the head the Store
// last acknowledged.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func lineHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func chainHash(prev string, seq int64, tenant string, entry []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%s\n", prev, seq, tenant)
	h.Write(entry)
	return hex.EncodeToString(h.Sum(nil))
}

// chain is the state of a log's chains after some lines: each tenant's
// head, the hash of the last line, and every entry's hash, so that an
// anchor anywhere in a chain can be checked without reading the files
// again. An index of nil keeps no hashes.
type chain struct {
	heads map[string]Head
	link  string
	index map[string]*hashes
}

func newChain() *chain {
	return &chain{heads: map[string]Head{}, index: map[string]*hashes{}}
}

// extend moves tenant's chain on to h, the entry written after `after` as
// the line b. after is the tenant's head, except for the first entry of a
// restarted chain, which continues from the anchor it names.
func (ch *chain) extend(tenant string, after, h Head, b []byte) {
	if ch.index != nil {
		x := ch.index[tenant]
		if x == nil {
			x = &hashes{base: after}
			ch.index[tenant] = x
		}
		var sum [sha256.Size]byte
		hex.Decode(sum[:], []byte(h.Hash)) // verified or computed: always hex
		x.sums = append(x.sums, sum)
	}
	ch.heads[tenant] = h
	ch.link = lineHash(b)
}

// hashes are one chain's entry hashes in order, from the entry after base:
// base is zero, or for a restarted chain the anchor it continues from. 32
// bytes an entry, less than the log already keeps for each entry's ID.
type hashes struct {
	base Head
	sums [][sha256.Size]byte
}

// at returns the hash of the chain's entry seq, if the chain holds it.
func (x *hashes) at(seq int64) (string, bool) {
	if x == nil {
		return "", seq == 0
	}
	switch i := seq - x.base.Seq; {
	case i == 0:
		return x.base.Hash, true
	case i > 0 && i <= int64(len(x.sums)):
		return hex.EncodeToString(x.sums[i-1][:]), true
	}
	return "", false
}
