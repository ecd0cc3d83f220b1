-- alertbot schema, version 1. Times are INTEGER milliseconds since the Unix
-- epoch, UTC (0: none). Text lists are JSON.

CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    due           TEXT NOT NULL,
    zone          TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT '',
    tags          TEXT NOT NULL DEFAULT 'null',  -- JSON array, in the order given
    source        TEXT NOT NULL DEFAULT '',
    lead_times    TEXT,                          -- "90d,7d"; NULL: the watcher's defaults
    origin        TEXT NOT NULL DEFAULT '',
    hash          TEXT NOT NULL DEFAULT '',
    -- the state as of the last refresh, so that "upcoming" is an index scan
    cur_title     TEXT NOT NULL DEFAULT '',
    cur_due       TEXT NOT NULL DEFAULT '',
    cur_precision INTEGER NOT NULL DEFAULT 0,
    cur_start     BIGINT NOT NULL DEFAULT 0,
    cur_end       BIGINT NOT NULL DEFAULT 0,
    cur_status    TEXT NOT NULL DEFAULT '',
    cur_source    TEXT NOT NULL DEFAULT '',
    cur_note      TEXT NOT NULL DEFAULT '',
    next_change   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    updated_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_cur_start ON events (cur_start, id);
-- windows still open at a time: a short cur_start range per precision,
-- answered from the index alone
CREATE INDEX events_open ON events (cur_precision, cur_start, id, cur_end, cur_status);
CREATE INDEX events_next_change ON events (next_change);

-- One row per (event, tag), repeating the event's current window so that a
-- tagged "upcoming" is an index range like an untagged one. Rewritten with
-- the event on every save.
CREATE TABLE event_tags (
    event_id      TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    tag           TEXT NOT NULL,
    cur_precision INTEGER NOT NULL DEFAULT 0,
    cur_start     BIGINT NOT NULL DEFAULT 0,
    cur_end       BIGINT NOT NULL DEFAULT 0,
    cur_status    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, tag)
);
CREATE INDEX event_tags_start ON event_tags (tag, cur_start, event_id, cur_status);
CREATE INDEX event_tags_open ON event_tags (tag, cur_precision, cur_start, event_id, cur_end, cur_status);

CREATE TABLE event_changes (
    event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    at         BIGINT NOT NULL,
    due        TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT '',
    title      TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    changed_by TEXT NOT NULL DEFAULT '',
    quiet      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, seq)
);

CREATE TABLE watchers (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    spec         TEXT NOT NULL,                  -- watchers.Spec as JSON
    origin       TEXT NOT NULL DEFAULT '',
    hash         TEXT NOT NULL DEFAULT '',
    state        BLOB,
    last_run     BIGINT NOT NULL DEFAULT 0,
    last_success BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    failures     INTEGER NOT NULL DEFAULT 0,
    failing      INTEGER NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL,
    updated_by   TEXT NOT NULL DEFAULT ''
);

-- When each date watcher next needs to look at each event: 0 = now (new
-- or changed), a far-future value = not until the event changes.
CREATE TABLE schedule (
    watcher_id TEXT NOT NULL REFERENCES watchers (id) ON DELETE CASCADE,
    event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    next_at    BIGINT NOT NULL,
    PRIMARY KEY (watcher_id, event_id)
);
CREATE INDEX schedule_due ON schedule (watcher_id, next_at);
CREATE INDEX schedule_event ON schedule (event_id);

-- No foreign keys to watchers or events: alert history outlives them.
CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    watcher    TEXT NOT NULL DEFAULT '',
    event      TEXT NOT NULL DEFAULT '',
    tags       TEXT NOT NULL DEFAULT 'null',     -- JSON array
    at         BIGINT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL DEFAULT '',
    link       TEXT NOT NULL DEFAULT '',
    fields     TEXT NOT NULL DEFAULT 'null',     -- JSON array of watchers.Field
    severity   INTEGER NOT NULL DEFAULT 0,
    skipped    INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX alerts_event ON alerts (event, at, id);

-- The outbox: one row per alert and channel. Ids are never reused
-- (AUTOINCREMENT) because Discord nonces derive from them.
CREATE TABLE deliveries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id   BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel    TEXT NOT NULL,
    platform   TEXT NOT NULL,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_try   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    sent_at    BIGINT NOT NULL DEFAULT 0,
    UNIQUE (alert_id, channel)
);
CREATE INDEX deliveries_pending ON deliveries (platform, state, next_try);
CREATE INDEX deliveries_channel ON deliveries (channel, id);

CREATE TABLE subscriptions (
    channel    TEXT NOT NULL,
    target     TEXT NOT NULL,
    origin     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, target)
);

CREATE TABLE mutes (
    channel  TEXT NOT NULL,
    target   TEXT NOT NULL,
    until    BIGINT NOT NULL,
    muted_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (channel, target)
);

CREATE TABLE audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           BIGINT NOT NULL,
    who          TEXT NOT NULL DEFAULT '',
    channel      TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    target       TEXT NOT NULL DEFAULT '',
    before_value TEXT NOT NULL DEFAULT '',
    after_value  TEXT NOT NULL DEFAULT ''
);
