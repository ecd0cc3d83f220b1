package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/policyteam/alertbot/bot"
)

// Subscribe routes target's alerts to a channel; added is false when the
// subscription existed (it is left as it was).
func (db *DB) Subscribe(ctx context.Context, s bot.Subscription) (bool, error) {
	if s.Channel == "" || s.Target == "" {
		return false, fmt.Errorf("subscribe %q to %q: empty channel or target", s.Channel, s.Target)
	}
	var added bool
	err := db.inRowTx(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, sqlSubscribe, s.Channel, s.Target, s.Origin, ms(orNow(s.Created, t.now)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		added = n > 0
		// The channel's claim row is made now rather than with its
		// first delivery, in the middle of a burst.
		if p, _, err := bot.SplitAddress(s.Channel); err == nil {
			return t.ensureChannel(ctx, s.Channel, p)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("subscribe %s to %s: %w", s.Channel, s.Target, err)
	}
	return added, nil
}

const sqlSubscribe = `INSERT INTO subscriptions (channel, target, origin, created_at)
	VALUES ($1, $2, $3, $4) ON CONFLICT (channel, target) DO NOTHING`

// Unsubscribe removes a subscription; removed is false when there was none.
func (db *DB) Unsubscribe(ctx context.Context, channel, target string) (bool, error) {
	return db.deleteKeyed(ctx, "unsubscribe", "DELETE FROM subscriptions WHERE channel = $1 AND target = $2", channel, target)
}

func (db *DB) deleteKeyed(ctx context.Context, what, q, channel, target string) (bool, error) {
	res, err := db.write.ExecContext(ctx, q, channel, target)
	if err != nil {
		return false, fmt.Errorf("%s %s from %s: %w", what, channel, target, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s %s from %s: %w", what, channel, target, err)
	}
	return n > 0, nil
}

// Subscriptions returns every subscription, by channel and target.
func (db *DB) Subscriptions(ctx context.Context) ([]bot.Subscription, error) {
	out, err := scanRows(ctx, db.read, "SELECT "+subscriptionCols+" FROM subscriptions ORDER BY channel, target", nil, scanSubscription)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out, nil
}

// subscriptionCols are the columns scanSubscription reads.
const subscriptionCols = "channel, target, origin, created_at"

func scanSubscription(sc scanner) (bot.Subscription, error) {
	var (
		s       bot.Subscription
		created int64
	)
	err := sc.Scan(&s.Channel, &s.Target, &s.Origin, &created)
	s.Created = fromMS(created)
	return s, err
}

// SubscriptionsFor returns the subscriptions to any of targets (repeats
// allowed), in no particular order. Routing reads only the targets a run's
// alerts match (bot.TargetReader), from the subscriptions_target index
// alone.
func (db *DB) SubscriptionsFor(ctx context.Context, targets []string) ([]bot.Subscription, error) {
	targets = slices.Compact(slices.Sorted(slices.Values(targets)))
	anon := db.dialect.name == sqliteDialect.name
	var out []bot.Subscription
	err := padded(len(targets), inBuckets, func(i int) any { return targets[i] }, func(list []any) error {
		subs, err := scanRows(ctx, db.read, subscriptionsForSQL[anon][len(list)], list, scanSubscription)
		out = append(out, subs...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("subscriptions of %d targets: %w", len(targets), err)
	}
	return out, nil
}

// subscriptionsForSQL reads the subscriptions of n targets, by placeholder
// style ("?" on SQLite, see tx.anonParams) and list size (inBuckets).
var subscriptionsForSQL = map[bool]map[int]string{false: subscriptionsForTexts(false), true: subscriptionsForTexts(true)}

func subscriptionsForTexts(anon bool) map[int]string {
	m := map[int]string{}
	for _, n := range inBuckets {
		m[n] = "SELECT " + subscriptionCols + " FROM subscriptions WHERE target IN (" + params(1, n, anon) + ")"
	}
	return m
}

// Mute silences target in a channel until m.Until, replacing an existing
// mute. Expired mutes are cleared on the way.
func (db *DB) Mute(ctx context.Context, m bot.Mute) error {
	if m.Channel == "" || m.Target == "" {
		return fmt.Errorf("mute %q in %q: empty channel or target", m.Target, m.Channel)
	}
	if m.Until.IsZero() {
		return fmt.Errorf("mute %s in %s: no end time", m.Target, m.Channel)
	}
	err := db.inTx(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, "DELETE FROM mutes WHERE until <= $1", ms(t.now)); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `INSERT INTO mutes (channel, target, until, muted_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (channel, target) DO UPDATE SET until = excluded.until, muted_by = excluded.muted_by`,
			m.Channel, m.Target, ms(m.Until), m.By)
		return err
	})
	if err != nil {
		return fmt.Errorf("mute %s in %s: %w", m.Target, m.Channel, err)
	}
	return nil
}

// Unmute lifts a mute; removed is false when there was none.
func (db *DB) Unmute(ctx context.Context, channel, target string) (bool, error) {
	return db.deleteKeyed(ctx, "unmute", "DELETE FROM mutes WHERE channel = $1 AND target = $2", channel, target)
}

// Mutes returns the mutes still in force at now, by channel and target.
func (db *DB) Mutes(ctx context.Context, now time.Time) ([]bot.Mute, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT channel, target, until, muted_by FROM mutes WHERE until > $1 ORDER BY channel, target", ms(now))
	if err != nil {
		return nil, fmt.Errorf("list mutes: %w", err)
	}
	defer rows.Close()
	var out []bot.Mute
	for rows.Next() {
		var (
			m     bot.Mute
			until int64
		)
		if err := rows.Scan(&m.Channel, &m.Target, &until, &m.By); err != nil {
			return nil, fmt.Errorf("list mutes: %w", err)
		}
		m.Until = fromMS(until)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list mutes: %w", err)
	}
	return out, nil
}

// Audit appends an entry to the audit log; a zero At means now.
func (db *DB) Audit(ctx context.Context, e bot.AuditEntry) error {
	if e.Action == "" {
		return errors.New("audit: empty action")
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO audit (at, who, channel, action, target, before_value, after_value)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ms(orNow(e.At, db.Now().UTC())), e.Who, e.Channel, e.Action, e.Target, e.Before, e.After); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditLog returns the last n entries (≤ 0: all), newest first.
func (db *DB) AuditLog(ctx context.Context, n int) ([]bot.AuditEntry, error) {
	return db.SearchAudit(ctx, n, nil)
}
