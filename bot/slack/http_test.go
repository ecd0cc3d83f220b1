package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

const testSecret = "test-signing-secret"

var testNow = time.Unix(1_750_000_000, 0)

type httpEnv struct {
	a    *Adapter
	h    *fakeHandler
	fake *slacktest.Server
	srv  *httptest.Server
	logs *sharedtest.Buffer
}

func newHTTPEnv(t *testing.T, h *fakeHandler) *httpEnv {
	t.Helper()
	fake := slacktest.NewServer()
	t.Cleanup(fake.Close)
	log, buf := testLogger()
	a, err := New(Config{BotToken: testToken, SigningSecret: testSecret, APIURL: fake.URL,
		Logger: log, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		a.bg.Drain(a.log, shutdownWait)
		for _, s := range []string{testToken, testSecret} {
			if strings.Contains(buf.String(), s) {
				t.Errorf("secret %q logged", s)
			}
		}
	})
	return &httpEnv{a: a, h: h, fake: fake, srv: srv, logs: buf}
}

// post sends a signed request to path.
func (e *httpEnv) post(t *testing.T, path string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return e.postSigned(t, path, body, testNow.Unix(), Sign(testSecret, testNow.Unix(), body))
}

func (e *httpEnv) postSigned(t *testing.T, path string, body []byte, ts int64, sig string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", sig)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func commandForm(user, channel, text, responseURL string) []byte {
	v := url.Values{
		"token": {"legacy"}, "team_id": {"T1"}, "channel_id": {channel}, "channel_name": {"budget"},
		"user_id": {user}, "user_name": {"someone"}, "command": {"/alerts"}, "text": {text},
		"response_url": {responseURL}, "trigger_id": {"1.2.3"}, "api_app_id": {"A1"},
	}
	return []byte(v.Encode())
}

func decodeReply(t *testing.T, b []byte) response {
	t.Helper()
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("reply %q: %v", b, err)
	}
	return r
}

func TestCommandEphemeral(t *testing.T) {
	h := &fakeHandler{reply: func(req bot.Request) bot.Reply {
		return bot.Reply{Text: "Upcoming: <Diet> budget & election"}
	}}
	e := newHTTPEnv(t, h)
	resp, body := e.post(t, "/slack/commands", commandForm("U0ADMIN1", "C0123ABCD", " upcoming ", e.fake.ResponseURL("r1")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	got := decodeReply(t, body)
	want := response{ResponseType: "ephemeral", Text: "Upcoming: &lt;Diet&gt; budget &amp; election"}
	if got.ResponseType != want.ResponseType || got.Text != want.Text {
		t.Errorf("reply %+v, want %+v", got, want)
	}
	reqs := h.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if want := (bot.Request{Platform: "slack", User: "slack:U0ADMIN1", Channel: "slack:C0123ABCD", Text: "upcoming"}); reqs[0].Platform != want.Platform ||
		reqs[0].User != want.User || reqs[0].Channel != want.Channel || reqs[0].Text != want.Text {
		t.Errorf("request %+v, want %+v", reqs[0], want)
	}
	if n := len(e.fake.Responses()); n != 0 {
		t.Errorf("%d posts to response_url for a fast command", n)
	}
}

func TestCommandInChannel(t *testing.T) {
	e := newHTTPEnv(t, &fakeHandler{})
	_, body := e.post(t, "/slack/commands", commandForm("U1", "C1", "subscribe #budget", ""))
	got := decodeReply(t, body)
	if got.ResponseType != "in_channel" || got.Text != "ok: subscribe #budget" {
		t.Errorf("reply %+v", got)
	}
}

func TestCommandSlow(t *testing.T) {
	gate := make(chan struct{})
	h := &fakeHandler{gate: gate}
	e := newHTTPEnv(t, h)
	// The handler is blocked: the ack cannot have waited for it.
	resp, body := e.post(t, "/slack/commands", commandForm("U1", "C1", "watcher run crs-japan", e.fake.ResponseURL("slow")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := decodeReply(t, body); got.Text != workingText || got.ResponseType != "ephemeral" {
		t.Errorf("ack %+v", got)
	}
	if n := len(e.fake.Responses()); n != 0 {
		t.Fatalf("reply posted before the command finished")
	}
	close(gate)
	rs, err := e.fake.WaitResponses(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].ID != "slow" || rs[0].Text != "ok: watcher run crs-japan" || rs[0].ResponseType != "ephemeral" {
		t.Errorf("late reply %+v", rs[0])
	}
}

// TestCommandOverrunsDeadline: a command not marked slow that runs past the
// ack deadline is acknowledged and answered later.
func TestCommandOverrunsDeadline(t *testing.T) {
	gate := make(chan struct{})
	h := &fakeHandler{gate: gate}
	e := newHTTPEnv(t, h)
	e.a.ackAfter = 20 * time.Millisecond
	_, body := e.post(t, "/slack/commands", commandForm("U1", "C1", "subscribe #x", e.fake.ResponseURL("late")))
	if got := decodeReply(t, body); got.Text != workingText {
		t.Errorf("ack %+v", got)
	}
	close(gate)
	rs, err := e.fake.WaitResponses(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Text != "ok: subscribe #x" || rs[0].ResponseType != "in_channel" {
		t.Errorf("late reply %+v", rs[0])
	}
}

func TestCommandSlowForbiddenResponseURL(t *testing.T) {
	h := &fakeHandler{}
	e := newHTTPEnv(t, h)
	for _, u := range []string{"", "http://169.254.169.254/latest", "https://evil.example/hook", "http://hooks.slack.com/x"} {
		_, body := e.post(t, "/slack/commands", commandForm("U1", "C1", "watcher run x", u))
		if got := decodeReply(t, body); got.Text == workingText {
			t.Errorf("response_url %q accepted", u)
		}
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("slow command ran %d times without a usable response_url", n)
	}
}

func TestAllowedResponseURL(t *testing.T) {
	a, err := New(Config{BotToken: "xoxb-1", APIURL: "http://127.0.0.1:8080/api/"})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{
		"https://hooks.slack.com/commands/T1/2/x":     true,
		"https://hooks.slack-gov.com/commands/T1/2/x": true,
		"http://127.0.0.1:8080/response/1":            true,
		"http://hooks.slack.com/commands/T1/2/x":      false,
		"https://hooks.slack.com.evil.example/x":      false,
		"https://user@hooks.slack.com/x":              false,
		"http://127.0.0.1:8081/response/1":            false,
		"https://127.0.0.1:8080/response/1":           false,
		"http://localhost:8080/":                      false,
		"":                                            false,
		"::":                                          false,
	}
	for u, want := range tests {
		if got := a.allowedResponseURL(u); got != want {
			t.Errorf("allowedResponseURL(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestCommandRefused(t *testing.T) {
	h := &fakeHandler{}
	e := newHTTPEnv(t, h)
	good := commandForm("U1", "C1", "upcoming", "")
	big := append(append([]byte(nil), good...), bytes.Repeat([]byte("a"), MaxBodyBytes)...)
	tests := []struct {
		name string
		path string
		body []byte
		ts   int64
		sig  string
		want int
	}{
		{"oversized body", "/slack/commands", big, testNow.Unix(), Sign(testSecret, testNow.Unix(), big), http.StatusRequestEntityTooLarge},
		{"oversized interaction", "/slack/interactions", big, testNow.Unix(), Sign(testSecret, testNow.Unix(), big), http.StatusRequestEntityTooLarge},
		{"bad signature", "/slack/commands", good, testNow.Unix(), Sign("other", testNow.Unix(), good), http.StatusUnauthorized},
		{"no signature", "/slack/commands", good, testNow.Unix(), "", http.StatusUnauthorized},
		{"stale", "/slack/commands", good, testNow.Unix() - 301, Sign(testSecret, testNow.Unix()-301, good), http.StatusUnauthorized},
		{"future", "/slack/commands", good, testNow.Unix() + 301, Sign(testSecret, testNow.Unix()+301, good), http.StatusUnauthorized},
		{"bad signature interaction", "/slack/interactions", good, testNow.Unix(), "v0=00", http.StatusUnauthorized},
		{"malformed form", "/slack/commands", []byte("a=%zz&b"), testNow.Unix(), Sign(testSecret, testNow.Unix(), []byte("a=%zz&b")), http.StatusBadRequest},
		{"missing user", "/slack/commands", []byte("channel_id=C1&text=x"), testNow.Unix(), Sign(testSecret, testNow.Unix(), []byte("channel_id=C1&text=x")), http.StatusBadRequest},
		{"bad channel id", "/slack/commands", []byte("user_id=U1&channel_id=C1:x&text=x"), testNow.Unix(), Sign(testSecret, testNow.Unix(), []byte("user_id=U1&channel_id=C1:x&text=x")), http.StatusBadRequest},
		{"malformed interaction form", "/slack/interactions", []byte("payload=%"), testNow.Unix(), Sign(testSecret, testNow.Unix(), []byte("payload=%")), http.StatusBadRequest},
		{"interaction without payload", "/slack/interactions", []byte("x=1"), testNow.Unix(), Sign(testSecret, testNow.Unix(), []byte("x=1")), http.StatusBadRequest},
		{"interaction bad JSON", "/slack/interactions", []byte("payload=%7B"), testNow.Unix(), Sign(testSecret, testNow.Unix(), []byte("payload=%7B")), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.postSigned(t, tt.path, tt.body, tt.ts, tt.sig)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
		})
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("handler ran %d times for refused requests", n)
	}
	resp, err := e.srv.Client().Get(e.srv.URL + "/slack/commands")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", resp.StatusCode)
	}
}

func TestRoutesNeedSigningSecret(t *testing.T) {
	a, err := New(Config{BotToken: "xoxb-1"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux, &fakeHandler{})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/slack/commands", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("status %d without a signing secret, want 404", rec.Code)
	}
}

// TestStartWithoutHandler: an adapter that would answer commands refuses
// to start without a handler, rather than failing at the first command.
func TestStartWithoutHandler(t *testing.T) {
	a, err := New(Config{BotToken: "xoxb-1", SigningSecret: "s", AppToken: "xapp-1"})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if p := recover(); p != errNoHandler {
				t.Errorf("Routes with a nil handler: panic %v, want %v", p, errNoHandler)
			}
		}()
		a.Routes(http.NewServeMux(), nil)
	}()
	if err := a.Run(context.Background(), nil); !errors.Is(err, errNoHandler) {
		t.Errorf("Run with a nil handler: %v, want %v", err, errNoHandler)
	}
}

func TestCommandDocsPayload(t *testing.T) {
	// A real Slack form (the documented signing example), re-signed for the
	// test clock, parses into the right request.
	e := newHTTPEnv(t, &fakeHandler{})
	for _, name := range []string{"slash_docs_signing_example.form", "slash_docs_weather_example.form", "slash_javasdk_real_modified.form"} {
		body := readShared(t, "slack", "payloads", name)
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, reply := e.post(t, "/slack/commands", body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d %s", name, resp.StatusCode, reply)
		}
		reqs := e.h.requests()
		last := reqs[len(reqs)-1]
		if last.User != "slack:"+form.Get("user_id") || last.Channel != "slack:"+form.Get("channel_id") || last.Text != strings.TrimSpace(form.Get("text")) {
			t.Errorf("%s: request %+v", name, last)
		}
	}
}

func readShared(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := readFile(sharedTestdata(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func interactionBody(t *testing.T, user, channel, value, responseURL string) []byte {
	t.Helper()
	payload := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": "u"},
		"api_app_id": "A1", "token": "legacy", "trigger_id": "1.2",
		"container":    map[string]any{"type": "message", "message_ts": "1.1", "channel_id": channel},
		"channel":      map[string]any{"id": channel, "name": "budget"},
		"response_url": responseURL,
		"actions": []map[string]any{{"action_id": "alertbot_button_0", "block_id": "alertbot_actions_0",
			"type": "button", "value": value, "text": map[string]any{"type": "plain_text", "text": "Mute 1 day"}}},
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(url.Values{"payload": {string(raw)}}.Encode())
}

func TestInteractionButton(t *testing.T) {
	h := &fakeHandler{}
	e := newHTTPEnv(t, h)
	resp, body := e.post(t, "/slack/interactions", interactionBody(t, "U0PRESSER", "C0CHAN", "mute event:ishiba-trump-summit 1d", e.fake.ResponseURL("btn")))
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("status %d body %q, want an empty 200", resp.StatusCode, body)
	}
	rs, err := e.fake.WaitResponses(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].User != "slack:U0PRESSER" || reqs[0].Channel != "slack:C0CHAN" || reqs[0].Text != "mute event:ishiba-trump-summit 1d" {
		t.Fatalf("requests %+v", reqs)
	}
	r := rs[0]
	if r.ID != "btn" || r.ResponseType != "ephemeral" || r.Text != "ok: mute event:ishiba-trump-summit 1d" {
		t.Errorf("reply %+v", r)
	}
	if r.ReplaceOriginal == nil || *r.ReplaceOriginal {
		t.Errorf("replace_original %v, want false so the alert stays", r.ReplaceOriginal)
	}
}

func TestInteractionIgnoredAndRefused(t *testing.T) {
	h := &fakeHandler{}
	e := newHTTPEnv(t, h)
	// Not a button press: acknowledged and ignored.
	other := []byte(url.Values{"payload": {`{"type":"view_submission","user":{"id":"U1"}}`}}.Encode())
	if resp, _ := e.post(t, "/slack/interactions", other); resp.StatusCode != http.StatusOK {
		t.Errorf("view_submission: status %d", resp.StatusCode)
	}
	// Missing user: 400.
	if resp, _ := e.post(t, "/slack/interactions", interactionBody(t, "", "C1", "help", e.fake.ResponseURL("x"))); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no user: status %d", resp.StatusCode)
	}
	// Too long a value: 400.
	if resp, _ := e.post(t, "/slack/interactions", interactionBody(t, "U1", "C1", strings.Repeat("a", MaxButtonValue+1), e.fake.ResponseURL("x"))); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("long value: status %d", resp.StatusCode)
	}
	e.a.bg.Drain(e.a.log, shutdownWait)
	if n := len(h.requests()); n != 0 {
		t.Errorf("handler ran %d times", n)
	}
}

func TestHandlerPanicIsContained(t *testing.T) {
	h := &fakeHandler{reply: func(req bot.Request) bot.Reply { panic("boom") }}
	e := newHTTPEnv(t, h)
	resp, body := e.post(t, "/slack/commands", commandForm("U1", "C1", "upcoming", ""))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := decodeReply(t, body); got.Text != "Internal error." {
		t.Errorf("reply %+v", got)
	}
	if !strings.Contains(e.logs.String(), "panicked") {
		t.Error("panic not logged")
	}
}

func TestReplyTextLimited(t *testing.T) {
	h := &fakeHandler{reply: func(bot.Request) bot.Reply { return bot.Reply{Text: strings.Repeat("<&>", 20000)} }}
	e := newHTTPEnv(t, h)
	_, body := e.post(t, "/slack/commands", commandForm("U1", "C1", "upcoming", ""))
	got := decodeReply(t, body)
	if n := len([]rune(got.Text)); n > MaxMessageText || !strings.HasSuffix(got.Text, "…") {
		t.Errorf("reply %d runes", n)
	}
	if strings.ContainsAny(got.Text, "<>") {
		t.Error("unescaped text in reply")
	}
}
