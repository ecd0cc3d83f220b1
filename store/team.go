package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// This file keeps what the team features need (DESIGN §9): users' zones,
// the config entries last seeded, and the event and audit searches.

var (
	_ bot.UserSettings  = (*DB)(nil)
	_ bot.ConfigEntries = (*DB)(nil)
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
// start of its current window, without the changes. /alerts events pages
// in the database (EventsPage); this whole list is the reference the
// store's tests check those pages against.
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

// EventsPage returns one page of the events list (bot.EventsQuery), each
// event with the columns the list shows (listedCols). Without Match the
// counts come from the per-process cache kept by the events version
// (listCounts) and the page from short index walks around Now
// (openParts, pastParts); with Match, only the columns it sees
// are read for every event of the tag, and the match is Go's (case
// folding as in the rest of the bot). Either way only the page's rows are
// read in full.
func (db *DB) EventsPage(ctx context.Context, q bot.EventsQuery) (bot.EventsPage, error) {
	page, err := db.eventsPage(ctx, q)
	if err != nil {
		return bot.EventsPage{}, fmt.Errorf("list events: %w", err)
	}
	return page, nil
}

// eventsPageFrom returns the FROM and WHERE of the events of tag under
// alias o, with $1 the tag when there is one; the next placeholder is
// $2 (or $1).
func eventsPageFrom(tag string) (from string, args []any) {
	if tag == "" {
		return "FROM events o WHERE o.cur_due <> ''", nil
	}
	return "FROM event_tags t JOIN events o ON o.id = t.event_id WHERE t.tag = $1 AND o.cur_due <> ''", []any{tag}
}

func (db *DB) eventsPage(ctx context.Context, q bot.EventsQuery) (bot.EventsPage, error) {
	var (
		page             bot.EventsPage
		openIDs, pastIDs []string
	)
	if q.Match == nil {
		counts, err := db.listCounts(ctx, q.Tag)
		if err != nil {
			return page, err
		}
		now := ms(q.Now)
		page.Open = counts.open(now)
		page.Past = counts.total - page.Open
		oFrom, oN, pFrom, pN := pageParts(q, page.Open)
		if oN > 0 {
			if openIDs, err = db.pageOf(ctx, openParts, q.Tag, now, oFrom, oN); err != nil {
				return page, err
			}
		}
		if pN > 0 {
			if pastIDs, err = db.pageOf(ctx, pastParts, q.Tag, now, pFrom, pN); err != nil {
				return page, err
			}
		}
	} else {
		from, args := eventsPageFrom(q.Tag)
		n := len(args)
		// Open: neither happened nor cancelled, and the window ends after now.
		open := fmt.Sprintf("(o.cur_status NOT IN ($%d, $%d) AND o.cur_end > $%d)", n+1, n+2, n+3)
		args = append(args, string(watchers.Happened), string(watchers.Cancelled), ms(q.Now))
		type row struct {
			id    string
			start int64
		}
		rows, err := db.read.QueryContext(ctx, "SELECT o.id, o.title, o.cur_title, o.cur_start, CASE WHEN "+open+" THEN 1 ELSE 0 END "+
			from+" ORDER BY o.cur_start, o.id", args...)
		if err != nil {
			return page, err
		}
		defer rows.Close()
		var opens, pasts []row
		for rows.Next() {
			var (
				e      bot.EventRecord
				r      row
				isOpen int
			)
			if err := rows.Scan(&e.ID, &e.Title, &e.Current.Title, &r.start, &isOpen); err != nil {
				return page, err
			}
			if !q.Match(e) {
				continue
			}
			r.id = e.ID
			if isOpen == 1 {
				opens = append(opens, r)
			} else {
				pasts = append(pasts, r)
			}
		}
		if err := rows.Err(); err != nil {
			return page, err
		}
		rows.Close()
		slices.SortStableFunc(pasts, func(a, b row) int { return cmp.Compare(b.start, a.start) })
		page.Open, page.Past = len(opens), len(pasts)
		oFrom, oN, pFrom, pN := pageParts(q, page.Open)
		for _, r := range opens[min(oFrom, len(opens)):min(oFrom+oN, len(opens))] {
			openIDs = append(openIDs, r.id)
		}
		for _, r := range pasts[min(pFrom, len(pasts)):min(pFrom+pN, len(pasts))] {
			pastIDs = append(pastIDs, r.id)
		}
	}
	ids := append(openIDs, pastIDs...)
	if len(ids) == 0 {
		return page, nil
	}
	evs, err := db.listedEvents(ctx, ids)
	if err != nil {
		return page, err
	}
	page.Events = evs
	return page, nil
}

// pageParts splits q's page between the open part (open events in all)
// and the past part: an offset and a count in each.
func pageParts(q bot.EventsQuery, open int) (oFrom, oN, pFrom, pN int) {
	lo, hi := q.Offset, q.Offset+q.Limit
	switch q.Scope {
	case "open":
		return lo, q.Limit, 0, 0
	case "past":
		return 0, 0, lo, q.Limit
	}
	if lo < open {
		oFrom, oN = lo, min(hi, open)-lo
	}
	if hi > open {
		pFrom = max(lo-open, 0)
		pN = hi - open - pFrom
	}
	return oFrom, oN, pFrom, pN
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
