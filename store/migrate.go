package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded .sql file, numbered by its name's prefix.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded files and checks that they are
// numbered 1, 2, 3… without gaps, so a misnamed file fails loudly.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _, e.g. 0002_tags.sql", base)
		}
		body, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", base, err)
		}
		out = append(out, migration{version: v, name: base, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d (versions must run 1, 2, 3… without gaps or repeats)", m.name, i+1)
		}
	}
	return out, nil
}

// migrate applies the embedded migrations the database lacks, each in its
// own transaction together with its row in the migrations table, and
// refuses a database written by a newer alertbot.
func (db *DB) migrate(ctx context.Context) error {
	migs, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	return db.migrateWith(ctx, migs)
}

func (db *DB) migrateWith(ctx context.Context, migs []migration) error {
	// In a write transaction, so that processes starting together on a new
	// PostgreSQL database do not race to create the table.
	err := db.inTx(ctx, func(t *tx) error {
		q, err := db.dialect.ddl(`CREATE TABLE IF NOT EXISTS migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, q)
		return err
	})
	if err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	cur, err := schemaVersion(ctx, db.write.db)
	if err != nil {
		return err
	}
	if cur > len(migs) {
		return fmt.Errorf("database schema version %d is newer than this alertbot (knows %d); upgrade alertbot", cur, len(migs))
	}
	for _, m := range migs {
		if m.version <= cur {
			continue
		}
		ddl, err := db.dialect.ddl(m.sql)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		err = db.inTx(ctx, func(t *tx) error {
			// Another process may have applied it since we looked.
			var n int
			if err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM migrations WHERE version = $1", m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := t.ExecContext(ctx, ddl); err != nil {
				return err
			}
			_, err := t.ExecContext(ctx, "INSERT INTO migrations (version, name, applied_at) VALUES ($1, $2, $3)", m.version, m.name, ms(t.now))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		db.logger.Info("migration applied", "version", m.version, "name", m.name)
	}
	if db.version, err = schemaVersion(ctx, db.write.db); err != nil {
		return err
	}
	return nil
}

func schemaVersion(ctx context.Context, q *sql.DB) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
