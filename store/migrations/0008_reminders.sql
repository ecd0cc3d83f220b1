-- Posts scheduled for later (DESIGN §9): "Remind again" presses and
-- personal reminders at a user's own lead times. They are not deliveries
-- until they are due, since a pending delivery holds up its channel's
-- later ones; when due, each becomes an alert (key `key`) with one
-- delivery to `channel`, in the transaction that deletes the row.
CREATE TABLE scheduled_posts (
    key        TEXT PRIMARY KEY,            -- the alert key it will have
    channel    TEXT NOT NULL,               -- address, e.g. slack:dm:U0123ABCD
    platform   TEXT NOT NULL,
    at         BIGINT NOT NULL,             -- when to post it
    owner      TEXT NOT NULL DEFAULT '',    -- the user who asked
    event      TEXT NOT NULL DEFAULT '',    -- the alert's event, for forget
    alert      TEXT NOT NULL,               -- watchers.Alert as JSON
    created_at BIGINT NOT NULL
);
CREATE INDEX scheduled_posts_due ON scheduled_posts (platform, at);
CREATE INDEX scheduled_posts_owner ON scheduled_posts (owner, channel, at);
