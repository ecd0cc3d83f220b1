package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// maxSpan bounds the current window of each precision, with a day of slack
// for daylight-saving shifts. Events relies on these bounds to find the
// windows still open at From with short index ranges on (cur_precision,
// cur_start) instead of a scan of the year before From.
var maxSpan = map[watchers.Precision]time.Duration{
	watchers.Instant:    0,
	watchers.Day:        2 * day,
	watchers.Month:      32 * day,
	watchers.Quarter:    93 * day,
	watchers.Half:       185 * day,
	watchers.Year:       367 * day,
	watchers.FiscalYear: 367 * day,
}

const day = 24 * time.Hour

// never is the schedule time meaning "not until the event changes": far
// beyond any real time, but well inside BIGINT.
const never = int64(1) << 62

// inChunk bounds the ids bound in one IN (…) list.
const inChunk = 500

const eventCols = `e.id, e.title, e.due, e.zone, e.status, e.tags, e.source, e.lead_times, e.origin, e.hash,
	e.cur_title, e.cur_due, e.cur_precision, e.cur_start, e.cur_end, e.cur_status, e.cur_source, e.cur_note,
	e.next_change, e.created_at, e.updated_at, e.updated_by, e.match_words`

// activeStatuses are those "upcoming" lists by default.
var activeStatuses = []watchers.Status{watchers.Tentative, watchers.Scheduled, watchers.Postponed}

// SaveEvent creates or replaces an event with its changes and
// materialized state. An existing event keeps its CreatedAt. Every
// countdown watcher is told to look at the event again.
func (db *DB) SaveEvent(ctx context.Context, ev bot.EventRecord) error {
	err := db.inTx(ctx, func(t *tx) error { return saveEvents(ctx, t, []bot.EventRecord{ev}) })
	if err != nil {
		return fmt.Errorf("save event %q: %w", ev.ID, err)
	}
	return nil
}

// SaveEvents saves many events as SaveEvent does, in one transaction: all
// or none. Seeding a large config uses it.
func (db *DB) SaveEvents(ctx context.Context, evs []bot.EventRecord) error {
	if len(evs) == 0 {
		return nil
	}
	if err := db.inTx(ctx, func(t *tx) error { return saveEvents(ctx, t, evs) }); err != nil {
		return fmt.Errorf("save %d events: %w", len(evs), err)
	}
	return nil
}

// EventHashes returns every event's config hash by id (empty for events
// made in chat), so seeding can skip the unchanged ones without reading
// them.
func (db *DB) EventHashes(ctx context.Context) (map[string]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, hash FROM events`)
	if err != nil {
		return nil, fmt.Errorf("event hashes: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, hash string
		if err := rows.Scan(&id, &hash); err != nil {
			return nil, fmt.Errorf("event hashes: %w", err)
		}
		out[id] = hash
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event hashes: %w", err)
	}
	return out, nil
}

// validateEvent rejects records the queries could not serve correctly.
func validateEvent(ev *bot.EventRecord) error {
	if ev.ID == "" {
		return errors.New("empty event id")
	}
	d := ev.Current.Due
	if d.End.Before(d.Start) {
		return fmt.Errorf("current window ends (%s) before it starts (%s)", d.End.Format(time.RFC3339), d.Start.Format(time.RFC3339))
	}
	span, ok := maxSpan[d.Precision]
	if !ok {
		return fmt.Errorf("current window %s: unknown precision %d", d.Raw, int(d.Precision))
	}
	if d.End.Sub(d.Start) > span {
		return fmt.Errorf("current window %s (%s to %s) is longer than a %s can be", d.Raw,
			d.Start.Format(time.RFC3339), d.End.Format(time.RFC3339), d.Precision)
	}
	for _, l := range ev.LeadTimes {
		// Stored as text and parsed back: refuse what would not parse.
		if _, err := watchers.ParseLead(l.String()); err != nil {
			return fmt.Errorf("lead time: %w", err)
		}
	}
	for i := 1; i < len(ev.Changes); i++ {
		if ev.Changes[i].At.Before(ev.Changes[i-1].At) {
			return fmt.Errorf("change %d (at %s) is before change %d: changes must be in order of At", i, ev.Changes[i].At.Format(time.RFC3339), i-1)
		}
	}
	return nil
}

// eventWriter holds the statements that save events, prepared once per
// batch so that saving many events does not recompile them.
type eventWriter struct {
	upsert, delChanges, insChange, delTags, insTag, resetSchedule *sql.Stmt
}

func saveEvents(ctx context.Context, t *tx, evs []bot.EventRecord) error {
	if len(evs) == 0 {
		return nil
	}
	if err := bumpEventsVersion(ctx, t); err != nil {
		return err
	}
	if len(evs) > 1 && distinctIDs(evs) {
		return saveEventsBulk(ctx, t, evs)
	}
	w, err := prepareEventWriter(ctx, t)
	if err != nil {
		return err
	}
	defer w.close()
	for i := range evs {
		sctx, err := t.detached(ctx)
		if err != nil {
			return err
		}
		if err := w.save(sctx, t.now, &evs[i]); err != nil {
			if len(evs) > 1 {
				return fmt.Errorf("event %q: %w", evs[i].ID, err)
			}
			return err
		}
	}
	return nil
}

const (
	sqlUpsertEvent = `INSERT INTO events (id, title, due, zone, status, tags, source, lead_times, origin, hash,
	cur_title, cur_due, cur_precision, cur_start, cur_end, cur_status, cur_source, cur_note,
	next_change, created_at, updated_at, updated_by, match_words)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
	ON CONFLICT (id) DO UPDATE SET title = excluded.title, due = excluded.due, zone = excluded.zone,
	status = excluded.status, tags = excluded.tags, source = excluded.source,
	lead_times = excluded.lead_times, origin = excluded.origin, hash = excluded.hash,
	cur_title = excluded.cur_title, cur_due = excluded.cur_due, cur_precision = excluded.cur_precision,
	cur_start = excluded.cur_start, cur_end = excluded.cur_end, cur_status = excluded.cur_status,
	cur_source = excluded.cur_source, cur_note = excluded.cur_note, next_change = excluded.next_change,
	updated_at = excluded.updated_at, updated_by = excluded.updated_by, match_words = excluded.match_words`
	sqlDeleteChanges = `DELETE FROM event_changes WHERE event_id = $1`
	sqlInsertChange  = `INSERT INTO event_changes (event_id, seq, at, due, status, title, note, source, changed_by, quiet)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	sqlDeleteTags = `DELETE FROM event_tags WHERE event_id = $1`
	sqlInsertTag  = `INSERT INTO event_tags (event_id, tag, cur_precision, cur_start, cur_end, cur_status)
	VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, tag) DO NOTHING`
	// "WHERE true" keeps SQLite's parser from reading ON CONFLICT as a
	// join constraint of the SELECT.
	sqlResetSchedule = `INSERT INTO schedule (watcher_id, event_id, next_at)
	SELECT id, $1, 0 FROM watchers WHERE dated = 1
	ON CONFLICT (watcher_id, event_id) DO UPDATE SET next_at = 0`
)

func prepareEventWriter(ctx context.Context, t *tx) (*eventWriter, error) {
	w := &eventWriter{}
	stmts := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&w.upsert, sqlUpsertEvent},
		{&w.delChanges, sqlDeleteChanges},
		{&w.insChange, sqlInsertChange},
		{&w.delTags, sqlDeleteTags},
		{&w.insTag, sqlInsertTag},
		{&w.resetSchedule, sqlResetSchedule},
	}
	for _, s := range stmts {
		st, err := t.stmt(ctx, s.sql)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*s.dst = st
	}
	return w, nil
}

func (w *eventWriter) close() {
	for _, s := range []*sql.Stmt{w.upsert, w.delChanges, w.insChange, w.delTags, w.insTag, w.resetSchedule} {
		if s != nil {
			s.Close()
		}
	}
}

func (w *eventWriter) save(ctx context.Context, now time.Time, ev *bot.EventRecord) error {
	if err := validateEvent(ev); err != nil {
		return err
	}
	tags, err := json.Marshal(ev.Tags)
	if err != nil {
		return fmt.Errorf("encode tags: %w", err)
	}
	match, err := encodeMatch(ev.Match)
	if err != nil {
		return err
	}
	cur := ev.Current
	if _, err := w.upsert.ExecContext(ctx,
		ev.ID, ev.Title, ev.Due, ev.Zone, string(ev.Status), string(tags), ev.Source, encodeLeads(ev.LeadTimes),
		ev.Origin, ev.Hash,
		cur.Title, cur.Due.Raw, int(cur.Due.Precision), ms(cur.Due.Start), ms(cur.Due.End), string(cur.Status),
		cur.Source, cur.Note,
		ms(ev.NextChange), ms(orNow(ev.CreatedAt, now)), ms(orNow(ev.UpdatedAt, now)), ev.UpdatedBy, match,
	); err != nil {
		return fmt.Errorf("upsert: %w", err)
	}
	if _, err := w.delChanges.ExecContext(ctx, ev.ID); err != nil {
		return fmt.Errorf("delete changes: %w", err)
	}
	for i, c := range ev.Changes {
		if _, err := w.insChange.ExecContext(ctx, ev.ID, i, ms(c.At), c.Due, string(c.Status), c.Title, c.Note, c.Source, c.By, flag(c.Quiet)); err != nil {
			return fmt.Errorf("insert change %d: %w", i, err)
		}
	}
	if _, err := w.delTags.ExecContext(ctx, ev.ID); err != nil {
		return fmt.Errorf("delete tags: %w", err)
	}
	for _, tag := range ev.Tags {
		if _, err := w.insTag.ExecContext(ctx, ev.ID, tag, int(cur.Due.Precision), ms(cur.Due.Start), ms(cur.Due.End), string(cur.Status)); err != nil {
			return fmt.Errorf("insert tag %q: %w", tag, err)
		}
	}
	if _, err := w.resetSchedule.ExecContext(ctx, ev.ID); err != nil {
		return fmt.Errorf("reset schedule: %w", err)
	}
	return nil
}

// distinctIDs reports whether no id appears twice in evs: a multi-row
// upsert may not touch a row twice (PostgreSQL refuses it).
func distinctIDs(evs []bot.EventRecord) bool {
	seen := make(map[string]bool, len(evs))
	for i := range evs {
		if seen[evs[i].ID] {
			return false
		}
		seen[evs[i].ID] = true
	}
	return true
}

// Rows per multi-row statement of saveEventsBulk: an events row binds 23
// parameters, a change 10, a tag 6; each statement stays far below both
// databases' limits on parameters (SQLite 32,766, PostgreSQL 65,535).
const (
	bulkEvents  = 100
	bulkChanges = 200
	bulkTags    = 300
)

// saveEventsBulk saves evs as saveEvents does one by one (the same rows
// result), with a statement per many rows: seeding 100,000 events cost
// six statements per event before. The statements of each size are
// prepared once per call.
func saveEventsBulk(ctx context.Context, t *tx, evs []bot.EventRecord) error {
	sctx, err := t.detached(ctx)
	if err != nil {
		return err
	}
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	exec := func(q string, args []any) error {
		st := stmts[q]
		if st == nil {
			if st, err = t.stmt(sctx, q); err != nil {
				return err
			}
			stmts[q] = st
		}
		_, err := st.ExecContext(sctx, args...)
		return err
	}
	var (
		args             []any
		changes, tagRows int
	)
	for lo := 0; lo < len(evs); lo += bulkEvents {
		chunk := evs[lo:min(lo+bulkEvents, len(evs))]
		args = args[:0]
		for i := range chunk {
			ev := &chunk[i]
			if err := validateEvent(ev); err != nil {
				return fmt.Errorf("event %q: %w", ev.ID, err)
			}
			tags, err := json.Marshal(ev.Tags)
			if err != nil {
				return fmt.Errorf("event %q: encode tags: %w", ev.ID, err)
			}
			match, err := encodeMatch(ev.Match)
			if err != nil {
				return fmt.Errorf("event %q: %w", ev.ID, err)
			}
			cur := ev.Current
			args = append(args,
				ev.ID, ev.Title, ev.Due, ev.Zone, string(ev.Status), string(tags), ev.Source, encodeLeads(ev.LeadTimes),
				ev.Origin, ev.Hash,
				cur.Title, cur.Due.Raw, int(cur.Due.Precision), ms(cur.Due.Start), ms(cur.Due.End), string(cur.Status),
				cur.Source, cur.Note,
				ms(ev.NextChange), ms(orNow(ev.CreatedAt, t.now)), ms(orNow(ev.UpdatedAt, t.now)), ev.UpdatedBy, match)
			changes += len(ev.Changes)
			tagRows += len(ev.Tags)
		}
		if err := exec(upsertEventsSQL(len(chunk), t.anonParams), args); err != nil {
			return fmt.Errorf("upsert events: %w", err)
		}
	}
	// What the events had before goes, by lists of ids.
	for _, q := range []struct{ sql, what string }{
		{"DELETE FROM event_changes WHERE event_id IN ", "delete changes"},
		{"DELETE FROM event_tags WHERE event_id IN ", "delete tags"},
	} {
		if err := forIDs(t, evs, func(list string, ids []any) error { return exec(q.sql+list, ids) }); err != nil {
			return fmt.Errorf("%s: %w", q.what, err)
		}
	}
	if changes > 0 {
		rows := newRowWriter(t, exec, sqlInsertChangesHead, 10, bulkChanges)
		for i := range evs {
			for j, c := range evs[i].Changes {
				if err := rows.add(evs[i].ID, j, ms(c.At), c.Due, string(c.Status), c.Title, c.Note, c.Source, c.By, flag(c.Quiet)); err != nil {
					return fmt.Errorf("insert changes: %w", err)
				}
			}
		}
		if err := rows.flush(); err != nil {
			return fmt.Errorf("insert changes: %w", err)
		}
	}
	if tagRows > 0 {
		rows := newRowWriter(t, exec, sqlInsertTagsHead, 6, bulkTags)
		rows.tail = " ON CONFLICT (event_id, tag) DO NOTHING"
		for i := range evs {
			cur := evs[i].Current
			for _, tag := range evs[i].Tags {
				if err := rows.add(evs[i].ID, tag, int(cur.Due.Precision), ms(cur.Due.Start), ms(cur.Due.End), string(cur.Status)); err != nil {
					return fmt.Errorf("insert tags: %w", err)
				}
			}
		}
		if err := rows.flush(); err != nil {
			return fmt.Errorf("insert tags: %w", err)
		}
	}
	// Every date watcher looks at the events again.
	if t.scheduleAtEnd {
		return nil
	}
	if err := forIDs(t, evs, func(list string, ids []any) error {
		return exec(`INSERT INTO schedule (watcher_id, event_id, next_at)
	SELECT w.id, e.id, 0 FROM watchers w, events e WHERE w.dated = 1 AND e.id IN `+list+`
	ON CONFLICT (watcher_id, event_id) DO UPDATE SET next_at = 0`, ids)
	}); err != nil {
		return fmt.Errorf("reset schedule: %w", err)
	}
	return nil
}

const (
	sqlInsertChangesHead = `INSERT INTO event_changes (event_id, seq, at, due, status, title, note, source, changed_by, quiet) VALUES `
	sqlInsertTagsHead    = `INSERT INTO event_tags (event_id, tag, cur_precision, cur_start, cur_end, cur_status) VALUES `
)

// upsertEventsSQL is sqlUpsertEvent for n rows.
func upsertEventsSQL(n int, anon bool) string {
	key := valuesKey{n, -23, anon} // its own entries in valuesLists
	if s, ok := valuesLists.Load(key); ok {
		return s.(string)
	}
	head, conflict, _ := strings.Cut(sqlUpsertEvent, "VALUES")
	_, conflict, _ = strings.Cut(conflict, ")\n")
	s := head + "VALUES " + valuesList(n, 23, anon) + "\n" + conflict
	valuesLists.Store(key, s)
	return s
}

// valuesLists caches valuesList: seeding asks for the same few shapes a
// thousand times.
var valuesLists sync.Map // valuesKey → string

type valuesKey struct {
	n, cols int
	anon    bool
}

// valuesList is "($1, …, $cols), (…)" for n rows, or with anon the same
// with "?" placeholders (tx.anonParams).
func valuesList(n, cols int, anon bool) string {
	key := valuesKey{n, cols, anon}
	if s, ok := valuesLists.Load(key); ok {
		return s.(string)
	}
	s := makeValuesList(n, cols, anon)
	valuesLists.Store(key, s)
	return s
}

func makeValuesList(n, cols int, anon bool) string {
	var b strings.Builder
	b.Grow(n * (cols*5 + 4))
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		b.WriteString(params(r*cols+1, cols, anon))
		b.WriteByte(')')
	}
	return b.String()
}

// rowWriter inserts rows a multi-row statement at a time.
type rowWriter struct {
	exec       func(q string, args []any) error
	head, tail string
	cols, max  int
	anon       bool // "?" placeholders
	args       []any
}

func newRowWriter(t *tx, exec func(string, []any) error, head string, cols, max int) *rowWriter {
	return &rowWriter{exec: exec, head: head, cols: cols, max: max, anon: t.anonParams, args: make([]any, 0, cols*max)}
}

func (w *rowWriter) add(vals ...any) error {
	w.args = append(w.args, vals...)
	if len(w.args) >= w.cols*w.max {
		return w.flush()
	}
	return nil
}

func (w *rowWriter) flush() error {
	if len(w.args) == 0 {
		return nil
	}
	err := w.exec(w.head+valuesList(len(w.args)/w.cols, w.cols, w.anon)+w.tail, w.args)
	w.args = w.args[:0]
	return err
}

// forIDs calls fn with "($1, …)" and the ids of evs, inChunk at a time,
// the list padded (by repeating its last id) to one of changeBuckets so
// that few distinct statements are made.
func forIDs(t *tx, evs []bot.EventRecord, fn func(list string, ids []any) error) error {
	return padded(len(evs), changeBuckets, func(i int) any { return evs[i].ID }, func(ids []any) error {
		return fn(valuesList(1, len(ids), t.anonParams), ids)
	})
}

// encodeLeads writes lead times as "90d,7d"; nil (use the defaults) is
// NULL, distinct from an empty list (no reminders).
func encodeLeads(ls []watchers.Lead) any {
	if ls == nil {
		return nil
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, ",")
}

func decodeLeads(s sql.NullString) ([]watchers.Lead, error) {
	if !s.Valid {
		return nil, nil
	}
	if s.String == "" {
		return []watchers.Lead{}, nil
	}
	return watchers.ParseLeads(strings.Split(s.String, ","))
}

// encodeMatch writes an event's names as a JSON array; none is "", which
// ProposalEvents skips without decoding.
func encodeMatch(words []string) (string, error) {
	if len(words) == 0 {
		return "", nil
	}
	b, err := json.Marshal(words)
	if err != nil {
		return "", fmt.Errorf("encode match: %w", err)
	}
	return string(b), nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanEvent reads the columns of eventCols, plus any extra destinations
// given first.
func scanEvent(s scanner, extra ...any) (bot.EventRecord, error) {
	var (
		r                                    bot.EventRecord
		status, tags, curStatus, match       string
		leads                                sql.NullString
		prec                                 int
		start, end, next, created, updatedAt int64
	)
	dest := append(extra,
		&r.ID, &r.Title, &r.Due, &r.Zone, &status, &tags, &r.Source, &leads, &r.Origin, &r.Hash,
		&r.Current.Title, &r.Current.Due.Raw, &prec, &start, &end, &curStatus, &r.Current.Source, &r.Current.Note,
		&next, &created, &updatedAt, &r.UpdatedBy, &match)
	if err := s.Scan(dest...); err != nil {
		return r, err
	}
	r.Status = watchers.Status(status)
	r.Current.Status = watchers.Status(curStatus)
	r.Current.Due.Precision = watchers.Precision(prec)
	r.Current.Due.Start, r.Current.Due.End = fromMS(start), fromMS(end)
	r.NextChange, r.CreatedAt, r.UpdatedAt = fromMS(next), fromMS(created), fromMS(updatedAt)
	return r, decodeLists(&r.Event, tags, match, leads)
}

// decodeLists decodes an event's stored tags, match words and lead times
// into ev.
func decodeLists(ev *watchers.Event, tags, match string, leads sql.NullString) error {
	if err := json.Unmarshal([]byte(tags), &ev.Tags); err != nil {
		return fmt.Errorf("event %q: decode tags: %w", ev.ID, err)
	}
	if match != "" {
		if err := json.Unmarshal([]byte(match), &ev.Match); err != nil {
			return fmt.Errorf("event %q: decode match: %w", ev.ID, err)
		}
	}
	var err error
	if ev.LeadTimes, err = decodeLeads(leads); err != nil {
		return fmt.Errorf("event %q: decode lead times: %w", ev.ID, err)
	}
	return nil
}

// watcherEventCols are the columns of what a date watcher is given of an
// event (watchers.Event), for scanWatcherEvent: a first pass over 100,000
// events read the other dozen (its current state, hash, times of update)
// only to drop them.
const watcherEventCols = `e.id, e.title, e.due, e.zone, e.status, e.tags, e.source, e.lead_times, e.origin,
	e.created_at, e.match_words`

// scanWatcherEvent reads watcherEventCols, after the columns extra, into
// ev (its changes aside).
func scanWatcherEvent(s scanner, ev *watchers.Event, extra ...any) error {
	var (
		status, tags, match string
		leads               sql.NullString
		created             int64
	)
	dest := append(extra, &ev.ID, &ev.Title, &ev.Due, &ev.Zone, &status, &tags, &ev.Source, &leads, &ev.Origin, &created, &match)
	if err := s.Scan(dest...); err != nil {
		return err
	}
	ev.Status = watchers.Status(status)
	ev.CreatedAt = fromMS(created)
	return decodeLists(ev, tags, match, leads)
}

// queryEvents runs a query selecting eventCols and attaches each event's
// changes, in the same snapshot.
func queryEvents(ctx context.Context, q querier, query string, args ...any) ([]bot.EventRecord, error) {
	out, err := scanEvents(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	if err := attachChanges(ctx, q, out); err != nil {
		return nil, err
	}
	return out, nil
}

// scanEvents runs a query selecting eventCols, without the changes.
func scanEvents(ctx context.Context, q querier, query string, args ...any) ([]bot.EventRecord, error) {
	return scanRows(ctx, q, query, args, func(s scanner) (bot.EventRecord, error) { return scanEvent(s) })
}

// scanRows runs query and reads each row it returns with scan.
func scanRows[T any](ctx context.Context, q querier, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// attachChanges loads the changes of evs.
func attachChanges(ctx context.Context, q querier, evs []bot.EventRecord) error {
	ptrs := make([]*watchers.Event, len(evs))
	for i := range evs {
		ptrs[i] = &evs[i].Event
	}
	return loadChanges(ctx, q, ptrs)
}

// changeBuckets are the sizes of the IN lists loadChanges sends: padding
// each list to one of a few sizes keeps the statements few and cached.
var changeBuckets = []int{1, 4, 16, 64, 256, inChunk}

// changesQuery selects the changes of n events, with "?" placeholders
// when anon (tx.anonParams: SQLite looks each "$n" up by name, a cost that
// grows with the list).
func changesQuery(n int, anon bool) string {
	var b strings.Builder
	b.WriteString(`SELECT event_id, at, due, status, title, note, source, changed_by, quiet
	FROM event_changes WHERE event_id IN (`)
	b.WriteString(params(1, n, anon))
	b.WriteString(") ORDER BY event_id, seq")
	return b.String()
}

// changesQueries are changesQuery's texts by placeholder style and size.
var changesQueries = func() map[bool]map[int]string {
	m := map[bool]map[int]string{false: {}, true: {}}
	for _, anon := range []bool{false, true} {
		for _, n := range changeBuckets {
			m[anon][n] = changesQuery(n, anon)
		}
	}
	return m
}()

// loadChanges fills in the changes of evs, a chunk of ids at a time.
func loadChanges(ctx context.Context, q querier, evs []*watchers.Event) error {
	byID := make(map[string]*watchers.Event, len(evs))
	for _, e := range evs {
		byID[e.ID] = e
	}
	anon := false
	if t, ok := q.(*tx); ok {
		anon = t.anonParams
	}
	return padded(len(evs), changeBuckets, func(i int) any { return evs[i].ID }, func(ids []any) error {
		return scanChanges(ctx, q, changesQueries[anon][len(ids)], ids, byID)
	})
}

func scanChanges(ctx context.Context, q querier, query string, args []any, byID map[string]*watchers.Event) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("load changes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, status string
			at         int64
			c          watchers.Change
		)
		if err := rows.Scan(&id, &at, &c.Due, &status, &c.Title, &c.Note, &c.Source, &c.By, &c.Quiet); err != nil {
			return fmt.Errorf("load changes: %w", err)
		}
		c.At, c.Status = fromMS(at), watchers.Status(status)
		if e := byID[id]; e != nil {
			e.Changes = append(e.Changes, c)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load changes: %w", err)
	}
	return nil
}

// readEvents runs queryEvents in a read-only transaction.
func (db *DB) readEvents(ctx context.Context, query string, args ...any) ([]bot.EventRecord, error) {
	t, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer t.Rollback()
	return queryEvents(ctx, t, query, args...)
}

const (
	eventByIDQuery  = "SELECT " + eventCols + " FROM events e WHERE e.id = $1"
	changingByQuery = "SELECT " + eventCols + ` FROM events e
	WHERE e.next_change > 0 AND e.next_change <= $1 ORDER BY e.next_change, e.id`
)

// Event returns one event with its changes.
func (db *DB) Event(ctx context.Context, id string) (bot.EventRecord, error) {
	evs, err := db.readEvents(ctx, eventByIDQuery, id)
	if err != nil {
		return bot.EventRecord{}, fmt.Errorf("event %q: %w", id, err)
	}
	if len(evs) == 0 {
		return bot.EventRecord{}, fmt.Errorf("event %q: %w", id, bot.ErrNotFound)
	}
	return evs[0], nil
}

// DeleteEvent removes an event with its changes and schedule rows; its
// alerts stay as history.
func (db *DB) DeleteEvent(ctx context.Context, id string) error {
	var n int64
	err := db.inTx(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, "DELETE FROM events WHERE id = $1", id)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return bumpEventsVersion(ctx, t)
	})
	if err != nil {
		return fmt.Errorf("delete event %q: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("event %q: %w", id, bot.ErrNotFound)
	}
	return nil
}

// Events returns the events whose current window overlaps [f.From, f.To)
// (an instant at t overlaps when From ≤ t < To), ordered by start and id.
// A zero From or To leaves that side open. Events never refreshed (no
// current due date) are not listed.
func (db *DB) Events(ctx context.Context, f bot.EventFilter) ([]bot.EventRecord, error) {
	qs := eventsQueries(f)
	// Prepared before the transaction, which then finds them cached.
	for _, q := range qs {
		if _, err := db.read.prepare(ctx, q.sql); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
	}
	t, err := db.readTx(ctx)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer t.Rollback()
	scan := scanEvents
	if f.Brief {
		scan = scanListed
	}
	var out []bot.EventRecord
	for _, q := range qs {
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
		evs, err := scan(ctx, t, q.sql, q.args...)
		if err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		out = append(out, evs...)
	}
	out = trim(out, f.Limit)
	if f.Brief {
		return out, nil
	}
	if err := attachChanges(ctx, t, out); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

type sqlQuery struct {
	sql  string
	args []any
}

// eventsQueries returns the queries whose results, concatenated, are the
// events of f in order. With a From, the windows still open at From (they
// started before it) come first, then those starting in [From, To): both
// are short index ranges, where one query bounded only by the longest
// window would walk a year of events to find the first few.
func eventsQueries(f bot.EventFilter) []sqlQuery {
	if f.From.IsZero() {
		var b queryBuilder
		return []sqlQuery{b.events(f, nil)}
	}
	return []sqlQuery{openEventsQuery(f), startingEventsQuery(f)}
}

// queryBuilder numbers the placeholders of a query as it is written.
type queryBuilder struct{ args []any }

func (b *queryBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return fmt.Sprintf("$%d", len(b.args))
}

// filters returns the conditions on To, status and tag for the events
// (or event_tags) table under alias; tagged is true when alias is
// event_tags already narrowed to the tag.
func (b *queryBuilder) filters(f bot.EventFilter, alias string, tagged bool) []string {
	var where []string
	if !f.To.IsZero() {
		where = append(where, alias+".cur_start < "+b.arg(ms(f.To)))
	}
	if f.Active {
		ps := make([]string, len(activeStatuses))
		for i, s := range activeStatuses {
			ps[i] = b.arg(string(s))
		}
		where = append(where, alias+".cur_status IN ("+strings.Join(ps, ", ")+")")
	}
	if f.Tag != "" && !tagged {
		where = append(where, "EXISTS (SELECT 1 FROM event_tags t WHERE t.event_id = "+alias+".id AND t.tag = "+b.arg(f.Tag)+")")
	}
	return where
}

// source returns the table ids are picked from, under alias o: events,
// or for a tag filter event_tags, whose copy of the window columns makes
// the tag part of the index range.
func (b *queryBuilder) source(f bot.EventFilter) (table, id string, where []string) {
	if f.Tag == "" {
		return "events o", "o.id", nil
	}
	return "event_tags o", "o.event_id", []string{"o.tag = " + b.arg(f.Tag)}
}

// selected returns the columns f asks for: eventCols, or listedCols for
// a brief list.
func selected(f bot.EventFilter) string {
	if f.Brief {
		return listedCols
	}
	return eventCols
}

// events selects f's columns with f's filters and the extra conditions,
// ordered and limited.
func (b *queryBuilder) events(f bot.EventFilter, extra []string) sqlQuery {
	where := append([]string{"e.cur_due <> ''"}, extra...)
	where = append(where, b.filters(f, "e", false)...)
	q := "SELECT " + selected(f) + " FROM events e WHERE " + strings.Join(where, " AND ") + " ORDER BY e.cur_start, e.id"
	if f.Limit > 0 {
		q += limitClause(f.Limit)
	}
	return sqlQuery{q, b.args}
}

// byIDs selects cols of the events whose ids pick selects.
func byIDs(cols, pick string) string {
	return "SELECT " + cols + " FROM events e WHERE e.cur_due <> '' AND e.id IN (" + pick + ") ORDER BY e.cur_start, e.id"
}

// startingEventsQuery selects the events starting in [From, To): a walk
// of a cur_start index that stops at the limit.
func startingEventsQuery(f bot.EventFilter) sqlQuery {
	var b queryBuilder
	if f.Tag == "" {
		return b.events(f, []string{"e.cur_start >= " + b.arg(ms(f.From))})
	}
	table, id, where := b.source(f)
	where = append(where, "o.cur_start >= "+b.arg(ms(f.From)))
	where = append(where, b.filters(f, "o", true)...)
	pick := "SELECT " + id + " FROM " + table + " WHERE " + strings.Join(where, " AND ") + " ORDER BY o.cur_start, " + id
	if f.Limit > 0 {
		pick += limitClause(f.Limit)
	}
	return sqlQuery{byIDs(selected(f), pick), b.args}
}

// openEventsQuery selects the windows that started before From and end
// after it. Per precision, such a window started at most maxSpan before
// From: one short range of the events_open (or event_tags_open) index
// each, walked in start order and cut at the limit. The ids are picked
// from the index alone (it holds every column the conditions need), and
// only the rows within the limit are read.
func openEventsQuery(f bot.EventFilter) sqlQuery {
	var b queryBuilder
	from := ms(f.From)
	var branches []string
	// Instants are never open at From: they start at or after it.
	for p := watchers.Day; p <= watchers.FiscalYear; p++ {
		table, id, where := b.source(f)
		where = append(where,
			"o.cur_precision = "+b.arg(int(p)),
			"o.cur_start >= "+b.arg(ms(f.From.Add(-maxSpan[p]))),
			"o.cur_start < "+b.arg(from),
			"o.cur_end > "+b.arg(from),
		)
		where = append(where, b.filters(f, "o", f.Tag != "")...)
		branch := "SELECT " + id + " AS id, o.cur_start AS cur_start FROM " + table + " WHERE " + strings.Join(where, " AND ")
		if f.Limit > 0 {
			// Each precision's index range is walked in start order, so
			// its first Limit rows suffice: the merge below cannot need
			// more from one precision.
			branch = fmt.Sprintf("SELECT * FROM (%s ORDER BY o.cur_start, %s%s) b%d", branch, id, limitClause(f.Limit), p)
		}
		branches = append(branches, branch)
	}
	pick := "SELECT u.id FROM (" + strings.Join(branches, " UNION ALL ") + ") u"
	if f.Limit > 0 {
		pick += " ORDER BY u.cur_start, u.id" + limitClause(f.Limit)
	}
	return sqlQuery{byIDs(selected(f), pick), b.args}
}

// AllEventIDs returns every event id, sorted.
func (db *DB) AllEventIDs(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT id FROM events ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list event ids: %w", err)
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("list event ids: %w", err)
	}
	return ids, nil
}

// EventsChangingBy returns the events with a pending dated change at or
// before t, soonest first.
func (db *DB) EventsChangingBy(ctx context.Context, t time.Time) ([]bot.EventRecord, error) {
	evs, err := db.readEvents(ctx, changingByQuery, ms(t))
	if err != nil {
		return nil, fmt.Errorf("list events changing by %s: %w", t.Format(time.RFC3339), err)
	}
	return evs, nil
}

// CountEvents returns the number of events.
func (db *DB) CountEvents(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM events").Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// Tags returns every tag some event carries, sorted.
func (db *DB) Tags(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT DISTINCT tag FROM event_tags ORDER BY tag")
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	tags, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	return tags, nil
}

// DueEvents returns the events watcher has to look at by now: those whose
// scheduled check time has come, and those new or changed since its last
// look (Since is then the zero time). It implements watchers.EventSource.
func (db *DB) DueEvents(ctx context.Context, watcher string, now time.Time, limit int) ([]watchers.PlannedEvent, error) {
	return db.dueEvents(ctx, watcher, now, nil, limit)
}

// DueEventsAfter is DueEvents for the next batch of a run: the due events
// that come after last, one DueEvents or DueEventsAfter gave, in their
// order (by Since, then id). A run reads it while the batch before is
// still being committed: those events' new plans are not seen yet, and do
// not need to be.
func (db *DB) DueEventsAfter(ctx context.Context, watcher string, now time.Time, last watchers.PlannedEvent, limit int) ([]watchers.PlannedEvent, error) {
	return db.dueEvents(ctx, watcher, now, &last, limit)
}

// dueEvents reads up to limit events due for watcher at now, from the
// start or after *last.
func (db *DB) dueEvents(ctx context.Context, watcher string, now time.Time, last *watchers.PlannedEvent, limit int) ([]watchers.PlannedEvent, error) {
	t, err := db.readTx(ctx)
	if err != nil {
		return nil, fmt.Errorf("due events for %q: %w", watcher, err)
	}
	defer t.Rollback()
	limit = watchers.BatchLimit(limit)
	query, args := dueEventsQuery(limit), []any{watcher, ms(now)}
	if last != nil {
		query, args = dueAfterQuery(limit), append(args, ms(last.Since), last.Event.ID)
	}
	out, err := readDue(ctx, t, query, limit, args...)
	if err != nil {
		return nil, fmt.Errorf("due events for %q: %w", watcher, err)
	}
	return out, nil
}

// NextLook returns the earliest time watcher planned to look at any event
// (the start of the epoch when an event is new or changed), and false when
// it planned none. The runner wakes then, so alerts fire on time.
func (db *DB) NextLook(ctx context.Context, watcher string) (time.Time, bool, error) {
	var next int64
	err := db.read.QueryRowContext(ctx, `SELECT next_at FROM schedule WHERE watcher_id = $1 AND next_at < $2
		ORDER BY next_at LIMIT 1`, watcher, never).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next look of %q: %w", watcher, err)
	}
	return time.UnixMilli(next), true, nil
}

// dueEventsQuery selects up to limit due events; the limit is written
// into the query in buckets (limitClause) so the statements stay cached.
func dueEventsQuery(limit int) string {
	return "SELECT s.next_at, " + watcherEventCols + ` FROM schedule s
	JOIN events e ON e.id = s.event_id
	WHERE s.watcher_id = $1 AND s.next_at <= $2 ORDER BY s.next_at, s.event_id` + limitClause(limit)
}

// dueAfterQuery is dueEventsQuery from after ($3, $4), a next_at and an
// event id.
func dueAfterQuery(limit int) string {
	return "SELECT s.next_at, " + watcherEventCols + ` FROM schedule s
	JOIN events e ON e.id = s.event_id
	WHERE s.watcher_id = $1 AND s.next_at <= $2 AND (s.next_at, s.event_id) > ($3, $4)
	ORDER BY s.next_at, s.event_id` + limitClause(limit)
}

// readDue runs query, dueEventsQuery or dueAfterQuery, with args.
func readDue(ctx context.Context, q querier, query string, limit int, args ...any) ([]watchers.PlannedEvent, error) {
	// The (watcher_id, next_at, event_id) index makes this proportional
	// to the number of due events, not to all events.
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []watchers.PlannedEvent
	for len(out) < limit && rows.Next() {
		out = append(out, watchers.PlannedEvent{})
		p := &out[len(out)-1]
		var next int64
		if err := scanWatcherEvent(rows, &p.Event, &next); err != nil {
			return nil, err
		}
		p.Since = fromMS(next)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	ptrs := make([]*watchers.Event, len(out))
	for i := range out {
		ptrs[i] = &out[i].Event
	}
	if err := loadChanges(ctx, q, ptrs); err != nil {
		return nil, err
	}
	return out, nil
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
