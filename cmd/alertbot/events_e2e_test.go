package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/policyteam/alertbot/bot/discord/discordtest"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// eventsConfig has 12 open budget events (two pages of /alerts events)
// and one that is not about the budget.
func eventsConfig() string {
	var b strings.Builder
	b.WriteString("timezone: Asia/Tokyo\nadmins: [slack:U0ADMIN1]\nevents:\n")
	for i := range 12 {
		fmt.Fprintf(&b, "  - id: budget-%02d\n    title: Budget milestone %d\n    due: 2099-01-%02d\n    tags: [budget]\n", i, i, i+1)
	}
	b.WriteString("  - id: other\n    title: Something else\n    due: 2099-02\n")
	return b.String()
}

// TestSlackEventsMore: /alerts events #budget over Slack's HTTP endpoint
// answers the first page with a More button; pressing it posts the second
// page at response_url, which ends the list.
func TestSlackEventsMore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
	defer cancel()
	fake := slacktest.NewServer()
	t.Cleanup(fake.Close)
	fake.Token = e2eSlackToken
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertbot.yaml")
	writeFile(t, cfg, eventsConfig())
	clk := &e2eClock{}
	srv := startServe(t, cfg, filepath.Join(dir, "a.db"), slackEnv(fake), clk, e2eSlackToken, e2eSlackSecret)

	body := slackCommandForm("C0BUDGET", "U0MEMBER", "events #budget", fake.ResponseURL("cmd"))
	status, data := srv.post(t, ctx, "/slack/commands", "application/x-www-form-urlencoded", body, slackHeader(e2eSlackSecret, clk.Now(), body))
	if status != http.StatusOK {
		t.Fatalf("events: status %d: %s", status, data)
	}
	var first struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
		Blocks       []struct {
			Type     string `json:"type"`
			Elements []struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(data, &first); err != nil {
		t.Fatalf("events reply %s: %v", data, err)
	}
	if first.ResponseType != "ephemeral" || !strings.Contains(first.Text, "Open events #budget (1–10 of 12):") ||
		!strings.Contains(first.Text, "(budget-09)") || strings.Contains(first.Text, "(budget-10)") || strings.Contains(first.Text, "other") {
		t.Fatalf("first page:\n%s", first.Text)
	}
	var more string
	for _, b := range first.Blocks {
		for _, el := range b.Elements {
			if b.Type == "actions" && el.Type == "button" {
				more = el.Value
			}
		}
	}
	if more != "events #budget page=2" {
		t.Fatalf("More button runs %q; blocks %s", more, data)
	}

	payload, err := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U0MEMBER", "username": "member"},
		"api_app_id": "A0APP", "trigger_id": "1.2.3",
		"container":    map[string]any{"type": "message", "channel_id": "C0BUDGET", "is_ephemeral": true},
		"channel":      map[string]any{"id": "C0BUDGET", "name": "budget"},
		"response_url": fake.ResponseURL("more"),
		"actions": []map[string]any{{"action_id": "alertbot_reply_button_0", "block_id": "alertbot_reply_actions", "type": "button",
			"value": more, "text": map[string]any{"type": "plain_text", "text": "More"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	form := []byte(url.Values{"payload": {string(payload)}}.Encode())
	if status, data := srv.post(t, ctx, "/slack/interactions", "application/x-www-form-urlencoded", form,
		slackHeader(e2eSlackSecret, clk.Now(), form)); status != http.StatusOK {
		t.Fatalf("press More: status %d: %s", status, data)
	}
	resps, err := fake.WaitResponses(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	second := resps[0]
	if second.ID != "more" || second.ResponseType != "ephemeral" || !strings.Contains(second.Text, "Open events #budget (11–12 of 12):") ||
		!strings.Contains(second.Text, "(budget-11)") || strings.Contains(second.Text, "More:") {
		t.Fatalf("second page: %+v", second)
	}
	if strings.Contains(string(second.Body), `"blocks"`) {
		t.Errorf("the last page has buttons: %s", second.Body)
	}
}

// TestDiscordEventsMore: /alerts events #budget over Discord's HTTP
// endpoint answers with a More button; pressing it (a component
// interaction) answers the second page, without a button.
func TestDiscordEventsMore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
	defer cancel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fake := discordtest.NewServer()
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertbot.yaml")
	writeFile(t, cfg, eventsConfig())
	clk := &e2eClock{}
	srv := startServe(t, cfg, filepath.Join(dir, "a.db"), discordEnv(fake, pub), clk, e2eDiscordToken)
	e := &discordE2E{ctx: ctx, fake: fake, priv: priv, clk: clk, srv: srv}

	type page struct {
		Type int `json:"type"`
		Data struct {
			Content    string `json:"content"`
			Flags      int    `json:"flags"`
			Components []struct {
				Components []struct {
					Label    string `json:"label"`
					CustomID string `json:"custom_id"`
				} `json:"components"`
			} `json:"components"`
		} `json:"data"`
	}
	post := func(body []byte) page {
		t.Helper()
		status, data := srv.post(t, ctx, "/discord/interactions", "application/json", body, discordHeader(priv, clk.Now(), body))
		if status != http.StatusOK {
			t.Fatalf("interaction: status %d: %s", status, data)
		}
		var p page
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("response %s: %v", data, err)
		}
		return p
	}
	first := post(e.interaction(t, 2, "alerts", "events", e2eDiscordUser, e2eDiscordChan, discordStr("tag", "budget")))
	if first.Type != 4 || first.Data.Flags&discordEphemeral == 0 || !strings.Contains(first.Data.Content, "Open events #budget (1–10 of 12):") {
		t.Fatalf("first page: %+v", first)
	}
	if len(first.Data.Components) != 1 || len(first.Data.Components[0].Components) != 1 {
		t.Fatalf("first page components: %+v", first.Data.Components)
	}
	btn := first.Data.Components[0].Components[0]
	if btn.Label != "More" || btn.CustomID != "cmd:events #budget page=2" {
		t.Fatalf("More button %+v", btn)
	}

	press, err := json.Marshal(map[string]any{
		"id": "1300000000000000999", "application_id": e2eDiscordApp, "type": 3, "token": "press-token", "version": 1,
		"guild_id": "1200000000000000002", "channel_id": e2eDiscordChan,
		"member": map[string]any{"user": map[string]any{"id": e2eDiscordUser, "username": "member"}, "roles": []string{}},
		"data":   map[string]any{"custom_id": btn.CustomID, "component_type": 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	second := post(press)
	if second.Type != 4 || second.Data.Flags&discordEphemeral == 0 || !strings.Contains(second.Data.Content, "Open events #budget (11–12 of 12):") ||
		strings.Contains(second.Data.Content, "More:") || len(second.Data.Components) != 0 {
		t.Fatalf("second page: %+v", second)
	}
}
