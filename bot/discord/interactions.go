package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
)

// Interaction endpoint limits (DESIGN §7).
const (
	// MaxBody is the largest interaction body accepted; larger ones get 413.
	MaxBody = 1 << 20
	// MaxSkew is how far X-Signature-Timestamp may be from now, either way.
	MaxSkew = 5 * time.Minute
	// followupTimeout stays under the 15 minutes an interaction token is
	// valid for follow-ups
	// (https://discord.com/developers/docs/interactions/receiving-and-responding#followup-messages).
	followupTimeout = 14 * time.Minute
	// gatewayTimeout bounds one gateway interaction's handling.
	gatewayTimeout = 30 * time.Second
)

// flagEphemeral shows a response only to the caller.
const flagEphemeral = discordgo.MessageFlagsEphemeral

// Verify checks a Discord interaction request: an Ed25519 signature
// (X-Signature-Ed25519, hex) over X-Signature-Timestamp followed by the raw
// body, with the timestamp no more than MaxSkew from now.
func Verify(publicKey ed25519.PublicKey, header http.Header, body []byte, now time.Time) error {
	if len(publicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("public key has %d bytes, want %d", len(publicKey), ed25519.PublicKeySize)
	}
	sigHex := header.Get("X-Signature-Ed25519")
	ts := header.Get("X-Signature-Timestamp")
	if sigHex == "" || ts == "" {
		return errors.New("missing X-Signature-Ed25519 or X-Signature-Timestamp")
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return errors.New("signature is not hex")
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("signature has %d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("timestamp is not unix seconds")
	}
	skew := now.Sub(time.Unix(sec, 0))
	if skew > MaxSkew {
		return errors.New("timestamp is older than 5 minutes")
	}
	if skew < -MaxSkew {
		return errors.New("timestamp is more than 5 minutes in the future")
	}
	msg := make([]byte, 0, len(ts)+len(body))
	msg = append(msg, ts...)
	msg = append(msg, body...)
	if !ed25519.Verify(publicKey, msg, sig) {
		return errors.New("signature does not verify")
	}
	return nil
}

// Routes adds POST /discord/interactions, answered by h, when a public key
// is configured. The handler comes here rather than through Config because
// the router is built after the platforms it sends through. Routes panics
// if it would add the route with a nil h, as mux.Handle does.
func (a *Adapter) Routes(mux *http.ServeMux, h bot.Handler) {
	if a.pub == nil {
		return
	}
	if h == nil {
		panic(errNoHandler)
	}
	mux.HandleFunc("/discord/interactions", func(w http.ResponseWriter, r *http.Request) { a.serveInteractions(w, r, h) })
}

// serveInteractions answers POST /discord/interactions with h.
func (a *Adapter) serveInteractions(w http.ResponseWriter, r *http.Request, h bot.Handler) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > MaxBody {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	if err := Verify(a.pub, r.Header, body, a.now()); err != nil {
		a.log.Info("interaction refused", "reason", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	in, err := parseInteraction(body)
	if err != nil {
		a.log.Info("bad interaction json", "err", err)
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	if in.Type == discordgo.InteractionPing {
		writeJSON(w, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
		return
	}
	resp, finish := a.interact(r.Context(), h, in)
	if resp == nil {
		http.Error(w, "unsupported interaction type", http.StatusBadRequest)
		return
	}
	writeJSON(w, resp)
	if finish != nil {
		// The request's context ends with the response; the follow-up has
		// the token's lifetime instead.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), followupTimeout)
		a.bg.Go(func() {
			defer cancel()
			finish(ctx)
		})
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// parseInteraction decodes an interaction, taking the channel id from the
// newer "channel" object when "channel_id" is absent.
func parseInteraction(body []byte) (*discordgo.Interaction, error) {
	var in discordgo.Interaction
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decode interaction: %w", err)
	}
	if in.ChannelID == "" {
		var extra struct {
			Channel *struct {
				ID string `json:"id"`
			} `json:"channel"`
		}
		if json.Unmarshal(body, &extra) == nil && extra.Channel != nil {
			in.ChannelID = extra.Channel.ID
		}
	}
	return &in, nil
}

// gatewayInteraction answers an INTERACTION_CREATE with h through the callback
// endpoint, with the same code as the HTTP endpoint. Run calls it through
// a.bg, so shutdown waits for it.
func (a *Adapter) gatewayInteraction(ctx context.Context, h bot.Handler, in *discordgo.Interaction) {
	ctx, cancel := context.WithTimeout(ctx, gatewayTimeout)
	defer cancel()
	resp, finish := a.interact(ctx, h, in)
	if resp == nil {
		a.log.Info("gateway interaction of unsupported type", "type", int(in.Type))
		return
	}
	if err := a.session.InteractionRespond(in, resp, discordgo.WithContext(ctx)); err != nil {
		a.log.Warn("interaction callback failed", "err", classify("interaction callback", err))
		return
	}
	if finish != nil {
		fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), followupTimeout)
		defer fcancel()
		finish(fctx)
	}
}

// interact computes the first response to an interaction with h; for a slow
// command that is a deferred response (type 5) and finish writes the answer.
// A nil response means the interaction type is not supported.
func (a *Adapter) interact(ctx context.Context, h bot.Handler, in *discordgo.Interaction) (*discordgo.InteractionResponse, func(context.Context)) {
	switch in.Type {
	case discordgo.InteractionApplicationCommand:
		data, ok := in.Data.(discordgo.ApplicationCommandInteractionData)
		if !ok {
			return nil, nil
		}
		words, err := args(a.commands, data)
		req := a.request(in)
		switch {
		case errors.Is(err, errUnknown):
			req.Args = []string{"help"}
		case err != nil:
			return a.message(bot.Reply{Text: "That did not work: " + err.Error() + ". Try /alerts help.", Error: true}, false), nil
		default:
			req.Args = words
		}
		req.Text = strings.Join(req.Args, " ")
		return a.run(ctx, h, in, req, true)
	case discordgo.InteractionMessageComponent:
		data, ok := in.Data.(discordgo.MessageComponentInteractionData)
		if !ok {
			return nil, nil
		}
		cmd, _, ok := parseButtonID(data.CustomID)
		if !ok {
			return a.message(bot.Reply{Text: "This button is no longer supported."}, false), nil
		}
		req := a.request(in)
		// The command is text as typed, so the router splits it as it
		// splits Slack's.
		req.Text = cmd
		return a.run(ctx, h, in, req, false)
	case discordgo.InteractionApplicationCommandAutocomplete:
		data, ok := in.Data.(discordgo.ApplicationCommandInteractionData)
		if !ok {
			return nil, nil
		}
		return &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: a.complete(ctx, h, data)},
		}, nil
	}
	return nil, nil
}

// request is the router request of an interaction, without its words.
// Only ids that bot.CheckID accepts become addresses, so nothing else can
// be smuggled into one.
func (a *Adapter) request(in *discordgo.Interaction) bot.Request {
	req := bot.Request{Platform: "discord"}
	var user string
	switch {
	case in.Member != nil && in.Member.User != nil && in.Member.User.ID != "":
		user = in.Member.User.ID
	case in.User != nil && in.User.ID != "":
		user = in.User.ID
	}
	if bot.CheckID("discord", user) == nil {
		req.User = "discord:" + user
	}
	if bot.CheckID("discord", in.ChannelID) == nil {
		req.Channel = "discord:" + in.ChannelID
	}
	return req
}

// run answers req with h now, or defers when h says it is slow.
// Command replies follow Reply.Public; button replies stay with the caller.
func (a *Adapter) run(ctx context.Context, h bot.Handler, in *discordgo.Interaction, req bot.Request, allowPublic bool) (*discordgo.InteractionResponse, func(context.Context)) {
	if req.User == "" {
		return a.message(bot.Reply{Text: "Discord did not say who you are; try again.", Error: true}, false), nil
	}
	log := a.log.With("user", req.User, "channel", req.Channel)
	if !h.Slow(req) {
		reply := h.Handle(ctx, req)
		log.Debug("interaction answered", "command", req.Text, "error", reply.Error)
		if reply.Attachment != nil {
			// A file cannot ride the inline answer to the HTTP endpoint
			// (only JSON is read there): defer, then put the reply and
			// its file on the original response (files.go).
			return deferredMessage(allowPublic && reply.Public), func(ctx context.Context) { a.editWithFile(ctx, in, reply, log) }
		}
		return a.message(reply, allowPublic), nil
	}
	deferred := deferredMessage(false)
	finish := func(ctx context.Context) {
		reply := h.Handle(ctx, req)
		if reply.Attachment != nil {
			a.editWithFile(ctx, in, reply, log)
			return
		}
		content := a.contentOf(reply)
		components := a.replyButtons(reply)
		edit := &discordgo.WebhookEdit{
			Content:         &content,
			Components:      &components,
			AllowedMentions: noMentions(),
		}
		target := *in
		if target.AppID == "" {
			target.AppID = a.appID
		}
		if _, err := a.session.InteractionResponseEdit(&target, edit, discordgo.WithContext(ctx)); err != nil {
			log.Warn("deferred answer failed", "command", req.Text, "err", classify("interaction follow-up", err))
			return
		}
		log.Debug("deferred answer sent", "command", req.Text)
	}
	return deferred, finish
}

// message is a type-4 response with the reply's text.
func (a *Adapter) message(reply bot.Reply, allowPublic bool) *discordgo.InteractionResponse {
	d := &discordgo.InteractionResponseData{
		Content:         a.contentOf(reply),
		AllowedMentions: noMentions(),
		Components:      a.replyButtons(reply),
		Embeds:          []*discordgo.MessageEmbed{},
	}
	if !(allowPublic && reply.Public) {
		d.Flags = flagEphemeral
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: d}
}

// replyButtons renders a reply's buttons ("More") as action rows, by the
// rules of alert buttons (render.go); never nil, so the JSON says [] and
// an edit clears the buttons of a deferred "working" message.
func (a *Adapter) replyButtons(reply bot.Reply) []discordgo.MessageComponent {
	rows, _ := cutter{log: a.log}.buttons(reply.Buttons, 0)
	if rows == nil {
		rows = []discordgo.MessageComponent{}
	}
	return rows
}

// contentOf is a reply's text as message content, escaped and cut to
// Discord's limit.
func (a *Adapter) contentOf(reply bot.Reply) string {
	text := escape(reply.Text)
	if strings.TrimSpace(text) == "" {
		text = "Done."
	}
	return bot.CutText(a.log, "reply content", text, MaxContent)
}

// complete answers an autocomplete interaction for the focused option
// from h.
func (a *Adapter) complete(ctx context.Context, h bot.Handler, data discordgo.ApplicationCommandInteractionData) []*discordgo.ApplicationCommandOptionChoice {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	c := findCommand(a.commands, data.Name)
	if c == nil || len(data.Options) != 1 || data.Options[0] == nil {
		return choices
	}
	s := c.sub(data.Options[0].Name)
	if s == nil {
		return choices
	}
	var focused *discordgo.ApplicationCommandInteractionDataOption
	for _, o := range data.Options[0].Options {
		if o != nil && o.Focused {
			focused = o
		}
	}
	if focused == nil {
		return choices
	}
	var what string
	for _, o := range s.options {
		if o.name == focused.Name {
			what = o.complete
		}
	}
	prefix, _ := focused.Value.(string)
	prefix = strings.TrimSpace(prefix)
	var values []string
	switch what {
	case completeEvent, completeWatcher:
		values = h.Complete(ctx, what, prefix)
	case completeTag:
		values = h.Complete(ctx, completeTag, strings.TrimPrefix(prefix, "#"))
	case completeTarget:
		values = a.targets(ctx, h, prefix)
	default:
		return choices
	}
	seen := make(map[string]bool, len(values))
	for _, v := range values {
		if v == "" || len(v) > MaxChoiceLength || seen[v] {
			continue
		}
		seen[v] = true
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: v, Value: v})
		if len(choices) == MaxChoices {
			break
		}
	}
	return choices
}

// targets suggests subscription targets from h: all, #tag, event:id,
// watcher:id.
func (a *Adapter) targets(ctx context.Context, h bot.Handler, prefix string) []string {
	kinds := []struct{ form, what string }{
		{"#", completeTag}, {"tag:", completeTag}, {"event:", completeEvent}, {"watcher:", completeWatcher},
	}
	for _, k := range kinds {
		if rest, ok := strings.CutPrefix(prefix, k.form); ok {
			return prefixed(k.form, h.Complete(ctx, k.what, rest))
		}
	}
	var out []string
	for _, kw := range []string{"all", bot.ProposalsTarget} {
		if strings.HasPrefix(kw, prefix) {
			out = append(out, kw)
		}
	}
	out = append(out, prefixed("#", h.Complete(ctx, completeTag, prefix))...)
	out = append(out, prefixed("event:", h.Complete(ctx, completeEvent, prefix))...)
	out = append(out, prefixed("watcher:", h.Complete(ctx, completeWatcher, prefix))...)
	return out
}

func prefixed(p string, ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, p+id)
	}
	return out
}
