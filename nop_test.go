package hrissync

import (
	"context"
	"iter"
	"time"

	"github.com/hrissync/hrissync/store"
)

// nopSource and nopStore satisfy New for benchmarks of internals that
// touch neither.
type nopSource struct{}

func (nopSource) Get(context.Context, string) (Employee, error) { return Employee{}, ErrNotFound }
func (nopSource) List(context.Context) iter.Seq2[Employee, error] {
	return func(func(Employee, error) bool) {}
}
func (nopSource) ChangedSince(context.Context, time.Time) iter.Seq2[Employee, error] {
	return func(func(Employee, error) bool) {}
}

type nopStore struct{ store.Store }
