package discordtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, s *Server, path, auth string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("response %s: %v", raw, err)
		}
	}
	return resp.StatusCode, out
}

func TestEnforceNonce(t *testing.T) {
	s := NewServer()
	defer s.Close()
	const path = "/api/v9/channels/42/messages"
	msg := map[string]any{"content": "hi", "nonce": "n-1", "enforce_nonce": true}
	code, first := post(t, s, path, "Bot t", msg)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	code, second := post(t, s, path, "Bot t", msg)
	if code != 200 || second["id"] != first["id"] {
		t.Fatalf("repeat nonce: %d %v, want the first message %v", code, second["id"], first["id"])
	}
	// Without enforce_nonce a repeated nonce posts again, as on Discord.
	post(t, s, path, "Bot t", map[string]any{"content": "hi", "nonce": "n-1"})
	if n := len(s.Messages("42")); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}

func TestValidationAndAuth(t *testing.T) {
	s := NewServer()
	defer s.Close()
	const path = "/api/v9/channels/1/messages"
	tests := []struct {
		name string
		auth string
		body any
		want int
	}{
		{"no auth", "", map[string]any{"content": "x"}, 401},
		{"empty", "Bot t", map[string]any{}, 400},
		{"content 2001", "Bot t", map[string]any{"content": strings.Repeat("あ", 2001)}, 400},
		{"nonce 26", "Bot t", map[string]any{"content": "x", "nonce": strings.Repeat("n", 26)}, 400},
		{"embeds over 6000", "Bot t", map[string]any{"embeds": []any{
			map[string]any{"description": strings.Repeat("a", 4096)}, map[string]any{"description": strings.Repeat("a", 2000)},
		}}, 400},
		{"ok at limits", "Bot t", map[string]any{"content": strings.Repeat("あ", 2000), "embeds": []any{
			map[string]any{"description": strings.Repeat("a", 4096)}, map[string]any{"description": strings.Repeat("a", 1904)},
		}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := post(t, s, path, tt.auth, tt.body); code != tt.want {
				t.Fatalf("status %d (%v), want %d", code, body, tt.want)
			}
		})
	}
	if n := len(s.Messages("1")); n != 1 {
		t.Fatalf("%d messages stored, want only the valid one", n)
	}
}

func TestFailures(t *testing.T) {
	s := NewServer()
	defer s.Close()
	const path = "/api/v9/channels/1/messages"
	s.RateLimitNext(2.5, true)
	s.FailNext(403)
	s.FailNext(404)
	code, body := post(t, s, path, "Bot t", map[string]any{"content": "x"})
	if code != 429 || body["retry_after"] != 2.5 || body["global"] != true {
		t.Fatalf("got %d %v", code, body)
	}
	if code, body = post(t, s, path, "Bot t", map[string]any{"content": "x"}); code != 403 || body["code"] != 50001.0 {
		t.Fatalf("got %d %v", code, body)
	}
	if code, body = post(t, s, path, "Bot t", map[string]any{"content": "x"}); code != 404 || body["code"] != 10003.0 {
		t.Fatalf("got %d %v", code, body)
	}
	if code, _ = post(t, s, path, "Bot t", map[string]any{"content": "x"}); code != 200 {
		t.Fatalf("failures did not run out: %d", code)
	}
	if n := len(s.Requests()); n != 4 {
		t.Fatalf("%d requests recorded", n)
	}
}

func TestDropNextResponse(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.DropNextResponse()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v9/channels/5/messages", strings.NewReader(`{"content":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bot t")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d), want a closed connection", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if msgs, err := s.WaitMessages(ctx, "5", 1); err != nil || len(msgs) != 1 {
		t.Fatalf("messages %v, %v: the message must be stored though the response was lost", msgs, err)
	}
}

// get fetches path with a bot token and decodes the JSON answer into out.
func get(t *testing.T, s *Server, path string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bot t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("answer %s: %v", raw, err)
		}
	}
	return resp.StatusCode
}

// fetchedMessage is what a client reads of a listed message.
type fetchedMessage struct {
	ID     string  `json:"id"`
	Type   *int    `json:"type"`
	Nonce  *string `json:"nonce"`
	Author struct {
		ID  string `json:"id"`
		Bot bool   `json:"bot"`
	} `json:"author"`
	Content    string `json:"content"`
	Timestamp  string `json:"timestamp"`
	Components []Row  `json:"components"`
	Embeds     []struct {
		Type   string `json:"type"`
		Footer struct {
			Text string `json:"text"`
		} `json:"footer"`
	} `json:"embeds"`
}

func ids(ms []fetchedMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestListMessages(t *testing.T) {
	s := NewServer()
	defer s.Close()
	start := time.Date(2025, 7, 13, 9, 0, 0, 0, time.UTC)
	var all []string // oldest first
	for i := range 10 {
		s.SetNow(start.Add(time.Duration(i) * time.Second))
		all = append(all, s.Post("5", Message{Content: fmt.Sprint("m", i)}).ID)
	}
	s.SetNow(start.Add(10 * time.Second))
	code, created := post(t, s, "/api/v9/channels/5/messages", "Bot t", map[string]any{
		"nonce": "n-1", "enforce_nonce": true,
		"embeds":     []any{map[string]any{"title": "t", "footer": map[string]any{"text": "f"}}},
		"components": []any{map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 2, "label": "L", "custom_id": "d1:help"}}}},
	})
	if code != 200 || created["nonce"] != "n-1" || created["author"].(map[string]any)["id"] != BotUserID {
		t.Fatalf("create: %d %v", code, created)
	}
	all = append(all, created["id"].(string))
	rev := func(s []string) []string {
		out := make([]string, len(s))
		for i, v := range s {
			out[len(s)-1-i] = v
		}
		return out
	}

	// Ids are snowflakes of the clock.
	n, _ := strconv.ParseUint(all[3], 10, 64)
	if got := time.UnixMilli(int64(n>>22) + discordEpoch); !got.Equal(start.Add(3 * time.Second)) {
		t.Errorf("id %s dates from %v, want %v", all[3], got, start.Add(3*time.Second))
	}

	tests := []struct {
		query string
		want  []string // newest first
	}{
		{"", rev(all)},
		{"limit=3", rev(all[8:])},
		{"after=" + all[2] + "&limit=3", rev(all[3:6])}, // the oldest after, newest first
		{"after=" + all[9], rev(all[10:])},
		{"after=0&limit=100", rev(all)},
		{"before=" + all[5] + "&limit=2", rev(all[3:5])},
		{"before=" + all[0], []string{}},
		{"around=" + all[5] + "&limit=4", rev(all[3:7])},
	}
	for _, tt := range tests {
		var got []fetchedMessage
		if code := get(t, s, "/api/v9/channels/5/messages?"+tt.query, &got); code != 200 {
			t.Fatalf("%s: status %d", tt.query, code)
		}
		if g := ids(got); strings.Join(g, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: ids %v, want %v", tt.query, g, tt.want)
		}
	}

	var got []fetchedMessage
	get(t, s, "/api/v9/channels/5/messages?limit=2", &got)
	bot, person := got[0], got[1]
	if bot.Nonce != nil || bot.Type == nil || *bot.Type != 0 || bot.Author.ID != BotUserID || !bot.Author.Bot ||
		len(bot.Components) != 1 || bot.Components[0].Components[0].CustomID != "d1:help" ||
		len(bot.Embeds) != 1 || bot.Embeds[0].Type != "rich" || bot.Embeds[0].Footer.Text != "f" {
		t.Errorf("the bot's message read back as %+v", bot)
	}
	if person.Author.ID != PersonID || person.Author.Bot || person.Content != "m9" || person.Timestamp != "2025-07-13T09:00:09.000000+00:00" {
		t.Errorf("a person's message read back as %+v", person)
	}

	for _, q := range []string{"limit=0", "limit=101", "limit=x", "after=x", "after=1&before=2"} {
		if code := get(t, s, "/api/v9/channels/5/messages?"+q, nil); code != 400 {
			t.Errorf("%s: status %d, want 400", q, code)
		}
	}
	if code := get(t, s, "/api/v9/channels/6/messages", nil); code != 404 {
		t.Errorf("unknown channel: status %d, want 404", code)
	}
	s.AddChannel("6")
	if code := get(t, s, "/api/v9/channels/6/messages", &got); code != 200 || len(got) != 0 {
		t.Errorf("empty channel: %d %v", code, got)
	}
	s.DenyHistory("5")
	if code := get(t, s, "/api/v9/channels/5/messages", &got); code != 200 || len(got) != 0 {
		t.Errorf("without Read Message History: %d %v, want 200 and none", code, got)
	}
	var me struct {
		ID  string `json:"id"`
		Bot bool   `json:"bot"`
	}
	if code := get(t, s, "/api/v9/users/@me", &me); code != 200 || me.ID != BotUserID || !me.Bot {
		t.Errorf("users/@me: %d %+v", code, me)
	}
}

// TestIDsNeverGoBack: a clock set back still gives increasing ids.
func TestIDsNeverGoBack(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.SetNow(time.Date(2025, 7, 13, 9, 0, 0, 0, time.UTC))
	a := s.Post("1", Message{}).ID
	b := s.Post("1", Message{}).ID
	s.SetNow(time.Date(2025, 7, 13, 8, 0, 0, 0, time.UTC))
	c := s.Post("1", Message{}).ID
	na, _ := strconv.ParseUint(a, 10, 64)
	nb, _ := strconv.ParseUint(b, 10, 64)
	nc, _ := strconv.ParseUint(c, 10, 64)
	if !(na < nb && nb < nc) {
		t.Errorf("ids %s %s %s do not increase", a, b, c)
	}
}
