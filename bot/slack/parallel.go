package slack

import "github.com/policyteam/alertbot/bot"

// parallelSends is how many channels may have a send in flight at once.
// Each channel keeps its own limiter (about 1 message/s) and the
// dispatcher sends one channel's deliveries in order, one at a time. A few
// channels at once hide the round trip without approaching the
// workspace-wide limit Slack also applies (undocumented; a 429 there still
// pauses the channel that got it).
const parallelSends = 8

var _ bot.ParallelSender = (*Adapter)(nil)

// ParallelSends returns how many channels the dispatcher may send to at
// once. Slack has no idempotency key: this is safe because a send of
// unknown outcome is looked up through its metadata (Resolve) before any
// resend, so a crash with several sends in flight repeats none of them. A
// dispatcher that resends without resolving would repeat each of them.
func (a *Adapter) ParallelSends() int { return parallelSends }
