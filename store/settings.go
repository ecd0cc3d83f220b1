package store

import (
	"context"
	"fmt"
	"time"

	"github.com/policyteam/alertbot/bot"
)

// This file keeps channels' settings and the deliveries they hold back
// (DESIGN §9).

var (
	_ bot.ChannelSettingsStore = (*DB)(nil)
	_ bot.HoldStore            = (*DB)(nil)
	_ bot.HeldPlanner          = (*DB)(nil)
)

// ChannelSettings returns every channel's settings, by channel.
func (db *DB) ChannelSettings(ctx context.Context) ([]bot.ChannelSettings, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT channel, quiet, digest, zone, origin, updated_at, updated_by
		FROM channel_settings ORDER BY channel`)
	if err != nil {
		return nil, fmt.Errorf("list channel settings: %w", err)
	}
	defer rows.Close()
	var out []bot.ChannelSettings
	for rows.Next() {
		var (
			s  bot.ChannelSettings
			at int64
		)
		if err := rows.Scan(&s.Channel, &s.Quiet, &s.Digest, &s.Zone, &s.Origin, &at, &s.UpdatedBy); err != nil {
			return nil, fmt.Errorf("list channel settings: %w", err)
		}
		s.UpdatedAt = fromMS(at)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list channel settings: %w", err)
	}
	return out, nil
}

// SetChannelSettings stores a channel's settings, replacing what it had;
// settings that set nothing delete its row.
func (db *DB) SetChannelSettings(ctx context.Context, s bot.ChannelSettings) error {
	if _, _, err := bot.SplitAddress(s.Channel); err != nil {
		return fmt.Errorf("channel settings: %w", err)
	}
	var err error
	if s.Empty() {
		_, err = db.write.ExecContext(ctx, "DELETE FROM channel_settings WHERE channel = $1", s.Channel)
	} else {
		_, err = db.write.ExecContext(ctx, `INSERT INTO channel_settings (channel, quiet, digest, zone, origin, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (channel) DO UPDATE SET quiet = excluded.quiet, digest = excluded.digest, zone = excluded.zone,
			origin = excluded.origin, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			s.Channel, s.Quiet, s.Digest, s.Zone, s.Origin, ms(orNow(s.UpdatedAt, db.Now().UTC())), s.UpdatedBy)
	}
	if err != nil {
		return fmt.Errorf("channel settings of %s: %w", s.Channel, err)
	}
	return nil
}

// HeldDue returns the held deliveries whose hold ends by now, with their
// alerts, by channel, release time and id.
func (db *DB) HeldDue(ctx context.Context, now time.Time) ([]bot.HeldDelivery, error) {
	return db.held(ctx, "held deliveries", heldDueWhere, ms(now))
}

// heldDueWhere selects the held deliveries due by $1, by the partial
// index of held deliveries (the state is written out for it).
const heldDueWhere = `d.state = 'held' AND d.next_try <= $1 ORDER BY d.channel, d.next_try, d.id`

// held reads the held deliveries that where selects, with their alerts;
// what names them in errors.
func (db *DB) held(ctx context.Context, what, where string, args ...any) ([]bot.HeldDelivery, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT d.id, d.channel, d.hold, d.next_try, d.held_from, `+alertCols+`
		FROM deliveries d JOIN alerts a ON a.id = d.alert_id WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []bot.HeldDelivery
	for rows.Next() {
		var (
			h           bot.HeldDelivery
			until, from int64
		)
		a, err := scanAlert(rows, &h.ID, &h.Channel, &h.Reason, &until, &from)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		h.Alert, h.Until, h.HeldFrom = a.Alert, fromMS(until), fromMS(from)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// NextHeld returns the earliest end of a hold; false when nothing is
// held.
func (db *DB) NextHeld(ctx context.Context) (time.Time, bool, error) {
	var next *int64
	if err := db.read.QueryRowContext(ctx, "SELECT MIN(next_try) FROM deliveries WHERE state = 'held'").Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("next held delivery: %w", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return fromMS(*next), true, nil
}

const (
	// sqlBundle marks a held delivery as carried by a summary (alert $2).
	sqlBundle = `UPDATE deliveries SET state = $1, bundle = $2 WHERE id = $3 AND state = $4`
	// sqlRelease makes a held delivery pending: it is sent by itself.
	sqlRelease = `UPDATE deliveries SET state = $1 WHERE id = $2 AND state = $3 RETURNING platform`
)

// releaseHeld makes held deliveries pending and notes their platforms in
// woken; deliveries no longer held (another pass released them) are left
// alone.
func releaseHeld(ctx context.Context, t *tx, ids []int64, woken map[string]bool) error {
	for _, id := range ids {
		rows, err := t.QueryContext(ctx, sqlRelease, bot.DeliveryPending, id, bot.DeliveryHeld)
		if err != nil {
			return fmt.Errorf("release delivery %d: %w", id, err)
		}
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return fmt.Errorf("release delivery %d: %w", id, err)
			}
			woken[p] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("release delivery %d: %w", id, err)
		}
	}
	return nil
}

// bundleHeld marks held deliveries as carried by the summary alert id.
func bundleHeld(ctx context.Context, t *tx, alertID int64, ids []int64) error {
	for _, id := range ids {
		if _, err := t.ExecContext(ctx, sqlBundle, bot.DeliveryBundled, alertID, id, bot.DeliveryHeld); err != nil {
			return fmt.Errorf("bundle delivery %d: %w", id, err)
		}
	}
	return nil
}

// HeldIn returns the deliveries held in channel, by release time and id.
func (db *DB) HeldIn(ctx context.Context, channel string) ([]bot.HeldDelivery, error) {
	return db.held(ctx, "held deliveries of "+channel, `d.channel = $1 AND d.state = $2 ORDER BY d.next_try, d.id`, channel, bot.DeliveryHeld)
}

// RescheduleHeld sets the reason and release time of each of holds (by
// ID) that is still held, in one transaction.
func (db *DB) RescheduleHeld(ctx context.Context, holds []bot.HeldDelivery) error {
	err := db.inTx(ctx, func(t *tx) error {
		for _, h := range holds {
			if _, err := t.ExecContext(ctx, "UPDATE deliveries SET hold = $1, next_try = $2 WHERE id = $3 AND state = $4",
				h.Reason, ms(h.Until), h.ID, bot.DeliveryHeld); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reschedule held deliveries: %w", err)
	}
	return nil
}
