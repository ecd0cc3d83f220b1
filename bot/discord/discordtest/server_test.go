package discordtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
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
