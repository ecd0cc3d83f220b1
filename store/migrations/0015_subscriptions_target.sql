-- A watcher's run reads the subscriptions of the targets its alerts match
-- (SubscriptionsFor), from this index alone, instead of every
-- subscription: the first alerts of a burst over 5,000 subscribed channels
-- no longer wait for all 5,000 to be read.
CREATE INDEX subscriptions_target ON subscriptions (target, channel, origin, created_at);
