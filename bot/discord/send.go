package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
)

// maxNonce is Discord's limit on a message nonce
// (https://discord.com/developers/docs/resources/message#create-message).
const maxNonce = 25

// messageCreate is the create-message body: discordgo's MessageSend has no
// nonce fields, so they are added here. It is the general form; Send
// encodes what render makes through wireCreate, which is cheaper.
type messageCreate struct {
	*discordgo.MessageSend
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
}

// wireCreate is the create-message body for what render makes: content or
// embeds, rows of plain buttons, allowed_mentions and the nonce. Encoding
// it costs a fraction of encoding MessageSend, whose components marshal
// themselves (each row and button encoded on its own, then checked and
// copied again by its parent), and it leaves out fields at their
// defaults (tts, sticker_ids, disabled) that Discord does not need.
// https://discord.com/developers/docs/resources/message#create-message
type wireCreate struct {
	Content         string                            `json:"content,omitempty"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds,omitempty"`
	Components      []wireRow                         `json:"components,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions,omitempty"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
}

// wireRow is an action row of buttons.
type wireRow struct {
	Type       discordgo.ComponentType `json:"type"`
	Components []wireButton            `json:"components"`
}

// wireButton is a button that runs a command (custom_id) or opens a link.
type wireButton struct {
	Type     discordgo.ComponentType `json:"type"`
	Label    string                  `json:"label"`
	Style    discordgo.ButtonStyle   `json:"style"`
	CustomID string                  `json:"custom_id,omitempty"`
	URL      string                  `json:"url,omitempty"`
}

// createBody encodes ms with nonce n (enforced when set) as the
// create-message body: through wireCreate when ms holds only what it
// carries, else as messageCreate.
func createBody(ms *discordgo.MessageSend, n string) ([]byte, error) {
	general := func() ([]byte, error) {
		return json.Marshal(messageCreate{MessageSend: ms, Nonce: n, EnforceNonce: n != ""})
	}
	if ms.TTS || len(ms.Files) > 0 || ms.File != nil || ms.Embed != nil || ms.Reference != nil ||
		len(ms.StickerIDs) > 0 || ms.Flags != 0 || ms.Poll != nil {
		return general()
	}
	w := wireCreate{Content: ms.Content, Embeds: ms.Embeds, AllowedMentions: ms.AllowedMentions, Nonce: n, EnforceNonce: n != ""}
	for _, c := range ms.Components {
		row, ok := c.(discordgo.ActionsRow)
		if !ok {
			return general()
		}
		wr := wireRow{Type: discordgo.ActionsRowComponent, Components: make([]wireButton, 0, len(row.Components))}
		for _, rc := range row.Components {
			b, ok := rc.(discordgo.Button)
			if !ok || b.Disabled || b.Emoji != nil || b.SKUID != "" || b.ID != 0 {
				return general()
			}
			if b.Style == 0 {
				b.Style = discordgo.PrimaryButton // as Button.MarshalJSON does
			}
			wr.Components = append(wr.Components, wireButton{Type: discordgo.ButtonComponent,
				Label: b.Label, Style: b.Style, CustomID: b.CustomID, URL: b.URL})
		}
		w.Components = append(w.Components, wr)
	}
	if b, ok := appendCreate(make([]byte, 0, 1024), &w); ok {
		return b, nil
	}
	return json.Marshal(w)
}

// nonce returns the nonce Send uses for out: out.Nonce, or when that is
// empty bot.Nonce of the delivery, so a retry of the same delivery carries
// the same nonce; "" (no nonce) for an Outgoing with neither. A nonce over
// Discord's 25 characters is refused rather than shortened: Discord would
// refuse it too, and a changed nonce would no longer match a retry's.
func nonce(out bot.Outgoing) (string, error) {
	switch {
	case len(out.Nonce) > maxNonce:
		return "", fmt.Errorf("discord: nonce %q is longer than %d characters", out.Nonce, maxNonce)
	case out.Nonce != "":
		return out.Nonce, nil
	case out.DeliveryID != 0:
		return bot.Nonce(out.DeliveryID), nil
	}
	return "", nil
}

// Send posts one message to out.Channel and returns its message id. With a
// nonce and enforce_nonce, a retry after a lost response gets the first
// message back instead of posting twice. Errors are bot.Transient (429,
// 5xx, network) or bot.Permanent (401, 403, 404, other 4xx, bad input).
func (a *Adapter) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	// A direct message ("dm:<user>") goes to the user's DM channel.
	ch, err := a.channel(ctx, out.Channel)
	if err != nil {
		return "", err
	}
	n, err := nonce(out)
	if err != nil {
		return "", bot.Permanent(err)
	}
	log := a.log.With("channel", ch, "delivery", out.DeliveryID)
	ms := render(out.Message, out.DeliveryID, log)
	stamp := a.now().UTC().Format(time.RFC3339)
	for _, e := range ms.Embeds {
		e.Timestamp = stamp
	}
	body, err := createBody(ms, n)
	if err != nil {
		return "", bot.Permanent(fmt.Errorf("discord: send to %s: encode: %w", ch, err))
	}

	// The path discordgo.EndpointChannelMessages has, at the configured
	// host: the transport then need not rewrite the request.
	path := channelsPath + ch + "/messages"
	what := "send to " + ch
	if err := a.gateRoute(ctx, what, http.MethodPost, path); err != nil {
		return "", err
	}
	id, err := a.createMessage(ctx, what, a.api+path, body)
	if err != nil {
		log.Warn("send failed", "err", err)
		return "", err
	}
	log.Debug("sent", "message", id)
	return id, nil
}

// gate waits until a REST call to endpoint (a full URL) with method may
// go: its route's bucket first, then the global limit. A bucket exhausted
// for longer than maxBucketWait, or ctx ending, is a bot.Transient error
// naming what, so the caller comes back later instead of holding a worker.
func (a *Adapter) gate(ctx context.Context, what, method, endpoint string) error {
	path := endpoint
	if u, err := url.Parse(endpoint); err == nil {
		path = u.Path
	}
	return a.gateRoute(ctx, what, method, path)
}

// channelsPath is the path of discordgo.EndpointChannels: "/api/v9/channels/".
var channelsPath = strings.TrimPrefix(discordgo.EndpointChannels, strings.TrimSuffix(discordgo.EndpointDiscord, "/"))

// gateRoute is gate for a request path (one url.Parse would give).
func (a *Adapter) gateRoute(ctx context.Context, what, method, path string) error {
	if err := a.limits.wait(ctx, routeKey(method, path)); err != nil {
		var bw *errBucketWait
		if errors.As(err, &bw) {
			return bot.Transient(fmt.Errorf("discord: %s: %w", what, err), bw.after)
		}
		return bot.Transient(fmt.Errorf("discord: %s: %w", what, err), 0)
	}
	if err := a.global.Wait(ctx); err != nil {
		return bot.Transient(fmt.Errorf("discord: %s: global limit: %w", what, err), 0)
	}
	return nil
}

// classify turns a discordgo error into bot.Transient or bot.Permanent.
// Permanent errors are never retried: Discord bans clients that repeat
// invalid requests (10,000 401/403/429 in 10 minutes).
func classify(what string, err error) error {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) && rl.RateLimit != nil && rl.TooManyRequests != nil {
		return rateLimited(what, rl.Message, rl.RetryAfter)
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return statusError(what, re.Response.StatusCode, re.Response.Header, re.Message)
	}
	if errors.Is(err, discordgo.ErrUnauthorized) {
		return bot.Permanent(fmt.Errorf("discord: %s: %w", what, err))
	}
	// Network errors, contexts, and discordgo's plain "exceeded max
	// retries" for 502. A *url.Error names the URL, which for follow-ups
	// holds the interaction token: keep only the operation and the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return bot.Transient(fmt.Errorf("discord: %s: %w", what, err), 0)
}

// rateLimited is the error of a 429 whose answer said msg and to wait
// after.
func rateLimited(what, msg string, after time.Duration) error {
	return bot.Transient(fmt.Errorf("discord: %s: rate limited: %s", what, msg), after)
}

// statusError is the error of an answer with HTTP status code (not 429),
// headers h and Discord's error m (nil when it had none).
func statusError(what string, code int, h http.Header, m *discordgo.APIErrorMessage) error {
	msg := http.StatusText(code)
	if m != nil && m.Message != "" {
		msg = fmt.Sprintf("%s (code %d)", m.Message, m.Code)
	}
	e := fmt.Errorf("discord: %s: HTTP %d: %s", what, code, msg)
	switch {
	case code >= 500:
		after, _ := seconds(h.Get("Retry-After"))
		return bot.Transient(e, after)
	case code == http.StatusRequestTimeout:
		return bot.Transient(e, 0)
	default: // 401 bad token, 403 missing access, 404 unknown channel, other 4xx
		return bot.Permanent(e)
	}
}

// ParallelSends lets the dispatcher serve several channels at once:
// enforce_nonce makes a send repeated after a crash return the first
// message instead of posting again.
func (a *Adapter) ParallelSends() int { return parallelSends }
