package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/policyteam/alertbot/bot"
)

// Processes sharing a PostgreSQL database tell each other about changes
// with NOTIFY on a channel of their schema (dialect.notifyChannel); the
// payload is a bot topic. SQLite has one serving process: nobody to tell.

// notifyDeliveries wakes the delivery workers of platforms in every
// process once t commits (NOTIFY is delivered at commit, and not at all
// if t rolls back).
func (db *DB) notifyDeliveries(ctx context.Context, t *tx, platforms []string) error {
	if db.dialect.notifyChannel == "" {
		return nil
	}
	for _, p := range platforms {
		if _, err := t.ExecContext(ctx, "SELECT pg_notify($1, $2)", db.dialect.notifyChannel, bot.DeliveriesTopic(p)); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	return nil
}

// Notify tells every process listening on this database (Listen) about
// topic. On SQLite it does nothing.
func (db *DB) Notify(ctx context.Context, topic string) error {
	if db.dialect.notifyChannel == "" {
		return nil
	}
	if _, err := db.write.ExecContext(ctx, "SELECT pg_notify($1, $2)", db.dialect.notifyChannel, topic); err != nil {
		return fmt.Errorf("notify %q: %w", topic, err)
	}
	return nil
}

// Listen backoff: a failed connection is tried again after listenRetry,
// doubling up to listenRetryMax.
const (
	listenRetry    = 500 * time.Millisecond
	listenRetryMax = 10 * time.Second
)

// Listen calls fn with the topic of each notification sent on this
// database (Notify, and the store's own when deliveries are committed or
// claims released) until ctx ends. It listens on a connection of its own,
// outside the pools. When that connection fails it connects again, with
// backoff, and then calls fn with bot.TopicAll, since notifications may
// have been missed meanwhile; state hears each change (nil: listening;
// callers poll more while it is not). On SQLite it returns at once.
func (db *DB) Listen(ctx context.Context, fn func(topic string), state func(error)) {
	if db.pgConfig == nil || db.dialect.notifyChannel == "" {
		return
	}
	wait := listenRetry
	for first := true; ctx.Err() == nil; first = false {
		err := db.listenOnce(ctx, fn, func() {
			state(nil)
			wait = listenRetry
			if !first {
				fn(bot.TopicAll)
			}
		})
		if ctx.Err() != nil {
			return
		}
		state(err)
		db.logger.Warn("listening for other replicas failed; polling until it works again", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// listenOnce connects, listens, calls up, and passes notifications to fn
// until the connection fails or ctx ends.
func (db *DB) listenOnce(ctx context.Context, fn func(string), up func()) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, db.pgConfig.Copy())
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		// A context of its own: ctx may be done already.
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{db.dialect.notifyChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	up()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("wait for notification: %w", err)
		}
		fn(n.Payload)
	}
}
