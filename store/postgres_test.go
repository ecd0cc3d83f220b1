package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/policyteam/alertbot/store/pgtest"
)

// Tests of what only the PostgreSQL backend has; the behaviour both
// share is checked by the contract suite and the eachBackend tests.

// TestPostgresSchemaTypes checks the translated schema: 64-bit integers
// as in SQLite, byte-order text, identity ids.
func TestPostgresSchemaTypes(t *testing.T) {
	db := openAt(t, pgtest.URL(t), testNow)
	ctx := testCtx(t)
	rows, err := db.read.QueryContext(ctx, `SELECT table_name, column_name, data_type, COALESCE(collation_name, ''), is_identity
		FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int
	identity := map[string]bool{}
	for rows.Next() {
		var table, col, typ, coll, ident string
		if err := rows.Scan(&table, &col, &typ, &coll, &ident); err != nil {
			t.Fatal(err)
		}
		n++
		switch typ {
		case "bigint", "bytea":
		case "text":
			if coll != "C" {
				t.Errorf("%s.%s: text collation %q, want C", table, col, coll)
			}
		default:
			t.Errorf("%s.%s: type %s, want bigint, text or bytea", table, col, typ)
		}
		if ident == "YES" {
			identity[table+"."+col] = true
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("only %d columns in the schema: wrong schema?", n)
	}
	for _, c := range []string{"alerts.id", "deliveries.id", "audit.id"} {
		if !identity[c] {
			t.Errorf("%s is not an identity column", c)
		}
	}
}

// TestPostgresConcurrentOpen starts several processes' worth of handles
// on a new database at once: the write lock makes one of them create the
// tables and the others find them.
func TestPostgresConcurrentOpen(t *testing.T) {
	u := pgtest.URL(t)
	ctx := testCtx(t)
	const n = 4
	errs := make([]error, n)
	dbs := make([]*DB, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = Open(ctx, u) })
	}
	wg.Wait()
	migs, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		defer dbs[i].Close()
		if dbs[i].Version() != len(migs) {
			t.Errorf("Open %d: version %d, want %d", i, dbs[i].Version(), len(migs))
		}
	}
	if errs[0] == nil {
		if got := countRows(t, dbs[0], "migrations"); got != len(migs) {
			t.Errorf("migrations rows = %d, want %d (each applied once)", got, len(migs))
		}
	}
}

func TestPostgresBackupUnsupported(t *testing.T) {
	db := openAt(t, pgtest.URL(t), testNow)
	err := db.Backup(testCtx(t), t.TempDir()+"/x.db")
	if !errors.Is(err, ErrBackupUnsupported) || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("Backup on PostgreSQL: err = %v, want ErrBackupUnsupported naming pg_dump", err)
	}
	if !db.Postgres() {
		t.Error("Postgres() = false on a PostgreSQL database")
	}
	if strings.Contains(db.Path(), "sqlite") || !strings.HasPrefix(db.Path(), "postgres://") {
		t.Errorf("Path() = %q, want the URL", db.Path())
	}
}

// TestPostgresOpenChecks: Open refuses a database it could not serve
// correctly, with a message saying why.
func TestPostgresOpenChecks(t *testing.T) {
	ctx := testCtx(t)
	admin := pgtest.Require(t)

	// A search_path naming no existing schema leaves nowhere to create
	// the tables.
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "no_such_schema_for_alertbot")
	u.RawQuery = q.Encode()
	if db, err := Open(ctx, u.String()); err == nil {
		db.Close()
		t.Error("Open with a search_path of no schema succeeded")
	} else if !strings.Contains(err.Error(), "no schema to create tables in") {
		t.Errorf("Open with a search_path of no schema: %v", err)
	}

	// A database in another encoding than UTF-8.
	name := "alertbot_latin1_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	adminExec(t, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	adminExec(t, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
	t.Cleanup(func() { adminExec(t, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()) })
	au, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	au.Path = "/" + name
	if db, err := Open(ctx, au.String()); err == nil {
		db.Close()
		t.Error("Open of a LATIN1 database succeeded")
	} else if !strings.Contains(err.Error(), "encoding LATIN1, want UTF8") {
		t.Errorf("Open of a LATIN1 database: %v", err)
	}
}

func adminExec(t *testing.T, admin, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// TestPostgresConnectionsDropped: when the server drops every connection
// (a restart, a failover, an administrator), the handle goes on with new
// ones at once, without reopening: a statement or BEGIN that failed before
// reaching the server is repeated on another connection (the driver does
// it for statements, beginOn for transactions).
func TestPostgresConnectionsDropped(t *testing.T) {
	ctx := testCtx(t)
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	// A name of its own, so that only this test's connections are cut.
	app := "alertbot-drop-" + strings.ToLower(strings.TrimPrefix(u.Query().Get("search_path"), "t_"))
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db := openAt(t, u.String(), testNow)
	seedSmall(t, db)

	var cut int
	if err := db.write.QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&cut); err != nil {
		t.Fatal(err)
	}
	adminExec(t, pgtest.Require(t), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "+
		"'"+strings.ReplaceAll(app, "'", "''")+"'")
	if cut < 2 {
		t.Fatalf("%d connections of the handle open before the cut, want both pools' (the test cuts nothing)", cut)
	}
	// No pause: pgx's ping of connections idle for over a second would
	// hide the dead ones.
	for i := range 3 {
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("Ping %d after the cut: %v", i, err)
		}
		if _, err := db.Event(ctx, "jp-budget"); err != nil {
			t.Fatalf("Event %d after the cut: %v", i, err)
		}
		if err := db.SaveEvent(ctx, mkEvent(t, fmt.Sprint("after-", i), "2025-04-01")); err != nil {
			t.Fatalf("SaveEvent %d after the cut: %v", i, err)
		}
		if _, err := db.CommitRun(ctx, runWithKeys("deadlines", 100+i, 101+i)); err != nil {
			t.Fatalf("CommitRun %d after the cut: %v", i, err)
		}
	}
	if n, err := db.CountEvents(ctx); err != nil || n != 5 {
		t.Errorf("CountEvents = %d, %v; want 5", n, err)
	}
}
