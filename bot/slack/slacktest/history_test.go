package slacktest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// call posts form to method on s and decodes the JSON answer.
func call(t *testing.T, s *Server, method string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.URL+method, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// testClock is a fake clock the test sets.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// history asks conversations.history and returns the ts of the messages,
// the next cursor and the whole answer.
func history(t *testing.T, s *Server, form url.Values) ([]string, string, map[string]any) {
	t.Helper()
	form.Set("token", "xoxb-t")
	_, body := call(t, s, "conversations.history", form)
	if body["ok"] != true {
		return nil, "", body
	}
	var ts []string
	for _, m := range body["messages"].([]any) {
		ts = append(ts, m.(map[string]any)["ts"].(string))
	}
	next := ""
	if rm, ok := body["response_metadata"].(map[string]any); ok {
		next, _ = rm["next_cursor"].(string)
	}
	if (next != "") != (body["has_more"] == true) {
		t.Errorf("has_more %v with next_cursor %q", body["has_more"], next)
	}
	return ts, next, body
}

func TestHistoryWindowAndOrder(t *testing.T) {
	s := NewServer()
	defer s.Close()
	clock := &testClock{}
	s.Now = clock.now
	for i := range 5 {
		clock.set(time.Unix(1_800_000_001+int64(i), 0))
		status, body := call(t, s, "chat.postMessage", url.Values{"token": {"xoxb-t"}, "channel": {"C1"}, "text": {string(rune('a' + i))}})
		if status != 200 || body["ok"] != true {
			t.Fatalf("post: %d %v", status, body)
		}
	}
	s.AddMessage(Message{Channel: "C2", Text: "elsewhere"})
	// Posted at 1800000001 … 1800000005, one second apart.
	all := []string{"1800000005.000000", "1800000004.000000", "1800000003.000000", "1800000002.000000", "1800000001.000000"}
	tests := []struct {
		name string
		form url.Values
		want []string
	}{
		{"everything, newest first", url.Values{"channel": {"C1"}}, all},
		{"oldest is exclusive", url.Values{"channel": {"C1"}, "oldest": {"1800000002.000000"}}, all[:3]},
		{"latest is exclusive", url.Values{"channel": {"C1"}, "latest": {"1800000004"}}, all[2:]},
		{"inclusive takes both ends", url.Values{"channel": {"C1"}, "oldest": {"1800000002"}, "latest": {"1800000004.0"}, "inclusive": {"1"}}, all[1:4]},
		{"a fraction between", url.Values{"channel": {"C1"}, "oldest": {"1800000002.5"}}, all[:3]},
		{"limit", url.Values{"channel": {"C1"}, "limit": {"2"}}, all[:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, body := history(t, s, tt.form)
			if body["ok"] != true {
				t.Fatalf("answer %v", body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistoryCursorPaging(t *testing.T) {
	s := NewServer()
	defer s.Close()
	var want []string
	for range 7 {
		want = append([]string{s.AddMessage(Message{Channel: "C1", User: "U1", Text: "x"})}, want...)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		form := url.Values{"channel": {"C1"}, "limit": {"3"}}
		if cursor != "" {
			form.Set("cursor", cursor)
		}
		ts, next, body := history(t, s, form)
		if body["ok"] != true {
			t.Fatalf("answer %v", body)
		}
		if len(ts) > 3 {
			t.Errorf("page of %d, limit 3", len(ts))
		}
		got = append(got, ts...)
		if pages == 0 {
			// A message arriving meanwhile does not shift later pages.
			s.AddMessage(Message{Channel: "C1", User: "U1", Text: "new"})
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	_, _, body := history(t, s, url.Values{"channel": {"C1"}, "cursor": {"bm90IGEgY3Vyc29y"}})
	if body["error"] != "invalid_cursor" {
		t.Errorf("bad cursor: %v", body)
	}
}

func TestHistoryMetadataAndErrors(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.Token = "xoxb-t"
	md := `{"event_type":"alertbot_delivery","event_payload":{"delivery_id":42}}`
	status, body := call(t, s, "chat.postMessage", url.Values{"token": {"xoxb-t"}, "channel": {"C1"}, "text": {"hi"}, "metadata": {md}})
	if status != 200 || body["ok"] != true {
		t.Fatalf("post: %d %v", status, body)
	}
	if p := s.Posts()[0]; string(p.Metadata) != md {
		t.Errorf("recorded metadata %s", p.Metadata)
	}
	_, body = call(t, s, "chat.postMessage", url.Values{"token": {"xoxb-t"}, "channel": {"C1"}, "text": {"hi"}, "metadata": {`{"event_payload":{}}`}})
	if body["error"] != "invalid_metadata_format" {
		t.Errorf("metadata without event_type: %v", body)
	}

	msg := func(form url.Values) map[string]any {
		t.Helper()
		_, _, body := history(t, s, form)
		if body["ok"] != true {
			t.Fatalf("answer %v", body)
		}
		return body["messages"].([]any)[0].(map[string]any)
	}
	m := msg(url.Values{"channel": {"C1"}, "include_all_metadata": {"1"}})
	if m["bot_id"] != BotID || m["user"] != BotUserID || m["app_id"] != AppID {
		t.Errorf("the bot's post lacks its identity: %v", m)
	}
	if diff := cmp.Diff(map[string]any{"event_type": "alertbot_delivery", "event_payload": map[string]any{"delivery_id": 42.0}}, m["metadata"]); diff != "" {
		t.Errorf("with include_all_metadata (-want +got):\n%s", diff)
	}
	m = msg(url.Values{"channel": {"C1"}, "include_all_metadata": {"0"}})
	if diff := cmp.Diff(map[string]any{"event_type": "alertbot_delivery"}, m["metadata"]); diff != "" {
		t.Errorf("without include_all_metadata (-want +got):\n%s", diff)
	}

	s.DeleteChannel("C9")
	for _, ch := range []string{"", "general", "C9"} {
		if _, _, body := history(t, s, url.Values{"channel": {ch}}); body["error"] != "channel_not_found" {
			t.Errorf("channel %q: %v", ch, body)
		}
	}
	if _, body := call(t, s, "conversations.history", url.Values{"token": {"xoxb-other"}, "channel": {"C1"}}); body["error"] != "invalid_auth" {
		t.Errorf("wrong token: %v", body)
	}
	if _, _, body := history(t, s, url.Values{"channel": {"C1"}, "oldest": {"yesterday"}}); body["error"] != "invalid_ts_oldest" {
		t.Errorf("bad oldest: %v", body)
	}

	s.FailHistoryChannel("C1", MissingScope("channels:history"))
	s.FailHistory(RateLimited(4))
	form := url.Values{"token": {"xoxb-t"}, "channel": {"C1"}}
	resp, err := http.PostForm(s.URL+"conversations.history", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "4" {
		t.Errorf("queued failure: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for range 2 {
		_, body := call(t, s, "conversations.history", form)
		if body["error"] != "missing_scope" || body["needed"] != "channels:history" {
			t.Errorf("missing scope: %v", body)
		}
	}
	s.ClearFailures()
	if _, _, body := history(t, s, url.Values{"channel": {"C1"}}); body["ok"] != true {
		t.Errorf("after ClearFailures: %v", body)
	}
	reqs := s.HistoryRequests()
	last := reqs[len(reqs)-1]
	if last.Channel != "C1" || last.Failure != nil || reqs[len(reqs)-2].Failure == nil {
		t.Errorf("requests recorded %+v", reqs[len(reqs)-2:])
	}

	_, body = call(t, s, "auth.test", url.Values{"token": {"xoxb-t"}})
	if body["ok"] != true || body["user_id"] != BotUserID || body["bot_id"] != BotID {
		t.Errorf("auth.test: %v", body)
	}
	if _, body := call(t, s, "auth.test", url.Values{"token": {"xoxb-other"}}); body["error"] != "invalid_auth" {
		t.Errorf("auth.test, wrong token: %v", body)
	}
}

func TestResponseLost(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.FailNext(ResponseLost)
	resp, err := http.PostForm(s.URL+"chat.postMessage", url.Values{"token": {"xoxb-t"}, "channel": {"C1"}, "text": {"lost"}})
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer (%d) to a dropped request", resp.StatusCode)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("err %v", err)
	}
	posts := s.Posts()
	if len(posts) != 1 || posts[0].Text != "lost" || posts[0].TS == "" {
		t.Fatalf("posts %+v, want the lost one", posts)
	}
	if a := s.Attempts(); len(a) != 1 || a[0].Failure == nil || a[0].TS != "" {
		t.Errorf("attempts %+v", a)
	}
	if h := s.History("C1"); len(h) != 1 || h[0].TS != posts[0].TS || !strings.Contains(h[0].Text, "lost") {
		t.Errorf("history %+v", h)
	}
}
