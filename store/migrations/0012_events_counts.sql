-- /alerts events shows "1–10 of N": counting every listed event on each
-- command costs tens of milliseconds at 100,000 events, so each process
-- keeps the counts, valid while this version is unchanged. Every write of
-- events (their rows, current state or tags) adds one to it in the same
-- transaction; a later migration that changes events must too.
CREATE TABLE events_version (
    id      INTEGER PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO events_version (id, version) VALUES (1, 1);

-- A tag's open events in window-start order, from the index alone (the
-- same columns as events_listed); it replaces event_tags_start, which
-- lacked cur_end.
DROP INDEX event_tags_start;
CREATE INDEX event_tags_listed ON event_tags (tag, cur_start, event_id, cur_end, cur_status);

-- The events list's walks check that an event is listed (cur_due <> ''):
-- with cur_due in these two indexes they are answered from the index
-- alone instead of reading each row they pass (the same indexes, one
-- column wider).
DROP INDEX events_listed;
CREATE INDEX events_listed ON events (cur_start, id, cur_end, cur_status, cur_due) WHERE cur_due <> '';
DROP INDEX events_open;
CREATE INDEX events_open ON events (cur_precision, cur_start, id, cur_end, cur_status, cur_due);

-- Happened and cancelled events, few: the past events whose window has
-- not ended are read from these instead of from every later event.
CREATE INDEX events_closed ON events (cur_start, id, cur_status, cur_due) WHERE cur_due <> '' AND cur_status IN ('happened', 'cancelled');
CREATE INDEX event_tags_closed ON event_tags (tag, cur_start, event_id, cur_status) WHERE cur_status IN ('happened', 'cancelled');
