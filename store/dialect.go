package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// dialect is what differs between the two SQL engines behind DB. The
// queries are shared (DESIGN §1: $1 placeholders, ON CONFLICT, RETURNING,
// integer times); only connecting, the migrations' DDL, how write and read
// transactions isolate, and backup differ.
type dialect struct {
	name string // "sqlite" or "postgres", for errors and tests

	// writeConns and readConns size the two pools. SQLite writes through
	// one connection so that writers queue in Go; PostgreSQL takes
	// concurrent connections, and lockWrites serializes the transactions.
	writeConns, readConns int

	// ddl translates a migration, written in SQLite's DDL, for the engine.
	// SQLite runs the text as written: its files are applied on users'
	// databases already and must keep doing exactly what they did.
	ddl func(string) (string, error)

	// lockWrites, when set, is run first in every write transaction with
	// lockKey as $1: SQLite's BEGIN IMMEDIATE (through _txlock) takes the
	// database's write lock at BEGIN, and PostgreSQL gets the same one
	// writer at a time, across processes, from a transaction-scoped
	// advisory lock. Read-then-write transactions (the lease, the
	// migrations) rely on it.
	lockWrites string
	lockKey    int64

	// skipLocked ends a query that picks rows to claim: PostgreSQL locks
	// them and skips those a concurrent claimer holds (FOR UPDATE SKIP
	// LOCKED); SQLite's one writer at a time needs nothing.
	skipLocked string

	// notifyChannel is the PostgreSQL NOTIFY channel of the schema's
	// alertbot processes (set by check); "" where there is none to tell.
	notifyChannel string

	// readTx are the options of read-only transactions, which must see one
	// snapshot across their statements: SQLite's transactions always do,
	// PostgreSQL's only from REPEATABLE READ up.
	readTx sql.TxOptions

	// check verifies a fresh connection's settings and fills in what the
	// dialect learns from the server (lockKey).
	check func(ctx context.Context, d *dialect, conn *sql.Conn) error

	// retryBegin, when set, reports that a failed BEGIN never reached the
	// server, so it may be repeated on another connection: a pooled
	// connection that the server dropped (restart, failover) fails its
	// next use within a second of the last one, before pgx's idle ping
	// would have noticed. The driver does this for single statements.
	retryBegin func(error) bool
}

var sqliteDialect = dialect{
	name:       "sqlite",
	writeConns: 1,
	readConns:  readConns,
	ddl:        func(s string) (string, error) { return s, nil },
	readTx:     sql.TxOptions{ReadOnly: true},
	check:      func(ctx context.Context, _ *dialect, conn *sql.Conn) error { return checkPragmas(ctx, conn) },
}

var postgresDialect = dialect{
	name:       "postgres",
	writeConns: 4,
	readConns:  readConns,
	ddl:        postgresDDL,
	lockWrites: "SELECT pg_advisory_xact_lock($1)",
	skipLocked: " FOR UPDATE OF c SKIP LOCKED",
	readTx:     sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
	check:      checkPostgres,
	retryBegin: beginRetryable,
}

// beginRetryable reports whether a failed BEGIN on PostgreSQL may be
// repeated on another connection: when it never reached the server, or
// when the server answered it by ending the session (a FATAL error, such
// as 57P01 from pg_terminate_backend arriving just as the BEGIN did),
// since a BEGIN that failed began nothing.
func beginRetryable(err error) bool {
	if pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Severity == "FATAL"
}

// IsPostgres reports whether a --db name selects PostgreSQL: a
// postgres:// or postgresql:// URL. Anything else names a SQLite file.
func IsPostgres(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// Redact returns a database name fit for logs and messages: a PostgreSQL
// URL without its password (in the user part or a password= parameter);
// a file path as it is.
func Redact(name string) string {
	if !IsPostgres(name) {
		return name
	}
	u, err := url.Parse(name)
	if err != nil {
		// Whatever failed to parse may hold the password anywhere.
		scheme, _, _ := strings.Cut(name, ":")
		return scheme + "://(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// openPostgres returns the two pools of a PostgreSQL database through
// pgx's database/sql driver, so the queries and the statement cache serve
// both engines.
func openPostgres(name string) (w, r *sql.DB, cfg *pgx.ConnConfig, err error) {
	cfg, err = pgx.ParseConfig(name)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parse URL: %w", redactErr(err, name))
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "alertbot"
	}
	w = stdlib.OpenDB(*cfg.Copy())
	r = stdlib.OpenDB(*cfg.Copy())
	for _, p := range []*sql.DB{w, r} {
		// Idle connections to a server are not free (a backend process
		// each); SQLite's cost nothing, so only here do they expire.
		p.SetConnMaxIdleTime(5 * time.Minute)
	}
	return w, r, cfg, nil
}

// redactErr hides the password of name in an error from parsing it: pgx
// redacts what it recognizes, which is best effort for a malformed URL.
func redactErr(err error, name string) error {
	u, perr := url.Parse(name)
	if perr != nil {
		return errors.New("malformed URL")
	}
	pw, ok := u.User.Password()
	if pw2 := u.Query().Get("password"); pw2 != "" {
		pw, ok = pw2, true
	}
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}

// minPostgres is the oldest server version alertbot runs on: identity
// columns came with PostgreSQL 10.
const minPostgres = 100000

// checkPostgres checks the server and the database, and derives the
// write lock's key from the schema, so that alertbot databases in
// several schemas of one PostgreSQL database do not wait for each other.
func checkPostgres(ctx context.Context, d *dialect, conn *sql.Conn) error {
	var (
		version        int
		encoding       string
		schema, dbName sql.NullString
	)
	if err := conn.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int,
		current_setting('server_encoding'), current_schema(), current_database()`).
		Scan(&version, &encoding, &schema, &dbName); err != nil {
		return fmt.Errorf("read server settings: %w", err)
	}
	if version < minPostgres {
		return fmt.Errorf("PostgreSQL server version %d is too old: alertbot needs 10 or later", version)
	}
	// Tags and titles are in any script; another encoding would refuse
	// or mangle them.
	if encoding != "UTF8" {
		return fmt.Errorf("database %s has encoding %s, want UTF8 (CREATE DATABASE … ENCODING 'UTF8')", dbName.String, encoding)
	}
	if !schema.Valid {
		return errors.New("no schema to create tables in: the search_path names none that exists")
	}
	h := fnv.New64a()
	h.Write([]byte("alertbot\x00" + schema.String))
	d.lockKey = int64(h.Sum64())
	// NOTIFY channels are per database, not per schema: the schema's
	// hash keeps processes of other schemas from waking each other.
	d.notifyChannel = fmt.Sprintf("alertbot_%016x", h.Sum64())
	return nil
}

// DDL translation for PostgreSQL. Migrations are written in SQLite's DDL
// with type names in upper case (column names are lower case), which is
// what these rules rely on; TestPostgresSchemaTypes checks the outcome.
var pgTypeRules = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Ids that are never reused: AUTOINCREMENT's promise, which a
	// sequence keeps as well. BY DEFAULT, like SQLite, still takes an
	// explicit id.
	{regexp.MustCompile(`\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b`), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
	// SQLite's INTEGER holds 64 bits, PostgreSQL's 32.
	{regexp.MustCompile(`\bINTEGER\b`), "BIGINT"},
	{regexp.MustCompile(`\bBLOB\b`), "BYTEA"},
	// SQLite compares text byte by byte (BINARY); the "C" collation does
	// the same, where the database's default (say en_US) would order ids,
	// tags and channels differently and make equal-looking results differ
	// between the backends.
	{regexp.MustCompile(`\bTEXT\b`), `TEXT COLLATE "C"`},
}

// sqliteOnly are words of SQLite's DDL that have no translation: a
// migration using them needs a rule above first.
var sqliteOnly = regexp.MustCompile(`(?i)\b(AUTOINCREMENT|PRAGMA|WITHOUT\s+ROWID|VACUUM|ATTACH|STRICT)\b`)

// postgresDDL translates a migration for PostgreSQL: comments go (they
// could hold the words the rules look for), then the type rules apply
// outside quoted literals and identifiers.
func postgresDDL(src string) (string, error) {
	var out strings.Builder
	for _, part := range lexSQL(src) {
		switch part.kind {
		case sqlComment:
			continue
		case sqlQuoted:
			out.WriteString(part.text)
			continue
		}
		s := part.text
		for _, r := range pgTypeRules {
			s = r.re.ReplaceAllString(s, r.repl)
		}
		if m := sqliteOnly.FindString(s); m != "" {
			return "", fmt.Errorf("migration uses %s, which has no PostgreSQL translation", m)
		}
		out.WriteString(s)
	}
	return out.String(), nil
}

// sqlPart is a piece of SQL text of one kind.
type sqlPart struct {
	text string
	kind int
}

const (
	sqlCode    = iota
	sqlQuoted  // a '…' string or "…" identifier, doubled quotes inside
	sqlComment // -- to the end of the line, or /* … */
)

// lexSQL cuts SQL into code, quoted parts and comments, so that a quote
// in a comment ("a channel's …") or a comment marker in a string does not
// mislead the rewrite. An unterminated part runs to the end.
func lexSQL(s string) []sqlPart {
	var parts []sqlPart
	start := 0
	flush := func(end int) {
		if end > start {
			parts = append(parts, sqlPart{s[start:end], sqlCode})
		}
	}
	for i := 0; i < len(s); {
		var end, kind int
		switch {
		case s[i] == '\'' || s[i] == '"':
			q := s[i]
			end = i + 1
			for end < len(s) {
				if s[end] == q {
					if end+1 < len(s) && s[end+1] == q {
						end += 2
						continue
					}
					end++
					break
				}
				end++
			}
			kind = sqlQuoted
		case strings.HasPrefix(s[i:], "--"):
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				end = i + j // the newline stays code
			} else {
				end = len(s)
			}
			kind = sqlComment
		case strings.HasPrefix(s[i:], "/*"):
			if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				end = i + 2 + j + 2
			} else {
				end = len(s)
			}
			kind = sqlComment
		default:
			i++
			continue
		}
		flush(i)
		parts = append(parts, sqlPart{s[i:end], kind})
		start, i = end, end
	}
	flush(len(s))
	return parts
}
