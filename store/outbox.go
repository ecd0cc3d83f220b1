package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/policyteam/alertbot/bot"
)

const deliveryCols = `d.id, d.alert_id, d.channel, d.platform, d.state, d.attempts, d.next_try, d.last_error,
	d.message_id, d.created_at, d.sent_at, d.claimed_at, d.claim_owner`

// scanDelivery reads deliveryCols followed by alertCols.
func scanDelivery(s scanner) (bot.DeliveryRecord, error) {
	var (
		d                                 bot.DeliveryRecord
		nextTry, created, sentAt, claimed int64
	)
	a, err := scanAlert(s, &d.ID, &d.AlertID, &d.Channel, &d.Platform, &d.State, &d.Attempts, &nextTry,
		&d.LastError, &d.MessageID, &created, &sentAt, &claimed, &d.ClaimOwner)
	if err != nil {
		return d, err
	}
	d.Alert = a.Alert
	d.NextTry, d.Created, d.SentAt, d.ClaimedAt = fromMS(nextTry), fromMS(created), fromMS(sentAt), fromMS(claimed)
	return d, nil
}

func (db *DB) queryDeliveries(ctx context.Context, q string, args ...any) ([]bot.DeliveryRecord, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.DeliveryRecord
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// dueWhere selects a platform's ($1) pending ($2) deliveries due by $3 that
// no earlier pending delivery of their channel is waiting ahead of: a
// channel's deliveries go in order, so after a failed send its later ones
// wait for the retry instead of overtaking it.
const dueWhere = `d.platform = $1 AND d.state = $2 AND d.next_try <= $3
	AND NOT EXISTS (SELECT 1 FROM deliveries e
		WHERE e.channel = d.channel AND e.state = $2 AND e.next_try > $3 AND e.id < d.id)`

const pendingQuery = "SELECT " + deliveryCols + ", " + alertCols + ` FROM deliveries d JOIN alerts a ON a.id = d.alert_id
	WHERE ` + dueWhere + ` ORDER BY d.id`

// PendingDeliveries returns up to limit (≤ 0: all) pending deliveries of a
// platform whose next try is due by now, oldest first, with their alerts.
// A delivery behind an earlier one of its channel that is not due yet is
// not returned.
func (db *DB) PendingDeliveries(ctx context.Context, platform string, now time.Time, limit int) ([]bot.DeliveryRecord, error) {
	q := pendingQuery
	if limit > 0 {
		q += limitClause(limit)
	}
	ds, err := db.queryDeliveries(ctx, q, platform, bot.DeliveryPending, ms(now))
	if err != nil {
		return nil, fmt.Errorf("pending deliveries for %s: %w", platform, err)
	}
	return trim(ds, limit), nil
}

// ClaimDeliveries records that owner is about to send the pending
// deliveries ids, in one transaction: RecordDeliveries with claims only.
func (db *DB) ClaimDeliveries(ctx context.Context, owner string, now time.Time, ids []int64) error {
	return db.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: owner, At: now, Claims: ids})
}

const (
	sqlClaim = `UPDATE deliveries SET claim_owner = $1,
		claimed_at = CASE WHEN claimed_at = 0 THEN $2 ELSE claimed_at END
		WHERE id = $3 AND state = $4`
	sqlMarkSent = `UPDATE deliveries
		SET state = $1, message_id = $2, sent_at = $3, attempts = attempts + 1 WHERE id = $4`
)

// RecordDeliveries writes a batch of the delivery workers' outbox writes
// in one transaction (group commit): the sends the platform confirmed,
// then the claims. A claim keeps its first time, the earliest moment the
// message can have been posted; sent or failed deliveries are not claimed.
// A confirmation of a delivery that does not exist fails the batch.
func (db *DB) RecordDeliveries(ctx context.Context, batch bot.DeliveryBatch) error {
	if len(batch.Claims) == 0 && len(batch.Sent) == 0 {
		return nil
	}
	// Prepared once: the transaction runs each many times.
	if err := db.write.prepareAll(ctx, []string{sqlMarkSent, sqlClaim}); err != nil {
		return fmt.Errorf("record deliveries: %w", err)
	}
	err := db.inTx(ctx, func(t *tx) error {
		for _, s := range batch.Sent {
			res, err := t.ExecContext(ctx, sqlMarkSent, bot.DeliverySent, s.MessageID, ms(s.At), s.ID)
			if err != nil {
				return fmt.Errorf("delivery %d: mark sent: %w", s.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("delivery %d: mark sent: %w", s.ID, err)
			} else if n == 0 {
				return fmt.Errorf("delivery %d: %w", s.ID, bot.ErrNotFound)
			}
		}
		for _, id := range batch.Claims {
			if _, err := t.ExecContext(ctx, sqlClaim, batch.Owner, ms(batch.At), id, bot.DeliveryPending); err != nil {
				return fmt.Errorf("delivery %d: claim: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d sent, %d claimed: %w", len(batch.Sent), len(batch.Claims), err)
	}
	return nil
}

// NextDelivery returns when a platform's next pending delivery is due: the
// earliest next try among the first pending delivery of each channel (the
// others wait behind those); ok is false when none is pending.
func (db *DB) NextDelivery(ctx context.Context, platform string) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT MIN(next_try) FROM deliveries WHERE id IN
		(SELECT MIN(id) FROM deliveries WHERE platform = $1 AND state = $2 GROUP BY channel)`,
		platform, bot.DeliveryPending).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("next delivery for %s: %w", platform, err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	if next.Int64 == 0 {
		// A zero next try means "at once": report the epoch rather than
		// the zero time, which callers would take for "none".
		return time.UnixMilli(0).UTC(), true, nil
	}
	return fromMS(next.Int64), true, nil
}

// updateDelivery runs one UPDATE of a delivery and reports a missing row.
func (db *DB) updateDelivery(ctx context.Context, id int64, what, q string, args ...any) error {
	res, err := db.write.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("delivery %d: %s: %w", id, what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delivery %d: %s: %w", id, what, err)
	} else if n == 0 {
		return fmt.Errorf("delivery %d: %w", id, bot.ErrNotFound)
	}
	return nil
}

// MarkSent records a delivery as sent with the platform's message id. The
// successful attempt is counted in Attempts.
func (db *DB) MarkSent(ctx context.Context, id int64, messageID string, at time.Time) error {
	return db.updateDelivery(ctx, id, "mark sent", sqlMarkSent, bot.DeliverySent, messageID, ms(at), id)
}

// MarkRetry keeps a delivery pending until next, after attempts tries.
func (db *DB) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, errText string) error {
	return db.updateDelivery(ctx, id, "mark retry", `UPDATE deliveries
		SET state = $1, attempts = $2, next_try = $3, last_error = $4 WHERE id = $5`,
		bot.DeliveryPending, attempts, ms(next), errText, id)
}

// MarkFailed gives up on a delivery.
func (db *DB) MarkFailed(ctx context.Context, id int64, attempts int, errText string) error {
	return db.updateDelivery(ctx, id, "mark failed", `UPDATE deliveries
		SET state = $1, attempts = $2, last_error = $3 WHERE id = $4`,
		bot.DeliveryFailed, attempts, errText, id)
}

// ChannelHistory returns the last n (≤ 0: all) deliveries to a channel,
// newest first, with their alerts.
func (db *DB) ChannelHistory(ctx context.Context, channel string, n int) ([]bot.HistoryItem, error) {
	q := "SELECT " + deliveryCols + ", " + alertCols + ` FROM deliveries d JOIN alerts a ON a.id = d.alert_id
		WHERE d.channel = $1 ORDER BY d.id DESC`
	args := []any{channel}
	if n > 0 {
		q += limitClause(n)
	}
	ds, err := db.queryDeliveries(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", channel, err)
	}
	ds = trim(ds, n)
	out := make([]bot.HistoryItem, len(ds))
	for i, d := range ds {
		out[i] = bot.HistoryItem{Alert: d.Alert, Delivery: d}
	}
	return out, nil
}

// DeliveryCounts returns the number of deliveries in each state.
func (db *DB) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT state, COUNT(*) FROM deliveries GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	return out, nil
}
