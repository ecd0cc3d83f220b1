package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

type socketEnv struct {
	a    *Adapter
	h    *fakeHandler
	fake *slacktest.Server
	ctx  context.Context
	done chan error
}

func newSocketEnv(t *testing.T, h *fakeHandler) *socketEnv {
	t.Helper()
	fake := slacktest.NewServer()
	log, buf := testLogger()
	a, err := New(Config{BotToken: testToken, AppToken: "xapp-1-A1-secret", APIURL: fake.URL, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, h) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after cancel")
		}
		cancel()
		fake.Close()
		for _, s := range []string{testToken, "xapp-1-A1-secret"} {
			if strings.Contains(buf.String(), s) {
				t.Errorf("token %q logged", s)
			}
		}
	})
	if err := fake.WaitHellos(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return &socketEnv{a: a, h: h, fake: fake, ctx: ctx, done: done}
}

func ackReply(t *testing.T, ack slacktest.Ack) response {
	t.Helper()
	var r response
	if err := json.Unmarshal(ack.Payload, &r); err != nil {
		t.Fatalf("ack payload %s: %v", ack.Payload, err)
	}
	return r
}

func TestSocketModeSlashCommandAndReconnect(t *testing.T) {
	h := &fakeHandler{reply: func(req bot.Request) bot.Reply {
		return bot.Reply{Text: "next: <budget> & " + req.Text, Public: strings.HasPrefix(req.Text, "subscribe")}
	}}
	e := newSocketEnv(t, h)
	err := e.fake.SendSlashCommand(e.ctx, "env-1", map[string]string{
		"user_id": "U0ADMIN1", "channel_id": "C0123ABCD", "command": "/alerts", "text": "upcoming",
		"response_url": e.fake.ResponseURL("sm1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := e.fake.WaitAck(e.ctx, "env-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := ackReply(t, ack); got.ResponseType != "ephemeral" || got.Text != "next: &lt;budget&gt; &amp; upcoming" {
		t.Errorf("ack payload %+v", got)
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].User != "slack:U0ADMIN1" || reqs[0].Channel != "slack:C0123ABCD" || reqs[0].Platform != "slack" {
		t.Fatalf("requests %+v", reqs)
	}

	// Slack recycles the connection: the client opens a new one by itself.
	if err := e.fake.Disconnect(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.WaitHellos(e.ctx, 2); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Connections(); n < 2 {
		t.Errorf("%d apps.connections.open calls, want 2", n)
	}
	err = e.fake.SendSlashCommand(e.ctx, "env-2", map[string]string{
		"user_id": "U1", "channel_id": "C1", "text": "subscribe #budget", "response_url": e.fake.ResponseURL("sm2")})
	if err != nil {
		t.Fatal(err)
	}
	ack, err = e.fake.WaitAck(e.ctx, "env-2")
	if err != nil {
		t.Fatal(err)
	}
	if got := ackReply(t, ack); got.ResponseType != "in_channel" {
		t.Errorf("after reconnect: ack %+v", got)
	}
}

func TestSocketModeSlowAndButtons(t *testing.T) {
	gate := make(chan struct{})
	h := &fakeHandler{gate: gate}
	e := newSocketEnv(t, h)
	err := e.fake.SendSlashCommand(e.ctx, "slow-1", map[string]string{
		"user_id": "U1", "channel_id": "C1", "text": "watcher run crs", "response_url": e.fake.ResponseURL("slow")})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := e.fake.WaitAck(e.ctx, "slow-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := ackReply(t, ack); got.Text != workingText {
		t.Errorf("slow ack %+v", got)
	}
	close(gate)
	if _, err := e.fake.WaitResponses(e.ctx, 1); err != nil {
		t.Fatal(err)
	}

	// A button press arrives as an interactive envelope.
	payload := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U0PRESSER"},
		"channel": map[string]any{"id": "C0CHAN"}, "container": map[string]any{"type": "message", "channel_id": "C0CHAN"},
		"response_url": e.fake.ResponseURL("btn"),
		"actions":      []map[string]any{{"action_id": "alertbot_button_0", "block_id": "b", "type": "button", "value": "mute tag:budget 1d"}},
	}
	if err := e.fake.Send(e.ctx, map[string]any{"envelope_id": "btn-1", "type": "interactive", "accepts_response_payload": false, "payload": payload}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.WaitAck(e.ctx, "btn-1"); err != nil {
		t.Fatal(err)
	}
	rs, err := e.fake.WaitResponses(e.ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	var btn *slacktest.Response
	for i := range rs {
		if rs[i].ID == "btn" {
			btn = &rs[i]
		}
	}
	if btn == nil || btn.Text != "ok: mute tag:budget 1d" || btn.ResponseType != "ephemeral" {
		t.Fatalf("button reply %+v", btn)
	}
	found := false
	for _, r := range h.requests() {
		if r.Text == "mute tag:budget 1d" && r.User == "slack:U0PRESSER" && r.Channel == "slack:C0CHAN" {
			found = true
		}
	}
	if !found {
		t.Errorf("button command not run as the presser in the channel: %+v", h.requests())
	}
}

// TestSocketModeRecordedEnvelopes replays envelopes captured from
// python-slack-sdk's mock server, including a 67 KB block_actions frame.
func TestSocketModeRecordedEnvelopes(t *testing.T) {
	slash := readShared(t, "slack", "payloads", "socketmode_pyslacksdk_1_slash_commands.json")
	large := readShared(t, "slack", "payloads", "socketmode_pyslacksdk_5_interactive_block_actions_large.json")
	mention := readShared(t, "slack", "payloads", "socketmode_pyslacksdk_2_events_api_app_mention.json")
	h := &fakeHandler{}
	e := newSocketEnv(t, h)
	for _, raw := range [][]byte{slash, large, mention} {
		var env struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		if err := e.fake.Send(e.ctx, json.RawMessage(raw)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.fake.WaitAck(e.ctx, env.EnvelopeID); err != nil {
			t.Fatal(err)
		}
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].User != "slack:U111" || reqs[0].Channel != "slack:C111" {
		t.Errorf("requests %+v, want only the slash command", reqs)
	}
}

func TestSocketModeAckFitsFrame(t *testing.T) {
	h := &fakeHandler{reply: func(bot.Request) bot.Reply { return bot.Reply{Text: strings.Repeat("日米&", 20000)} }}
	e := newSocketEnv(t, h)
	if err := e.fake.SendSlashCommand(e.ctx, "big", map[string]string{"user_id": "U1", "channel_id": "C1", "text": "upcoming"}); err != nil {
		t.Fatal(err)
	}
	ack, err := e.fake.WaitAck(e.ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	frame, _ := json.Marshal(ack)
	if len(frame) >= MaxSocketModeResponse {
		t.Errorf("ack frame %d bytes, limit %d", len(frame), MaxSocketModeResponse)
	}
	got := ackReply(t, ack)
	if !strings.HasSuffix(got.Text, "…") || len(got.Text) < 5000 {
		t.Errorf("reply cut to %d bytes, ending %q", len(got.Text), got.Text[len(got.Text)-6:])
	}
}

func TestSocketModeBadAppToken(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	// The fake refuses tokens that are not xapp-…, as Slack does; New
	// already refuses those, so go around it to reach the server.
	a, err := New(Config{BotToken: testToken, AppToken: "xapp-ok", APIURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	a.appToken = "bad"
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = a.Run(ctx, &fakeHandler{})
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("Run = %v, want an invalid_auth error", err)
	}
}

func TestRunWithoutAppTokenWaits(t *testing.T) {
	a, err := New(Config{BotToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	select {
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v after cancel, want nil", err)
	}
}
