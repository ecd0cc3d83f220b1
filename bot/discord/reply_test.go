package discord

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/policyteam/alertbot/bot"
)

// TestReplyMoreButton: a reply's buttons come as components that run
// their command when pressed; a command too long for a custom_id loses
// its button (the reply's text says how to go on), and an admin-only one
// is not shown.
func TestReplyMoreButton(t *testing.T) {
	e := newEnv(t, nil)
	h := &replyHandler{fakeHandler: e.handler, reply: bot.Reply{Text: "Open events (1–10 of 23):\nMore: /alerts events page=2",
		Buttons: []bot.Button{
			{Label: "More", Command: "events page=2"},
			{Label: "Too long", Command: "events " + strings.Repeat("x", MaxCustomID)},
			{Label: "Admin", Command: "event set x status=happened", AdminOnly: true},
		}}}
	mux := http.NewServeMux()
	e.adapter.Routes(mux, h)
	e.http = httptest.NewServer(mux)
	t.Cleanup(e.http.Close)
	_, b := e.signedPost(t, commandBody(t, 2, "alerts", "events", strOpt("tag", "budget")))
	var r struct {
		Type int `json:"type"`
		Data struct {
			Content    string `json:"content"`
			Flags      int    `json:"flags"`
			Components []struct {
				Type       int `json:"type"`
				Components []struct {
					Type     int    `json:"type"`
					Label    string `json:"label"`
					CustomID string `json:"custom_id"`
				} `json:"components"`
			} `json:"components"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	if r.Type != 4 || r.Data.Flags != 64 || !strings.Contains(r.Data.Content, "More: /alerts events page=2") {
		t.Fatalf("response %s", b)
	}
	if len(r.Data.Components) != 1 || r.Data.Components[0].Type != 1 || len(r.Data.Components[0].Components) != 1 {
		t.Fatalf("components %s", b)
	}
	btn := r.Data.Components[0].Components[0]
	if btn.Type != 2 || btn.Label != "More" || btn.CustomID != "cmd:events page=2" {
		t.Errorf("button %+v", btn)
	}

	// Pressed, it runs the next page as the presser.
	n := len(e.handler.requests())
	body, _ := json.Marshal(map[string]any{
		"id": "1202", "application_id": "1000", "type": 3, "token": "more", "channel_id": "400", "version": 1,
		"member": map[string]any{"user": map[string]any{"id": "502"}},
		"data":   map[string]any{"custom_id": btn.CustomID, "component_type": 2},
	})
	if resp, b := e.signedPost(t, body); resp.StatusCode != http.StatusOK {
		t.Fatalf("press: status %d: %s", resp.StatusCode, b)
	}
	reqs := e.handler.requests()
	if len(reqs) != n+1 || reqs[n].Text != "events page=2" || reqs[n].User != "discord:502" || reqs[n].Channel != "discord:400" {
		t.Errorf("requests after the press: %+v", reqs[n:])
	}

	// A reply without buttons still sends an empty list.
	if rows := e.adapter.replyButtons(bot.Reply{Text: "x"}); rows == nil || len(rows) != 0 {
		t.Errorf("replyButtons of a reply without buttons = %#v", rows)
	}
}
