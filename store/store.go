// Package store keeps alertbot's state in SQLite (modernc.org/sqlite) or
// PostgreSQL (jackc/pgx, DESIGN §12): the events with their materialized current state, watchers and their
// schedule, alerts and the delivery outbox, subscriptions, mutes and the
// audit log. *DB implements every store interface of package bot.
//
// The queries keep to what SQLite and PostgreSQL share ($1 placeholders,
// ON CONFLICT … DO UPDATE, RETURNING, integer times, booleans stored as
// 0/1) so that both backends run them; what differs (connecting, the
// migrations' DDL, transaction locking and isolation, Backup) is in
// dialect.go. Times are stored as INTEGER milliseconds since the Unix
// epoch (0 for the zero time) and come back in UTC.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var (
	_ bot.EventStore   = (*DB)(nil)
	_ bot.WatcherStore = (*DB)(nil)
	_ bot.RunStore     = (*DB)(nil)
	_ bot.Outbox       = (*DB)(nil)
	_ bot.ChannelStore = (*DB)(nil)
	_ bot.AuditLog     = (*DB)(nil)
	_ bot.HistoryStore = (*DB)(nil)
)

// pragmas are put in the DSN so that every pooled connection gets them;
// Open reads them back because the driver ignores unknown parameters.
// temp_store(MEMORY) keeps statement journals in memory: a multi-row
// INSERT (seeding) journals the pages it changes in case it must be
// undone alone, and written to a temporary file that was a third of the
// CPU of a first start over 100,000 events.
const pragmas = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate"

// readConns bounds the reader pool; WAL lets readers run beside the writer.
const readConns = 4

// DB is alertbot's database, SQLite or PostgreSQL. It keeps two pools:
// on SQLite, one connection for writes, so that writers queue in Go
// instead of spinning on SQLite's busy handler, and a few for reads.
// Other processes (or other *DB handles) on the same file are serialized
// by BEGIN IMMEDIATE and busy_timeout; on PostgreSQL write transactions
// take an advisory lock instead (see dialect).
type DB struct {
	// Now returns the current time; tests replace it. Set it before the
	// DB is used concurrently.
	Now func() time.Time

	path    string // as shown: a PostgreSQL URL without its password
	dialect dialect
	write   *pool
	read    *pool
	logger  *slog.Logger
	version int
	// pgConfig is PostgreSQL's connection config, for Listen's own
	// connection; nil on SQLite.
	pgConfig *pgx.ConnConfig
	// channels are the channels known to have their channel_claims row
	// (a committed one: rows are never deleted), so a burst's deliveries
	// skip inserting it again.
	channels sync.Map
	// recent keeps the alerts this process created until their
	// deliveries are claimed (alertcache.go).
	recent alertCache
	// counts keeps the events list's counts while the events version
	// stays the same (eventcounts.go).
	counts countCache
	// listsLater: a load into an empty store leaves the lists' indexes
	// for BuildIndexes (DeferListIndexes).
	listsLater atomic.Bool
	// checkpointEvery is the period of the background checkpoints
	// (checkpoint.go) on SQLite; stopCheckpoints ends them and
	// checkpointsDone closes when they have.
	checkpointEvery time.Duration
	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}
}

// Option configures Open.
type Option func(*DB)

// WithNow sets the clock used for created/updated times.
func WithNow(now func() time.Time) Option { return func(db *DB) { db.Now = now } }

// withCheckpointEvery sets the period of the background checkpoints
// (tests).
func withCheckpointEvery(d time.Duration) Option { return func(db *DB) { db.checkpointEvery = d } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(db *DB) { db.logger = l } }

// Open opens the database that name selects and runs pending migrations:
// a postgres:// or postgresql:// URL opens PostgreSQL (through pgx; see
// IsPostgres), anything else is a SQLite file, created if needed. It
// checks that the connection settings took effect (SQLite's pragmas; the
// server version and encoding on PostgreSQL). Errors name the database
// without its password (Redact).
func Open(ctx context.Context, name string, opts ...Option) (*DB, error) {
	if name == "" {
		return nil, errors.New("open database: empty path")
	}
	shown := Redact(name)
	db := &DB{Now: time.Now, path: shown, logger: slog.New(slog.DiscardHandler), checkpointEvery: checkpointEvery}
	for _, o := range opts {
		o(db)
	}
	var w, r *sql.DB
	if IsPostgres(name) {
		db.dialect = postgresDialect
		var err error
		if w, r, db.pgConfig, err = openPostgres(name); err != nil {
			return nil, fmt.Errorf("open database %s: %w", shown, err)
		}
	} else {
		if strings.HasPrefix(name, ":memory:") || strings.HasPrefix(name, "file:") {
			return nil, fmt.Errorf("open database %q: want a file path or a postgres:// URL (in-memory and URI names are not supported: every pooled connection would see a different database)", name)
		}
		db.dialect = sqliteDialect
		dsn := "file:" + escapePath(filepath.Clean(name)) + "?" + pragmas
		var err error
		// Only the write connection commits, so only it would checkpoint
		// inside a commit; it does so only as a backstop (checkpoint.go).
		wdsn := dsn + "&_pragma=wal_autocheckpoint(" + strconv.Itoa(walBackstop) + ")"
		if w, err = sql.Open("sqlite", wdsn); err != nil {
			return nil, fmt.Errorf("open database %s: %w", name, err)
		}
		if r, err = sql.Open("sqlite", dsn); err != nil {
			w.Close()
			return nil, fmt.Errorf("open database %s: %w", name, err)
		}
		w.SetConnMaxLifetime(0)
		r.SetConnMaxLifetime(0)
	}
	w.SetMaxOpenConns(db.dialect.writeConns)
	w.SetMaxIdleConns(db.dialect.writeConns)
	r.SetMaxOpenConns(db.dialect.readConns)
	r.SetMaxIdleConns(db.dialect.readConns)
	db.write, db.read = newPool(w), newPool(r)

	fail := func(err error) (*DB, error) {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", shown, err)
	}
	if err := db.check(ctx, w); err != nil {
		return fail(err)
	}
	if err := db.migrate(ctx); err != nil {
		return fail(err)
	}
	if err := db.check(ctx, r); err != nil {
		return fail(err)
	}
	// Statements run inside transactions must be prepared beforehand (see
	// pool).
	writes := slices.Clone(hotWrites)
	anon := db.dialect.name == sqliteDialect.name // the placeholders the dialect's transactions use
	for _, n := range deliveryBatches {
		writes = append(writes, insertDeliveriesSQL(n, anon))
	}
	for _, n := range alertBatches {
		writes = append(writes, insertAlertsSQL[anon][n])
	}
	for _, n := range planBuckets {
		writes = append(writes, plansSQL[anon][n])
	}
	if err := db.write.prepareAll(ctx, writes); err != nil {
		return fail(err)
	}
	reads := slices.Clone(hotReads)
	for _, n := range changeBuckets {
		reads = append(reads, changesQueries[db.dialect.name == sqliteDialect.name][n])
	}
	if err := db.read.prepareAll(ctx, reads); err != nil {
		return fail(err)
	}
	// Indexes a first start left to build, when it stopped before it did.
	if n, err := db.BuildIndexes(ctx); err != nil {
		return fail(err)
	} else if n > 0 {
		db.logger.Info("indexes left by a first start built", "indexes", n)
	}
	if db.dialect.name == sqliteDialect.name {
		db.stopCheckpoints, db.checkpointsDone = make(chan struct{}), make(chan struct{})
		go db.checkpoints(db.checkpointEvery, db.stopCheckpoints, db.checkpointsDone)
	}
	return db, nil
}

// check runs the dialect's checks on one pooled connection.
func (db *DB) check(ctx context.Context, pool *sql.DB) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	return db.dialect.check(ctx, &db.dialect, conn)
}

// escapePath percent-encodes a file path for an SQLite URI: "?" would start
// the query, "#" a fragment and "%" an escape. SQLite decodes %HH in the
// path of a file: URI.
func escapePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '/', c == '.', c == '-', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// checkPragmas reads back the per-connection settings of one pooled
// connection; the driver silently ignores DSN parameters it does not know.
func checkPragmas(ctx context.Context, conn *sql.Conn) error {
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal_mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, want wal (is the file on a filesystem without shared memory?)", mode)
	}
	var fk, busy int
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("read foreign_keys: %w", err)
	}
	if fk != 1 {
		return fmt.Errorf("foreign_keys is %d, want 1", fk)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		return fmt.Errorf("read busy_timeout: %w", err)
	}
	if busy != 5000 {
		return fmt.Errorf("busy_timeout is %d, want 5000", busy)
	}
	return nil
}

// Version returns the schema version of the database (the number of the
// last migration applied).
func (db *DB) Version() int { return db.version }

// Path returns the file the database was opened from, or the PostgreSQL
// URL without its password.
func (db *DB) Path() string { return db.path }

// Postgres reports whether the database is PostgreSQL rather than SQLite.
func (db *DB) Postgres() bool { return db.dialect.name == postgresDialect.name }

// Close closes both connection pools.
func (db *DB) Close() error {
	if db.stopCheckpoints != nil {
		close(db.stopCheckpoints)
		<-db.checkpointsDone
		db.stopCheckpoints = nil
	}
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.close())
	}
	if db.write != nil {
		errs = append(errs, db.write.close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Ping checks that the database answers; for health checks.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// ErrBackupUnsupported is returned by Backup on PostgreSQL, whose own
// tools (pg_dump) make consistent copies.
var ErrBackupUnsupported = errors.New("backup of a PostgreSQL database is not supported: use pg_dump")

// Backup writes a consistent copy of the SQLite database to path with
// VACUUM INTO, while the database stays in use. It refuses to overwrite a
// file. On PostgreSQL it returns ErrBackupUnsupported.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.Postgres() {
		return ErrBackupUnsupported
	}
	if path == "" {
		return errors.New("backup: empty path")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("backup to %s: file exists", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	// SQLite itself also refuses an existing file, which closes the race
	// with the check above.
	if _, err := db.read.db.ExecContext(ctx, "VACUUM INTO $1", path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

// querier is what *pool and *tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// beginWrite starts a write transaction. With lock set it holds the
// database's write lock from the start, so a busy database waits instead
// of failing at the first write: SQLite's BEGIN IMMEDIATE (via _txlock;
// SQLite takes it whatever lock says), PostgreSQL's advisory lock
// (dialect.lockWrites).
//
// When ctx carries a fence (bot.WithFence: a leader's write), the write
// lock is taken in any case and the lease checked next, in the same
// transaction and under the lock that a change of leader takes too: the
// write commits only if the lease has not passed to another holder
// meanwhile.
func (db *DB) beginWrite(ctx context.Context, lock bool) (*tx, error) {
	f, fenced := bot.FenceFrom(ctx)
	t, err := db.beginOn(ctx, db.write.db, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if q := db.dialect.lockWrites; q != "" && (lock || fenced) {
		if _, err := t.ExecContext(ctx, q, db.dialect.lockKey); err != nil {
			t.Rollback()
			return nil, fmt.Errorf("begin: take the write lock: %w", err)
		}
	}
	out := &tx{Tx: t, p: db.write, now: db.Now().UTC(), detach: db.dialect.name == sqliteDialect.name,
		anonParams: db.dialect.name == sqliteDialect.name, db: db}
	if fenced {
		if err := checkFence(ctx, out, f); err != nil {
			t.Rollback()
			return nil, err
		}
	}
	return out, nil
}

// checkFence fails with bot.ErrNotLeader unless lease f.Lease is still
// f.Holder's at f.Epoch. Only holder and epoch count, not the expiry: a
// leader whose lease lapsed while nobody took it over is still the only
// one, and clocks of different hosts need not agree for this to hold.
func checkFence(ctx context.Context, t *tx, f bot.Fence) error {
	cur, found, err := readLease(ctx, t, f.Lease)
	if err != nil {
		return fmt.Errorf("check lease %s: %w", f.Lease, err)
	}
	if !found || cur.Holder != f.Holder || cur.Epoch != f.Epoch {
		return fmt.Errorf("%w (lease %s is at epoch %d, held by pid %d on %s; this write was made at epoch %d)",
			bot.ErrNotLeader, f.Lease, cur.Epoch, cur.PID, cur.Host, f.Epoch)
	}
	return nil
}

// readTx starts a read-only transaction for reads of several statements
// that must see one snapshot (SQLite: a plain BEGIN, since the driver
// applies _txlock only to writable transactions; PostgreSQL: REPEATABLE
// READ).
func (db *DB) readTx(ctx context.Context) (*tx, error) {
	t, err := db.beginOn(ctx, db.read.db, &db.dialect.readTx)
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	return &tx{Tx: t, p: db.read, now: db.Now().UTC(), anonParams: db.dialect.name == sqliteDialect.name}, nil
}

// beginOn starts a transaction on p, again on another connection while
// the dialect says the BEGIN never reached the server (dialect.retryBegin);
// each dead pooled connection fails once, so a pool's size plus one tries
// get past them all.
func (db *DB) beginOn(ctx context.Context, p *sql.DB, opts *sql.TxOptions) (*sql.Tx, error) {
	tries := p.Stats().MaxOpenConnections + 1
	for i := 1; ; i++ {
		t, err := p.BeginTx(ctx, opts)
		if err == nil || db.dialect.retryBegin == nil || !db.dialect.retryBegin(err) || i >= tries || ctx.Err() != nil {
			return t, err
		}
	}
}

// inTx runs fn in a write transaction and commits it.
func (db *DB) inTx(ctx context.Context, fn func(*tx) error) error {
	return db.runTx(ctx, true, fn)
}

// inRowTx runs fn in a write transaction that relies on row locks alone:
// on PostgreSQL it does not take the database-wide write lock, so the
// delivery workers of several replicas write at the same time. Only for
// writes that do not read something to decide what to write elsewhere
// (those need inTx): updates of deliveries by id, and claims whose rows
// are locked by the statement that picks them.
func (db *DB) inRowTx(ctx context.Context, fn func(*tx) error) error {
	return db.runTx(ctx, false, fn)
}

func (db *DB) runTx(ctx context.Context, lock bool, fn func(*tx) error) error {
	t, err := db.beginWrite(ctx, lock)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if err := fn(t); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, ch := range t.newChannels {
		db.channels.Store(ch, true)
	}
	return nil
}

// limitClause writes a LIMIT as a literal. A bound LIMIT makes SQLite
// recompile the statement whenever the value is bound (it plans with the
// value), which would defeat the statement cache; n is an int, so the
// literal is safe. To keep the number of distinct statements small, n is
// rounded up to one of a few sizes: callers cut the rows to n with trim.
func limitClause(n int) string {
	for _, b := range limitBuckets {
		if n <= b {
			n = b
			break
		}
	}
	return " LIMIT " + strconv.Itoa(n)
}

var limitBuckets = []int{1, 5, 10, 20, 50, 100, 200, 500, 1000}

// params lists n statement parameters: "$first, $first+1, …", or with
// anon (tx.anonParams) "?, ?, …". Every IN list and VALUES row is written
// by it.
func params(first, n int, anon bool) string {
	var b strings.Builder
	b.Grow(n * 5)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		if anon {
			b.WriteByte('?')
			continue
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}

// fitting returns the largest of sizes (largest first) that n rows fill,
// or the smallest: the row count of the next multi-row statement when n
// rows are left to write.
func fitting(n int, sizes []int) int {
	for _, s := range sizes {
		if n >= s {
			return s
		}
	}
	return sizes[len(sizes)-1]
}

// padded calls fn with the n values at(0), …, at(n-1), in lists of at
// most the largest of sizes, each padded to the smallest size that holds
// it by repeating its last value (an IN list ignores the repeats), so a
// few statement texts, one per size, serve every list.
func padded(n int, sizes []int, at func(i int) any, fn func(list []any) error) error {
	most := sizes[len(sizes)-1]
	for lo := 0; lo < n; lo += most {
		k := min(most, n-lo)
		size := most
		for _, s := range sizes {
			if s >= k {
				size = s
				break
			}
		}
		list := make([]any, size)
		for i := range list {
			list[i] = at(lo + min(i, k-1))
		}
		if err := fn(list); err != nil {
			return err
		}
	}
	return nil
}

// trim cuts rows to the limit n (≤ 0: no limit).
func trim[T any](rows []T, n int) []T {
	if n > 0 && len(rows) > n {
		return rows[:n]
	}
	return rows
}

// ms converts a time to stored milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts stored milliseconds back to a UTC time; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// flag stores a boolean as 0 or 1 in an INTEGER column: SQLite has no
// boolean type, and pgx does not turn a Go bool into a BIGINT.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// orNow returns t, or now when t is zero.
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// hotWrites are the statements run inside write transactions, prepared at
// Open (see pool).
var hotWrites = []string{
	sqlUpsertEvent, sqlDeleteChanges, sqlInsertChange, sqlDeleteTags, sqlInsertTag, sqlResetSchedule,
	sqlInsertChannel, sqlRunFailed, sqlRunState, sqlRunOK, sqlSubscribe,
	sqlBumpEvents,
}

// hotReads are the statements run inside read transactions whose text is
// fixed; Events prepares its own before its transaction.
var hotReads = func() []string {
	qs := []string{eventByIDQuery, changingByQuery}
	for _, n := range watchers.CheckBatches {
		qs = append(qs, dueEventsQuery(n), dueAfterQuery(n))
	}
	return qs
}()
