// Package pgtest gives a test a PostgreSQL database of its own: a new
// schema on the server that ALERTBOT_TEST_POSTGRES names, dropped when the
// test ends. Without that variable the test is skipped, with a message
// saying how to run it, or fails when ALERTBOT_CI is set: CI starts a
// server (.ci/run), so there a missing one is a failure, not a skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the environment variable with the URL of the server the tests
// use: a database in which they may create and drop schemas, e.g.
// postgres://alertbot@/postgres?host=/tmp/alertbot-pg.X&sslmode=disable.
const Env = "ALERTBOT_TEST_POSTGRES"

// howTo says how to get a server for the tests.
const howTo = "set " + Env + "=postgres://… (a database where tests may create schemas), " +
	"or run the tests through .ci/postgres.sh (e.g. .ci/postgres.sh go test ./store/...), " +
	"which starts a throwaway server from Debian's postgresql package (apt-get install postgresql), or run .ci/run"

// Require returns the server URL of Env, or skips the test (fails it in
// CI) when there is none.
func Require(t testing.TB) string {
	t.Helper()
	u := os.Getenv(Env)
	if u != "" {
		return u
	}
	if os.Getenv("ALERTBOT_CI") != "" {
		t.Fatalf("PostgreSQL is missing: %s is not set (ALERTBOT_CI is set, so this is a failure; .ci/run starts a server and sets it)", Env)
	}
	t.Skipf("PostgreSQL tests skipped: %s", howTo)
	return ""
}

// URL creates an empty schema for the test and returns a URL whose
// connections use it (search_path), so the test sees only its own tables.
// The schema is dropped at cleanup, after the test's own cleanups (which
// close its connections) have run.
func URL(t testing.TB) string {
	t.Helper()
	admin := Require(t)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", Env, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + label(t.Name()) + "_" + hex.EncodeToString(b)
	exec(t, admin, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() { exec(t, admin, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// label shortens a test name to something readable in a schema name
// (PostgreSQL cuts identifiers at 63 bytes).
func label(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return s
}

// exec runs one statement on its own connection to the server.
func exec(t testing.TB, admin, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", Env, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
