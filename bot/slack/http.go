package slack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/policyteam/alertbot/bot"
)

// response is the JSON Slack takes as a command's reply, inline or at
// response_url.
// https://docs.slack.dev/interactivity/handling-user-interaction#message_responses
type response struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
	// Blocks are set only for a reply with buttons ("More"); Text is then
	// the notification fallback.
	Blocks []slack.Block `json:"blocks,omitempty"`
	// ReplaceOriginal is false for button replies, so the alert they sit
	// under is kept.
	ReplaceOriginal *bool `json:"replace_original,omitempty"`
}

// replyPayload escapes and limits a router reply for Slack.
func (a *Adapter) replyPayload(r bot.Reply) response {
	typ := "ephemeral"
	if r.Public {
		typ = "in_channel"
	}
	text := cutEscaped(a.log, "reply text", Escape(r.Text), MaxMessageText)
	if strings.TrimSpace(text) == "" {
		text = "Done."
	}
	return response{ResponseType: typ, Text: text, Blocks: replyBlocks(a.log, text, r.Buttons)}
}

// replyBlocks lays out a reply that has buttons: its text (already
// escaped) in sections of at most MaxSectionText, cut at line ends where
// it can be, then the buttons. A reply without usable buttons gets no
// blocks, and Slack shows its text as ever.
func replyBlocks(log *slog.Logger, text string, buttons []bot.Button) []slack.Block {
	var elems []slack.BlockElement
	for i, b := range buttons {
		cmd := strings.TrimSpace(b.Command)
		if b.AdminOnly {
			continue // replies show only buttons anyone may press
		}
		if cmd == "" || utf8.RuneCountInString(cmd) > MaxButtonValue || !utf8.ValidString(cmd) {
			// A cut command would run something else: drop the button.
			log.Warn("slack: reply button dropped", "button", i+1, "limit", MaxButtonValue)
			continue
		}
		label := bot.CutText(log, fmt.Sprintf("reply button %d label", i+1), plain(cmp.Or(strings.TrimSpace(b.Label), cmd)), MaxButtonText)
		elems = append(elems, slack.NewButtonBlockElement(fmt.Sprintf("alertbot_reply_button_%d", i), cmd,
			slack.NewTextBlockObject(slack.PlainTextType, label, true, false)))
		if len(elems) == MaxActionElements {
			break
		}
	}
	if len(elems) == 0 {
		return nil
	}
	text = cutEscaped(log, "reply blocks text", text, MaxTotalBlockText)
	var blocks []slack.Block
	for text != "" && len(blocks) < MaxBlocks-1 {
		chunk, rest := text, ""
		if utf8.RuneCountInString(chunk) > MaxSectionText {
			head := firstRunes(text, MaxSectionText)
			if i := strings.LastIndexByte(head, '\n'); i > 0 {
				chunk, rest = text[:i+1], text[i+1:]
			} else {
				// One line longer than a section: cut, and the rest goes.
				chunk = cutEscaped(log, "reply section", text, MaxSectionText)
			}
		}
		text = rest
		if strings.TrimSpace(chunk) != "" {
			blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.TrimRight(chunk, "\n"), false, false), nil, nil))
		}
	}
	return append(blocks, slack.NewActionBlock("alertbot_reply_actions", elems...))
}

// encodeJSON marshals v without HTML escaping: Slack text is already
// escaped, and "\u0026amp;" would only waste bytes.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// readSignedForm reads a form body of at most MaxBodyBytes, checks its
// signature and parses it, answering 413, 400 or 401 itself when it fails.
// Both endpoints take forms: a slash command's fields, or an interaction's
// JSON in the field "payload".
func (a *Adapter) readSignedForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return nil, false
	}
	if err := VerifySignature(a.secret, r.Header, body, a.now()); err != nil {
		a.log.Warn("slack: request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return nil, false
	}
	return form, true
}

// commandRequest maps a slash command to a router request. Its ids must
// pass bot.CheckID, so they cannot smuggle anything into an address.
func commandRequest(cmd slack.SlashCommand) (bot.Request, error) {
	if err := bot.CheckID("slack", cmd.UserID); err != nil {
		return bot.Request{}, fmt.Errorf("bad or missing user_id: %w", err)
	}
	if err := bot.CheckID("slack", cmd.ChannelID); err != nil {
		return bot.Request{}, fmt.Errorf("bad or missing channel_id: %w", err)
	}
	return bot.Request{
		Platform: "slack",
		User:     "slack:" + cmd.UserID,
		Channel:  "slack:" + cmd.ChannelID,
		Text:     strings.TrimSpace(strings.ToValidUTF8(cmd.Text, "\uFFFD")),
	}, nil
}

// serveCommand answers POST /slack/commands with h.
func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request, h bot.Handler) {
	form, ok := a.readSignedForm(w, r)
	if !ok {
		return
	}
	cmd := slack.SlashCommand{
		UserID:      form.Get("user_id"),
		ChannelID:   form.Get("channel_id"),
		Command:     form.Get("command"),
		Text:        form.Get("text"),
		ResponseURL: form.Get("response_url"),
	}
	req, err := commandRequest(cmd)
	if err != nil {
		http.Error(w, "malformed slash command: "+err.Error(), http.StatusBadRequest)
		return
	}
	p := a.answer(r.Context(), h, req, cmd.ResponseURL)
	body, err := encodeJSON(p)
	if err != nil {
		a.log.Error("slack: encode reply", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}

// answer runs req on h and returns the payload to acknowledge it with. A slow
// command, or one still running when the ack deadline comes, is
// acknowledged with "Working on it…" and answered at responseURL.
func (a *Adapter) answer(ctx context.Context, h bot.Handler, req bot.Request, responseURL string) response {
	canLater := a.allowedResponseURL(responseURL)
	if h.Slow(req) {
		if !canLater {
			a.log.Warn("slack: slow command without a usable response_url", "user", req.User)
			return response{ResponseType: "ephemeral", Text: "This command takes a while, and Slack gave no address to answer at later. Try again."}
		}
		a.later(ctx, h, req, responseURL, false)
		return response{ResponseType: "ephemeral", Text: workingText}
	}
	// Detached from the request: the command must finish (and its answer be
	// posted) even when the ack has already gone out.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lateTimeout)
	done := make(chan bot.Reply, 1)
	a.bg.Go(func() {
		defer cancel()
		done <- a.handle(hctx, h, req)
	})
	t := time.NewTimer(a.ackAfter)
	defer t.Stop()
	select {
	case rep := <-done:
		if rep.Attachment != nil {
			return a.shareFile(ctx, req, rep, responseURL)
		}
		return a.replyPayload(rep)
	case <-t.C:
	}
	if !canLater {
		a.log.Warn("slack: command overran the ack deadline and its reply cannot be delivered", "user", req.User)
		return response{ResponseType: "ephemeral", Text: workingText}
	}
	a.bg.Go(func() {
		rep := <-done
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if rep.Attachment != nil {
			a.uploadOrExplain(pctx, req, rep, responseURL)
			return
		}
		if err := a.postResponse(pctx, responseURL, a.replyPayload(rep)); err != nil {
			a.log.Warn("slack: late reply not delivered", "user", req.User, "err", err)
		}
	})
	return response{ResponseType: "ephemeral", Text: workingText}
}

// later runs req on h in the background and posts its reply to responseURL;
// button replies keep the message they were pressed under.
func (a *Adapter) later(ctx context.Context, h bot.Handler, req bot.Request, responseURL string, keepOriginal bool) {
	a.bg.Go(func() {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lateTimeout)
		defer cancel()
		rep := a.handle(hctx, h, req)
		if rep.Attachment != nil {
			a.uploadOrExplain(hctx, req, rep, responseURL)
			return
		}
		p := a.replyPayload(rep)
		if keepOriginal {
			p.ResponseType = "ephemeral"
			f := false
			p.ReplaceOriginal = &f
		}
		if !a.allowedResponseURL(responseURL) {
			a.log.Warn("slack: reply not delivered: no usable response_url", "user", req.User)
			return
		}
		if err := a.postResponse(hctx, responseURL, p); err != nil {
			a.log.Warn("slack: reply not delivered", "user", req.User, "err", err)
		}
	})
}

// handle calls h, turning a panic into an internal error so no
// request can take the process down.
func (a *Adapter) handle(ctx context.Context, h bot.Handler, req bot.Request) (rep bot.Reply) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("slack: command handler panicked", "user", req.User, "panic", fmt.Sprint(p))
			rep = bot.Reply{Text: "Internal error.", Error: true}
		}
	}()
	return h.Handle(ctx, req)
}

// allowedResponseURL limits where replies are posted: Slack's hooks hosts
// over https, or the configured API host (GovSlack, tests). Anything else
// would let a forged payload make the bot POST to internal addresses.
func (a *Adapter) allowedResponseURL(raw string) bool {
	if raw == "" {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return false
	}
	switch {
	case u.Scheme == "https" && (u.Host == "hooks.slack.com" || u.Host == "hooks.slack-gov.com"):
		return true
	case u.Scheme == a.apiBase.Scheme && u.Host == a.apiBase.Host:
		return true
	}
	return false
}

// postResponse posts a reply to a response_url, retrying transient
// failures a few times. The URL is a bearer capability and is not logged.
func (a *Adapter) postResponse(ctx context.Context, responseURL string, p response) error {
	body, err := encodeJSON(p)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			if err := a.sleep(ctx, time.Duration(attempt)*time.Second); err != nil {
				return fmt.Errorf("post reply: %w (after %v)", err, last)
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("post reply: %w", err)
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp, err := a.respClient.Do(req)
		if err != nil {
			last = fmt.Errorf("post reply: %w", redactURLError(err))
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("post reply: status %s", resp.Status)
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			return last
		}
	}
	return last
}

// redactURLError drops the URL from a transport error: a response_url
// grants posting rights and does not belong in logs.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

// serveInteraction answers POST /slack/interactions: a button press runs
// the button's command on h as the presser, in the message's channel.
func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request, h bot.Handler) {
	form, ok := a.readSignedForm(w, r)
	if !ok {
		return
	}
	raw := form.Get("payload")
	if raw == "" {
		http.Error(w, "missing payload", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(raw), &cb); err != nil {
		http.Error(w, "malformed payload JSON", http.StatusBadRequest)
		return
	}
	if err := a.interact(r.Context(), h, cb); err != nil {
		http.Error(w, "malformed interaction: "+err.Error(), http.StatusBadRequest)
		return
	}
	// An empty 200 acknowledges; the reply follows at response_url.
	w.WriteHeader(http.StatusOK)
}

// interact starts the command of a pressed button on h. Other interaction
// types are acknowledged and ignored.
func (a *Adapter) interact(ctx context.Context, h bot.Handler, cb slack.InteractionCallback) error {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil
	}
	var value string
	for _, act := range cb.ActionCallback.BlockActions {
		if act != nil && act.Value != "" {
			value = act.Value
			break
		}
	}
	if value == "" {
		return nil
	}
	if len([]rune(value)) > MaxButtonValue {
		return fmt.Errorf("button value longer than %d characters", MaxButtonValue)
	}
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	req, err := commandRequest(slack.SlashCommand{UserID: cb.User.ID, ChannelID: channel, Text: value})
	if err != nil {
		return err
	}
	a.later(ctx, h, req, cb.ResponseURL, true)
	return nil
}
