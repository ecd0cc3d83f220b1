package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// This file serves /alerts events at 100,000 events: the counts of its
// "1–10 of N" header from a per-process cache that the events version
// (migration 0011) keeps correct across processes, and its pages from
// short index ranges around now.

const (
	// sqlBumpEvents is run by every transaction that writes events.
	sqlBumpEvents = `UPDATE events_version SET version = version + 1 WHERE id = 1`
	sqlEventsVer  = `SELECT version FROM events_version WHERE id = 1`
	// closedStatuses are the statuses that make an event past whatever
	// its window; written as literals so that SQLite can use the partial
	// indexes whose WHERE names them.
	closedStatuses = `('happened', 'cancelled')`
)

// bumpEventsVersion marks the events as changed, in t: every process's
// cached counts are stale from its commit on.
func bumpEventsVersion(ctx context.Context, t *tx) error {
	if _, err := t.ExecContext(ctx, sqlBumpEvents); err != nil {
		return fmt.Errorf("bump events version: %w", err)
	}
	return nil
}

// listCounts are the counts of the events list of one tag, as of one
// events version.
type listCounts struct {
	total int     // listed events
	ends  []int64 // window ends (ms) of those neither happened nor cancelled, sorted
}

// open is how many of the events are open at now: neither happened nor
// cancelled, their window ending after now. Keeping the ends instead of a
// count keeps the entry valid as time passes, whatever now a command has.
func (c *listCounts) open(now int64) int {
	return len(c.ends) - sort.Search(len(c.ends), func(i int) bool { return c.ends[i] > now })
}

// maxCachedEnds bounds the window ends a process keeps (8 bytes each):
// the list of all events and a few tags at 100,000 events.
const maxCachedEnds = 1 << 19

// countCache holds the counts of the latest events version this process
// read, by tag.
type countCache struct {
	mu      sync.Mutex
	version int64
	tags    map[string]*listCounts
	ends    int // held in tags
}

func (c *countCache) get(version int64, tag string) *listCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version {
		return nil
	}
	return c.tags[tag]
}

// put keeps lc, read at version. Counts of an older version than the
// cache's are dropped (a slower reader finishing late); a newer version
// replaces everything.
func (c *countCache) put(version int64, tag string, lc *listCounts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version < c.version {
		return
	}
	if version > c.version || c.tags == nil || c.ends+len(lc.ends) > maxCachedEnds {
		c.version, c.tags, c.ends = version, map[string]*listCounts{}, 0
	}
	if old := c.tags[tag]; old != nil {
		c.ends -= len(old.ends)
	}
	c.tags[tag] = lc
	c.ends += len(lc.ends)
}

// reset forgets every count; benchmarks use it to time a cold read.
func (c *countCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version, c.tags, c.ends = 0, nil, 0
}

// listCounts returns the counts of tag's events list: from the cache
// when the events version is the one they were read at, else read (and
// kept) in one snapshot with the version.
func (db *DB) listCounts(ctx context.Context, tag string) (*listCounts, error) {
	var v int64
	if err := db.read.QueryRowContext(ctx, sqlEventsVer).Scan(&v); err != nil {
		return nil, fmt.Errorf("events version: %w", err)
	}
	if lc := db.counts.get(v, tag); lc != nil {
		return lc, nil
	}
	q, args := countsQuery(tag)
	// Prepared before the transaction, which then finds it cached.
	for _, s := range []string{sqlEventsVer, q} {
		if _, err := db.read.prepare(ctx, s); err != nil {
			return nil, fmt.Errorf("count events: %w", err)
		}
	}
	t, err := db.readTx(ctx)
	if err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	defer t.Rollback()
	// The version is read first: on PostgreSQL the snapshot begins with
	// it, and on SQLite the read transaction's first read fixes it, so the
	// counts below are of exactly this version.
	if err := t.QueryRowContext(ctx, sqlEventsVer).Scan(&v); err != nil {
		return nil, fmt.Errorf("events version: %w", err)
	}
	rows, err := t.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	defer rows.Close()
	lc := &listCounts{}
	for rows.Next() {
		var end, closed int64
		if err := rows.Scan(&end, &closed); err != nil {
			return nil, fmt.Errorf("count events: %w", err)
		}
		lc.total++
		if closed == 0 {
			lc.ends = append(lc.ends, end)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	slices.Sort(lc.ends)
	lc.ends = slices.Clip(lc.ends)
	db.counts.put(v, tag, lc)
	return lc, nil
}

// countsQuery selects the window end and whether it is closed (happened
// or cancelled) of every listed event of tag, from an index alone where
// it can: events_listed, or event_tags_listed with each row's event
// looked up for whether it is listed.
func countsQuery(tag string) (string, []any) {
	closed := "CASE WHEN o.cur_status IN " + closedStatuses + " THEN 1 ELSE 0 END"
	if tag == "" {
		return "SELECT o.cur_end, " + closed + " FROM events o WHERE o.cur_due <> ''", nil
	}
	return "SELECT o.cur_end, " + closed + ` FROM event_tags o JOIN events e ON e.id = o.event_id
	WHERE o.tag = $1 AND e.cur_due <> ''`, []any{tag}
}

// pageSource is where the ids of a page are picked from, under alias o:
// events, or for a tag event_tags (whose copy of the window columns puts
// the tag in the index range), whose events must still be listed.
func (b *queryBuilder) pageSource(tag string) (from, id string, where []string) {
	if tag == "" {
		return "events o", "o.id", []string{"o.cur_due <> ''"}
	}
	return "event_tags o", "o.event_id", []string{
		"o.tag = " + b.arg(tag),
		"EXISTS (SELECT 1 FROM events e WHERE e.id = o.event_id AND e.cur_due <> '')",
	}
}

// pageBranch is one ordered, limited part of a page's pick.
func (b *queryBuilder) pageBranch(tag string, cond []string, order string, limit int) string {
	from, id, where := b.pageSource(tag)
	where = append(where, cond...)
	return fmt.Sprintf("SELECT * FROM (SELECT %s AS id, o.cur_start AS cur_start FROM %s WHERE %s ORDER BY o.cur_start%s, %s LIMIT %s) b%d",
		id, from, strings.Join(where, " AND "), order, id, b.arg(limit), len(b.args))
}

// openPageQuery picks the ids of open events offset to offset+limit, by
// window start and id. An open window that started before now started at
// most its precision's longest span before it (validateEvent), so those
// are one short index range per precision, as in openEventsQuery; the
// rest start at or after now, a walk from now. Either walk stops at
// offset+limit rows instead of passing every past event.
func openPageQuery(tag string, now int64, offset, limit int) sqlQuery {
	var b queryBuilder
	var branches []string
	open := "o.cur_status NOT IN " + closedStatuses
	// Instants are never open once started: they end as they start.
	for p := watchers.Day; p <= watchers.FiscalYear; p++ {
		branches = append(branches, b.pageBranch(tag, []string{
			"o.cur_precision = " + b.arg(int(p)),
			"o.cur_start >= " + b.arg(now-maxSpan[p].Milliseconds()),
			"o.cur_start < " + b.arg(now),
			"o.cur_end > " + b.arg(now),
			open,
		}, "", offset+limit))
	}
	branches = append(branches, b.pageBranch(tag, []string{
		"o.cur_start >= " + b.arg(now), "o.cur_end > " + b.arg(now), open,
	}, "", offset+limit))
	q := "SELECT u.id FROM (" + strings.Join(branches, " UNION ALL ") + ") u ORDER BY u.cur_start, u.id LIMIT " +
		b.arg(limit) + " OFFSET " + b.arg(offset)
	return sqlQuery{q, b.args}
}

// pastPageQuery picks the ids of past events offset to offset+limit,
// newest window start first, ties by id. Past events starting after now
// are happened or cancelled ones, read from the partial indexes of those;
// the others are a walk back from now.
func pastPageQuery(tag string, now int64, offset, limit int) sqlQuery {
	var b queryBuilder
	closedLater := b.pageBranch(tag, []string{
		"o.cur_status IN " + closedStatuses, "o.cur_start > " + b.arg(now),
	}, " DESC", offset+limit)
	before := b.pageBranch(tag, []string{
		"o.cur_start <= " + b.arg(now),
		"(o.cur_end <= " + b.arg(now) + " OR o.cur_status IN " + closedStatuses + ")",
	}, " DESC", offset+limit)
	q := "SELECT u.id FROM (" + closedLater + " UNION ALL " + before + ") u ORDER BY u.cur_start DESC, u.id LIMIT " +
		b.arg(limit) + " OFFSET " + b.arg(offset)
	return sqlQuery{q, b.args}
}

// listedCols are the columns the events list and upcoming show: an
// event's id, titles, zone (for its local dates) and current due date and
// status.
const listedCols = `e.id, e.title, e.zone, e.cur_title, e.cur_due, e.cur_precision, e.cur_start, e.cur_end, e.cur_status`

// scanListed runs a query selecting listedCols.
func scanListed(ctx context.Context, q querier, query string, args ...any) ([]bot.EventRecord, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.EventRecord
	for rows.Next() {
		var (
			r          bot.EventRecord
			status     string
			prec       int
			start, end int64
		)
		if err := rows.Scan(&r.ID, &r.Title, &r.Zone, &r.Current.Title, &r.Current.Due.Raw, &prec, &start, &end, &status); err != nil {
			return nil, err
		}
		r.Current.Status = watchers.Status(status)
		r.Current.Due.Precision = watchers.Precision(prec)
		r.Current.Due.Start, r.Current.Due.End = fromMS(start), fromMS(end)
		out = append(out, r)
	}
	return out, rows.Err()
}

// listedQueries select the listed columns of n events by id, for each n
// of changeBuckets.
var listedQueries = func() map[int]string {
	m := map[int]string{}
	for _, n := range changeBuckets {
		marks := make([]string, n)
		for i := range marks {
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
		m[n] = "SELECT " + listedCols + " FROM events e WHERE e.id IN (" + strings.Join(marks, ", ") + ")"
	}
	return m
}()

// listedEvents reads the shown columns of the events ids, in the order of
// ids. The id lists are padded to a few sizes (changeBuckets) so that
// the statements stay few and cached.
func (db *DB) listedEvents(ctx context.Context, ids []string) ([]bot.EventRecord, error) {
	at := make(map[string]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	out := make([]bot.EventRecord, len(ids))
	found := 0
	for lo := 0; lo < len(ids); lo += inChunk {
		chunk := ids[lo:min(lo+inChunk, len(ids))]
		size := changeBuckets[len(changeBuckets)-1]
		for _, n := range changeBuckets {
			if n >= len(chunk) {
				size = n
				break
			}
		}
		args := make([]any, size)
		for i := range args {
			// Padding repeats the last id, which IN ignores.
			args[i] = chunk[min(i, len(chunk)-1)]
		}
		evs, err := scanListed(ctx, db.read, listedQueries[size], args...)
		if err != nil {
			return nil, err
		}
		for _, r := range evs {
			if i, ok := at[r.ID]; ok && out[i].ID == "" {
				out[i] = r
				found++
			}
		}
	}
	if found < len(ids) {
		// Removed since its id was picked: the page is shorter.
		out = slices.DeleteFunc(out, func(r bot.EventRecord) bool { return r.ID == "" })
	}
	return out, nil
}
