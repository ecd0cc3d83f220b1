-- Date proposals from sources (DESIGN §10).

-- An event's names, words or /regex/, as a JSON array ('' or 'null': none):
-- a source that mentions one with a date proposes that date.
ALTER TABLE events ADD COLUMN match_words TEXT NOT NULL DEFAULT '';
-- Each source check that posts asks for the events with names: an index of
-- those alone, so that many events without names cost nothing.
CREATE INDEX events_match ON events (id) WHERE match_words <> '';

-- One row per event and proposed due date, made with its date_proposal
-- alert in the same transaction. The row outlives its decision: a
-- dismissed or confirmed proposal is never made again. No foreign key to
-- events: like alert history, proposals outlive a removed event.
CREATE TABLE proposals (
    id         TEXT PRIMARY KEY,                -- short hash of event and due
    event_id   TEXT NOT NULL,
    due        TEXT NOT NULL,                   -- the proposed due, a DESIGN §4 form
    old_due    TEXT NOT NULL,                   -- the event's due when it was proposed
    written    TEXT NOT NULL DEFAULT '',        -- the date as the source wrote it
    sentence   TEXT NOT NULL DEFAULT '',
    link       TEXT NOT NULL DEFAULT '',
    watcher    TEXT NOT NULL DEFAULT '',
    alert_key  TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT 'open',    -- open, confirmed, dismissed
    created_at BIGINT NOT NULL,
    decided_at BIGINT NOT NULL DEFAULT 0,
    decided_by TEXT NOT NULL DEFAULT '',
    UNIQUE (event_id, due)
);
CREATE INDEX proposals_state ON proposals (state, created_at);
