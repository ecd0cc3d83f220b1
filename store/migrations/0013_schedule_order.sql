-- A date watcher's run reads its due events batch after batch in the order
-- (next_at, event_id), and reads the next batch after the last event of the
-- one before while that one's plans are still being written (DueEventsAfter).
-- The index holds the event id so that this order is its own.
DROP INDEX schedule_due;
CREATE INDEX schedule_due ON schedule (watcher_id, next_at, event_id);
