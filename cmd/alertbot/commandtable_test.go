package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/discord"
	"github.com/policyteam/alertbot/bot/slack"
)

// TestOneCommandTable fails when a command exists in one place and not in
// the others: the router, help, Discord's commands and Slack's manifest
// all come from the table the platforms are given.
func TestOneCommandTable(t *testing.T) {
	specs := commandSpecs()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)
	tb := newTestBot(t, "", now)

	// The router dispatches on the same table (NewRouter fails when a
	// command has no handler or a handler no command).
	if diff := cmp.Diff(specs, tb.router.Commands()); diff != "" {
		t.Fatalf("router table differs from the platforms' (-platforms +router):\n%s", diff)
	}

	// Help shows an admin every command.
	help := tb.run(t, admin, channel, "help").Text
	for _, s := range specs {
		if !strings.Contains(help, "/alerts "+s.Usage()) {
			t.Errorf("%q: not in an admin's help:\n%s", s.Name, help)
		}
	}

	// Slack's usage hint lists every command everyone may use, from the
	// table.
	data, err := slack.Manifest("", true, specs)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct {
				Description string `yaml:"description"`
				UsageHint   string `yaml:"usage_hint"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	hint := strings.Split(m.Features.SlashCommands[0].UsageHint, " | ")
	for _, s := range specs {
		if in := strings.Contains("|"+strings.Join(hint, "|")+"|", "|"+s.Usage()+"|"); in == s.Admin {
			t.Errorf("%q (admin %v): in Slack's usage hint %v", s.Name, s.Admin, in)
		}
	}
	if got := m.Features.SlashCommands[0].Description; got != bot.CommandDescription {
		t.Errorf("Slack description %q, want %q", got, bot.CommandDescription)
	}

	// Every command is a Discord subcommand under the right command…
	cmds := discord.Commands(specs)
	subs := map[string]*discordgo.ApplicationCommandOption{}
	for _, c := range cmds {
		for _, s := range c.Options {
			subs[c.Name+" "+s.Name] = s
		}
	}
	for _, s := range specs {
		want := discord.CommandName(s) + " " + discord.SubcommandName(s)
		if s.Admin != (discord.CommandName(s) == discord.CommandAdmin) {
			t.Errorf("%q: admin %v but under /%s", s.Name, s.Admin, discord.CommandName(s))
		}
		if subs[want] == nil {
			t.Errorf("%q: no Discord subcommand /%s", s.Name, want)
		}
	}
	if len(subs) != len(specs) {
		t.Errorf("%d Discord subcommands for %d commands", len(subs), len(specs))
	}

	// …and every Discord subcommand, sent as an interaction to the
	// adapter, runs the router command it was built from.
	rec := &recordingHandler{Router: tb.router}
	post := discordEndpoint(t, specs, rec, now)
	for _, c := range cmds {
		for _, s := range c.Options {
			before := len(rec.requests())
			post(discordCommand(t, c.Name, s))
			reqs := rec.requests()
			if len(reqs) != before+1 {
				t.Errorf("/%s %s: the router did not run", c.Name, s.Name)
				continue
			}
			got := reqs[before]
			spec, _, ok := bot.FindCommand(tb.router.Commands(), got.req.Args)
			if !ok || discord.CommandName(spec) != c.Name || discord.SubcommandName(spec) != s.Name {
				t.Errorf("/%s %s: the router read %q as %q", c.Name, s.Name, got.req.Text, spec.Name)
			}
			if strings.Contains(got.reply.Text, "Unknown command") {
				t.Errorf("/%s %s: reply %q", c.Name, s.Name, got.reply.Text)
			}
		}
	}
}

// recordingHandler runs the router and records what it was asked; it
// answers at once, so no follow-up goes to Discord.
type recordingHandler struct {
	*bot.Router
	mu  sync.Mutex
	got []handled
}

type handled struct {
	req   bot.Request
	reply bot.Reply
}

func (h *recordingHandler) Handle(ctx context.Context, req bot.Request) bot.Reply {
	reply := h.Router.Handle(ctx, req)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, handled{req, reply})
	return reply
}

func (h *recordingHandler) Slow(bot.Request) bool { return false }

func (h *recordingHandler) requests() []handled {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]handled(nil), h.got...)
}

// discordEndpoint serves a Discord adapter's interactions endpoint with
// specs and h, and returns a function that posts a signed interaction.
func discordEndpoint(t *testing.T, specs []bot.CommandSpec, h bot.Handler, now time.Time) func(body []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a, err := discord.New(discord.Config{BotToken: "table-test", AppID: "1", PublicKey: hex.EncodeToString(pub),
		APIURL: "http://127.0.0.1:1", Commands: specs, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return func(body []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/discord/interactions", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range discordHeader(priv, now, body) {
			req.Header[k] = v
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("interaction: status %d", resp.StatusCode)
		}
	}
}

// discordCommand is an interaction of /command sub with every required
// option set to a value the option accepts.
func discordCommand(t *testing.T, command string, sub *discordgo.ApplicationCommandOption) []byte {
	t.Helper()
	var opts []discordOption
	for _, o := range sub.Options {
		if !o.Required {
			continue
		}
		var v any = "x"
		switch {
		case len(o.Choices) > 0:
			v = o.Choices[0].Value
		case o.Type == discordgo.ApplicationCommandOptionInteger:
			v = 1
		}
		opts = append(opts, discordOption{Name: o.Name, Type: int(o.Type), Value: v})
	}
	body, err := json.Marshal(map[string]any{
		"id": "1300000000000000001", "application_id": "1", "type": 2, "token": "table-test", "version": 1,
		"guild_id": "1200000000000000002", "channel_id": "1200000000000000100",
		"member": map[string]any{"user": map[string]any{"id": "1200000000000000777"}},
		"data": map[string]any{"id": "1200000000000000003", "name": command, "type": 1,
			"options": []discordOption{{Name: sub.Name, Type: 1, Options: opts}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}
