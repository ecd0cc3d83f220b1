-- The events list (/alerts events) counts and pages the listed events
-- (those with a current state) from this index alone: the columns that
-- split open from past, in window-start order.
CREATE INDEX events_listed ON events (cur_start, id, cur_end, cur_status) WHERE cur_due <> '';
