package slacktest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
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
