-- The outbox's working indexes hold only the deliveries still waiting to
-- go (pending) or held back (held). A sent or failed delivery leaves them,
-- so they stay the size of the queue rather than of the whole history, and
-- recording a send deletes index entries instead of moving them. Queries
-- that use them name the state literally, as a partial index requires.
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_pending ON deliveries (platform, next_try) WHERE state = 'pending';
DROP INDEX deliveries_channel_pending;
CREATE INDEX deliveries_channel_pending ON deliveries (channel, next_try) WHERE state = 'pending';
DROP INDEX deliveries_held;
CREATE INDEX deliveries_held ON deliveries (next_try) WHERE state = 'held';
