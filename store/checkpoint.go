package store

import (
	"context"
	"fmt"
	"time"
)

// SQLite copies its write-ahead log back into the database file in a
// checkpoint, which ends with an fsync of each. Left to SQLite, the
// checkpoint runs inside the commit that takes the log past 1,000 pages,
// on the one write connection: every claim and confirmation behind that
// commit waits for two fsyncs (10–20 ms on this machine's disk, once in
// every burst of a thousand alerts). So the write connection checkpoints
// only as a backstop, at walBackstop pages, and a reader connection runs a
// passive checkpoint every checkpointEvery, beside the writer: a passive
// checkpoint takes no lock that a writer or a reader waits for.
const (
	checkpointEvery = time.Second
	walBackstop     = 16000 // pages: 64 MB of log with 4 KiB pages
)

// checkpoints runs the background checkpoints until stop is closed, then
// closes done.
func (db *DB) checkpoints(every time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*every)
		_, _, err := db.checkpoint(ctx)
		cancel()
		switch {
		case err != nil && !failing:
			// A full disk, say: the log keeps growing until the backstop
			// or the next checkpoint that works.
			db.logger.Warn("background checkpoint failed; retrying", "err", err)
		case err == nil && failing:
			db.logger.Info("background checkpoint works again")
		}
		failing = err != nil
	}
}

// checkpoint copies what it can of SQLite's write-ahead log into the
// database file without waiting for other connections (a passive
// checkpoint) and returns the log's size and how much of it the database
// file now holds, in pages. PostgreSQL has nothing to do: 0, 0.
func (db *DB) checkpoint(ctx context.Context) (logPages, donePages int, err error) {
	if db.dialect.name != sqliteDialect.name {
		return 0, 0, nil
	}
	var busy int
	// Unprepared: a pragma is cheap to compile, and this runs once a second.
	if err := db.read.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &donePages); err != nil {
		return 0, 0, fmt.Errorf("checkpoint: %w", err)
	}
	return logPages, donePages, nil
}
