package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

var _ bot.LaterStore = (*DB)(nil)

// SchedulePost stores a post for later (bot.LaterStore). added is false
// when a post with its key is scheduled, or an alert with its key exists:
// the same press again, before or after the post was made.
func (db *DB) SchedulePost(ctx context.Context, p bot.ScheduledPost) (bool, error) {
	key := p.Alert.Key
	if key == "" {
		return false, fmt.Errorf("schedule post %q: empty key", p.Alert.Title)
	}
	platform, _, err := bot.SplitAddress(p.Channel)
	if err != nil {
		return false, fmt.Errorf("schedule post %s: %w", key, err)
	}
	data, err := json.Marshal(p.Alert)
	if err != nil {
		return false, fmt.Errorf("schedule post %s: encode: %w", key, err)
	}
	res, err := db.write.ExecContext(ctx, `INSERT INTO scheduled_posts (key, channel, platform, at, owner, event, alert, created_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8
		WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE key = $1)
		ON CONFLICT (key) DO NOTHING`,
		key, p.Channel, platform, ms(p.Alert.At), p.Owner, p.Alert.Event, string(data), ms(orNow(p.Created, db.Now().UTC())))
	if err != nil {
		return false, fmt.Errorf("schedule post %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("schedule post %s: %w", key, err)
	}
	return n > 0, nil
}

// PostDue turns platform's posts due at now into alerts with one delivery
// each and deletes them, in one transaction (bot.LaterStore). A post
// whose alert key exists by then is dropped: it was posted already; so is
// one that check refuses.
func (db *DB) PostDue(ctx context.Context, platform string, now time.Time, check func(bot.ScheduledPost) (bot.ScheduledPost, bool)) (int, error) {
	created := 0
	err := db.inRowTx(ctx, func(t *tx) error {
		created = 0
		rows, err := t.QueryContext(ctx, `DELETE FROM scheduled_posts WHERE platform = $1 AND at <= $2
			RETURNING key, channel, owner, alert, created_at`, platform, ms(now))
		if err != nil {
			return err
		}
		type due struct {
			key, channel, owner, alert string
			created                    int64
		}
		var posts []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.key, &d.channel, &d.owner, &d.alert, &d.created); err != nil {
				rows.Close()
				return err
			}
			posts = append(posts, d)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// In key order, as the alerts were made, for a stable outbox order.
		slices.SortFunc(posts, func(a, b due) int { return strings.Compare(a.key, b.key) })
		woken := map[string]bool{}
		var deliveries []newDelivery
		for _, p := range posts {
			var a watchers.Alert
			if err := json.Unmarshal([]byte(p.alert), &a); err != nil {
				return fmt.Errorf("post %s: decode: %w", p.key, err)
			}
			a.Key = p.key
			var holds []bot.Hold
			if check != nil {
				sp, ok := check(bot.ScheduledPost{Alert: a, Channel: p.channel, Owner: p.owner, Created: fromMS(p.created)})
				if !ok {
					continue
				}
				a = sp.Alert
				a.Key = p.key
				holds = sp.Holds
			}
			_, isNew, err := insertAlert(ctx, t, &bot.NewAlert{Alert: a, Channels: []string{p.channel}, Holds: holds}, now, woken, &deliveries)
			if err != nil {
				return err
			}
			if isNew {
				created++
			}
		}
		if err := insertDeliveries(ctx, t, deliveries); err != nil {
			return err
		}
		return db.notifyDeliveries(ctx, t, slices.Sorted(maps.Keys(woken)))
	})
	if err != nil {
		return 0, fmt.Errorf("post due for %s: %w", platform, err)
	}
	return created, nil
}

// NextPost returns when platform's earliest scheduled post is due
// (bot.LaterStore).
func (db *DB) NextPost(ctx context.Context, platform string) (time.Time, bool, error) {
	var at sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT MIN(at) FROM scheduled_posts WHERE platform = $1`, platform).Scan(&at); err != nil {
		return time.Time{}, false, fmt.Errorf("next post for %s: %w", platform, err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(at.Int64), true, nil
}

// ScheduledPosts returns owner's posts to channel, by time
// (bot.LaterStore).
func (db *DB) ScheduledPosts(ctx context.Context, owner, channel string) ([]bot.ScheduledPost, error) {
	ps, err := db.queryPosts(ctx, `SELECT key, channel, owner, alert, created_at FROM scheduled_posts
		WHERE owner = $1 AND channel = $2 ORDER BY at, key`, owner, channel)
	if err != nil {
		return nil, fmt.Errorf("scheduled posts of %s: %w", owner, err)
	}
	return ps, nil
}

// EventPosts returns every post about event, by time (bot.LaterStore).
func (db *DB) EventPosts(ctx context.Context, event string) ([]bot.ScheduledPost, error) {
	ps, err := db.queryPosts(ctx, `SELECT key, channel, owner, alert, created_at FROM scheduled_posts
		WHERE event = $1 ORDER BY at, key`, event)
	if err != nil {
		return nil, fmt.Errorf("scheduled posts about %s: %w", event, err)
	}
	return ps, nil
}

// DeletePost removes the post with key (bot.LaterStore).
func (db *DB) DeletePost(ctx context.Context, key string) (bool, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM scheduled_posts WHERE key = $1`, key)
	if err != nil {
		return false, fmt.Errorf("delete post %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delete post %s: %w", key, err)
	}
	return n > 0, nil
}

// queryPosts reads posts: key, channel, owner, alert, created_at.
func (db *DB) queryPosts(ctx context.Context, q string, args ...any) ([]bot.ScheduledPost, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.ScheduledPost
	for rows.Next() {
		var (
			p         bot.ScheduledPost
			key, data string
			created   int64
		)
		if err := rows.Scan(&key, &p.Channel, &p.Owner, &data, &created); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &p.Alert); err != nil {
			return nil, fmt.Errorf("scheduled post %s: decode: %w", key, err)
		}
		p.Alert.Key, p.Created = key, fromMS(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// CancelPosts removes owner's posts to channel about event, or all of
// them for event "" (bot.LaterStore).
func (db *DB) CancelPosts(ctx context.Context, owner, channel, event string) (int, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM scheduled_posts
		WHERE owner = $1 AND channel = $2 AND ($3 = '' OR event = $3)`, owner, channel, event)
	if err != nil {
		return 0, fmt.Errorf("cancel posts of %s: %w", owner, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("cancel posts of %s: %w", owner, err)
	}
	return int(n), nil
}

// Delivery returns one delivery with its alert (bot.LaterStore).
func (db *DB) Delivery(ctx context.Context, id int64) (bot.DeliveryRecord, error) {
	ds, err := db.queryDeliveries(ctx, "SELECT "+deliveryCols+", "+alertCols+
		" FROM deliveries d JOIN alerts a ON a.id = d.alert_id WHERE d.id = $1", id)
	if err != nil {
		return bot.DeliveryRecord{}, fmt.Errorf("delivery %d: %w", id, err)
	}
	if len(ds) == 0 {
		return bot.DeliveryRecord{}, fmt.Errorf("delivery %d: %w", id, bot.ErrNotFound)
	}
	return ds[0], nil
}
