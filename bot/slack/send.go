package slack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/policyteam/alertbot/bot"
)

// permanentErrors are chat.postMessage errors that retrying cannot fix.
// https://docs.slack.dev/reference/methods/chat.postMessage#errors
var permanentErrors = map[string]bool{
	"channel_not_found":   true,
	"not_in_channel":      true,
	"is_archived":         true,
	"invalid_auth":        true,
	"account_inactive":    true,
	"msg_too_long":        true,
	"no_text":             true,
	"token_revoked":       true,
	"not_authed":          true,
	"invalid_blocks":      true,
	"msg_blocks_too_long": true,
	"restricted_action":   true,
}

// channelState paces one channel, or one Web API method (historyMethod):
// its limiter, and the time until which Slack asked us (429 Retry-After)
// to leave it alone. Sends to several channels and Resolve may run at
// once, so it is read and written only under Adapter.mu or through the
// limiter, which is safe for concurrent use.
type channelState struct {
	lim   *rate.Limiter
	until time.Time
}

// state returns the pacing state of channel, creating it on first use.
func (a *Adapter) state(channel string) *channelState {
	return a.stateFor(channel, a.limit, a.burst)
}

// stateFor returns the pacing state under key, creating it on first use
// with a limiter of lim and burst (none when lim is 0). Keys are channel
// ids or method names; a method name has a dot and lowercase letters, so
// it never collides with a channel id.
func (a *Adapter) stateFor(key string, lim rate.Limit, burst int) *channelState {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.channels[key]
	if st == nil {
		st = &channelState{}
		if lim > 0 {
			st.lim = rate.NewLimiter(lim, burst)
		}
		a.channels[key] = st
	}
	return st
}

// wait blocks until channel may be posted to, or fails at once when ctx
// would expire first.
func (a *Adapter) wait(ctx context.Context, channel string) error {
	return a.waitOn(ctx, "channel "+channel, a.state(channel))
}

// waitOn blocks until st allows one request: first any pause Slack asked
// for, then a slot of its limiter. It fails at once when ctx would expire
// first; what names st in errors.
func (a *Adapter) waitOn(ctx context.Context, what string, st *channelState) error {
	now := a.clock()
	a.mu.Lock()
	pause := st.until.Sub(now)
	a.mu.Unlock()
	if pause > 0 {
		if dl, ok := ctx.Deadline(); ok && dl.Before(now.Add(pause)) {
			return fmt.Errorf("%s is rate limited for %s more", what, pause.Round(time.Millisecond))
		}
		if err := a.sleep(ctx, pause); err != nil {
			return err
		}
		now = a.clock()
	}
	if st.lim == nil {
		return nil
	}
	r := st.lim.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("%s: limiter refused a request", what)
	}
	delay := r.DelayFrom(now)
	if delay <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(now.Add(delay)) {
		r.CancelAt(now)
		return fmt.Errorf("%s: next slot in %s is past the deadline", what, delay.Round(time.Millisecond))
	}
	if err := a.sleep(ctx, delay); err != nil {
		// Give the slot back so the next message is not delayed for nothing.
		r.CancelAt(a.clock())
		return err
	}
	return nil
}

// pauseChannel keeps channel quiet for d after Slack said 429.
func (a *Adapter) pauseChannel(channel string, d time.Duration) {
	a.pause(a.state(channel), d)
}

// pause keeps st quiet for d from now, never shortening a longer pause.
func (a *Adapter) pause(st *channelState, d time.Duration) {
	until := a.clock().Add(d)
	a.mu.Lock()
	if until.After(st.until) {
		st.until = until
	}
	a.mu.Unlock()
}

// DeliveryEventType is the event_type of the message metadata every
// delivery carries, with event_payload {"delivery_id": id}: Resolve finds
// a post of unknown outcome by it in conversations.history (DESIGN §5).
// https://docs.slack.dev/messaging/message-metadata
const DeliveryEventType = "alertbot_delivery"

// Send posts out to its channel as Block Kit with a text fallback, after
// waiting for the channel's limiter, and returns the message ts. A
// delivery (DeliveryID != 0) carries metadata of DeliveryEventType so that
// Resolve can find it if the answer is lost. Errors are
// *bot.SendError: 429, 5xx and unknown failures are transient (with
// Retry-After when Slack gave one); errors such as channel_not_found are
// permanent.
func (a *Adapter) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	// A direct message ("dm:<user>") goes to the user's IM channel.
	ch, err := a.conversation(ctx, out.Channel)
	if err != nil {
		return "", err
	}
	out.Channel = ch
	if err := a.wait(ctx, out.Channel); err != nil {
		return "", bot.Transient(fmt.Errorf("slack: send to %s: wait: %w", out.Channel, err), 0)
	}
	blocks, fallback := render(out.Message, a.log.With("delivery_id", out.DeliveryID, "channel", out.Channel))
	ts, err := a.postMessage(ctx, out.Channel, blocks, fallback, out.DeliveryID)
	if err != nil {
		return "", a.classify(out.Channel, err)
	}
	return ts, nil
}

// classify turns an error of postMessage (slack-go's error types) into a
// *bot.SendError.
func (a *Adapter) classify(channel string, err error) error {
	wrapped := fmt.Errorf("slack: post to %s: %w", channel, err)
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		a.pauseChannel(channel, rl.RetryAfter)
		return bot.Transient(wrapped, rl.RetryAfter)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		// 429 without Retry-After, 5xx and anything unexpected: the
		// dispatcher backs off and tries again.
		return bot.Transient(wrapped, 0)
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		if permanentErrors[se.Err] {
			return bot.Permanent(wrapped)
		}
		return bot.Transient(wrapped, 0)
	}
	return bot.Transient(wrapped, 0)
}
