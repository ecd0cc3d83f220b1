package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/policyteam/alertbot/bot"
)

// This file keeps what the team features need (DESIGN §9): users' zones,
// the config entries last seeded, and the event and audit searches.

var (
	_ bot.UserSettings  = (*DB)(nil)
	_ bot.ConfigEntries = (*DB)(nil)
	_ bot.EventBrowser  = (*DB)(nil)
	_ bot.AuditSearcher = (*DB)(nil)
)

// UserZone returns the zone user chose with /alerts tz, "" when none.
func (db *DB) UserZone(ctx context.Context, user string) (string, error) {
	var zone string
	err := db.read.QueryRowContext(ctx, "SELECT zone FROM user_settings WHERE user_addr = $1", user).Scan(&zone)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("zone of %s: %w", user, err)
	}
	return zone, nil
}

// SetUserZone stores user's zone; "" forgets it.
func (db *DB) SetUserZone(ctx context.Context, user, zone string, at time.Time) error {
	if user == "" {
		return errors.New("set zone: empty user")
	}
	var err error
	if zone == "" {
		_, err = db.write.ExecContext(ctx, "DELETE FROM user_settings WHERE user_addr = $1", user)
	} else {
		_, err = db.write.ExecContext(ctx, `INSERT INTO user_settings (user_addr, zone, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_addr) DO UPDATE SET zone = excluded.zone, updated_at = excluded.updated_at`,
			user, zone, ms(orNow(at, db.Now().UTC())))
	}
	if err != nil {
		return fmt.Errorf("set zone of %s: %w", user, err)
	}
	return nil
}

// ConfigEntry returns the config entry of kind and key as last seeded.
func (db *DB) ConfigEntry(ctx context.Context, kind, key string) (bot.ConfigEntry, bool, error) {
	e := bot.ConfigEntry{Kind: kind, Key: key}
	var items string
	var at int64
	err := db.read.QueryRowContext(ctx, "SELECT hash, items, updated_at FROM config_entries WHERE kind = $1 AND entry_key = $2",
		kind, key).Scan(&e.Hash, &items, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("config entry %s %s: %w", kind, key, err)
	}
	if err := json.Unmarshal([]byte(items), &e.Items); err != nil {
		return e, false, fmt.Errorf("config entry %s %s: decode items: %w", kind, key, err)
	}
	e.At = fromMS(at)
	return e, true, nil
}

// SetConfigEntry records a config entry as seeded, replacing the last.
func (db *DB) SetConfigEntry(ctx context.Context, e bot.ConfigEntry) error {
	if e.Kind == "" || e.Key == "" {
		return fmt.Errorf("config entry %q %q: empty kind or key", e.Kind, e.Key)
	}
	items := e.Items
	if items == nil {
		items = []string{}
	}
	data, err := json.Marshal(items)
	if err != nil {
		return fmt.Errorf("config entry %s %s: %w", e.Kind, e.Key, err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO config_entries (kind, entry_key, hash, items, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (kind, entry_key) DO UPDATE SET hash = excluded.hash, items = excluded.items, updated_at = excluded.updated_at`,
		e.Kind, e.Key, e.Hash, string(data), ms(orNow(e.At, db.Now().UTC()))); err != nil {
		return fmt.Errorf("config entry %s %s: %w", e.Kind, e.Key, err)
	}
	return nil
}

// EventSummaries returns every event (with tag, those carrying it) by the
// start of its current window, without the changes: /alerts events
// filters and pages these and shows only their current state.
func (db *DB) EventSummaries(ctx context.Context, tag string) ([]bot.EventRecord, error) {
	q := "SELECT " + eventCols + " FROM events e WHERE e.cur_due <> ''"
	var args []any
	if tag != "" {
		q += " AND EXISTS (SELECT 1 FROM event_tags t WHERE t.event_id = e.id AND t.tag = $1)"
		args = append(args, tag)
	}
	q += " ORDER BY e.cur_start, e.id"
	out, err := scanEvents(ctx, db.read, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

// SearchAudit returns up to n audit entries (≤ 0: all) that match,
// newest first; a nil match takes every entry. It reads the log newest
// first and stops at n, so a search near the top reads little.
func (db *DB) SearchAudit(ctx context.Context, n int, match func(bot.AuditEntry) bool) ([]bot.AuditEntry, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT id, at, who, channel, action, target, before_value, after_value FROM audit ORDER BY id DESC")
	if err != nil {
		return nil, fmt.Errorf("search audit log: %w", err)
	}
	defer rows.Close()
	var out []bot.AuditEntry
	for rows.Next() {
		var (
			e  bot.AuditEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Who, &e.Channel, &e.Action, &e.Target, &e.Before, &e.After); err != nil {
			return nil, fmt.Errorf("search audit log: %w", err)
		}
		e.At = fromMS(at)
		if match != nil && !match(e) {
			continue
		}
		out = append(out, e)
		if n > 0 && len(out) == n {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search audit log: %w", err)
	}
	return out, nil
}
