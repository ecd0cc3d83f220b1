package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// maxCachedStmts bounds the statement cache of a pool; queries beyond it
// run unprepared.
const maxCachedStmts = 256

// pool is a connection pool with a cache of prepared statements keyed by
// their text. SQLite compiles a statement on every unprepared call, which
// costs about as much as running the short queries alertbot makes; on
// PostgreSQL a prepared statement saves the parse and plan likewise (the
// driver prepares it again on each connection it runs on).
//
// Preparing needs a connection of the pool, so a statement is prepared
// lazily only by calls made outside the pool's transactions; inside a
// transaction the cache is only read (hot statements are prepared at Open
// or before the transaction begins), because SQLite's write pool's single
// connection is then taken and waiting for it would deadlock.
type pool struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newPool(db *sql.DB) *pool { return &pool{db: db, stmts: map[string]*sql.Stmt{}} }

// cached returns the prepared statement for q, or nil.
func (p *pool) cached(q string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stmts[q]
}

// prepare returns the cached statement for q, preparing it first if
// needed; nil (and no error) when the cache is full. Not to be called from
// inside a transaction of p.
func (p *pool) prepare(ctx context.Context, q string) (*sql.Stmt, error) {
	if s := p.cached(q); s != nil {
		return s, nil
	}
	p.mu.Lock()
	full := len(p.stmts) >= maxCachedStmts
	p.mu.Unlock()
	if full {
		return nil, nil
	}
	s, err := p.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.stmts[q]; old != nil {
		s.Close()
		return old, nil
	}
	p.stmts[q] = s
	return s, nil
}

// prepareAll prepares the statements given, for use inside transactions.
func (p *pool) prepareAll(ctx context.Context, qs []string) error {
	for _, q := range qs {
		if _, err := p.prepare(ctx, q); err != nil {
			return fmt.Errorf("prepare %.60q: %w", q, err)
		}
	}
	return nil
}

// ExecContext runs q through the statement cache.
func (p *pool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := p.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return p.db.ExecContext(ctx, q, args...)
	}
	return s.ExecContext(ctx, args...)
}

// QueryContext runs q through the statement cache.
func (p *pool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := p.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return p.db.QueryContext(ctx, q, args...)
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs q through the statement cache.
func (p *pool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	s, err := p.prepare(ctx, q)
	if err != nil || s == nil {
		// An unprepared call reports the same error through Row.Scan.
		return p.db.QueryRowContext(ctx, q, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

func (p *pool) close() error {
	p.mu.Lock()
	for q, s := range p.stmts {
		s.Close()
		delete(p.stmts, q)
	}
	p.mu.Unlock()
	return p.db.Close()
}

// tx is a transaction of a pool that uses the pool's prepared statements
// where it has them; a write transaction also fixes "now" once, so every
// row it touches carries the same time.
type tx struct {
	*sql.Tx
	p   *pool
	now time.Time
	// detach runs the statements without the caller's cancellation (on
	// SQLite; see detached).
	detach bool
	// anonParams: multi-row statements take "?" placeholders (SQLite),
	// not "$n": modernc's SQLite looks each "$n" up by name, a scan of
	// the statement's names per parameter, quadratic in a statement of
	// thousands of parameters.
	anonParams bool
	// db, when set, is the store whose channel cache newChannels join
	// once the transaction commits.
	db          *DB
	newChannels []string
	// scheduleAtEnd: saveEvents leaves the date watchers' schedule rows
	// for the events it saves to LoadEvents, which writes them all at
	// once at the end of a load into an empty store.
	scheduleAtEnd bool
}

// ensureChannel gives channel its channel_claims row unless a committed
// transaction already did.
func (t *tx) ensureChannel(ctx context.Context, channel, platform string) error {
	if t.db != nil {
		if _, ok := t.db.channels.Load(channel); ok {
			return nil
		}
	}
	if _, err := t.ExecContext(ctx, sqlInsertChannel, channel, platform); err != nil {
		return err
	}
	t.newChannels = append(t.newChannels, channel)
	return nil
}

// detached returns the context for a statement of t. On SQLite it is
// ctx without its cancellation, once ctx is checked: the driver starts a
// goroutine per call to watch a cancellable context (10 % of the CPU of
// seeding 100,000 events, a statement per row), and a write transaction's
// statements are short, so the transaction ends at the next statement
// after ctx does instead. PostgreSQL keeps ctx: there a statement waits
// on the network, which only ctx can cut short.
func (t *tx) detached(ctx context.Context) (context.Context, error) {
	if !t.detach {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return ctx, err
	}
	return context.WithoutCancel(ctx), nil
}

// stmt returns q prepared for this transaction: the cached statement
// bound to it, or a statement prepared now and closed with the
// transaction.
func (t *tx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s := t.p.cached(q); s != nil {
		return t.Tx.StmtContext(ctx, s), nil
	}
	return t.Tx.PrepareContext(ctx, q)
}

// ExecContext runs q, prepared if the pool has it.
func (t *tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx, err := t.detached(ctx)
	if err != nil {
		return nil, err
	}
	if s := t.p.cached(q); s != nil {
		return t.Tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

// QueryContext runs q, prepared if the pool has it.
func (t *tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx, err := t.detached(ctx)
	if err != nil {
		return nil, err
	}
	if s := t.p.cached(q); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q, prepared if the pool has it.
func (t *tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s := t.p.cached(q); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}
