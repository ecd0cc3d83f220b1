package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/policyteam/alertbot/bot"
)

// openMethod is the Web API method that opens a direct message; its name
// also keys its pacing state (stateFor).
// https://docs.slack.dev/reference/methods/conversations.open
const openMethod = "conversations.open"

// permanentOpenErrors are conversations.open errors that retrying cannot
// fix: the user is gone, the app lacks im:write, the token is bad.
var permanentOpenErrors = map[string]bool{
	"user_not_found":         true,
	"user_not_visible":       true,
	"user_disabled":          true,
	"cannot_dm_bot":          true,
	"missing_scope":          true,
	"not_allowed_token_type": true,
	"invalid_auth":           true,
	"account_inactive":       true,
	"token_revoked":          true,
	"not_authed":             true,
	"restricted_action":      true,
}

// conversation returns the Slack channel to post to for a channel id as
// bot.Outgoing carries it: the id itself, or for a direct message to a
// user ("dm:U0123ABCD", DESIGN §9) the user's IM channel, opened with
// conversations.open once and then remembered for the life of the
// process. Opening is idempotent on Slack's side (the same IM comes
// back), so a restart opens it again harmlessly.
func (a *Adapter) conversation(ctx context.Context, ch string) (string, error) {
	user, ok := bot.DMUser(ch)
	if !ok {
		if err := bot.CheckID("slack", ch); err != nil {
			return "", bot.Permanent(fmt.Errorf("slack: bad channel id %q: %w", ch, err))
		}
		return ch, nil
	}
	if err := bot.CheckID("slack", user); err != nil {
		return "", bot.Permanent(fmt.Errorf("slack: bad user id %q for a direct message: %w", user, err))
	}
	a.mu.Lock()
	im, cached := a.dms[user]
	a.mu.Unlock()
	if cached {
		return im, nil
	}
	st := a.stateFor(openMethod, a.limit, a.burst)
	if err := a.waitOn(ctx, openMethod, st); err != nil {
		return "", bot.Transient(fmt.Errorf("slack: open a direct message to %s: wait: %w", user, err), 0)
	}
	c, _, _, err := a.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", a.classifyOpen(user, st, err)
	}
	if c == nil || bot.CheckID("slack", c.ID) != nil {
		return "", bot.Transient(fmt.Errorf("slack: open a direct message to %s: no channel id in the answer", user), 0)
	}
	a.mu.Lock()
	a.dms[user] = c.ID
	a.mu.Unlock()
	a.log.Debug("direct message opened", "user", user, "channel", c.ID)
	return c.ID, nil
}

// classifyOpen turns a conversations.open error into a *bot.SendError.
func (a *Adapter) classifyOpen(user string, st *channelState, err error) error {
	wrapped := fmt.Errorf("slack: open a direct message to %s: %w", user, err)
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		a.pause(st, rl.RetryAfter)
		return bot.Transient(wrapped, rl.RetryAfter)
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentOpenErrors[se.Err] {
		if se.Err == "missing_scope" {
			wrapped = fmt.Errorf("%w (the app needs the im:write scope to send direct messages)", wrapped)
		}
		return bot.Permanent(wrapped)
	}
	return bot.Transient(wrapped, 0)
}
