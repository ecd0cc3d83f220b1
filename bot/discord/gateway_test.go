package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// TestGateway runs the gateway against the fake: HELLO, IDENTIFY, READY,
// then INTERACTION_CREATE dispatches answered through the callback
// endpoint by the same handler as the HTTP endpoint.
func TestGateway(t *testing.T) {
	for _, override := range []bool{false, true} {
		name := "url from GET /gateway"
		if override {
			name = "GatewayURL override"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				c.Gateway = true
				c.PublicKey = ""
			})
			if override {
				// Rebuild with the override; the fake's REST lookup must
				// then not be used.
				a, err := New(Config{BotToken: "test-token", AppID: "1000", APIURL: e.fake.URL,
					Logger: testLogger(t), Now: func() time.Time { return testNow }, Gateway: true, GatewayURL: e.fake.GatewayURL(), Commands: testSpecs})
				if err != nil {
					t.Fatal(err)
				}
				e.adapter = a
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- e.adapter.Run(runCtx, e.handler) }()

			if err := e.fake.Wait(ctx, func() bool { return e.fake.Ready() == 1 }); err != nil {
				t.Fatalf("gateway never became ready: %v", err)
			}
			ids := e.fake.Identifies()
			if len(ids) != 1 || ids[0].Token != "Bot test-token" || ids[0].Intents != int(discordgo.IntentsGuilds) {
				t.Fatalf("identify %+v, want the bot token and guilds intent only", ids)
			}
			lookups := 0
			for _, r := range e.fake.Requests() {
				if r.Path == "/api/v9/gateway" {
					lookups++
				}
			}
			if want := map[bool]int{false: 1, true: 0}[override]; lookups != want {
				t.Errorf("%d gateway lookups on the fake, want %d", lookups, want)
			}

			dispatch := func(id, token string, data any) {
				t.Helper()
				in := map[string]any{
					"id": id, "application_id": "1000", "type": 2, "token": token,
					"guild_id": "300", "channel_id": "400", "version": 1,
					"member": map[string]any{"user": map[string]any{"id": "500"}},
					"data":   data,
				}
				n, err := e.fake.Dispatch("INTERACTION_CREATE", in)
				if err != nil || n != 1 {
					t.Fatalf("dispatch reached %d clients: %v", n, err)
				}
			}
			dispatch("2001", "gw-token", map[string]any{"id": "9", "name": "alerts", "type": 1,
				"options": []opt{{Name: "upcoming", Type: 1, Options: []opt{strOpt("within", "7d")}}}})
			if err := e.fake.Wait(ctx, func() bool { return len(e.fake.Callbacks()) == 1 }); err != nil {
				t.Fatalf("no callback: %v", err)
			}
			cb := e.fake.Callbacks()[0]
			if cb.InteractionID != "2001" || cb.Token != "gw-token" {
				t.Errorf("callback for %s/%s", cb.InteractionID, cb.Token)
			}
			if cb.Response.Type != discordgo.InteractionResponseChannelMessageWithSource || cb.Response.Data == nil ||
				cb.Response.Data.Content != "ran: upcoming 7d" || cb.Response.Data.Flags != discordgo.MessageFlagsEphemeral {
				raw, _ := json.Marshal(cb.Response)
				t.Errorf("callback response %s", raw)
			}
			reqs := e.handler.requests()
			if len(reqs) != 1 || reqs[0].User != "discord:500" || reqs[0].Channel != "discord:400" || reqs[0].Platform != "discord" {
				t.Errorf("handler requests %+v", reqs)
			}

			// A slow command over the gateway: deferred callback, then the
			// answer as an edit of the original response.
			dispatch("2002", "gw-slow", map[string]any{"id": "9", "name": "alerts-admin", "type": 1,
				"options": []opt{{Name: "watcher-run", Type: 1, Options: []opt{strOpt("id", "crs-japan")}}}})
			if err := e.fake.Wait(ctx, func() bool { return len(e.fake.Followups()) == 1 }); err != nil {
				t.Fatalf("no follow-up: %v", err)
			}
			if cbs := e.fake.Callbacks(); len(cbs) != 2 || cbs[1].Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
				t.Errorf("callbacks %+v, want a deferred second one", cbs)
			}
			if f := e.fake.Followups()[0]; f.Token != "gw-slow" || f.MessageID != "@original" || f.Content != "ran: watcher run crs-japan" {
				t.Errorf("follow-up %+v", f)
			}

			stop()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-ctx.Done():
				t.Fatal("Run did not return after cancel")
			}
		})
	}
}

// TestRunWithoutGateway returns nil once its context ends.
func TestRunWithoutGateway(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.adapter.Run(ctx, e.handler) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("Run without gateway made %d requests", n)
	}
}

// TestRunGatewayUnreachable reports the failure instead of hanging.
func TestRunGatewayUnreachable(t *testing.T) {
	// Nothing listens on port 1 of loopback.
	e := newEnv(t, func(c *Config) { c.Gateway = true; c.GatewayURL = "ws://127.0.0.1:1/gateway" })
	err := e.adapter.Run(ctxTimeout(t), e.handler)
	if err == nil {
		t.Fatal("Run succeeded without a gateway")
	}
}

// TestStartWithoutHandler: an adapter that would answer interactions
// refuses to start without a handler, rather than failing at the first
// interaction.
func TestStartWithoutHandler(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Gateway = true })
	func() {
		defer func() {
			if p := recover(); p != errNoHandler {
				t.Errorf("Routes with a nil handler: panic %v, want %v", p, errNoHandler)
			}
		}()
		e.adapter.Routes(http.NewServeMux(), nil)
	}()
	if err := e.adapter.Run(ctxTimeout(t), nil); !errors.Is(err, errNoHandler) {
		t.Errorf("Run with a nil handler: %v, want %v", err, errNoHandler)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("Run without a handler made %d requests", n)
	}
}

// TestRunGatewayTerms: an adapter whose gateway belongs to the leader
// (Gateway off, RunGateway per term) holds no session until a term
// starts, closes it when the term ends, and opens a fresh one (a new
// IDENTIFY, not a resume of the closed session) for the next term, which
// answers interactions again.
func TestRunGatewayTerms(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicKey = "" })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- e.adapter.Run(runCtx, e.handler) }()
	time.Sleep(50 * time.Millisecond)
	if n := len(e.fake.Identifies()); n != 0 {
		t.Fatalf("%d identifies before any term", n)
	}
	for term := 1; term <= 2; term++ {
		termCtx, end := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.adapter.RunGateway(termCtx, e.handler) }()
		if err := e.fake.Wait(ctx, func() bool { return e.fake.Ready() == 1 }); err != nil {
			t.Fatalf("term %d: gateway never became ready: %v", term, err)
		}
		if n := len(e.fake.Identifies()); n != term {
			t.Errorf("term %d: %d identifies, want %d", term, n, term)
		}
		in := map[string]any{
			"id": fmt.Sprint(3000 + term), "application_id": "1000", "type": 2, "token": "tok",
			"guild_id": "300", "channel_id": "400", "version": 1,
			"member": map[string]any{"user": map[string]any{"id": "500"}},
			"data": map[string]any{"id": "9", "name": "alerts", "type": 1,
				"options": []opt{{Name: "upcoming", Type: 1, Options: []opt{strOpt("within", "7d")}}}},
		}
		if n, err := e.fake.Dispatch("INTERACTION_CREATE", in); err != nil || n != 1 {
			t.Fatalf("term %d: dispatch reached %d sessions: %v", term, n, err)
		}
		if err := e.fake.Wait(ctx, func() bool { return len(e.fake.Callbacks()) == term }); err != nil {
			t.Fatalf("term %d: interaction not answered: %v", term, err)
		}
		end()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("term %d: RunGateway: %v", term, err)
			}
		case <-ctx.Done():
			t.Fatalf("term %d: RunGateway did not return after its term ended", term)
		}
		if err := e.fake.Wait(ctx, func() bool { return e.fake.Ready() == 0 }); err != nil {
			t.Fatalf("term %d: session still open after the term: %v", term, err)
		}
	}
	stopRun()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
}
