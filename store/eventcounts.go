package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// This file serves /alerts events at 100,000 events: the counts of its
// "1–10 of N" header from a per-process cache that the events version
// (migration 0012) keeps correct across processes, and its pages from
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
	// loading is held while counts are read, so that the lists asked for
	// together after a write read them once, not once each.
	loading sync.Mutex
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
	db.counts.loading.Lock()
	defer db.counts.loading.Unlock()
	if lc := db.counts.get(v, tag); lc != nil {
		return lc, nil // read meanwhile by another list
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

// A list part is a sorted run of the events list whose rows all come
// before the next part's: the open list is the open windows that started
// before now, then those starting from now; the past list is the
// happened and cancelled events starting after now, then the past ones
// starting up to now. Each part is a few short index walks, and a page
// reads from a part only the rows up to the page's end.
type listPart struct {
	name     string
	desc     bool       // newest window start first (ties still by id)
	branches [][]filter // each one index walk, merged
}

// filter is one condition of a branch: SQL text and the value bound to
// its placeholder, which is written at the end of the text. Text without
// a value that starts with a space continues the condition before it.
type filter struct {
	sql string
	val func(now int64) any
}

func cond(sql string) filter { return filter{sql: sql} }

func atNow(sql string, shift int64) filter {
	return filter{sql: sql, val: func(now int64) any { return now + shift }}
}

const openStatus = "o.cur_status NOT IN " + closedStatuses

// openParts are the parts of the open list. An open window that started
// before now started at most its precision's longest span before it
// (validateEvent): one short index range per precision, as in
// openEventsQuery. Instants are never open once started: they end as
// they start.
var openParts = func() []listPart {
	before := listPart{name: "open before now"}
	for p := watchers.Day; p <= watchers.FiscalYear; p++ {
		before.branches = append(before.branches, []filter{
			{sql: "o.cur_precision = ", val: func(int64) any { return int(p) }},
			atNow("o.cur_start >= ", -maxSpan[p].Milliseconds()),
			atNow("o.cur_start < ", 0),
			atNow("o.cur_end > ", 0),
			cond(openStatus),
		})
	}
	from := listPart{name: "open from now", branches: [][]filter{{
		atNow("o.cur_start >= ", 0), atNow("o.cur_end > ", 0), cond(openStatus),
	}}}
	return []listPart{before, from}
}()

// pastParts are the parts of the past list. Past events starting after
// now are happened or cancelled ones, read from the partial indexes of
// those; the others are a walk back from now.
var pastParts = []listPart{
	{name: "closed after now", desc: true, branches: [][]filter{{
		cond("o.cur_status IN " + closedStatuses), atNow("o.cur_start > ", 0),
	}}},
	{name: "past up to now", desc: true, branches: [][]filter{{
		atNow("o.cur_start <= ", 0), atNow("(o.cur_end <= ", 0), {sql: " OR o.cur_status IN " + closedStatuses + ")"},
	}}},
}

// partQueries caches the text of each part's queries by part, tag or
// not, and kind; the values vary, the text does not.
var partQueries sync.Map

// query returns the text and values of the page ("page": ids and their
// window starts, limit and offset bound last) or count ("count": each
// branch cut at branchLimit rows) query of part for tag at now.
func (p *listPart) query(kind, tag string, now int64, branchLimit int) (string, []any) {
	var args []any
	n := 0
	mark := func() string {
		n++
		return "$" + strconv.Itoa(n)
	}
	// The values, in the order of the placeholders the text has.
	for _, br := range p.branches {
		if tag != "" {
			args = append(args, tag)
		}
		for _, f := range br {
			if f.val != nil {
				args = append(args, f.val(now))
			}
		}
		if kind == "count" {
			args = append(args, branchLimit)
		}
	}
	key := fmt.Sprintf("%s/%s/%t", p.name, kind, tag != "")
	if q, ok := partQueries.Load(key); ok {
		return q.(string), args
	}
	order := "o.cur_start"
	if p.desc {
		order += " DESC"
	}
	var branches []string
	for i, br := range p.branches {
		from, id := "events o", "o.id"
		where := []string{"o.cur_due <> ''"}
		if tag != "" {
			// event_tags's copy of the window columns puts the tag in the
			// index range; its event must still be listed.
			from, id = "event_tags o", "o.event_id"
			where = []string{"o.tag = " + mark(), "EXISTS (SELECT 1 FROM events e WHERE e.id = o.event_id AND e.cur_due <> '')"}
		}
		var b strings.Builder
		for _, f := range br {
			if f.val == nil && strings.HasPrefix(f.sql, " ") {
				b.WriteString(f.sql)
				continue
			}
			if b.Len() > 0 {
				where = append(where, b.String())
				b.Reset()
			}
			b.WriteString(f.sql)
			if f.val != nil {
				b.WriteString(mark())
			}
		}
		where = append(where, b.String())
		branch := fmt.Sprintf("SELECT %s AS id, o.cur_start AS cur_start FROM %s WHERE %s", id, from, strings.Join(where, " AND "))
		if kind == "count" {
			branch = fmt.Sprintf("SELECT * FROM (%s ORDER BY %s, %s LIMIT %s) b%d", branch, order, id, mark(), i)
		}
		branches = append(branches, branch)
	}
	union := strings.Join(branches, " UNION ALL ")
	var q string
	if kind == "count" {
		q = "SELECT COUNT(*) FROM (" + union + ") u"
	} else {
		// An ORDER BY over the whole UNION ALL merges the branches, each
		// read in its index's order, and stops at the page's end: no
		// branch is read further than the page needs, and nothing is
		// sorted (SQLite's merge of a compound SELECT, PostgreSQL's Merge
		// Append).
		q = union + " ORDER BY " + strings.TrimPrefix(order, "o.") + ", id LIMIT " + mark() + " OFFSET " + mark()
	}
	partQueries.Store(key, q)
	return q, args
}

// pageOf returns the ids offset to offset+limit of the list made of
// parts, for tag at now. A part is read only up to the page's end; when
// the page starts after a part's end, the part's rows are counted (again
// only up to the page's start) to know where the next part's share
// begins.
func (db *DB) pageOf(ctx context.Context, parts []listPart, tag string, now int64, offset, limit int) ([]string, error) {
	var ids []string
	for i := range parts {
		if limit <= 0 {
			break
		}
		p := &parts[i]
		q, args := p.query("page", tag, now, 0)
		got, err := db.partIDs(ctx, q, append(args, limit, offset)...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		ids = append(ids, got...)
		if len(got) > 0 {
			// The page starts in this part: the rest comes from the next
			// parts' first rows.
			offset, limit = 0, limit-len(got)
			continue
		}
		if offset == 0 {
			continue // the part is empty
		}
		// The part has at most offset rows, so branches cut at offset
		// count them all.
		q, args = p.query("count", tag, now, offset)
		var n int
		if err := db.read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: count: %w", p.name, err)
		}
		offset -= n
	}
	return ids, nil
}

// partIDs runs a part's page query: ids, with the window start they are
// ordered by.
func (db *DB) partIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var (
			id    string
			start int64
		)
		if err := rows.Scan(&id, &start); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// listedCols are the columns the events list and upcoming show: an
// event's id, titles, zone (for its local dates) and current due date and
// status.
const listedCols = `e.id, e.title, e.zone, e.cur_title, e.cur_due, e.cur_precision, e.cur_start, e.cur_end, e.cur_status`

// scanListed runs a query selecting listedCols.
func scanListed(ctx context.Context, q querier, query string, args ...any) ([]bot.EventRecord, error) {
	return scanRows(ctx, q, query, args, func(s scanner) (bot.EventRecord, error) {
		var (
			r          bot.EventRecord
			status     string
			prec       int
			start, end int64
		)
		if err := s.Scan(&r.ID, &r.Title, &r.Zone, &r.Current.Title, &r.Current.Due.Raw, &prec, &start, &end, &status); err != nil {
			return r, err
		}
		r.Current.Status = watchers.Status(status)
		r.Current.Due.Precision = watchers.Precision(prec)
		r.Current.Due.Start, r.Current.Due.End = fromMS(start), fromMS(end)
		return r, nil
	})
}

// listedQueries select the listed columns of n events by id, for each n
// of changeBuckets.
var listedQueries = func() map[int]string {
	m := map[int]string{}
	for _, n := range changeBuckets {
		m[n] = "SELECT " + listedCols + " FROM events e WHERE e.id IN (" + params(1, n, false) + ")"
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
	err := padded(len(ids), changeBuckets, func(i int) any { return ids[i] }, func(list []any) error {
		evs, err := scanListed(ctx, db.read, listedQueries[len(list)], list...)
		if err != nil {
			return err
		}
		for _, r := range evs {
			if i, ok := at[r.ID]; ok && out[i].ID == "" {
				out[i] = r
				found++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found < len(ids) {
		// Removed since its id was picked: the page is shorter.
		out = slices.DeleteFunc(out, func(r bot.EventRecord) bool { return r.ID == "" })
	}
	return out, nil
}
