package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
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

// TestLoadEventsRebuildsIndexes: a load into an empty SQLite database
// drops the secondary indexes and builds them after the rows: the
// planning pass's before it commits, the lists' ones when BuildIndexes
// runs (the lists read the tables whole meanwhile, with the same
// answers), or when the database is opened again after a stop. Then the
// schema's indexes are exactly as the migrations made them, filled (the
// database passes integrity_check, which compares every index with its
// table). A load that fails leaves them as they were.
func TestLoadEventsRebuildsIndexes(t *testing.T) {
	ctx := testCtx(t)
	path := filepath.Join(t.TempDir(), "a.db")
	db := openAt(t, path, testNow)
	db.DeferListIndexes()
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
	lists := func() (tagged, due int) {
		t.Helper()
		evs, err := db.Events(ctx, bot.EventFilter{Tag: "t3"})
		if err != nil {
			t.Fatal(err)
		}
		ps, err := db.DueEvents(ctx, "deadlines", testNow, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs), len(ps)
	}
	if err := db.LoadEvents(ctx, batches(bs, 0, nil)); err != nil {
		t.Fatal(err)
	}
	after := indexDefs(t, db)
	for name := range planIndexes {
		if after[name] != want[name] {
			t.Errorf("index %s after the load: %q, want it built: %q", name, after[name], want[name])
		}
	}
	if _, ok := after["event_tags_listed"]; ok {
		t.Error("event_tags_listed built with the load, want it left for BuildIndexes")
	}
	if tagged, due := lists(); tagged != 40 || due != 200 {
		t.Errorf("before the lists' indexes: %d events tagged t3, %d due; want 40 and 200", tagged, due)
	}
	// A stop now: the next Open builds what is left.
	db.Close()
	db = openAt(t, path, testNow)
	if diff := cmp.Diff(want, indexDefs(t, db)); diff != "" {
		t.Errorf("indexes after reopening (-want +got):\n%s", diff)
	}
	if n, err := db.BuildIndexes(ctx); err != nil || n != 0 {
		t.Errorf("BuildIndexes after Open built them: %d, %v; want 0", n, err)
	}
	var check string
	if err := db.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check after the load: %q, %v", check, err)
	}
	if n, err := db.CountEvents(ctx); err != nil || n != 200 {
		t.Errorf("%d events after the load (%v), want 200", n, err)
	}
	if tagged, due := lists(); tagged != 40 || due != 200 {
		t.Errorf("with the indexes: %d events tagged t3, %d due; want 40 and 200", tagged, due)
	}
}

// TestBuildIndexes: a load into an empty database builds every index,
// unless the lists' ones were deferred (DeferListIndexes); BuildIndexes
// builds those, in the process that loaded.
func TestBuildIndexes(t *testing.T) {
	ctx := testCtx(t)
	db := openTest(t, testNow)
	want := indexDefs(t, db)
	evs := [][]bot.EventRecord{{mkEvent(t, "a", "2025-03", "x"), mkEvent(t, "b", "2025-04")}}
	// Without DeferListIndexes, the load builds them all.
	if err := db.LoadEvents(ctx, batches(evs, 0, nil)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, indexDefs(t, db)); diff != "" {
		t.Errorf("indexes after a load (-want +got):\n%s", diff)
	}
	db = openTest(t, testNow)
	db.DeferListIndexes()
	if err := db.LoadEvents(ctx, batches(evs, 0, nil)); err != nil {
		t.Fatal(err)
	}
	if _, ok := indexDefs(t, db)["events_listed"]; ok {
		t.Error("events_listed built with a load after DeferListIndexes")
	}
	n, err := db.BuildIndexes(ctx)
	if err != nil || n != len(want)-len(indexDefsOutside(want))-len(planIndexes) {
		t.Errorf("BuildIndexes = %d, %v", n, err)
	}
	if diff := cmp.Diff(want, indexDefs(t, db)); diff != "" {
		t.Errorf("indexes after BuildIndexes (-want +got):\n%s", diff)
	}
	if n, err := db.BuildIndexes(ctx); err != nil || n != 0 {
		t.Errorf("BuildIndexes again = %d, %v; want 0", n, err)
	}
}

// indexDefsOutside returns the indexes of defs a load does not drop: those
// of other tables, and those that enforce a key.
func indexDefsOutside(defs map[string]string) []string {
	var out []string
	for name, sql := range defs {
		inLoad := false
		for _, tbl := range loadTables {
			if strings.Contains(sql, " ON "+tbl+" ") {
				inLoad = true
			}
		}
		if sql == "" || !inLoad {
			out = append(out, name)
		}
	}
	return out
}
