package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/discord/discordtest"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/store"
)

// These tests run the whole program (Main.Run "serve") against the fake
// Discord of bot/discord/discordtest: interactions signed with a key the
// test generates, REST and the gateway pointed at the fake by
// DISCORD_API_URL.

const (
	e2eDiscordToken = "discord-e2e-bot-token"
	e2eDiscordApp   = "1200000000000000001"
	e2eDiscordAdmin = "80351110224678912" // in e2eConfig's admins
	e2eDiscordUser  = "1200000000000000777"
	e2eDiscordChan  = "1200000000000000100"
)

// discordE2E is one Discord end-to-end setup.
type discordE2E struct {
	ctx  context.Context
	fake *discordtest.Server
	priv ed25519.PrivateKey
	clk  *e2eClock
	srv  *e2eServer
	db   string
	ids  atomic.Int64
}

// discordEnv is Discord with the HTTP interactions endpoint and the gateway
// against fake.
func discordEnv(fake *discordtest.Server, pub ed25519.PublicKey) map[string]string {
	return map[string]string{
		"DISCORD_BOT_TOKEN":  e2eDiscordToken,
		"DISCORD_APP_ID":     e2eDiscordApp,
		"DISCORD_PUBLIC_KEY": hex.EncodeToString(pub),
		"DISCORD_API_URL":    fake.URL,
	}
}

// newDiscordE2E starts the program with Discord, plus Slack against
// slackFake when that is not nil.
func newDiscordE2E(t *testing.T, slackFake *slacktest.Server) *discordE2E {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
	t.Cleanup(cancel)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fake := discordtest.NewServer()
	t.Cleanup(fake.Close)
	clk := &e2eClock{}
	cfg := filepath.Join(dir, "alertbot.yaml")
	writeFile(t, cfg, e2eConfig(clk.Now()))
	db := filepath.Join(dir, "alertbot.db")
	env := discordEnv(fake, pub)
	secrets := []string{e2eDiscordToken}
	if slackFake != nil {
		for k, v := range slackEnv(slackFake) {
			env[k] = v
		}
		secrets = append(secrets, e2eSlackToken, e2eSlackSecret)
	}
	srv := startServe(t, cfg, db, env, clk, secrets...)
	return &discordE2E{ctx: ctx, fake: fake, priv: priv, clk: clk, srv: srv, db: db}
}

// discordOption is an interaction option as Discord sends it.
type discordOption struct {
	Name    string          `json:"name"`
	Type    int             `json:"type"`
	Value   any             `json:"value,omitempty"`
	Focused bool            `json:"focused,omitempty"`
	Options []discordOption `json:"options,omitempty"`
}

// discordStr is a string option.
func discordStr(name, value string) discordOption {
	return discordOption{Name: name, Type: 3, Value: value}
}

// interaction builds an application command (type 2) or autocomplete
// (type 4) interaction of /command sub with opts, from user in channel.
func (e *discordE2E) interaction(t *testing.T, typ int, command, sub, user, channel string, opts ...discordOption) []byte {
	id := e.ids.Add(1)
	raw, err := json.Marshal(map[string]any{
		"id":             strconv.FormatInt(1300000000000000000+id, 10),
		"application_id": e2eDiscordApp,
		"type":           typ,
		"token":          "interaction-token-" + strconv.FormatInt(id, 10),
		"version":        1,
		"guild_id":       "1200000000000000002",
		"channel_id":     channel,
		"member":         map[string]any{"user": map[string]any{"id": user, "username": "member"}, "roles": []string{}},
		"data": map[string]any{
			"id": "1200000000000000003", "name": command, "type": 1,
			"options": []discordOption{{Name: sub, Type: 1, Options: opts}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// discordHeader signs body with priv at now.
func discordHeader(priv ed25519.PrivateKey, now time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("X-Signature-Timestamp", ts)
	h.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(priv, append([]byte(ts), body...))))
	return h
}

// discordResponse is the part of an interaction response checked here.
type discordResponse struct {
	Type int `json:"type"`
	Data struct {
		Content string `json:"content"`
		Flags   int    `json:"flags"`
		Choices []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"choices"`
	} `json:"data"`
}

// interact posts a signed interaction and decodes the 200 response.
func (e *discordE2E) interact(t *testing.T, body []byte) discordResponse {
	t.Helper()
	status, data := e.srv.post(t, e.ctx, "/discord/interactions", "application/json", body, discordHeader(e.priv, e.clk.Now(), body))
	if status != http.StatusOK {
		t.Fatalf("interaction: status %d: %s", status, data)
	}
	var r discordResponse
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("interaction response is not JSON: %v: %s", err, data)
	}
	return r
}

// discordEphemeral is the flag of a reply only the caller sees.
const discordEphemeral = 64

// TestDiscordPingEndToEnd: a signed PING gets PONG as JSON; unsigned,
// wrongly signed, stale and tampered requests get 401.
func TestDiscordPingEndToEnd(t *testing.T) {
	e := newDiscordE2E(t, nil)
	ping := []byte(`{"id":"1300000000000000001","application_id":"` + e2eDiscordApp + `","type":1,"token":"tok","version":1}`)
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, "http://"+e.srv.addr+"/discord/interactions", strings.NewReader(string(ping)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = discordHeader(e.priv, e.clk.Now(), ping)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e2eHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pong map[string]any
	err = json.NewDecoder(resp.Body).Decode(&pong)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || pong["type"] != float64(1) ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("PING: status %d, content type %q, body %v, err %v", resp.StatusCode, resp.Header.Get("Content-Type"), pong, err)
	}

	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clk.Now()
	cases := []struct {
		name   string
		body   []byte
		header http.Header
	}{
		{"unsigned", ping, nil},
		{"wrong key", ping, discordHeader(otherKey, now, ping)},
		{"stale timestamp", ping, discordHeader(e.priv, now.Add(-6*time.Minute), ping)},
		{"tampered body", []byte(strings.Replace(string(ping), `"type":1`, `"type":2`, 1)), discordHeader(e.priv, now, ping)},
	}
	for _, c := range cases {
		status, data := e.srv.post(t, e.ctx, "/discord/interactions", "application/json", c.body, c.header)
		if status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401: %s", c.name, status, data)
		}
	}
}

// TestDiscordUpcomingEndToEnd: /alerts upcoming over the HTTP endpoint gets
// an ephemeral type-4 reply listing the events; the same command over the
// gateway is answered at the fake's callback endpoint.
func TestDiscordUpcomingEndToEnd(t *testing.T) {
	e := newDiscordE2E(t, nil)
	r := e.interact(t, e.interaction(t, 2, "alerts", "upcoming", e2eDiscordUser, e2eDiscordChan, discordStr("within", "400d")))
	if r.Type != 4 || r.Data.Flags&discordEphemeral == 0 {
		t.Errorf("upcoming: type %d flags %d, want 4 and ephemeral", r.Type, r.Data.Flags)
	}
	for _, want := range []string{e2eBudgetTitle, e2eSummitTitle, e2eLaterTitle} {
		if !strings.Contains(r.Data.Content, want) {
			t.Errorf("upcoming reply lacks %q:\n%s", want, r.Data.Content)
		}
	}

	// The gateway session of the same process answers INTERACTION_CREATE.
	if err := e.fake.Wait(e.ctx, func() bool { return e.fake.Ready() > 0 }); err != nil {
		t.Fatalf("gateway never connected: %v", err)
	}
	var in map[string]any
	if err := json.Unmarshal(e.interaction(t, 2, "alerts", "upcoming", e2eDiscordUser, e2eDiscordChan, discordStr("tag", "election"), discordStr("within", "400d")), &in); err != nil {
		t.Fatal(err)
	}
	if n, err := e.fake.Dispatch("INTERACTION_CREATE", in); err != nil || n != 1 {
		t.Fatalf("dispatch: %d clients, %v", n, err)
	}
	if err := e.fake.Wait(e.ctx, func() bool { return len(e.fake.Callbacks()) > 0 }); err != nil {
		t.Fatal(err)
	}
	cb := e.fake.Callbacks()[0]
	if cb.InteractionID != in["id"] || cb.Response.Data == nil || cb.Response.Data.Flags&discordEphemeral == 0 ||
		!strings.Contains(cb.Response.Data.Content, e2eLaterTitle) || strings.Contains(cb.Response.Data.Content, e2eBudgetTitle) {
		t.Errorf("gateway callback: %s", cb.Raw)
	}
	for _, id := range e.fake.Identifies() {
		if !strings.HasSuffix(id.Token, e2eDiscordToken) {
			t.Errorf("gateway identified with another token")
		}
	}
}

// TestDiscordSubscribeThenAlertOnce: /alerts subscribe #budget from a
// channel is answered publicly; the budget reminder then reaches that
// channel exactly once, with nonce and enforce_nonce, and the message id is
// stored with the delivery.
func TestDiscordSubscribeThenAlertOnce(t *testing.T) {
	e := newDiscordE2E(t, nil)
	r := e.interact(t, e.interaction(t, 2, "alerts", "subscribe", e2eDiscordUser, e2eDiscordChan, discordStr("target", "#budget")))
	if r.Type != 4 || r.Data.Flags&discordEphemeral != 0 || !strings.Contains(r.Data.Content, "budget") {
		t.Fatalf("subscribe: %+v", r)
	}
	e.clk.Advance(time.Hour + time.Minute) // the 2h reminders come due
	if _, err := e.fake.WaitMessages(e.ctx, e2eDiscordChan, 1); err != nil {
		t.Fatal(err)
	}
	e.srv.waitChecks(t, e.ctx, 2)
	msgs := e.fake.Messages(e2eDiscordChan)
	if len(msgs) != 1 {
		t.Fatalf("channel got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if len(m.Embeds) == 0 || m.Embeds[0].Title != e2eBudgetTitle {
		t.Errorf("message embeds: %s", m.Raw)
	}
	if m.Nonce == "" || len(m.Nonce) > 25 || !m.EnforceNonce {
		t.Errorf("nonce %q enforce_nonce %v", m.Nonce, m.EnforceNonce)
	}
	if m.AllowedMentions == nil || len(m.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions %+v, want parse: []", m.AllowedMentions)
	}

	e.srv.stop(t)
	db, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	items, err := db.ChannelHistory(context.Background(), "discord:"+e2eDiscordChan, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Delivery.State != bot.DeliverySent || items[0].Delivery.MessageID != m.ID {
		t.Fatalf("stored history %+v, want one sent delivery with message id %s", items, m.ID)
	}
	if want := bot.Nonce(items[0].Delivery.ID); m.Nonce != want {
		t.Errorf("nonce %q, want %q from delivery %d", m.Nonce, want, items[0].Delivery.ID)
	}
}

// TestDiscordAdminRefusedAndAudited: /alerts-admin event-remove from a user
// not in admins is refused and the attempt is in the audit log; the same
// command from an admin works.
func TestDiscordAdminRefusedAndAudited(t *testing.T) {
	e := newDiscordE2E(t, nil)
	r := e.interact(t, e.interaction(t, 2, "alerts-admin", "event-remove", e2eDiscordUser, e2eDiscordChan, discordStr("id", "summit-meeting")))
	if r.Type != 4 || r.Data.Flags&discordEphemeral == 0 || !strings.Contains(r.Data.Content, "Only admins") {
		t.Fatalf("non-admin event-remove: %+v", r)
	}
	r = e.interact(t, e.interaction(t, 2, "alerts", "event", e2eDiscordUser, e2eDiscordChan, discordStr("id", "summit-meeting")))
	if !strings.Contains(r.Data.Content, e2eSummitTitle) {
		t.Fatalf("event survived the refused remove? %q", r.Data.Content)
	}
	r = e.interact(t, e.interaction(t, 2, "alerts-admin", "event-remove", e2eDiscordAdmin, e2eDiscordChan, discordStr("id", "budget-vote")))
	if strings.Contains(r.Data.Content, "Only admins") {
		t.Fatalf("admin refused: %q", r.Data.Content)
	}

	e.srv.stop(t)
	db, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := db.AuditLog(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	var denied, removed bool
	for _, a := range log {
		if a.Action == "denied: event remove" && a.Who == "discord:"+e2eDiscordUser {
			denied = true
		}
		if a.Action == "event remove" && a.Who == "discord:"+e2eDiscordAdmin && a.Target == "budget-vote" {
			removed = true
		}
	}
	if !denied || !removed {
		t.Errorf("audit log lacks the refusal (%v) or the admin's remove (%v): %+v", denied, removed, log)
	}
	if _, err := db.Event(context.Background(), "budget-vote"); err == nil {
		t.Error("the admin's remove did not remove the event")
	}
}

// TestDiscordAutocompleteEndToEnd: an autocomplete interaction with a
// focused id option gets a type-8 result with the matching event ids.
func TestDiscordAutocompleteEndToEnd(t *testing.T) {
	e := newDiscordE2E(t, nil)
	for _, typed := range []string{"bu", "e", "zzz"} {
		r := e.interact(t, e.interaction(t, 4, "alerts", "event", e2eDiscordUser, e2eDiscordChan,
			discordOption{Name: "id", Type: 3, Value: typed, Focused: true}))
		if r.Type != 8 {
			t.Fatalf("autocomplete %q: type %d, want 8", typed, r.Type)
		}
		var got, want []string
		for _, c := range r.Data.Choices {
			if c.Name != c.Value {
				t.Errorf("choice name %q != value %q", c.Name, c.Value)
			}
			got = append(got, c.Value)
		}
		for _, id := range e2eEventIDs {
			if strings.Contains(id, typed) {
				want = append(want, id)
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("autocomplete %q: got %v, want %v", typed, got, want)
		}
	}
}

// TestSlackAndDiscordTogether: with both platforms configured, one process
// answers a Slack command and a Discord interaction, and an alert reaches a
// channel subscribed on each.
func TestSlackAndDiscordTogether(t *testing.T) {
	slackFake := slacktest.NewServer()
	slackFake.Token = e2eSlackToken
	t.Cleanup(slackFake.Close)
	e := newDiscordE2E(t, slackFake)
	se := &slackE2E{ctx: e.ctx, fake: slackFake, clk: e.clk, srv: e.srv, db: e.db}

	sr := slackCommand(t, se, e.srv, "C0BUDGET", "U0MEMBER", "subscribe #budget")
	if sr.ResponseType != "in_channel" {
		t.Fatalf("slack subscribe: %+v", sr)
	}
	dr := e.interact(t, e.interaction(t, 2, "alerts", "subscribe", e2eDiscordUser, e2eDiscordChan, discordStr("target", "#budget")))
	if dr.Type != 4 || dr.Data.Flags&discordEphemeral != 0 {
		t.Fatalf("discord subscribe: %+v", dr)
	}
	// Each platform sees the subscriptions made on the other: one database.
	sr = slackCommand(t, se, e.srv, "C0BUDGET", "U0MEMBER", "upcoming #budget 1d")
	if !strings.Contains(sr.Text, e2eBudgetTitle) || sr.ResponseType != "ephemeral" {
		t.Errorf("slack upcoming: %+v", sr)
	}

	e.clk.Advance(time.Hour + time.Minute)
	if _, err := e.fake.WaitMessages(e.ctx, e2eDiscordChan, 1); err != nil {
		t.Fatal(err)
	}
	e2ePoll(t, e.ctx, "the budget reminder on Slack", func() bool { return len(slackPostsTo(slackFake, "C0BUDGET", e2eBudgetTitle)) > 0 })
	e.srv.waitChecks(t, e.ctx, 1)
	if n, m := len(slackPostsTo(slackFake, "C0BUDGET", "")), len(e.fake.Messages(e2eDiscordChan)); n != 1 || m != 1 {
		t.Errorf("slack got %d posts, discord %d messages; want 1 each", n, m)
	}
}
