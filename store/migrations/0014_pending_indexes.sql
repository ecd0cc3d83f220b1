-- Indexes that a first start's load of events left to build once the date
-- watchers' first planning pass is done (LoadEvents, BuildIndexes), with
-- their CREATE text. An index still listed when the store opens (the
-- process stopped first) is built then.
CREATE TABLE pending_indexes (
    name TEXT PRIMARY KEY,
    sql  TEXT NOT NULL
);
