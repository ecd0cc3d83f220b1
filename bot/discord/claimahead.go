package discord

import "github.com/policyteam/alertbot/bot"

var _ bot.ClaimAhead = (*Adapter)(nil)

// ClaimAhead lets a delivery pass claim all its deliveries when it picks
// them up rather than channel by channel: a send repeated after a crash
// carries the same nonce, which Discord answers with the first message
// (enforce_nonce), so settling a whole pass needs no lookup within the
// nonce window (Resolve).
func (a *Adapter) ClaimAhead() bool { return true }
