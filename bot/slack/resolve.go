package slack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/policyteam/alertbot/bot"
)

// Resolving sends of unknown outcome (DESIGN §5 "Exactly once"). Slack has
// no idempotency key, so a post whose answer was lost is found afterwards:
// every delivery carries message metadata (DeliveryEventType,
// {"delivery_id": id}), and Resolve reads the channel's history since the
// claim looking for it.
const (
	// historyLookback is how far before the claim Resolve starts, so that
	// a bot clock running ahead of Slack's cannot hide the post.
	historyLookback = 5 * time.Second
	// historyPageSize is the limit per conversations.history page; Slack
	// allows up to 999 but recommends no more than 200.
	// https://docs.slack.dev/reference/methods/conversations.history
	historyPageSize = 200
	// maxHistoryPages bounds one Resolve (10,000 messages), so a huge or
	// hostile channel cannot keep it paging forever.
	maxHistoryPages = 50
	// historyMethod keys conversations.history's pacing state: Slack's
	// limits are per method, so a 429 here holds neither posting nor
	// other methods.
	historyMethod = "conversations.history"
	// historyRate is Tier 3, "50+ per minute", per method and workspace.
	// https://docs.slack.dev/apis/web-api/rate-limits
	historyRate  = rate.Limit(50.0 / 60)
	historyBurst = 5
	// maxExactID is the largest delivery id Resolve can match: slack-go
	// decodes event_payload into map[string]any, so the id arrives as a
	// float64, exact only up to 2^53.
	maxExactID = 1 << 53
)

// historyPermanent are errors of conversations.history (and auth.test)
// that retrying cannot fix: the bot cannot tell whether the message was
// posted, so it warns and resends.
// https://docs.slack.dev/reference/methods/conversations.history#errors
var historyPermanent = map[string]bool{
	"missing_scope":     true, // no channels:history / groups:history / im:history
	"not_in_channel":    true, // posted through chat:write.public, but reading needs membership
	"channel_not_found": true,
	"invalid_auth":      true,
	"not_authed":        true,
	"account_inactive":  true,
	"token_revoked":     true,
	"no_permission":     true,
	"invalid_arguments": true,
	"invalid_ts_oldest": true,
}

var _ bot.Resolver = (*Adapter)(nil)

// Resolve looks for the deliveries of q among the messages this bot
// posted to q.Channel since q.Since (less historyLookback), reading
// conversations.history with include_all_metadata page by page, and
// returns the ts of each one it found. It stops paging once all are
// found.
//
// Errors are *bot.SendError. Permanent: the bot cannot read the channel
// (missing_scope, not_in_channel, channel_not_found, bad token) or the
// history is longer than maxHistoryPages pages; the caller then resends.
// Transient (429 with Retry-After, 5xx, network): the caller tries again
// later; a 429 also pauses conversations.history for that long.
func (a *Adapter) Resolve(ctx context.Context, q bot.Unconfirmed) (map[int64]string, error) {
	// A direct message is looked up in the user's IM channel, which
	// needs the im:history scope.
	ch, err := a.conversation(ctx, q.Channel)
	if err != nil {
		return nil, err
	}
	q.Channel = ch
	want := make(map[int64]bool, len(q.Deliveries))
	for _, id := range q.Deliveries {
		if id <= 0 || id > maxExactID {
			return nil, bot.Permanent(fmt.Errorf("slack: resolve in %s: delivery id %d cannot be matched exactly (1 to 2^53)", q.Channel, id))
		}
		want[id] = true
	}
	found := make(map[int64]string, len(want))
	if len(want) == 0 {
		return found, nil
	}
	me, err := a.whoami(ctx)
	if err != nil {
		return nil, a.classifyHistory(q.Channel, "auth.test", err)
	}
	params := slack.GetConversationHistoryParameters{
		ChannelID:          q.Channel,
		Oldest:             slackTS(q.Since.Add(-historyLookback)),
		Limit:              historyPageSize,
		IncludeAllMetadata: true,
	}
	st := a.stateFor(historyMethod, a.historyLimit(), historyBurst)
	cursors := map[string]bool{}
	scanned := 0
	for page := 1; ; page++ {
		if page > maxHistoryPages {
			return nil, bot.Permanent(fmt.Errorf("slack: resolve in %s: gave up after %d pages (%d messages) of history since %s, %d of %d deliveries found",
				q.Channel, maxHistoryPages, scanned, params.Oldest, len(found), len(want)))
		}
		if err := a.waitOn(ctx, historyMethod, st); err != nil {
			return nil, bot.Transient(fmt.Errorf("slack: resolve in %s: wait: %w", q.Channel, err), 0)
		}
		resp, err := a.api.GetConversationHistoryContext(ctx, &params)
		if err != nil {
			return nil, a.classifyHistory(q.Channel, historyMethod, err)
		}
		scanned += len(resp.Messages)
		for _, m := range resp.Messages {
			id, ok := me.delivery(m)
			if _, dup := found[id]; ok && want[id] && !dup {
				found[id] = m.Timestamp
			}
		}
		next := resp.ResponseMetaData.NextCursor
		if len(found) == len(want) || next == "" {
			a.log.Debug("resolved unconfirmed deliveries", "channel", q.Channel,
				"pages", page, "messages", scanned, "wanted", len(want), "found", len(found))
			return found, nil
		}
		// A cursor seen before would page in a circle.
		if cursors[next] {
			return nil, bot.Permanent(fmt.Errorf("slack: resolve in %s: conversations.history repeated cursor %q", q.Channel, next))
		}
		cursors[next] = true
		params.Cursor = next
	}
}

// historyLimit is conversations.history's rate, off when the adapter's
// limiters are (Config.ChannelRate NoLimit: tests and benchmarks).
func (a *Adapter) historyLimit() rate.Limit {
	if a.limit == 0 {
		return 0
	}
	return historyRate
}

// identity is who this bot is on Slack, to tell its posts from another
// app's that happen to use the same event type (a second alertbot
// install in the same channel numbers its deliveries from 1 too).
type identity struct {
	userID string // the bot user, "user" of its messages
	botID  string // "bot_id" of its messages
}

// whoami asks auth.test who the bot token belongs to. It is asked on every
// Resolve rather than cached: Resolve is rare (after a crash or a
// timeout) and auth.test is not rate limited in practice.
// https://docs.slack.dev/reference/methods/auth.test
func (a *Adapter) whoami(ctx context.Context) (identity, error) {
	r, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return identity{}, err
	}
	return identity{userID: r.UserID, botID: r.BotID}, nil
}

// delivery returns the delivery id that m carries, when m is one of this
// bot's deliveries.
func (me identity) delivery(m slack.Message) (int64, bool) {
	if m.Metadata.EventType != DeliveryEventType || !me.posted(m) {
		return 0, false
	}
	switch v := m.Metadata.EventPayload["delivery_id"].(type) {
	case float64: // what slack-go makes of a JSON number
		if v < 1 || v > maxExactID || v != math.Trunc(v) {
			return 0, false
		}
		return int64(v), true
	case string:
		id, err := strconv.ParseInt(v, 10, 64)
		return id, err == nil && id > 0
	}
	return 0, false
}

// posted reports whether m was posted by this bot. Without any identity
// (auth.test answered none) the event type is all there is to go by.
func (me identity) posted(m slack.Message) bool {
	if me.botID == "" && me.userID == "" {
		return true
	}
	return (me.botID != "" && m.BotID == me.botID) || (me.userID != "" && m.User == me.userID)
}

// classifyHistory turns an error of method (auth.test or
// conversations.history) into a *bot.SendError, pausing history reads
// after a 429.
func (a *Adapter) classifyHistory(channel, method string, err error) error {
	wrapped := fmt.Errorf("slack: resolve in %s: %s: %w", channel, method, err)
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		a.pause(a.stateFor(historyMethod, a.historyLimit(), historyBurst), rl.RetryAfter)
		return bot.Transient(wrapped, rl.RetryAfter)
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && historyPermanent[se.Err] {
		switch {
		case se.Err == "missing_scope" && se.Needed != "":
			wrapped = fmt.Errorf("%w (the app needs scope %s: add it and reinstall the app)", wrapped, se.Needed)
		case se.Err == "not_in_channel":
			wrapped = fmt.Errorf("%w (invite the bot to the channel so it can read its own posts there)", wrapped)
		}
		return bot.Permanent(wrapped)
	}
	// 429 without Retry-After, 5xx, network, other ok:false: try later.
	return bot.Transient(wrapped, 0)
}

// slackTS formats t as a Slack timestamp, "seconds.micros"; times before
// 1970 become "0", the start of every history.
func slackTS(t time.Time) string {
	if t.Unix() < 0 {
		return "0"
	}
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}
