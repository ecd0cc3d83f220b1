-- Who owns the database (DESIGN §5 "One owner", §12). One row per lease
-- name; "owner" is the serving process on SQLite, the leader on PostgreSQL.
-- epoch rises each time the lease changes hands, so writes made as owner
-- can check that they still hold it.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    epoch       BIGINT NOT NULL,
    since       BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
