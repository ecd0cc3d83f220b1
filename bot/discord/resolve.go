package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
)

// Resolving sends of unknown outcome (DESIGN §5 "Exactly once").
const (
	// nonceWindow is how long after a send a resend with the same nonce is
	// known to return the first message instead of posting again: Discord
	// keeps enforce_nonce for "the past few minutes"
	// (https://discord.com/developers/docs/resources/message#create-message).
	nonceWindow = 2 * time.Minute
	// claimSkew is how far Discord's clock may run behind the bot's: the
	// lookup starts this long before the claim.
	claimSkew = 5 * time.Second
	// pageSize is the most messages one GET /channels/{id}/messages returns
	// (https://discord.com/developers/docs/resources/message#get-channel-messages).
	pageSize = 100
	// maxPages bounds one lookup (5,000 messages): a channel that busy
	// since the claim is not worth holding the deliveries for.
	maxPages = 50
	// discordEpoch is the zero of snowflake timestamps, the first second of
	// 2015, in Unix milliseconds
	// (https://discord.com/developers/docs/reference#snowflakes).
	discordEpoch = 1420070400000
)

var _ bot.Resolver = (*Adapter)(nil)

// Resolve reports which of q.Deliveries were posted to q.Channel, with
// their message ids. Within nonceWindow of q.Since it makes no request and
// returns an empty map: a resend carries the same nonce, which Discord
// answers with the first message. Later it reads the channel's messages
// from q.Since (less claimSkew) on, oldest page first, and matches the
// bot's own alerts by the delivery id each one carries (delivery.go):
// fetched messages have no nonce.
//
// Errors are bot.Permanent when Discord cannot tell (403, 404, a channel
// that shows no messages at all, which is what a bot without Read Message
// History sees, more than maxPages of messages) and bot.Transient for
// 429, 5xx and the network, waiting on the same rate limits as Send.
func (a *Adapter) Resolve(ctx context.Context, q bot.Unconfirmed) (map[int64]string, error) {
	found := make(map[int64]string)
	now := q.Now
	if now.IsZero() {
		now = a.now()
	}
	if len(q.Deliveries) == 0 || now.Sub(q.Since) < nonceWindow {
		return found, nil
	}
	// A direct message is looked up in the user's DM channel.
	ch, err := a.channel(ctx, q.Channel)
	if err != nil {
		return nil, err
	}
	if q.Since.IsZero() {
		// From the zero time the lookup would read the whole history.
		return nil, bot.Permanent(fmt.Errorf("discord: resolve in %s: no claim time", ch))
	}
	me, err := a.botUserID(ctx)
	if err != nil {
		return nil, err
	}
	want := make(map[int64]bool, len(q.Deliveries))
	for _, d := range q.Deliveries {
		want[d] = true
	}
	first := make(map[int64]uint64) // delivery → its earliest message
	after := snowflake(q.Since.Add(-claimSkew))
	seen := 0
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, bot.Permanent(fmt.Errorf("discord: resolve in %s: more than %d messages since %s; cannot tell whether deliveries %v were posted",
				ch, maxPages*pageSize, q.Since.UTC().Format(time.RFC3339), q.Deliveries))
		}
		msgs, err := a.listMessages(ctx, ch, strconv.FormatUint(after, 10), pageSize)
		if err != nil {
			return nil, err
		}
		seen += len(msgs)
		// Discord returns the page newest first, whichever way it pages.
		next := after
		for _, m := range msgs {
			id, err := strconv.ParseUint(m.ID, 10, 64)
			if err != nil {
				continue
			}
			next = max(next, id)
			d, ok := m.delivery(me)
			if !ok || !want[d] {
				continue
			}
			if prev, dup := first[d]; !dup || id < prev {
				first[d] = id
				found[d] = m.ID
			}
		}
		if len(msgs) < pageSize {
			break
		}
		if next == after {
			return nil, bot.Transient(fmt.Errorf("discord: resolve in %s: a full page of messages with no id after %d", ch, after), 0)
		}
		after = next
	}
	if seen == 0 {
		// Without Read Message History Discord answers with no messages
		// rather than an error. A channel that shows none, not even
		// before the claim, may be hiding them.
		latest, err := a.listMessages(ctx, ch, "", 1)
		if err != nil {
			return nil, err
		}
		if len(latest) == 0 {
			return nil, bot.Permanent(fmt.Errorf("discord: resolve in %s: the channel shows no messages (has the bot Read Message History?); cannot tell whether deliveries %v were posted",
				ch, q.Deliveries))
		}
	}
	a.log.Info("resolved unconfirmed deliveries", "channel", ch, "asked", len(want), "found", len(found), "messages_read", seen)
	return found, nil
}

// snowflake is the smallest snowflake of an instant, for paging by time.
func snowflake(t time.Time) uint64 {
	ms := t.UnixMilli() - discordEpoch
	if ms <= 0 {
		return 0
	}
	return uint64(ms) << 22
}

// listMessages reads up to limit messages of channel ch after the message
// id after, or the latest ones when after is "".
func (a *Adapter) listMessages(ctx context.Context, ch, after string, limit int) ([]fetched, error) {
	endpoint := discordgo.EndpointChannelMessages(ch)
	what := "read messages of " + ch
	if err := a.gate(ctx, what, http.MethodGet, endpoint); err != nil {
		return nil, err
	}
	v := url.Values{"limit": {strconv.Itoa(limit)}}
	if after != "" {
		v.Set("after", after)
	}
	// discordgo's own limiter keys by bucket id: a separate one keeps
	// reading apart from posting, as Discord does.
	body, err := a.session.RequestWithBucketID(http.MethodGet, endpoint+"?"+v.Encode(), nil,
		routeKey(http.MethodGet, endpoint), discordgo.WithContext(ctx))
	if err != nil {
		return nil, classify(what, err)
	}
	var msgs []fetched
	if err := json.Unmarshal(body, &msgs); err != nil {
		return nil, bot.Transient(fmt.Errorf("discord: %s: decode: %w", what, err), 0)
	}
	return msgs, nil
}

// fetched is the part of a fetched message that Resolve reads. It is
// decoded here rather than into discordgo.Message, which refuses a whole
// page when any message in it holds a component type discordgo does not
// know.
type fetched struct {
	ID     string `json:"id"`
	Type   int    `json:"type"`
	Author struct {
		ID string `json:"id"`
	} `json:"author"`
	WebhookID           string          `json:"webhook_id"`
	Interaction         json.RawMessage `json:"interaction"`
	InteractionMetadata json.RawMessage `json:"interaction_metadata"`
	Content             string          `json:"content"`
	Embeds              []struct {
		Footer *struct {
			Text string `json:"text"`
		} `json:"footer"`
	} `json:"embeds"`
	Components []fetchedComponent `json:"components"`
}

// fetchedComponent is an action row or a button; rows nest buttons.
type fetchedComponent struct {
	CustomID   string             `json:"custom_id"`
	Components []fetchedComponent `json:"components"`
}

// delivery returns the delivery that posted m when m is an alert the bot
// (user id me) posted through Send: its buttons' custom_ids carry the id,
// else its footer or its last line does (render). Answers to interactions
// and webhook posts also show the bot as author, but Send made none of
// them, and their text may echo what a user typed.
func (m *fetched) delivery(me string) (int64, bool) {
	if m.Author.ID != me || m.Type != int(discordgo.MessageTypeDefault) || m.WebhookID != "" ||
		present(m.Interaction) || present(m.InteractionMetadata) {
		return 0, false
	}
	if d, ok := componentDelivery(m.Components); ok {
		return d, true
	}
	for _, e := range m.Embeds {
		if e.Footer != nil {
			if d, ok := footerDelivery(e.Footer.Text); ok {
				return d, true
			}
		}
	}
	return contentDelivery(m.Content)
}

// componentDelivery returns the delivery of the first custom_id that
// carries one.
func componentDelivery(cs []fetchedComponent) (int64, bool) {
	for _, c := range cs {
		if _, d, ok := parseButtonID(c.CustomID); ok && d > 0 {
			return d, true
		}
		if d, ok := componentDelivery(c.Components); ok {
			return d, true
		}
	}
	return 0, false
}

// present reports whether a JSON field was sent with a value.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// selfUser caches the bot's user id, the author of what it posts.
type selfUser struct {
	mu sync.Mutex
	id string
}

// botUserID returns the bot's own user id, asking Discord (GET
// /users/@me) the first time: the application id that Config may hold is
// not always the bot user's id.
func (a *Adapter) botUserID(ctx context.Context) (string, error) {
	a.self.mu.Lock()
	defer a.self.mu.Unlock()
	if a.self.id != "" {
		return a.self.id, nil
	}
	endpoint := discordgo.EndpointUser("@me")
	const what = "look up the bot's user"
	if err := a.gate(ctx, what, http.MethodGet, endpoint); err != nil {
		return "", err
	}
	body, err := a.session.RequestWithBucketID(http.MethodGet, endpoint, nil, routeKey(http.MethodGet, endpoint), discordgo.WithContext(ctx))
	if err != nil {
		return "", classify(what, err)
	}
	var u struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &u); err != nil || bot.CheckID("discord", u.ID) != nil {
		return "", bot.Transient(fmt.Errorf("discord: %s: no user id in the answer", what), 0)
	}
	a.self.id = u.ID
	return u.ID, nil
}
