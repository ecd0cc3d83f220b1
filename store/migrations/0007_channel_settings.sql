-- Channel settings and held deliveries (DESIGN §9).

-- A channel's quiet hours, digest and zone, as typed ("22:00-07:00",
-- "daily 08:00", "Asia/Tokyo"); '' is none.
CREATE TABLE channel_settings (
    channel    TEXT PRIMARY KEY,
    quiet      TEXT NOT NULL DEFAULT '',
    digest     TEXT NOT NULL DEFAULT '',
    zone       TEXT NOT NULL DEFAULT '',
    origin     TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);

-- A held delivery (state 'held') waits in the outbox until next_try, the
-- end of its channel's quiet hours or its digest time; hold says which,
-- held_from when it would have been sent. When a summary or digest lists
-- it, it becomes 'bundled' and bundle is that message's alert id.
ALTER TABLE deliveries ADD COLUMN hold TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN held_from BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN bundle BIGINT NOT NULL DEFAULT 0;
CREATE INDEX deliveries_held ON deliveries (state, next_try);
