package rowcodec

import (
	"database/sql"
	"testing"
)

// BenchmarkChecksum is the cost of summing a typical row: what each write
// and each read of a person adds.
func BenchmarkChecksum(b *testing.B) {
	r := Row{Tenant: "acme", ID: "w-0001234", HasAcct: true, Active: true,
		Applied:  `{"email":["w-0001234@example.com",1796202001000000000,1],"role":["dev",1796202002000000000,2],"department":["dept-3",1796202002000000000,2],"@active":["true",1796202002000000000,2]}`,
		DirtyGen: 42, Mark: sql.NullString{String: `{"Since":"2026-12-02T09:00:00Z","Classes":1,"Trigger":"realtime","EventID":"e-1","MinVersion":{"Time":"2026-12-02T09:00:03Z","Seq":3},"Generation":0}`, Valid: true},
		Due: sql.NullInt64{Int64: 1796461200000000000, Valid: true}, ListedRun: sql.NullString{String: "r1", Valid: true},
		ListedDigest: sql.NullString{String: "3f5a9c0e7b2d41aa", Valid: true}}
	for b.Loop() {
		r.Checksum()
	}
}
