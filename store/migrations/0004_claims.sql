-- Claims of deliveries (DESIGN §5 "Exactly once"). A worker claims a
-- delivery before it may send it: claimed_at is the first claim, the
-- earliest moment the message can have been posted; claim_owner is the
-- process that holds it. A pending delivery claimed by another process
-- may have been posted, so it is looked up on the platform before any
-- resend.
ALTER TABLE deliveries ADD COLUMN claimed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';
-- A channel's deliveries wait behind its earliest pending one; this finds
-- the pending ones of a channel that are not due yet.
CREATE INDEX deliveries_channel_pending ON deliveries (channel, state, next_try);
