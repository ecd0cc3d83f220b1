-- Whether a watcher plans by dates (its kind implements
-- watchers.DateDriven). The bot records it from the watcher's capability at
-- every seed, so the store needs no list of kinds; such a watcher gets a
-- schedule row for every event.
ALTER TABLE watchers ADD COLUMN dated INTEGER NOT NULL DEFAULT 0;
