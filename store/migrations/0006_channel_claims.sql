-- Channel claims (DESIGN §12): a channel's deliveries go to one process at
-- a time, so that order and pacing hold when several replicas deliver from
-- one outbox. A worker claims a channel until `until`, extends the claim
-- while the channel has pending deliveries, and another process takes the
-- channel only once the claim has expired (a dead replica's). One row per
-- channel that ever had a delivery; the row is created with the delivery.
CREATE TABLE channel_claims (
    channel  TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    owner    TEXT NOT NULL DEFAULT '',
    until    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX channel_claims_owner ON channel_claims (owner, until);

INSERT INTO channel_claims (channel, platform)
    SELECT channel, MIN(platform) FROM deliveries GROUP BY channel;
