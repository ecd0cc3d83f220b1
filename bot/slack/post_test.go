package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// seenPost is one request to the stand-in Slack of postServer.
type seenPost struct {
	Method, Path, ContentType, Auth string
	Body                            []byte
}

// postServer is an httptest Slack whose chat.postMessage answers with
// answer(request); it records the requests.
func postServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*Adapter, func() []seenPost) {
	t.Helper()
	var mu sync.Mutex
	var seen []seenPost
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenPost{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body})
		mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	log, buf := testLogger()
	a, err := New(Config{BotToken: testToken, APIURL: srv.URL, Logger: log, ChannelRate: NoLimit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(buf.String(), testToken) {
			t.Error("the bot token was logged")
		}
	})
	return a, func() []seenPost {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenPost(nil), seen...)
	}
}

// echoAnswer is a chat.postMessage success as Slack sends it: the posted
// message echoed with its blocks and metadata, and a warning.
const echoAnswer = `{"ok":true,"channel":"C0123ABCD","ts":"1752364800.000100",
 "message":{"type":"message","subtype":"bot_message","text":"FY2025 budget","user":"U0BOT","bot_id":"B0BOT","app_id":"A0APP",
  "ts":"1752364800.000100","team":"T0TEAM",
  "bot_profile":{"id":"B0BOT","name":"alertbot","icons":{"image_36":"https://a.example/36.png"},"deleted":false},
  "blocks":[{"type":"header","block_id":"x1","text":{"type":"plain_text","text":"FY2025 budget","emoji":true}},
   {"type":"section","block_id":"x2","fields":[{"type":"mrkdwn","text":"*Due*\n<!date^1752937200^{date_short_pretty} {time}|2025-07-19>","verbatim":false}]},
   {"type":"actions","block_id":"x3","elements":[{"type":"button","action_id":"alertbot_button_0","text":{"type":"plain_text","text":"Mute 1 day","emoji":true},"value":"mute budget 1d"}]},
   {"type":"rich_text","block_id":"x4","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"unknown to the client"}]}]}],
  "metadata":{"event_type":"alertbot_delivery","event_payload":{"delivery_id":7}}},
 "warning":"superfluous_charset","response_metadata":{"warnings":["superfluous_charset"]}}`

func TestPostRequestShape(t *testing.T) {
	a, seen := postServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, echoAnswer)
	})
	msg := goldenMessages()["reminder"]
	ts, err := a.Send(testCtx(t), bot.Outgoing{DeliveryID: 7, Channel: "C0123ABCD", Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	// The ts comes from the answer, past the echoed message (whose
	// rich_text block slack-go's Block Kit types would have to know).
	if ts != "1752364800.000100" {
		t.Errorf("ts %q", ts)
	}
	// A post that is no delivery (a test message) carries no metadata; a
	// delivery id past 2^53 goes exactly.
	if _, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C0123ABCD", Message: msg}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(testCtx(t), bot.Outgoing{DeliveryID: 1<<60 + 1, Channel: "C0123ABCD", Message: msg}); err != nil {
		t.Fatal(err)
	}
	reqs := seen()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/chat.postMessage" {
		t.Errorf("%s %s, want POST /chat.postMessage", r.Method, r.Path)
	}
	if r.ContentType != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", r.ContentType)
	}
	if r.Auth != "Bearer "+testToken {
		t.Errorf("Authorization %q, want the bot token as bearer", r.Auth)
	}
	if bytes.Contains(r.Body, []byte(testToken)) {
		t.Errorf("the token is in the body: %s", r.Body)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	for k := range body {
		if k != "channel" && k != "text" && k != "blocks" && k != "metadata" {
			t.Errorf("unexpected field %q", k)
		}
	}
	var channel, text string
	_ = json.Unmarshal(body["channel"], &channel)
	_ = json.Unmarshal(body["text"], &text)
	blocks, fallback := Render(msg)
	if channel != "C0123ABCD" || text != fallback {
		t.Errorf("channel %q text %q, want C0123ABCD and %q", channel, text, fallback)
	}
	// The blocks are Render's, as JSON (an array, not a string holding one).
	want, _ := json.Marshal(blocks)
	var gotV, wantV any
	if err := json.Unmarshal(body["blocks"], &gotV); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	_ = json.Unmarshal(want, &wantV)
	if _, ok := gotV.([]any); !ok || !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("blocks\n got %s\nwant %s", body["blocks"], want)
	}
	// Metadata is an object, the id a JSON number.
	if got := string(body["metadata"]); got != `{"event_type":"alertbot_delivery","event_payload":{"delivery_id":7}}` {
		t.Errorf("metadata %s", got)
	}
	var second map[string]json.RawMessage
	_ = json.Unmarshal(reqs[1].Body, &second)
	if _, ok := second["metadata"]; ok {
		t.Errorf("a post without a delivery id carries metadata: %s", second["metadata"])
	}
	var third struct {
		Metadata struct {
			EventPayload struct {
				DeliveryID json.Number `json:"delivery_id"`
			} `json:"event_payload"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(reqs[2].Body, &third)
	if got := third.Metadata.EventPayload.DeliveryID.String(); got != "1152921504606846977" {
		t.Errorf("delivery_id %s, want 1152921504606846977", got)
	}
}

func TestPostErrorClasses(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		retry     bool
		after     time.Duration
		paused    bool
		wantInErr string
	}{
		{"ok:false permanent", 200, nil, `{"ok":false,"error":"channel_not_found"}`, false, 0, false, "channel_not_found"},
		{"ok:false transient", 200, nil, `{"ok":false,"error":"internal_error","response_metadata":{"messages":["[ERROR] try again"]}}`, true, 0, false, "internal_error"},
		{"ok:false without error", 200, nil, `{"ok":false}`, true, 0, false, "post to C1"},
		{"429 with Retry-After", 429, map[string]string{"Retry-After": "3"}, `{"ok":false,"error":"ratelimited"}`, true, 3 * time.Second, true, "rate limit"},
		{"429 without Retry-After", 429, nil, `{"ok":false,"error":"ratelimited"}`, true, 0, false, "429"},
		{"429 with a bad Retry-After", 429, map[string]string{"Retry-After": "soon"}, ``, true, 0, false, "429"},
		{"500", 500, map[string]string{"Content-Type": "text/html"}, `<html><body>Internal Server Error</body></html>`, true, 0, false, "500"},
		{"503", 503, nil, ``, true, 0, false, "503"},
		{"400", 400, nil, `{"ok":false,"error":"invalid_arguments"}`, true, 0, false, "400"},
		{"malformed JSON", 200, nil, `{"ok":true,"ts":`, true, 0, false, "not JSON"},
		{"HTML with 200", 200, map[string]string{"Content-Type": "text/html"}, `<html>maintenance</html>`, true, 0, false, "not JSON"},
		{"ok without ts", 200, nil, `{"ok":true,"channel":"C1"}`, true, 0, false, "without a ts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, seen := postServer(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			now := time.Unix(1_700_000_000, 0)
			a.clock = func() time.Time { return now }
			ts, err := a.Send(testCtx(t), bot.Outgoing{DeliveryID: 9, Channel: "C1", Message: bot.Message{Title: "t"}})
			var se *bot.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err %v (%T), want *bot.SendError", err, err)
			}
			if ts != "" {
				t.Errorf("ts %q on failure", ts)
			}
			if se.Retry != tt.retry || se.RetryAfter != tt.after {
				t.Errorf("Retry %v after %v, want %v after %v (%v)", se.Retry, se.RetryAfter, tt.retry, tt.after, err)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantInErr)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q holds the token", err)
			}
			a.mu.Lock()
			until := a.channels["C1"].until
			a.mu.Unlock()
			if paused := until.After(now); paused != tt.paused || tt.paused && !until.Equal(now.Add(tt.after)) {
				t.Errorf("channel paused until %v (now %v), want paused %v for %v", until, now, tt.paused, tt.after)
			}
			if n := len(seen()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestPostAgainstFake posts through the fake, which echoes the message as
// Slack does, and checks what it recorded from the JSON body.
func TestPostAgainstFake(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	fake.Token = testToken
	a, _ := newSendAdapter(t, fake, NoLimit, 0)
	msg := goldenMessages()["date_proposal"]
	ts, err := a.Send(testCtx(t), bot.Outgoing{DeliveryID: 12, Channel: "C0123ABCD", Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts()
	if len(posts) != 1 || posts[0].TS != ts || posts[0].Token != testToken {
		t.Fatalf("posts %+v, want one with ts %q and the token", posts, ts)
	}
	if got := string(posts[0].Metadata); got != `{"event_type":"alertbot_delivery","event_payload":{"delivery_id":12}}` {
		t.Errorf("metadata %s", got)
	}
	// What Slack keeps is what Resolve reads back.
	h := fake.History("C0123ABCD")
	if len(h) != 1 || h[0].TS != ts || !bytes.Equal(h[0].Blocks, posts[0].Blocks) {
		t.Errorf("history %+v", h)
	}
}

var answerSeeds = []string{
	echoAnswer,
	`{"ok":false,"error":"channel_not_found"}`,
	`{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["[ERROR] must be an array"]}}`,
	`{"ok":true,"channel":"C1","ts":"1.2","ts":"3.4"}`,
	`{"OK":true,"ts":"1.2"}`,
	`{"ok":"true"}`,
	`{"ok":true,"ts":"\u0031.2","error":null}`,
	`{"ok":true,"ts":12}`,
	`{"ok":true,"ts":"1.2"`,
	`{"ok":true,"message":{"text":tru},"ts":"1.2"}`,
	`<html>`,
	``,
}

// TestReadAnswerMatchesUnmarshal: where encoding/json reads an answer,
// readAnswer reads the same.
func TestReadAnswerMatchesUnmarshal(t *testing.T) {
	for _, s := range answerSeeds {
		checkAnswer(t, []byte(s))
	}
	ans, err := readAnswer([]byte(echoAnswer))
	if err != nil || !ans.OK || ans.TS != "1752364800.000100" || ans.Channel != "C0123ABCD" || ans.Warning != "superfluous_charset" ||
		len(ans.ResponseMetadata.Warnings) != 1 {
		t.Errorf("echo answer: %+v, %v", ans, err)
	}
	for _, s := range []string{`{"ok":true,"ts":"1.2"`, `<html>`, ``, `{"ok":"true"}`} {
		if _, err := readAnswer([]byte(s)); err == nil {
			t.Errorf("%s: read without an error", s)
		}
	}
}

func checkAnswer(t *testing.T, b []byte) {
	t.Helper()
	var want postAnswer
	if json.Unmarshal(b, &want) != nil {
		return // readAnswer may be lenient about what it does not read
	}
	got, err := readAnswer(b)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%s: readAnswer %+v, %v; encoding/json %+v", b, got, err, want)
	}
}

func FuzzReadAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkAnswer(t, []byte(s)) })
}
