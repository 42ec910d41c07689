package postgres_test

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store/postgres"
)

// One replica of a service that runs several: the state in PostgreSQL, the
// work shared through the Queue. Every replica runs the same code; each
// accepted webhook is applied once, by whichever replica River hands it to.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// Give the pool at least QueueOptions.Workers + 8 connections.
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	st, err := postgres.Open(ctx, pool, &postgres.Options{Schema: "hrissync"}) // migrates
	if err != nil {
		log.Fatal(err)
	}
	host, _ := os.Hostname()
	q, err := postgres.NewQueue(ctx, st, &postgres.QueueOptions{Name: host})
	if err != nil {
		log.Fatal(err)
	}

	// Stand-ins for the host's HRIS and learning platform connectors.
	hris := memory.NewHRIS(hrissync.RealClock{}, 1)
	platform := memory.NewPlatform(hrissync.RealClock{}, 1)
	eng, err := hrissync.New(hris, platform, st, &hrissync.Config{Dispatcher: q})
	if err != nil {
		log.Fatal(err)
	}
	// The webhook endpoint, on any replica, calls eng.Notify; the poll and
	// the 02:00 batch run once across the replicas.
	if err := eng.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
