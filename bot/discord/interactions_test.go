package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/discord/discordtest"
)

func TestInteractionHTTP(t *testing.T) {
	e := newEnv(t, nil)

	t.Run("ping", func(t *testing.T) {
		resp, body := e.signedPost(t, []byte(`{"id":"1","application_id":"1000","type":1,"token":"x","version":1}`))
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"type":1}` {
			t.Fatalf("got %d %s, want 200 {\"type\":1}", resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	})

	t.Run("upcoming is ephemeral", func(t *testing.T) {
		n := len(e.handler.requests())
		body := commandBody(t, 2, "alerts", "upcoming", strOpt("tag", "#japan"), strOpt("within", "30d"))
		resp, b := e.signedPost(t, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		r := decodeResponse(t, b)
		if r.Type != 4 || r.Data == nil {
			t.Fatalf("response %s, want type 4 with data", b)
		}
		if r.Data.Flags != 64 {
			t.Errorf("flags %d, want 64 (ephemeral)", r.Data.Flags)
		}
		if r.Data.Content != "ran: upcoming #japan 30d" {
			t.Errorf("content %q", r.Data.Content)
		}
		if r.Data.AllowedMentions == nil || r.Data.AllowedMentions.Parse == nil || len(r.Data.AllowedMentions.Parse) != 0 {
			t.Errorf("allowed_mentions %s, want parse: []", b)
		}
		reqs := e.handler.requests()
		if len(reqs) != n+1 {
			t.Fatalf("handler ran %d times, want 1", len(reqs)-n)
		}
		want := bot.Request{Platform: "discord", User: "discord:500", Channel: "discord:400",
			Text: "upcoming #japan 30d", Args: []string{"upcoming", "#japan", "30d"}}
		if diff := cmp.Diff(want, reqs[n]); diff != "" {
			t.Errorf("request (-want +got):\n%s", diff)
		}
	})

	t.Run("subscribe is public", func(t *testing.T) {
		resp, b := e.signedPost(t, commandBody(t, 2, "alerts", "subscribe", strOpt("target", "#budget")))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		r := decodeResponse(t, b)
		if r.Type != 4 || r.Data.Flags&64 != 0 {
			t.Fatalf("response %s, want type 4 without the ephemeral flag", b)
		}
		if r.Data.Content != "ran: subscribe #budget" {
			t.Errorf("content %q", r.Data.Content)
		}
	})

	t.Run("markdown escaped and content cut", func(t *testing.T) {
		e2 := newEnv(t, nil)
		h := &replyHandler{fakeHandler: e2.handler, reply: bot.Reply{Text: "*bold* @everyone " + strings.Repeat("長", 2500)}}
		// Serve the same adapter again, answered by h.
		mux := http.NewServeMux()
		e2.adapter.Routes(mux, h)
		e2.http = httptest.NewServer(mux)
		t.Cleanup(e2.http.Close)
		_, b := e2.signedPost(t, commandBody(t, 2, "alerts", "watchers"))
		r := decodeResponse(t, b)
		if got := runes(r.Data.Content); got != MaxContent {
			t.Errorf("content has %d runes, want %d", got, MaxContent)
		}
		if !strings.HasPrefix(r.Data.Content, `\*bold\* @everyone 長`) || !strings.HasSuffix(r.Data.Content, "長…") {
			t.Errorf("content starts %q … ends %q", r.Data.Content[:30], r.Data.Content[len(r.Data.Content)-10:])
		}
	})

	t.Run("autocomplete event id", func(t *testing.T) {
		body := commandBody(t, 4, "alerts", "event", opt{Name: "id", Type: 3, Value: "upper", Focused: true})
		_, b := e.signedPost(t, body)
		r := decodeResponse(t, b)
		if r.Type != 8 {
			t.Fatalf("type %d, want 8: %s", r.Type, b)
		}
		var got []string
		for _, c := range r.Data.Choices {
			got = append(got, c.Value)
			if c.Name != c.Value {
				t.Errorf("choice name %q value %q", c.Name, c.Value)
			}
		}
		want := []string{"upper-house-election-2025", "upper-house-results"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("choices (-want +got):\n%s", diff)
		}
	})

	t.Run("autocomplete", func(t *testing.T) {
		tests := []struct {
			command, sub, option, value string
			others                      []opt
			want                        []string
		}{
			{"alerts-admin", "watcher-run", "id", "c", nil, []string{"crs-japan"}},
			{"alerts-admin", "event-set", "id", "jp", nil, []string{"jp-fy2025-budget"}},
			{"alerts", "upcoming", "tag", "#el", nil, []string{"election"}},
			{"alerts", "subscribe", "target", "event:ish", nil, []string{"event:ishiba-trump-summit"}},
			{"alerts", "mute", "target", "#b", []opt{strOpt("duration", "1d")}, []string{"#budget"}},
			{"alerts", "unmute", "target", "watcher:", nil, []string{"watcher:deadlines", "watcher:crs-japan"}},
			{"alerts", "subscribe", "target", "", nil, []string{"all", "proposals", "#japan", "#budget", "#election", "#us",
				"event:upper-house-election-2025", "event:upper-house-results", "event:jp-fy2025-budget", "event:ishiba-trump-summit",
				"watcher:deadlines", "watcher:crs-japan"}},
			{"alerts", "subscribe", "target", "u", nil, []string{"#us", "event:upper-house-election-2025", "event:upper-house-results"}},
			{"alerts", "mute", "duration", "1", []opt{strOpt("target", "all")}, nil}, // no autocomplete on duration
			{"alerts", "event", "id", "zzz", nil, nil},
		}
		for _, tt := range tests {
			t.Run(tt.sub+"/"+tt.option+"="+tt.value, func(t *testing.T) {
				opts := append([]opt{{Name: tt.option, Type: 3, Value: tt.value, Focused: true}}, tt.others...)
				_, b := e.signedPost(t, commandBody(t, 4, tt.command, tt.sub, opts...))
				r := decodeResponse(t, b)
				if r.Type != 8 || r.Data == nil {
					t.Fatalf("response %s, want type 8", b)
				}
				var got []string
				for _, c := range r.Data.Choices {
					got = append(got, c.Value)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("choices (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("autocomplete caps at 25", func(t *testing.T) {
		e2 := newEnv(t, nil)
		for i := range 40 {
			e2.handler.ids["event"] = append(e2.handler.ids["event"], "ev-"+strings.Repeat("x", i))
		}
		_, b := e2.signedPost(t, commandBody(t, 4, "alerts", "event", opt{Name: "id", Type: 3, Value: "ev", Focused: true}))
		if r := decodeResponse(t, b); len(r.Data.Choices) != MaxChoices {
			t.Fatalf("%d choices, want %d", len(r.Data.Choices), MaxChoices)
		}
	})

	t.Run("button runs its command", func(t *testing.T) {
		n := len(e.handler.requests())
		body, _ := json.Marshal(map[string]any{
			"id": "1201", "application_id": "1000", "type": 3, "token": "btn", "channel_id": "400", "version": 1,
			"member": map[string]any{"user": map[string]any{"id": "501"}},
			"data":   map[string]any{"custom_id": "cmd:mute event:ishiba-trump-summit 1d", "component_type": 2},
		})
		_, b := e.signedPost(t, body)
		r := decodeResponse(t, b)
		if r.Type != 4 || r.Data.Flags != 64 {
			t.Fatalf("response %s, want ephemeral type 4", b)
		}
		if r.Data.Content != "ran: mute event:ishiba-trump-summit 1d" {
			t.Errorf("content %q", r.Data.Content)
		}
		reqs := e.handler.requests()
		if len(reqs) != n+1 {
			t.Fatalf("handler ran %d times", len(reqs)-n)
		}
		got := reqs[n]
		if got.User != "discord:501" || got.Channel != "discord:400" || got.Text != "mute event:ishiba-trump-summit 1d" {
			t.Errorf("request %+v", got)
		}
	})

	t.Run("slow command is deferred then followed up", func(t *testing.T) {
		body := commandBody(t, 2, "alerts-admin", "watcher-run", strOpt("id", "crs-japan"))
		_, b := e.signedPost(t, body)
		r := decodeResponse(t, b)
		if r.Type != 5 || r.Data == nil || r.Data.Flags != 64 {
			t.Fatalf("response %s, want type 5 with flags 64", b)
		}
		ctx := ctxTimeout(t)
		err := e.fake.Wait(ctx, func() bool { return len(e.fake.Followups()) > 0 })
		if err != nil {
			t.Fatal(err)
		}
		f := e.fake.Followups()[0]
		want := discordtest.Followup{Method: "PATCH", AppID: "1000", Token: "itoken-watcher-run", MessageID: "@original",
			Content: "ran: watcher run crs-japan"}
		f.Raw = nil
		if diff := cmp.Diff(want, f); diff != "" {
			t.Errorf("follow-up (-want +got):\n%s", diff)
		}
	})

	t.Run("unknown command gets help", func(t *testing.T) {
		_, b := e.signedPost(t, commandBody(t, 2, "blep", "animal"))
		if r := decodeResponse(t, b); r.Data == nil || r.Data.Content != "ran: help" {
			t.Fatalf("response %s, want the help reply", b)
		}
	})

	t.Run("missing required option", func(t *testing.T) {
		_, b := e.signedPost(t, commandBody(t, 2, "alerts", "event"))
		r := decodeResponse(t, b)
		if r.Type != 4 || !strings.Contains(r.Data.Content, "option id is required") || r.Data.Flags != 64 {
			t.Fatalf("response %s", b)
		}
	})
}

// replyHandler answers every request with a fixed reply.
type replyHandler struct {
	*fakeHandler
	reply bot.Reply
}

func (h *replyHandler) Handle(ctx context.Context, req bot.Request) bot.Reply {
	h.fakeHandler.Handle(ctx, req)
	return h.reply
}

func TestInteractionHTTPRefusals(t *testing.T) {
	e := newEnv(t, nil)
	ping := []byte(`{"type":1}`)
	tests := []struct {
		name   string
		method string
		body   []byte
		header http.Header
		want   int
	}{
		{"unsigned", http.MethodPost, ping, nil, http.StatusUnauthorized},
		{"signed by another key", http.MethodPost, ping, sign(newEnv(t, nil).priv, testNow, ping), http.StatusUnauthorized},
		{"stale", http.MethodPost, ping, sign(e.priv, testNow.Add(-6*time.Minute), ping), http.StatusUnauthorized},
		{"future", http.MethodPost, ping, sign(e.priv, testNow.Add(6*time.Minute), ping), http.StatusUnauthorized},
		{"malformed json", http.MethodPost, []byte(`{"type":`), sign(e.priv, testNow, []byte(`{"type":`)), http.StatusBadRequest},
		{"data of the wrong shape", http.MethodPost, []byte(`{"type":2,"data":[1]}`), sign(e.priv, testNow, []byte(`{"type":2,"data":[1]}`)), http.StatusBadRequest},
		{"unknown type", http.MethodPost, []byte(`{"type":99}`), sign(e.priv, testNow, []byte(`{"type":99}`)), http.StatusBadRequest},
		{"get", http.MethodGet, nil, nil, http.StatusMethodNotAllowed},
	}
	big := bytes.Repeat([]byte(" "), MaxBody+1)
	tests = append(tests, struct {
		name   string
		method string
		body   []byte
		header http.Header
		want   int
	}{"over 1 MiB", http.MethodPost, big, sign(e.priv, testNow, big), http.StatusRequestEntityTooLarge})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.http.URL+"/discord/interactions", bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := e.http.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	t.Run("chunked over 1 MiB", func(t *testing.T) {
		// No Content-Length: the limit must hold while reading.
		req, err := http.NewRequest(http.MethodPost, e.http.URL+"/discord/interactions", struct{ io.Reader }{bytes.NewReader(big)})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range sign(e.priv, testNow, big) {
			req.Header[k] = v
		}
		resp, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
	})
	if n := len(e.handler.requests()); n != 0 {
		t.Errorf("handler ran %d times for refused requests", n)
	}
}

func TestRoutesWithoutPublicKey(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicKey = "" })
	resp, _ := e.post(t, []byte(`{"type":1}`), nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404: no endpoint without a public key", resp.StatusCode)
	}
}

// TestTestdataPayloads posts the real and documented payloads, signed with
// the test key: each parses and gets the answer its type calls for.
func TestTestdataPayloads(t *testing.T) {
	dir := sharedTestdata(t, "payloads")
	e := newEnv(t, nil)
	tests := []struct {
		file       string
		wantStatus int
		wantType   int
		wantUser   string // "" when the handler does not run
		wantText   string
	}{
		{"djs_ping_type1.json", 200, 1, "", ""},
		{"ssmmiles_real_ping_signed_body.json", 200, 1, "", ""},
		{"djs_application_command_type2.json", 200, 4, "", ""}, // no user: refused politely
		{"djs_autocomplete_type4.json", 200, 8, "", ""},
		{"djs_message_component_type3.json", 200, 4, "", ""}, // not one of our buttons
		{"docs_autocomplete_interaction.json", 200, 8, "", ""},
		{"hikari_autocomplete_subcommand_focused_type4.json", 200, 8, "", ""},
		{"hikari_subcommand_with_options_type2.json", 200, 4, "discord:115590097100865541", "ran: help"},
		{"docs_slash_command_interaction_with_options.json", 200, 4, "discord:53908232506183680", "ran: help"},
		{"docs_user_command_interaction.json", 200, 4, "", "ran: help"},
		{"docs_message_command_interaction.json", 200, 4, "", "ran: help"},
		{"ssmmiles_real_application_command_guild.json", 200, 4, "discord:170531778354741248", "ran: help"},
		{"ssmmiles_real_button_component.json", 200, 4, "", "This button is no longer supported."},
		{"docs_MALFORMED_trailing_comma_localized_command.json", 400, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			n := len(e.handler.requests())
			resp, b := e.signedPost(t, body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			r := decodeResponse(t, b)
			if r.Type != tt.wantType {
				t.Fatalf("type %d, want %d: %s", r.Type, tt.wantType, b)
			}
			if tt.wantText != "" && (r.Data == nil || r.Data.Content != tt.wantText) {
				t.Errorf("response %s, want content %q", b, tt.wantText)
			}
			reqs := e.handler.requests()
			if tt.wantUser != "" {
				if len(reqs) != n+1 || reqs[n].User != tt.wantUser {
					t.Errorf("handler requests %+v, want one from %s", reqs[n:], tt.wantUser)
				}
			}
		})
	}
}

// TestHikariChannelFallback: a payload with a "channel" object but no
// channel_id still names the channel.
func TestHikariChannelFallback(t *testing.T) {
	p := sharedTestdata(t, "payloads/hikari_subcommand_with_options_type2.json")
	body, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	in, err := parseInteraction(body)
	if err != nil {
		t.Fatal(err)
	}
	if in.ChannelID != "123" {
		t.Fatalf("channel %q, want 123", in.ChannelID)
	}
	if in.Type != discordgo.InteractionApplicationCommand {
		t.Fatalf("type %v", in.Type)
	}
}

// TestRequestIDs: interaction ids become addresses only when bot.CheckID
// accepts them.
func TestRequestIDs(t *testing.T) {
	a := &Adapter{}
	tests := []struct {
		name          string
		in            discordgo.Interaction
		user, channel string
	}{
		{"guild", discordgo.Interaction{ChannelID: "400", Member: &discordgo.Member{User: &discordgo.User{ID: "500"}}}, "discord:500", "discord:400"},
		{"direct message", discordgo.Interaction{ChannelID: "401", User: &discordgo.User{ID: "501"}}, "discord:501", "discord:401"},
		{"not snowflakes", discordgo.Interaction{ChannelID: "400/../1", Member: &discordgo.Member{User: &discordgo.User{ID: "500:x"}}}, "", ""},
		{"no ids", discordgo.Interaction{}, "", ""},
	}
	for _, tt := range tests {
		req := a.request(&tt.in)
		if req.Platform != "discord" || req.User != tt.user || req.Channel != tt.channel {
			t.Errorf("%s: request %+v, want user %q channel %q", tt.name, req, tt.user, tt.channel)
		}
	}
}
