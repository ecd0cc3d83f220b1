package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
)

// indexDefs returns every index of db's SQLite schema by name with its
// CREATE text ("" for those that enforce a key).
func indexDefs(t *testing.T, db *DB) map[string]string {
	t.Helper()
	rows, err := db.read.QueryContext(testCtx(t), `SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			t.Fatal(err)
		}
		out[name] = sql
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLoadEventsRebuildsIndexes: a load into an empty SQLite database,
// which drops the secondary indexes and builds them after the rows, leaves
// the schema's indexes exactly as the migrations made them, filled (the
// database passes integrity_check, which compares every index with its
// table); a load that fails leaves them as they were too.
func TestLoadEventsRebuildsIndexes(t *testing.T) {
	ctx := testCtx(t)
	db := openTest(t, testNow)
	want := indexDefs(t, db)
	if want["events_open"] == "" || want["schedule_due"] == "" || want["event_tags_listed"] == "" {
		t.Fatalf("indexes of a new database: %v; want events_open, schedule_due and event_tags_listed among them", want)
	}
	if err := db.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	var bs [][]bot.EventRecord
	for b := range 4 {
		var batch []bot.EventRecord
		for i := range 50 {
			batch = append(batch, mkEvent(t, fmt.Sprintf("e%d-%02d", b, i), fmt.Sprintf("2025-%02d-%02d", i%12+1, b+1), fmt.Sprintf("t%d", i%5)))
		}
		bs = append(bs, batch)
	}
	failed := errors.New("failed")
	if err := db.LoadEvents(ctx, batches(bs, 3, failed)); !errors.Is(err, failed) {
		t.Fatalf("a failing load: %v", err)
	}
	if diff := cmp.Diff(want, indexDefs(t, db)); diff != "" {
		t.Errorf("indexes after a failed load (-want +got):\n%s", diff)
	}
	if err := db.LoadEvents(ctx, batches(bs, 0, nil)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, indexDefs(t, db)); diff != "" {
		t.Errorf("indexes after a load into an empty database (-want +got):\n%s", diff)
	}
	var check string
	if err := db.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check after the load: %q, %v", check, err)
	}
	if n, err := db.CountEvents(ctx); err != nil || n != 200 {
		t.Errorf("%d events after the load (%v), want 200", n, err)
	}
	// The rebuilt indexes answer as they did: the tag list comes from
	// event_tags_listed, the due list from schedule_due.
	tagged, err := db.Events(ctx, bot.EventFilter{Tag: "t3"})
	if err != nil || len(tagged) != 40 {
		t.Errorf("events tagged t3: %d, %v; want 40", len(tagged), err)
	}
	due, err := db.DueEvents(ctx, "deadlines", testNow, 0)
	if err != nil || len(due) != 200 {
		t.Errorf("due events: %d, %v; want 200", len(due), err)
	}
}
