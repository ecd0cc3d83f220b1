package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store/pgtest"
)

// testNow is the fixed clock of the tests, on a millisecond like stored times.
var testNow = time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openTest opens a fresh database file under t.TempDir() with the clock
// fixed at now.
func openTest(t testing.TB, now time.Time) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "alertbot.db"), now)
}

// backendCase is a storage backend that the behaviour tests run on:
// fresh returns the name of a new, empty database.
type backendCase struct {
	name  string
	fresh func(t testing.TB) string
}

var backendCases = []backendCase{
	{"SQLite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "alertbot.db") }},
	{"Postgres", pgtest.URL},
}

// eachBackend runs test once per backend, as subtests named after them.
func eachBackend(t *testing.T, test func(t *testing.T, fresh func(t testing.TB) string)) {
	for _, b := range backendCases {
		t.Run(b.name, func(t *testing.T) { test(t, b.fresh) })
	}
}

// tableExists reports whether the database has a table of that name.
func tableExists(t *testing.T, db *DB, name string) bool {
	t.Helper()
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
	if db.Postgres() {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
	}
	var n int
	if err := db.read.QueryRowContext(testCtx(t), q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func openAt(t testing.TB, path string, now time.Time) *DB {
	t.Helper()
	db, err := Open(testCtx(t), path, WithNow(func() time.Time { return now }))
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenPragmasTakeEffect(t *testing.T) {
	db := openTest(t, testNow)
	ctx := testCtx(t)
	want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1"}
	for poolName, pool := range map[string]querier{"write": db.write, "read": db.read} {
		for pragma, w := range want {
			var got string
			if err := pool.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s pool: PRAGMA %s: %v", poolName, pragma, err)
			}
			if !strings.EqualFold(got, w) {
				t.Errorf("%s pool: PRAGMA %s = %q, want %q", poolName, pragma, got, w)
			}
		}
	}
	// Foreign keys are enforced, not just reported.
	_, err := db.write.ExecContext(ctx, "INSERT INTO event_changes (event_id, seq, at) VALUES ('nope', 0, 0)")
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "foreign key") {
		t.Errorf("insert violating a foreign key: err = %v, want a FOREIGN KEY error", err)
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	ctx := testCtx(t)
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if db, err := Open(ctx, p); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
	// A directory that does not exist cannot hold the file.
	_, err := Open(ctx, filepath.Join(t.TempDir(), "missing", "dir", "a.db"))
	if err == nil || !strings.Contains(err.Error(), "open database") {
		t.Errorf("Open in a missing directory: err = %v, want an open database error", err)
	}
}

func TestOpenEscapesPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd name?x=1#frag%41")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "alert bot.db")
	db := openAt(t, path, testNow)
	if _, err := db.Subscribe(testCtx(t), bot.Subscription{Channel: "console:local", Target: "all"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at the path given: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "alert bot.db") {
			t.Errorf("unexpected file %q beside the database", e.Name())
		}
	}
}

func TestMigrationsRecorded(t *testing.T) { eachBackend(t, testMigrationsRecorded) }

func testMigrationsRecorded(t *testing.T, fresh func(testing.TB) string) {
	db := openAt(t, fresh(t), testNow)
	migs, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := db.Version(), len(migs); got != want || got < 1 {
		t.Errorf("Version() = %d, want %d (the number of embedded migrations)", got, want)
	}
	rows, err := db.read.QueryContext(testCtx(t), "SELECT version, name, applied_at FROM migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []migration
	for rows.Next() {
		var (
			m  migration
			at int64
		)
		if err := rows.Scan(&m.version, &m.name, &at); err != nil {
			t.Fatal(err)
		}
		if fromMS(at) != testNow {
			t.Errorf("migration %s applied_at = %v, want %v", m.name, fromMS(at), testNow)
		}
		got = append(got, m)
	}
	var want []migration
	for _, m := range migs {
		want = append(want, migration{version: m.version, name: m.name})
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(migration{})); diff != "" {
		t.Errorf("migrations table (-want +got):\n%s", diff)
	}
}

func TestMigrationUpgradeAndNewerRefused(t *testing.T) {
	eachBackend(t, testMigrationUpgradeAndNewerRefused)
}

func testMigrationUpgradeAndNewerRefused(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	path := fresh(t)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	migs, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	known := len(migs)

	// A failing migration rolls back entirely.
	bad := append(append([]migration(nil), migs...), migration{version: known + 1, name: "bad.sql",
		sql: "CREATE TABLE half (a INTEGER); INSERT INTO no_such_table VALUES (1);"})
	if err := db.migrateWith(ctx, bad); err == nil || !strings.Contains(err.Error(), "bad.sql") {
		t.Fatalf("failing migration: err = %v, want an error naming bad.sql", err)
	}
	if tableExists(t, db, "half") {
		t.Error("table of a failed migration exists: the migration was not one transaction")
	}

	// A newer binary's migration applies and is recorded.
	next := append(append([]migration(nil), migs...), migration{version: known + 1, name: "later.sql",
		sql: "CREATE TABLE later (a INTEGER);"})
	if err := db.migrateWith(ctx, next); err != nil {
		t.Fatal(err)
	}
	if db.Version() != known+1 {
		t.Errorf("Version() after upgrade = %d, want %d", db.Version(), known+1)
	}
	if !tableExists(t, db, "later") {
		t.Error("table of the applied migration is missing")
	}
	// Jump far ahead, as a much newer alertbot would.
	future := known + 10
	if _, err := db.write.ExecContext(ctx, "INSERT INTO migrations (version, name, applied_at) VALUES ($1, 'future.sql', 0)", future); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err = Open(ctx, path)
	want := "database schema version " + strconv.Itoa(future) + " is newer than this alertbot (knows " + strconv.Itoa(known) + "); upgrade alertbot"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open of a newer database: err = %v, want it to contain %q", err, want)
	}
}

func TestLoadMigrationsChecksNames(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		wantErr string
	}{
		{"gap", fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}}, "want version 2"},
		{"repeat", fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}}, "want version 2"},
		{"no number", fstest.MapFS{"migrations/init.sql": {}}, "must start with a positive number"},
		{"zero", fstest.MapFS{"migrations/0000_a.sql": {}}, "must start with a positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadMigrations(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("loadMigrations: err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	ms, err := loadMigrations(fstest.MapFS{"migrations/0002_b.sql": {Data: []byte("B")}, "migrations/0001_a.sql": {Data: []byte("A")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].sql != "A" || ms[1].sql != "B" {
		t.Errorf("loadMigrations did not order by version: %+v", ms)
	}
}

func TestReopenKeepsData(t *testing.T) { eachBackend(t, testReopenKeepsData) }

func testReopenKeepsData(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	path := fresh(t)
	db := openAt(t, path, testNow)
	ev := mkEvent(t, "jp-budget", "2025-03-31", "japan", "budget")
	if err := db.SaveEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	w := mkWatcher("deadlines", "dates")
	if err := db.SaveWatcher(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2 := openAt(t, path, testNow.Add(time.Hour))
	got, err := db2.Event(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ev, got); diff != "" {
		t.Errorf("event after reopen (-want +got):\n%s", diff)
	}
	gw, err := db2.Watcher(ctx, w.Spec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, gw); diff != "" {
		t.Errorf("watcher after reopen (-want +got):\n%s", diff)
	}
	if db2.Version() != db.Version() {
		t.Errorf("version after reopen = %d, want %d", db2.Version(), db.Version())
	}
}

func TestBackup(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	db := openAt(t, filepath.Join(dir, "a.db"), testNow)
	seedSmall(t, db)

	dst := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, dst); err == nil || !strings.Contains(err.Error(), "file exists") {
		t.Errorf("second Backup to the same file: err = %v, want a file exists error", err)
	}
	if err := db.Backup(ctx, ""); err == nil {
		t.Error("Backup to an empty path succeeded")
	}

	cp := openAt(t, dst, testNow)
	if cp.Version() != db.Version() {
		t.Errorf("backup version = %d, want %d", cp.Version(), db.Version())
	}
	for _, tc := range []struct {
		name string
		read func(s backend) (any, error)
	}{
		{"events", func(s backend) (any, error) { return s.Events(ctx, bot.EventFilter{}) }},
		{"watchers", func(s backend) (any, error) { return s.Watchers(ctx) }},
		{"history", func(s backend) (any, error) { return s.ChannelHistory(ctx, "slack:C1", 0) }},
		{"subscriptions", func(s backend) (any, error) { return s.Subscriptions(ctx) }},
		{"audit", func(s backend) (any, error) { return s.AuditLog(ctx, 0) }},
		{"deliveries", func(s backend) (any, error) { return s.DeliveryCounts(ctx) }},
	} {
		want, err := tc.read(db)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tc.read(cp)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s in backup (-want +got):\n%s", tc.name, diff)
		}
		if reflect.ValueOf(want).Len() == 0 {
			t.Errorf("%s: seeded database has none, the comparison proves nothing", tc.name)
		}
	}
}

// seedSmall writes a little of everything.
func seedSmall(t *testing.T, db *DB) {
	t.Helper()
	ctx := testCtx(t)
	if err := db.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []bot.EventRecord{
		mkEvent(t, "jp-budget", "2025-03-31", "japan", "budget"),
		mkEvent(t, "upper-house", "2025-07", "japan", "election"),
	} {
		if err := db.SaveEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow, Alerts: []bot.NewAlert{
		{Alert: mkAlert("deadlines/jp-budget/reminder/30d@2025-03-31", "jp-budget"), Channels: []string{"slack:C1", "discord:42"}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Subscribe(ctx, bot.Subscription{Channel: "slack:C1", Target: "tag:japan", Origin: "config"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Audit(ctx, bot.AuditEntry{Who: "slack:U1", Action: "subscribe", Target: "tag:japan"}); err != nil {
		t.Fatal(err)
	}
}

func TestClosedDBErrors(t *testing.T) { eachBackend(t, testClosedDBErrors) }

func testClosedDBErrors(t *testing.T, fresh func(testing.TB) string) {
	db := openAt(t, fresh(t), testNow)
	db.Close()
	_, err := db.Event(testCtx(t), "x")
	if err == nil || errors.Is(err, bot.ErrNotFound) {
		t.Errorf("Event on a closed database: err = %v, want a database error", err)
	}
}

// TestParams: the one writer of parameter lists numbers them from first,
// or writes "?" for SQLite's multi-row statements, and VALUES rows number
// on across rows.
// TestFitting: the next statement of a multi-row write takes the largest
// size the rows left fill, or the smallest when they fill none.
func TestFitting(t *testing.T) {
	sizes := []int{64, 16, 4, 1}
	for n, want := range map[int]int{200: 64, 64: 64, 63: 16, 16: 16, 5: 4, 3: 1, 1: 1, 0: 1} {
		if got := fitting(n, sizes); got != want {
			t.Errorf("fitting(%d, %v) = %d, want %d", n, sizes, got, want)
		}
	}
}

func TestParams(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{params(3, 3, false), "$3, $4, $5"},
		{params(1, 3, true), "?, ?, ?"},
		{params(1, 0, false), ""},
		{valuesList(2, 2, false), "($1, $2), ($3, $4)"},
		{valuesList(2, 2, true), "(?, ?), (?, ?)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
