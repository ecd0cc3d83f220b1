package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// alertCacheSize bounds the alerts kept for the claims of their
// deliveries: a burst's worth, a few megabytes at most.
const alertCacheSize = 8192

// alertCacheIdle is how long after this process's last claim the cache
// keeps taking alerts: a process that delivers claims at least every
// minute (bot's idle poll), and one that does not would only fill it.
const alertCacheIdle = 2 * time.Minute

// alertCache keeps the alerts this process created lately, by id, until a
// claim of their deliveries reads them, so that the claim need not read
// them back from the database: a burst's claims otherwise spend two
// fifths of their time reading and decoding alerts just written. Alerts
// never change once written, so an entry cannot go stale; an alert not
// found here (made by another process, or evicted) is read as before.
type alertCache struct {
	mu      sync.Mutex
	m       map[int64]watchers.Alert
	ring    []int64 // the ids added, oldest evicted first once full
	next    int
	claimed time.Time // this process's last claim (wall clock)
}

// claiming notes that this process claims deliveries.
func (c *alertCache) claiming() {
	c.mu.Lock()
	c.claimed = time.Now()
	c.mu.Unlock()
}

// add keeps the alerts of recs (committed, so their ids are final) whose
// ids are among only.
func (c *alertCache) add(recs []bot.AlertRecord, only []int64) {
	if len(recs) == 0 || len(only) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.claimed) > alertCacheIdle {
		// Nobody here claims: keep nothing, and let go of what is kept.
		c.m, c.ring, c.next = nil, nil, 0
		return
	}
	if c.m == nil {
		c.m = make(map[int64]watchers.Alert, len(recs))
		c.ring = make([]int64, alertCacheSize)
	}
	keep := make(map[int64]bool, len(only))
	for _, id := range only {
		keep[id] = true
	}
	for _, r := range recs {
		if !keep[r.ID] {
			continue
		}
		if old := c.ring[c.next]; old != 0 {
			delete(c.m, old)
		}
		c.ring[c.next] = r.ID
		c.next = (c.next + 1) % len(c.ring)
		c.m[r.ID] = stored(r.Alert)
	}
}

// stored returns a as reading it back from the database gives it: its
// time to the millisecond in UTC, its fields' times as their JSON gives
// them back.
func stored(a watchers.Alert) watchers.Alert {
	a = own(a)
	a.At = fromMS(ms(a.At))
	for i, f := range a.Fields {
		if t, err := time.Parse(time.RFC3339Nano, f.Time.Format(time.RFC3339Nano)); err == nil {
			a.Fields[i].Time = t
		}
	}
	return a
}

// own returns a with slices of its own: each record of an alert is handed
// to a caller that may change it.
func own(a watchers.Alert) watchers.Alert {
	a.Tags, a.Fields = slices.Clone(a.Tags), slices.Clone(a.Fields)
	return a
}

// take fills in the alerts of ds that it holds, forgets them, and returns
// the ids of the alerts it lacks.
func (c *alertCache) take(ds []bot.DeliveryRecord) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []int64
	held := map[int64]bool{} // by alert id: whether the cache had it
	for i := range ds {
		id := ds[i].AlertID
		a, ok := c.m[id]
		if _, seen := held[id]; !seen {
			held[id] = ok
			if !ok {
				missing = append(missing, id)
			}
		}
		if ok {
			ds[i].Alert = own(a)
		}
	}
	for id, ok := range held {
		if ok {
			delete(c.m, id)
		}
	}
	return missing
}

// alertsByIDSQL reads the alerts of n ids from $1 on, by list size.
var alertsByIDSQL = bySize(func(n int) string {
	return "SELECT " + alertCols + " FROM alerts a WHERE a.id IN (" + params(1, n, false) + ")"
})

// fillAlerts gives each of ds its alert: from the cache when this process
// made it, read in t otherwise.
func (db *DB) fillAlerts(ctx context.Context, t *tx, ds []bot.DeliveryRecord) error {
	missing := db.recent.take(ds)
	if len(missing) == 0 {
		return nil
	}
	read := make(map[int64]watchers.Alert, len(missing))
	err := padded(len(missing), inBuckets, func(i int) any { return missing[i] }, func(ids []any) error {
		rows, err := t.QueryContext(ctx, alertsByIDSQL[len(ids)], ids...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanAlert(rows)
			if err != nil {
				return err
			}
			read[r.ID] = r.Alert
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("read alerts: %w", err)
	}
	for i := range ds {
		if ds[i].Alert.Key != "" {
			continue
		}
		a, ok := read[ds[i].AlertID]
		if !ok {
			return fmt.Errorf("delivery %d: alert %d: %w", ds[i].ID, ds[i].AlertID, bot.ErrNotFound)
		}
		ds[i].Alert = own(a)
	}
	return nil
}
