-- Team features (DESIGN §9), in the SQL that SQLite and PostgreSQL share.

-- Each user's own settings: zone is the IANA zone of the times in their
-- replies (/alerts tz); '' means the channel's or the config's zone.
CREATE TABLE user_settings (
    user_addr  TEXT PRIMARY KEY,
    zone       TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

-- What the config file last seeded for an entry seeded as a whole (a
-- channel's subscriptions): the entry's hash and its items as a JSON
-- array. The file changes the database only where an entry's hash
-- changed, so chat changes persist over restarts (DESIGN §3).
CREATE TABLE config_entries (
    kind       TEXT NOT NULL,
    entry_key  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    items      TEXT NOT NULL DEFAULT '[]',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, entry_key)
);
