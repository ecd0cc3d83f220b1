package slacktest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, s *Server, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"chat.postMessage", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, resp.Header
}

func TestServerRecordsAndFails(t *testing.T) {
	s := NewServer()
	defer s.Close()
	if !strings.HasSuffix(s.URL, "/") {
		t.Errorf("URL %q lacks the trailing slash", s.URL)
	}
	form := url.Values{"token": {"xoxb-t"}, "channel": {"C1"}, "text": {"hi"}, "blocks": {`[{"type":"divider"}]`}}
	status, body, _ := post(t, s, form)
	if status != 200 || body["ok"] != true || body["ts"] == "" {
		t.Fatalf("status %d body %v", status, body)
	}

	s.FailNext(RateLimited(3), TooManyRequests, Failure{Status: 429, RetryAfter: "1", Posted: true})
	_, _, h := post(t, s, form)
	if h.Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q", h.Get("Retry-After"))
	}
	_, _, h = post(t, s, form)
	if h.Get("Retry-After") != "" {
		t.Errorf("Retry-After %q, want none", h.Get("Retry-After"))
	}
	post(t, s, form) // posted although answered 429

	s.FailChannel("C9", ChannelNotFound)
	form.Set("channel", "C9")
	for range 2 {
		if _, body, _ := post(t, s, form); body["error"] != "channel_not_found" {
			t.Errorf("body %v", body)
		}
	}
	form.Set("blocks", `{"not":"an array"}`)
	form.Set("channel", "C1")
	if _, body, _ := post(t, s, form); body["error"] != "invalid_blocks" {
		t.Errorf("bad blocks: body %v", body)
	}
	if got := len(s.Posts()); got != 2 {
		t.Errorf("%d posts, want 2", got)
	}
	if got := len(s.Attempts()); got != 7 {
		t.Errorf("%d attempts, want 7", got)
	}
	if p := s.Posts()[0]; p.Token != "xoxb-t" || p.Channel != "C1" || p.Text != "hi" || string(p.Blocks) != `[{"type":"divider"}]` {
		t.Errorf("post %+v", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.WaitPosts(ctx, 3); err == nil {
		t.Error("WaitPosts(3) returned without a third post")
	}
}

// postJSON posts body to chat.postMessage as JSON with token as bearer
// ("" for none).
func postJSON(t *testing.T, s *Server, token, contentType, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"chat.postMessage", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("answer: %v", err)
	}
	return out
}

func TestServerTakesJSONPosts(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.Token = "xoxb-t"
	const ct = "application/json; charset=utf-8"
	blocks := `[{"type":"section","text":{"type":"mrkdwn","text":"R&D <b>"}}]`
	meta := `{"event_type":"alertbot_delivery","event_payload":{"delivery_id":3}}`
	out := postJSON(t, s, "xoxb-t", ct, `{"channel":"C1","text":"hi","blocks":`+blocks+`,"metadata":`+meta+`}`)
	if out["ok"] != true || out["ts"] == "" || out["channel"] != "C1" {
		t.Fatalf("answer %v", out)
	}
	// The answer echoes the message, blocks and metadata included.
	echo, _ := out["message"].(map[string]any)
	if echo["ts"] != out["ts"] || echo["text"] != "hi" || echo["bot_id"] != BotID || echo["blocks"] == nil || echo["metadata"] == nil {
		t.Errorf("echoed message %v", echo)
	}
	// Blocks and metadata given as strings holding JSON, as in a form,
	// and a content type without parameters.
	out = postJSON(t, s, "xoxb-t", "application/json", `{"channel":"C1","text":"again","blocks":`+strconv.Quote(blocks)+`,"metadata":`+strconv.Quote(meta)+`}`)
	if out["ok"] != true {
		t.Fatalf("answer %v", out)
	}
	posts := s.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d posts, want 2", len(posts))
	}
	for i, p := range posts {
		if p.Token != "xoxb-t" || p.Channel != "C1" || string(p.Blocks) != blocks || string(p.Metadata) != meta {
			t.Errorf("post %d: %+v", i, p)
		}
	}
	if s.PostCount() != 2 {
		t.Errorf("PostCount %d, want 2", s.PostCount())
	}

	for _, tt := range []struct {
		name, token, body, want string
	}{
		// A JSON body's token is the bearer token only.
		{"token in the body", "", `{"token":"xoxb-t","channel":"C1","text":"hi"}`, "invalid_auth"},
		{"wrong token", "xoxb-other", `{"channel":"C1","text":"hi"}`, "invalid_auth"},
		{"not JSON", "xoxb-t", `channel=C1&text=hi`, "invalid_json"},
		{"truncated", "xoxb-t", `{"channel":"C1","text":`, "invalid_json"},
		{"no text or blocks", "xoxb-t", `{"channel":"C1"}`, "no_text"},
		{"blocks not an array", "xoxb-t", `{"channel":"C1","blocks":{"type":"divider"}}`, "invalid_blocks"},
		{"block without type", "xoxb-t", `{"channel":"C1","blocks":[{"text":"x"}]}`, "invalid_blocks"},
		{"block type not a string", "xoxb-t", `{"channel":"C1","blocks":[{"type":1}]}`, "invalid_blocks"},
		{"block not an object", "xoxb-t", `{"channel":"C1","blocks":["divider"]}`, "invalid_blocks"},
		{"51 blocks", "xoxb-t", `{"channel":"C1","blocks":[` + strings.Repeat(`{"type":"divider"},`, 50) + `{"type":"divider"}]}`, "invalid_blocks"},
		{"metadata without payload", "xoxb-t", `{"channel":"C1","text":"x","metadata":{"event_type":"e"}}`, "invalid_metadata_format"},
		{"metadata payload not an object", "xoxb-t", `{"channel":"C1","text":"x","metadata":{"event_type":"e","event_payload":[1]}}`, "invalid_metadata_format"},
		{"metadata without type", "xoxb-t", `{"channel":"C1","text":"x","metadata":{"event_payload":{}}}`, "invalid_metadata_format"},
	} {
		if out := postJSON(t, s, tt.token, ct, tt.body); out["ok"] != false || out["error"] != tt.want {
			t.Errorf("%s: answer %v, want error %s", tt.name, out, tt.want)
		}
	}
	if n := len(s.Posts()); n != 2 {
		t.Errorf("%d posts after refused ones, want 2", n)
	}
	// 50 blocks are fine.
	if out := postJSON(t, s, "xoxb-t", ct, `{"channel":"C1","blocks":[`+strings.Repeat(`{"type":"divider"},`, 49)+`{"type":"divider"}]}`); out["ok"] != true {
		t.Errorf("50 blocks: %v", out)
	}
}

// mapValidBlocks is how the fake first checked blocks: decoded into maps.
func mapValidBlocks(raw []byte) bool {
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil || len(blocks) > 50 {
		return false
	}
	for _, b := range blocks {
		if t, _ := b["type"].(string); t == "" {
			return false
		}
	}
	return true
}

var blockSeeds = []string{
	`[{"type":"divider"}]`, `[]`, `[{"type":""}]`, `[{"Type":"divider"}]`, `[{"\u0074ype":"divider"}]`,
	`[{"type":"a","type":""}]`, `[{"type":"\u0061"}]`, `[{"type":1}]`, `[null]`, `["divider"]`, `{"type":"divider"}`,
	`[{"type":"section","text":{"type":"mrkdwn","text":"]}\""}}]`, `[{"type":"a"},]`, `[{"type":"a"}`, `null`, ``,
}

func TestValidBlocksMatchesMaps(t *testing.T) {
	for _, s := range blockSeeds {
		if got, want := validBlocks([]byte(s)), mapValidBlocks([]byte(s)); got != want {
			t.Errorf("%s: %v, decoding into maps says %v", s, got, want)
		}
	}
}

func FuzzValidBlocks(f *testing.F) {
	for _, s := range blockSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validBlocks([]byte(s)), mapValidBlocks([]byte(s)); got != want {
			t.Errorf("%s: %v, decoding into maps says %v", s, got, want)
		}
	})
}
