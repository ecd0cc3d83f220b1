package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

const watcherCols = `id, spec, origin, hash, state, last_run, last_success, last_error, failures, failing, updated_at, updated_by, dated`

// SaveWatcher creates or replaces a watcher, including its run status as
// given. A dated watcher (WatcherRecord.Dated) gets a schedule row for
// every event it lacks one for, so that it looks at all of them on its
// next tick.
func (db *DB) SaveWatcher(ctx context.Context, w bot.WatcherRecord) error {
	if w.Spec.ID == "" {
		return errors.New("save watcher: empty watcher id")
	}
	if w.Spec.Kind == "" {
		return fmt.Errorf("save watcher %q: empty kind", w.Spec.ID)
	}
	spec, err := json.Marshal(w.Spec)
	if err != nil {
		return fmt.Errorf("save watcher %q: encode spec: %w", w.Spec.ID, err)
	}
	err = db.inTx(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, `INSERT INTO watchers (id, kind, spec, origin, hash, state, last_run, last_success,
				last_error, failures, failing, updated_at, updated_by, dated)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, spec = excluded.spec, origin = excluded.origin,
			hash = excluded.hash, state = excluded.state, last_run = excluded.last_run,
			last_success = excluded.last_success, last_error = excluded.last_error, failures = excluded.failures,
			failing = excluded.failing, updated_at = excluded.updated_at, updated_by = excluded.updated_by, dated = excluded.dated`,
			w.Spec.ID, w.Spec.Kind, string(spec), w.Origin, w.Hash, w.State, ms(w.LastRun), ms(w.LastSuccess),
			w.LastError, w.Failures, flag(w.Failing), ms(orNow(w.UpdatedAt, t.now)), w.UpdatedBy, flag(w.Dated)); err != nil {
			return err
		}
		if !w.Dated {
			return nil
		}
		// A new or changed spec (tags, lead times) plans every event
		// again; the unique alert keys keep that from repeating alerts.
		_, err := t.ExecContext(ctx, `INSERT INTO schedule (watcher_id, event_id, next_at)
			SELECT $1, id, 0 FROM events WHERE true
			ON CONFLICT (watcher_id, event_id) DO UPDATE SET next_at = 0`, w.Spec.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("save watcher %q: %w", w.Spec.ID, err)
	}
	return nil
}

func scanWatcher(s scanner) (bot.WatcherRecord, error) {
	var (
		w                                    bot.WatcherRecord
		id, spec                             string
		lastRun, lastSuccess, updatedAtMilli int64
	)
	if err := s.Scan(&id, &spec, &w.Origin, &w.Hash, &w.State, &lastRun, &lastSuccess, &w.LastError,
		&w.Failures, &w.Failing, &updatedAtMilli, &w.UpdatedBy, &w.Dated); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(spec), &w.Spec); err != nil {
		return w, fmt.Errorf("watcher %q: decode spec: %w", id, err)
	}
	w.LastRun, w.LastSuccess, w.UpdatedAt = fromMS(lastRun), fromMS(lastSuccess), fromMS(updatedAtMilli)
	return w, nil
}

// Watcher returns one watcher.
func (db *DB) Watcher(ctx context.Context, id string) (bot.WatcherRecord, error) {
	w, err := scanWatcher(db.read.QueryRowContext(ctx, "SELECT "+watcherCols+" FROM watchers WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("watcher %q: %w", id, bot.ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("watcher %q: %w", id, err)
	}
	return w, nil
}

// Watchers returns every watcher, sorted by id.
func (db *DB) Watchers(ctx context.Context) ([]bot.WatcherRecord, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+watcherCols+" FROM watchers ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list watchers: %w", err)
	}
	defer rows.Close()
	var out []bot.WatcherRecord
	for rows.Next() {
		w, err := scanWatcher(rows)
		if err != nil {
			return nil, fmt.Errorf("list watchers: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list watchers: %w", err)
	}
	return out, nil
}

// DeleteWatcher removes a watcher and its schedule; its alerts and their
// deliveries stay as history.
func (db *DB) DeleteWatcher(ctx context.Context, id string) error {
	err := db.inTx(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, "DELETE FROM schedule WHERE watcher_id = $1", id); err != nil {
			return err
		}
		res, err := t.ExecContext(ctx, "DELETE FROM watchers WHERE id = $1", id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return bot.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("watcher %q: %w", id, err)
	}
	return nil
}

// CommitRun stores the outcome of one check in one transaction: the
// watcher's status and state; each alert whose key is new, with one
// pending delivery per channel unless it was skipped; the events the
// check changed; and the watcher's next check time per event (a zero time
// means not until the event changes). It returns the alerts created for
// sending, in the order given; alerts whose key already existed create
// nothing, so repeating a run is harmless.
func (db *DB) CommitRun(ctx context.Context, run bot.RunRecord) ([]bot.AlertRecord, error) {
	var (
		created []bot.AlertRecord
		sending []int64 // alerts with a pending delivery
	)
	err := db.inTx(ctx, func(t *tx) error {
		created = created[:0]
		woken := map[string]bool{} // platforms with new deliveries
		var rows []newDelivery
		// Alerts the bot raises itself (delivery failures) belong to no
		// watcher row.
		if run.Watcher != "" {
			if err := updateWatcherRun(ctx, t, &run); err != nil {
				return err
			}
		}
		recs, err := insertAlerts(ctx, t, run.Alerts, run.At, woken, &rows)
		if err != nil {
			return err
		}
		for i, rec := range recs {
			isNew := rec.ID != 0
			if isNew && !run.Alerts[i].Skipped {
				created = append(created, rec)
			}
			if carries := run.Alerts[i].Carries; len(carries) > 0 {
				// A summary made before (by another pass) carried its own
				// items; these came too late for it and go by themselves.
				if isNew {
					err = bundleHeld(ctx, t, rec.ID, carries)
				} else {
					err = releaseHeld(ctx, t, carries, woken)
				}
				if err != nil {
					return err
				}
			}
		}
		if err := insertDeliveries(ctx, t, rows); err != nil {
			return err
		}
		sending = sending[:0]
		for _, r := range rows {
			if r.state == bot.DeliveryPending {
				sending = append(sending, r.alertID)
			}
		}
		if err := releaseHeld(ctx, t, run.Release, woken); err != nil {
			return err
		}
		if err := saveEvents(ctx, t, run.Events); err != nil {
			return err
		}
		if err := insertProposals(ctx, t, run.Proposals); err != nil {
			return err
		}
		if err := planNext(ctx, t, run.Watcher, run.Next); err != nil {
			return err
		}
		// Other replicas' workers wake when this commits.
		return db.notifyDeliveries(ctx, t, slices.Sorted(maps.Keys(woken)))
	})
	if err != nil {
		return nil, fmt.Errorf("commit run of watcher %q: %w", run.Watcher, err)
	}
	// Kept for the claims of their deliveries: only those with one to
	// send now, not alerts for no channel or held ones.
	db.recent.add(created, sending)
	return created, nil
}

func updateWatcherRun(ctx context.Context, t *tx, run *bot.RunRecord) error {
	at := ms(run.At)
	var (
		q    string
		args []any
	)
	switch {
	case run.Err != "":
		q = sqlRunFailed
		args = []any{at, run.Err, run.Failures, flag(run.Failing), run.Watcher}
	case run.UpdateState:
		q = sqlRunState
		args = []any{at, run.Failures, flag(run.Failing), run.State, run.Watcher}
	default:
		q = sqlRunOK
		args = []any{at, run.Failures, flag(run.Failing), run.Watcher}
	}
	res, err := t.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("update watcher: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update watcher: %w", err)
	} else if n == 0 {
		return fmt.Errorf("watcher %q: %w", run.Watcher, bot.ErrNotFound)
	}
	return nil
}

const (
	// sqlInsertChannel gives a channel its claim row (ClaimDue) with its
	// first delivery.
	sqlInsertChannel = `INSERT INTO channel_claims (channel, platform) VALUES ($1, $2) ON CONFLICT (channel) DO NOTHING`
	sqlRunFailed     = `UPDATE watchers SET last_run = $1, last_error = $2, failures = $3, failing = $4 WHERE id = $5`
	sqlRunState      = `UPDATE watchers SET last_run = $1, last_success = $1, last_error = '', failures = $2, failing = $3,
	state = $4 WHERE id = $5`
	sqlRunOK = `UPDATE watchers SET last_run = $1, last_success = $1, last_error = '', failures = $2, failing = $3
	WHERE id = $4`
)

// insertAlert is insertAlerts for one alert.
func insertAlert(ctx context.Context, t *tx, a *bot.NewAlert, nextTry time.Time, woken map[string]bool, out *[]newDelivery) (bot.AlertRecord, bool, error) {
	recs, err := insertAlerts(ctx, t, []bot.NewAlert{*a}, nextTry, woken, out)
	if err != nil {
		return bot.AlertRecord{}, false, err
	}
	return recs[0], recs[0].ID != 0, nil
}

// alertBatches are the row counts of the multi-row alert inserts, the
// largest first: a burst's chunk of 128 alerts takes four statements
// rather than 128, each a round through the driver.
var alertBatches = []int{32, 8, 2, 1}

// insertAlertsSQL is the insert of n alerts by placeholder style
// (tx.anonParams). Only the new rows come back, each with its key: an
// alert whose key exists (another tick or process got there first) is
// left alone.
var insertAlertsSQL = map[bool]map[int]string{false: alertsSQL(false), true: alertsSQL(true)}

func alertsSQL(anon bool) map[int]string {
	m := map[int]string{}
	for _, n := range alertBatches {
		m[n] = `INSERT INTO alerts (key, kind, watcher, event, tags, at, title, body, link, fields, severity, skipped, created_at)
	VALUES ` + valuesList(n, 13, anon) + `
	ON CONFLICT (key) DO NOTHING RETURNING id, key`
	}
	return m
}

// insertAlerts inserts the alerts of as whose keys are new, adds their
// deliveries to out (for insertDeliveries, in the same transaction), and
// notes their platforms in woken. It returns a record for each of as, in
// order, with ID 0 for an alert whose key existed, in the store or
// earlier in as. Nothing is written unless every alert is valid.
func insertAlerts(ctx context.Context, t *tx, as []bot.NewAlert, nextTry time.Time, woken map[string]bool, out *[]newDelivery) ([]bot.AlertRecord, error) {
	// Validate and encode everything before writing anything.
	vals := make([]any, 0, 13*len(as))
	first := make(map[string]int, len(as)) // key → index of its first alert
	for i := range as {
		al := &as[i].Alert
		if al.Key == "" {
			return nil, fmt.Errorf("alert %q of kind %s: empty key", al.Title, al.Kind)
		}
		for _, ch := range as[i].Channels {
			if _, _, err := bot.SplitAddress(ch); err != nil {
				return nil, fmt.Errorf("alert %s: %w", al.Key, err)
			}
		}
		if _, dup := first[al.Key]; dup {
			continue
		}
		first[al.Key] = i
		tags, err := json.Marshal(al.Tags)
		if err != nil {
			return nil, fmt.Errorf("alert %s: encode tags: %w", al.Key, err)
		}
		fields, err := json.Marshal(al.Fields)
		if err != nil {
			return nil, fmt.Errorf("alert %s: encode fields: %w", al.Key, err)
		}
		vals = append(vals, al.Key, string(al.Kind), al.Watcher, al.Event, string(tags), ms(al.At), al.Title, al.Text, al.Link,
			string(fields), int(al.Severity), flag(as[i].Skipped), ms(t.now))
	}
	recs := make([]bot.AlertRecord, len(as))
	for len(vals) > 0 {
		n := fitting(len(vals)/13, alertBatches)
		if err := insertAlertRows(ctx, t, insertAlertsSQL[t.anonParams][n], vals[:13*n], func(id int64, key string) {
			i := first[key]
			recs[i] = bot.AlertRecord{ID: id, Alert: as[i].Alert, Skipped: as[i].Skipped, Created: t.now}
		}); err != nil {
			return nil, fmt.Errorf("alert %s: insert: %w", vals[0], err)
		}
		vals = vals[13*n:]
	}
	for i, rec := range recs {
		if rec.ID != 0 && !rec.Skipped {
			if err := addDeliveries(ctx, t, &as[i], rec.ID, nextTry, woken, out); err != nil {
				return nil, err
			}
		}
	}
	return recs, nil
}

// insertAlertRows runs one multi-row insert and hands each new row's id
// and key to got.
func insertAlertRows(ctx context.Context, t *tx, q string, args []any, got func(id int64, key string)) error {
	rows, err := t.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			key string
		)
		if err := rows.Scan(&id, &key); err != nil {
			return err
		}
		got(id, key)
	}
	return rows.Err()
}

// addDeliveries adds the deliveries of new alert a (id) to out, one per
// channel, held where a's holds say, and gives each channel its claim row.
func addDeliveries(ctx context.Context, t *tx, a *bot.NewAlert, id int64, nextTry time.Time, woken map[string]bool, out *[]newDelivery) error {
	seen := make([]string, 0, len(a.Channels))
	for _, ch := range a.Channels {
		if slices.Contains(seen, ch) {
			continue
		}
		seen = append(seen, ch)
		platform, _, _ := bot.SplitAddress(ch) // checked by insertAlerts
		if h, held := holdOf(a.Holds, ch); held {
			*out = append(*out, newDelivery{alertID: id, channel: ch, platform: platform, state: bot.DeliveryHeld,
				nextTry: ms(h.Until), hold: h.Reason, heldFrom: ms(nextTry)})
		} else {
			*out = append(*out, newDelivery{alertID: id, channel: ch, platform: platform, state: bot.DeliveryPending, nextTry: ms(nextTry)})
		}
		if err := t.ensureChannel(ctx, ch, platform); err != nil {
			return fmt.Errorf("alert %s: channel %s: %w", a.Alert.Key, ch, err)
		}
		woken[platform] = true
	}
	return nil
}

// newDelivery is a delivery row to insert (insertDeliveries). A held one
// waits until nextTry, its release, and keeps in heldFrom when it would
// have gone.
type newDelivery struct {
	alertID                        int64
	channel, platform, state, hold string
	nextTry, heldFrom              int64
}

// deliveryBatches are the row counts of the multi-row delivery inserts: a
// run's rows go in statements of these sizes, largest first, so a few
// prepared statements serve any number of rows and a burst's deliveries
// take one statement per 64 instead of one each.
var deliveryBatches = []int{64, 16, 4, 1}

// insertDeliveriesSQL inserts n delivery rows of 8 values each, with "?"
// placeholders when anon (tx.anonParams).
func insertDeliveriesSQL(n int, anon bool) string {
	return `INSERT INTO deliveries (alert_id, channel, platform, state, next_try, created_at, hold, held_from) VALUES ` +
		valuesList(n, 8, anon)
}

// insertDeliveries inserts rows in order (their ids rise in that order,
// which is each channel's sending order), several per statement.
func insertDeliveries(ctx context.Context, t *tx, rows []newDelivery) error {
	args := make([]any, 0, 8*deliveryBatches[0])
	for len(rows) > 0 {
		n := fitting(len(rows), deliveryBatches)
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r.alertID, r.channel, r.platform, r.state, r.nextTry, ms(t.now), r.hold, r.heldFrom)
		}
		if _, err := t.ExecContext(ctx, insertDeliveriesSQL(n, t.anonParams), args...); err != nil {
			return fmt.Errorf("insert %d deliveries (alert %d to %s, …): %w", n, rows[0].alertID, rows[0].channel, err)
		}
		rows = rows[n:]
	}
	return nil
}

// holdOf returns the hold for channel among holds.
func holdOf(holds []bot.Hold, channel string) (bot.Hold, bool) {
	for _, h := range holds {
		if h.Channel == channel {
			return h, true
		}
	}
	return bot.Hold{}, false
}

// planNext records when watcher next looks at each event. Plans for
// events deleted meanwhile are dropped rather than failing the run. The
// plans go by multi-row statements (plansSQL): a first pass over 100,000
// events made as many statements before.
func planNext(ctx context.Context, t *tx, watcher string, plans []watchers.NextPlan) error {
	if len(plans) == 0 {
		return nil
	}
	// One row per event, the last plan winning: a multi-row upsert may
	// not touch a row twice.
	last := make(map[string]int, len(plans))
	for i, p := range plans {
		last[p.Event] = i
	}
	rows := make([]watchers.NextPlan, 0, len(last))
	for i, p := range plans {
		if last[p.Event] == i {
			rows = append(rows, p)
		}
	}
	args := make([]any, 0, 1+2*min(len(rows), planBuckets[0]))
	for len(rows) > 0 {
		n := fitting(len(rows), planBuckets)
		args = append(args[:0], watcher)
		for _, p := range rows[:n] {
			args = append(args, p.Event, nextAt(p))
		}
		if _, err := t.ExecContext(ctx, plansSQL[t.anonParams][n], args...); err != nil {
			return fmt.Errorf("plan next checks: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// planBuckets are the row counts of planNext's statements, the largest
// first: a few texts, each prepared at Open, serve every count.
var planBuckets = []int{500, 100, 20, 4, 1}

// nextAt is the schedule time of p: never when it plans no look.
func nextAt(p watchers.NextPlan) int64 {
	if p.At.IsZero() {
		return never
	}
	return ms(p.At)
}

// plansSQL records the next looks of n (event, time) pairs after the
// watcher, by placeholder style (tx.anonParams) and n in planBuckets.
// VALUES names its columns column1, column2 in both engines; the cast
// types the times for PostgreSQL. "WHERE true" keeps SQLite's parser from
// reading ON CONFLICT as the join's constraint.
var plansSQL = map[bool]map[int]string{false: planTexts(false), true: planTexts(true)}

func planTexts(anon bool) map[int]string {
	m := map[int]string{}
	ph := func(i int) string {
		if anon {
			return "?"
		}
		return "$" + strconv.Itoa(i)
	}
	for _, n := range planBuckets {
		var b strings.Builder
		b.WriteString("INSERT INTO schedule (watcher_id, event_id, next_at)\n\tSELECT " + ph(1) + ", e.id, v.column2 FROM (VALUES ")
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + ph(2+2*i) + ", CAST(" + ph(3+2*i) + " AS BIGINT))")
		}
		b.WriteString(") v JOIN events e ON e.id = v.column1 WHERE true\n\tON CONFLICT (watcher_id, event_id) DO UPDATE SET next_at = excluded.next_at")
		m[n] = b.String()
	}
	return m
}

const alertCols = `a.id, a.key, a.kind, a.watcher, a.event, a.tags, a.at, a.title, a.body, a.link, a.fields, a.severity, a.skipped, a.created_at`

func scanAlert(s scanner, extra ...any) (bot.AlertRecord, error) {
	var (
		r                bot.AlertRecord
		kind, tags, flds string
		at, created      int64
		sev              int
	)
	al := &r.Alert
	dest := append(extra, &r.ID, &al.Key, &kind, &al.Watcher, &al.Event, &tags, &at, &al.Title, &al.Text, &al.Link,
		&flds, &sev, &r.Skipped, &created)
	if err := s.Scan(dest...); err != nil {
		return r, err
	}
	al.Kind, al.At, al.Severity, r.Created = watchers.Kind(kind), fromMS(at), watchers.Severity(sev), fromMS(created)
	if err := json.Unmarshal([]byte(tags), &al.Tags); err != nil {
		return r, fmt.Errorf("alert %d: decode tags: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(flds), &al.Fields); err != nil {
		return r, fmt.Errorf("alert %d: decode fields: %w", r.ID, err)
	}
	return r, nil
}

// AlertsForEvent returns the last n alerts about an event (skipped ones
// included), newest first; n ≤ 0 means all.
func (db *DB) AlertsForEvent(ctx context.Context, event string, n int) ([]bot.AlertRecord, error) {
	q := "SELECT " + alertCols + " FROM alerts a WHERE a.event = $1 ORDER BY a.at DESC, a.id DESC"
	args := []any{event}
	if n > 0 {
		q += limitClause(n)
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("alerts for event %q: %w", event, err)
	}
	defer rows.Close()
	var out []bot.AlertRecord
	for rows.Next() {
		r, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("alerts for event %q: %w", event, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts for event %q: %w", event, err)
	}
	return trim(out, n), nil
}
