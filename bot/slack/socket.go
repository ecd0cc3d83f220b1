package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/policyteam/alertbot/bot"
)

// maxSocketWorkers bounds the commands answered at once in Socket Mode.
const maxSocketWorkers = 32

// socketAckBudget keeps an ack frame below MaxSocketModeResponse with room
// for the envelope around the payload.
const socketAckBudget = MaxSocketModeResponse - 1024

// runSocketMode connects over Socket Mode and answers envelopes with h
// until ctx is cancelled. slack-go reconnects by itself on disconnect envelopes and
// dropped connections; it gives up only on fatal auth errors.
func (a *Adapter) runSocketMode(ctx context.Context, h bot.Handler) error {
	api := slack.New(a.botToken,
		slack.OptionAPIURL(a.apiURL),
		slack.OptionAppLevelToken(a.appToken),
		slack.OptionHTTPClient(a.httpClient),
		slack.OptionLog(slogWriter{a.log}),
	)
	client := socketmode.New(api, socketmode.OptionLog(slogWriter{a.log}))

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- client.RunContext(runCtx) }()

	sem := make(chan struct{}, maxSocketWorkers)
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-runErr
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack: socket mode: %w", err)
		case evt := <-client.Events:
			a.socketEvent(ctx, h, client, evt, sem)
		}
	}
}

// socketEvent handles one Socket Mode event without blocking the loop that
// drains client.Events.
func (a *Adapter) socketEvent(ctx context.Context, h bot.Handler, client *socketmode.Client, evt socketmode.Event, sem chan struct{}) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.log.Debug("slack: socket mode connecting")
	case socketmode.EventTypeConnected:
		a.log.Info("slack: socket mode connected")
	case socketmode.EventTypeHello:
		a.log.Debug("slack: socket mode hello")
	case socketmode.EventTypeConnectionError:
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			a.log.Warn("slack: socket mode connection failed", "attempt", ce.Attempt, "backoff", ce.Backoff, "err", ce.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth:
		a.log.Error("slack: socket mode: the app token was refused")
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		a.log.Warn("slack: socket mode error", "type", string(evt.Type))
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		envelope := evt.Request.EnvelopeID
		a.spawn(ctx, sem, func() {
			var payload any
			req, err := commandRequest(cmd)
			if err != nil {
				a.log.Warn("slack: socket mode: malformed slash command", "err", err)
			} else {
				payload = fitSocketPayload(a.log, a.answer(ctx, h, req, cmd.ResponseURL))
			}
			a.ack(ctx, client, envelope, payload)
		})
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return
		}
		a.ack(ctx, client, evt.Request.EnvelopeID, nil)
		if cb, ok := evt.Data.(slack.InteractionCallback); ok {
			if err := a.interact(ctx, h, cb); err != nil {
				a.log.Warn("slack: socket mode: malformed interaction", "err", err)
			}
		}
	default:
		// events_api and anything new: acknowledge so Slack does not retry.
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			a.ack(ctx, client, evt.Request.EnvelopeID, nil)
		}
	}
}

// spawn runs f on a worker, waiting for a free one (or ctx).
func (a *Adapter) spawn(ctx context.Context, sem chan struct{}, f func()) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	a.bg.Go(func() {
		defer func() { <-sem }()
		f()
	})
}

// ack acknowledges an envelope. An ack later than Slack's 3 s is useless,
// so it is not queued for longer.
func (a *Adapter) ack(ctx context.Context, client *socketmode.Client, envelope string, payload any) {
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := client.AckCtx(actx, envelope, payload); err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("slack: socket mode ack failed", "envelope", envelope, "err", err)
	}
}

// fitSocketPayload cuts the reply text until the payload, as slack-go will
// marshal it, fits a Socket Mode frame. Trial cuts are not logged; the one
// kept is.
func fitSocketPayload(log *slog.Logger, p response) response {
	if b, err := json.Marshal(p); len(p.Blocks) > 0 && (err != nil || len(b) > socketAckBudget) {
		// The blocks repeat the text: without them the text, which says
		// how to go on, has the room.
		log.Warn("slack: socket mode reply sent without its buttons to fit a frame", "limit", socketAckBudget)
		p.Blocks = nil
	}
	text, keep := p.Text, -1
	for i := 0; ; i++ {
		b, err := json.Marshal(p)
		if err != nil || len(b) <= socketAckBudget {
			break
		}
		if i == 8 {
			// Still too large: fall back to a length that fits whatever
			// the characters are.
			keep = socketAckBudget / 8
			break
		}
		// Shrink in proportion to the overshoot, with a margin for
		// multi-byte and escaped characters.
		keep = utf8.RuneCountInString(p.Text) * socketAckBudget / len(b) * 9 / 10
		p.Text = cutEscaped(nil, "", text, keep)
	}
	if keep >= 0 {
		p.Text = cutEscaped(log, "socket mode reply", text, keep)
	}
	return p
}
