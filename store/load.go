package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/policyteam/alertbot/bot"
)

// loadTables are the tables a load of events writes; on SQLite their
// secondary indexes are built after the rows when the load starts from no
// events (deferIndexes).
var loadTables = []string{"events", "event_tags", "event_changes", "schedule"}

// planIndexes are the indexes of loadTables that the date watchers'
// planning pass reads or keeps up to date (the due events, the plans,
// the events' dated changes). A load into an empty store builds them
// before it commits; the others, for the commands' lists, wait for
// BuildIndexes.
var planIndexes = map[string]bool{"schedule_due": true, "schedule_event": true, "events_next_change": true}

// LoadEvents saves the batches next returns, until it returns none, in one
// transaction: all of them or, on any error (next's included, returned as
// it is), none. It is how Seed writes a large file: one commit instead of
// one per batch. On SQLite, when the database has no events yet (a first
// start), the indexes of the events, their tags, changes and schedule are
// built from the stored rows after them instead of row by row, before the
// commit; after DeferListIndexes, only those the planning pass needs are,
// and the lists' ones wait for BuildIndexes. next runs inside the
// transaction and must not write through db (its one writer is taken);
// reads are fine, and see the database as it was before the load.
func (db *DB) LoadEvents(ctx context.Context, next func() ([]bot.EventRecord, error)) error {
	n := 0
	var nextErr error // next's own error, returned as it is
	err := db.inTx(ctx, func(t *tx) error {
		var deferred []pendingIndex
		if db.dialect.name == sqliteDialect.name {
			var err error
			if deferred, err = deferIndexes(ctx, t); err != nil {
				return err
			}
			// Into an empty store, the date watchers' schedule rows are
			// written in one statement after the events rather than by
			// lists of ids with each batch.
			t.scheduleAtEnd = deferred != nil
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
		later := db.listsLater.Load()
		for _, ix := range deferred {
			if planIndexes[ix.name] || !later {
				if _, err := t.ExecContext(sctx, ix.sql); err != nil {
					return fmt.Errorf("build index %s: %w", ix.name, err)
				}
				continue
			}
			if _, err := t.ExecContext(sctx, `INSERT INTO pending_indexes (name, sql) VALUES ($1, $2)`, ix.name, ix.sql); err != nil {
				return fmt.Errorf("note index %s to build: %w", ix.name, err)
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

// DeferListIndexes makes a later LoadEvents into an empty SQLite store
// leave the indexes of the commands' lists (events, upcoming) to
// BuildIndexes, to be called once the date watchers' first planning pass
// is done, so that pass starts a second sooner on 100,000 events; until
// then the lists read the tables whole. serve does this; a process that
// stops first has them built by the next Open.
func (db *DB) DeferListIndexes() { db.listsLater.Store(true) }

// pendingIndex is an index to build: its name and CREATE text.
type pendingIndex struct{ name, sql string }

// deferIndexes drops the secondary indexes of loadTables when there are no
// events yet and returns them to build again, as the migrations wrote them
// (SQLite keeps each index's CREATE text). Indexes that enforce a key
// (primary and unique, which have no text) stay: the load's upserts and
// foreign keys look rows up by them. With events already stored, nothing
// is dropped: rebuilding large indexes for a few rows would cost more than
// it saves.
func deferIndexes(ctx context.Context, t *tx) ([]pendingIndex, error) {
	var stored int
	if err := t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events)`).Scan(&stored); err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	if stored != 0 {
		return nil, nil
	}
	tables := make([]any, len(loadTables))
	for i, name := range loadTables {
		tables[i] = name
	}
	out, err := scanRows(ctx, t, `SELECT name, sql FROM sqlite_master
	WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (`+params(1, len(tables), false)+`) ORDER BY name`, tables,
		func(s scanner) (pendingIndex, error) {
			var ix pendingIndex
			return ix, s.Scan(&ix.name, &ix.sql)
		})
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	for _, ix := range out {
		// The name comes from sqlite_master, written by our migrations.
		if _, err := t.ExecContext(ctx, `DROP INDEX "`+ix.name+`"`); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", ix.name, err)
		}
	}
	return out, nil
}

// BuildIndexes builds the indexes a first start's load left to build
// (LoadEvents), each in a transaction of its own, and returns how many it
// built. The bot calls it once the date watchers' first planning pass is
// done; Open calls it too, for a process that stopped before. Nothing to
// do on PostgreSQL.
func (db *DB) BuildIndexes(ctx context.Context) (int, error) {
	built := 0
	for {
		if err := ctx.Err(); err != nil {
			return built, err
		}
		var ix pendingIndex
		err := db.inTx(ctx, func(t *tx) error {
			err := t.QueryRowContext(ctx, `SELECT name, sql FROM pending_indexes ORDER BY name LIMIT 1`).Scan(&ix.name, &ix.sql)
			if errors.Is(err, sql.ErrNoRows) {
				ix = pendingIndex{}
				return nil
			}
			if err != nil {
				return err
			}
			var exists int
			if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $1`, ix.name).Scan(&exists); err != nil {
				return err
			}
			sctx, err := t.detached(ctx)
			if err != nil {
				return err
			}
			if exists == 0 {
				if _, err := t.ExecContext(sctx, ix.sql); err != nil {
					return err
				}
			}
			_, err = t.ExecContext(sctx, `DELETE FROM pending_indexes WHERE name = $1`, ix.name)
			return err
		})
		if err != nil {
			return built, fmt.Errorf("build index %s: %w", ix.name, err)
		}
		if ix.name == "" {
			return built, nil
		}
		built++
	}
}
