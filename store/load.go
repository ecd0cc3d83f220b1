package store

import (
	"context"
	"fmt"

	"github.com/policyteam/alertbot/bot"
)

// loadTables are the tables a load of events writes; on SQLite their
// secondary indexes are built after the rows when the load starts from no
// events (deferIndexes).
var loadTables = []string{"events", "event_tags", "event_changes", "schedule"}

// LoadEvents saves the batches next returns, until it returns none, in one
// transaction: all of them or, on any error (next's included), none. It
// is how Seed writes a large file: one commit instead of one per batch,
// and on SQLite, when the database has no events yet (a first start), the
// indexes of the events, their tags, changes and schedule are built once
// at the end from the stored rows instead of row by row, which costs a
// third less for 100,000 events. next runs inside the transaction and must
// not write through db (its one writer is taken); reads are fine, and see
// the database as it was before the load.
func (db *DB) LoadEvents(ctx context.Context, next func() ([]bot.EventRecord, error)) error {
	n := 0
	var nextErr error // next's own error, returned as it is
	err := db.inTx(ctx, func(t *tx) error {
		var rebuild []string
		if db.dialect.name == sqliteDialect.name {
			var err error
			if rebuild, err = deferIndexes(ctx, t); err != nil {
				return err
			}
			// Into an empty store, the date watchers' schedule rows are
			// written in one statement after the events rather than by
			// lists of ids with each batch.
			t.scheduleAtEnd = rebuild != nil
		}
		for {
			evs, err := next()
			if err != nil {
				nextErr = err
				return err
			}
			if len(evs) == 0 {
				break
			}
			if err := saveEvents(ctx, t, evs); err != nil {
				return err
			}
			n += len(evs)
		}
		sctx, err := t.detached(ctx)
		if err != nil {
			return err
		}
		if t.scheduleAtEnd {
			if _, err := t.ExecContext(sctx, `INSERT INTO schedule (watcher_id, event_id, next_at)
	SELECT w.id, e.id, 0 FROM watchers w, events e WHERE w.dated = 1
	ON CONFLICT (watcher_id, event_id) DO UPDATE SET next_at = 0`); err != nil {
				return fmt.Errorf("schedule the events: %w", err)
			}
		}
		for _, q := range rebuild {
			if _, err := t.ExecContext(sctx, q); err != nil {
				return fmt.Errorf("build index: %w", err)
			}
		}
		return nil
	})
	if nextErr != nil {
		return nextErr
	}
	if err != nil {
		return fmt.Errorf("load events (%d saved before the error, none kept): %w", n, err)
	}
	return nil
}

// deferIndexes drops the secondary indexes of loadTables when there are no
// events yet and returns the statements that build them again, as the
// migrations wrote them (SQLite keeps each index's CREATE text). Indexes
// that enforce a key (primary and unique, which have no text) stay: the
// load's upserts and foreign keys look rows up by them. With events
// already stored, nothing is dropped: rebuilding large indexes for a few
// rows would cost more than it saves.
func deferIndexes(ctx context.Context, t *tx) ([]string, error) {
	var any int
	if err := t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events)`).Scan(&any); err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	if any != 0 {
		return nil, nil
	}
	rows, err := t.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
	WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (?, ?, ?, ?) ORDER BY name`,
		loadTables[0], loadTables[1], loadTables[2], loadTables[3])
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	var names, create []string
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list indexes: %w", err)
		}
		names = append(names, name)
		create = append(create, sql)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	for _, name := range names {
		// The name comes from sqlite_master, written by our migrations.
		if _, err := t.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", name, err)
		}
	}
	return create, nil
}
