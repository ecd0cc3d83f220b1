package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// newResolveFake is a fake Slack that accepts only testToken, and an
// adapter without limiters talking to it.
func newResolveFake(t *testing.T) (*slacktest.Server, *Adapter) {
	t.Helper()
	fake := slacktest.NewServer()
	t.Cleanup(fake.Close)
	fake.Token = testToken
	a, _ := newSendAdapter(t, fake, NoLimit, 0)
	return fake, a
}

// metadataJSON is the metadata of a post of delivery id, as Slack should
// get it.
func metadataJSON(id int64) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"event_type":"alertbot_delivery","event_payload":{"delivery_id":%d}}`, id))
}

// sendErr asserts that err is a *bot.SendError and returns it.
func sendErr(t *testing.T, err error) *bot.SendError {
	t.Helper()
	var se *bot.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err %v (%T), want *bot.SendError", err, err)
	}
	return se
}

func TestSendCarriesDeliveryMetadata(t *testing.T) {
	fake, a := newResolveFake(t)
	for _, id := range []int64{42, 1 << 53} {
		if _, err := a.Send(testCtx(t), bot.Outgoing{DeliveryID: id, Channel: "C1", Message: bot.Message{Title: "t"}}); err != nil {
			t.Fatal(err)
		}
	}
	// A message that is not a delivery (DeliveryID 0) carries none.
	if _, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C1", Message: bot.Message{Title: "t"}}); err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts()
	if len(posts) != 3 {
		t.Fatalf("%d posts, want 3", len(posts))
	}
	for i, id := range []int64{42, 1 << 53} {
		var got, want any
		if err := json.Unmarshal(posts[i].Metadata, &got); err != nil {
			t.Fatalf("post %d metadata %q: %v", i, posts[i].Metadata, err)
		}
		_ = json.Unmarshal(metadataJSON(id), &want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("post %d metadata (-want +got):\n%s", i, diff)
		}
		// Exact in the form, digit for digit: no float on the way out.
		if !strings.Contains(string(posts[i].Metadata), fmt.Sprintf(`"delivery_id":%d`, id)) {
			t.Errorf("post %d metadata %s lacks delivery_id %d", i, posts[i].Metadata, id)
		}
	}
	if posts[2].Metadata != nil {
		t.Errorf("non-delivery post has metadata %s", posts[2].Metadata)
	}
}

// TestResolveFindsLostPostAcrossPages: a post whose answer was lost lies
// under 450 newer messages; Resolve pages back to it and returns its ts.
func TestResolveFindsLostPostAcrossPages(t *testing.T) {
	fake, a := newResolveFake(t)
	ctx := testCtx(t)
	since := time.Now()
	fake.FailNext(slacktest.ResponseLost)
	_, err := a.Send(ctx, bot.Outgoing{DeliveryID: 7, Channel: "C1", Message: bot.Message{Title: "lost answer"}})
	if se := sendErr(t, err); !se.Retry {
		t.Fatalf("lost response: %v, want transient", err)
	}
	posts := fake.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want the one whose answer was lost", len(posts))
	}
	for i := range 450 {
		fake.AddMessage(slacktest.Message{Channel: "C1", User: "U0HUMAN", Text: fmt.Sprintf("chatter %d", i)})
	}
	ts8, err := a.Send(ctx, bot.Outgoing{DeliveryID: 8, Channel: "C1", Message: bot.Message{Title: "newest"}})
	if err != nil {
		t.Fatal(err)
	}

	got, err := a.Resolve(ctx, bot.Unconfirmed{Channel: "C1", Since: since, Now: time.Now(), Deliveries: []int64{7, 99}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]string{7: posts[0].TS}, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	reqs := fake.HistoryRequests()
	if len(reqs) != 3 { // 452 messages, 200 a page
		t.Fatalf("%d history requests, want 3 pages", len(reqs))
	}
	wantOldest := slackTS(since.Add(-5 * time.Second))
	for i, r := range reqs {
		if r.Channel != "C1" || !r.IncludeAllMetadata || r.Oldest != wantOldest || r.Limit != historyPageSize || r.Token != testToken {
			t.Errorf("request %d: %+v (want oldest %s)", i, r, wantOldest)
		}
		if (i == 0) != (r.Cursor == "") {
			t.Errorf("request %d cursor %q", i, r.Cursor)
		}
	}

	// Once everything wanted is found, paging stops.
	got, err = a.Resolve(ctx, bot.Unconfirmed{Channel: "C1", Since: since, Deliveries: []int64{8}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]string{8: ts8}, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	if n := len(fake.HistoryRequests()) - len(reqs); n != 1 {
		t.Errorf("%d requests for the newest message, want 1", n)
	}
}

func TestResolveIgnoresOtherMessages(t *testing.T) {
	fake, a := newResolveFake(t)
	ctx := testCtx(t)
	since := time.Now()
	other := []slacktest.Message{
		// Another app (a second alertbot install) with the same event type and id.
		{User: "U0OTHER", BotID: "B0OTHER", AppID: "A0OTHER", Text: "other bot", Metadata: metadataJSON(5)},
		// This bot, another event type.
		{User: slacktest.BotUserID, BotID: slacktest.BotID, Text: "x", Metadata: json.RawMessage(`{"event_type":"something_else","event_payload":{"delivery_id":5}}`)},
		// This bot, another delivery.
		{User: slacktest.BotUserID, BotID: slacktest.BotID, Text: "x", Metadata: metadataJSON(6)},
		// This bot, the id as a fraction.
		{User: slacktest.BotUserID, BotID: slacktest.BotID, Text: "x", Metadata: json.RawMessage(`{"event_type":"alertbot_delivery","event_payload":{"delivery_id":5.5}}`)},
		// A person quoting it.
		{User: "U0HUMAN", Text: `{"event_type":"alertbot_delivery","event_payload":{"delivery_id":5}}`},
		// This bot, no metadata.
		{User: slacktest.BotUserID, BotID: slacktest.BotID, Text: "no metadata"},
	}
	for _, m := range other {
		m.Channel = "C1"
		fake.AddMessage(m)
	}
	// The right message, but in another channel, and in this channel
	// before the window.
	fake.AddMessage(slacktest.Message{Channel: "C2", User: slacktest.BotUserID, BotID: slacktest.BotID, Text: "x", Metadata: metadataJSON(5)})
	fake.AddMessage(slacktest.Message{Channel: "C1", TS: slackTS(since.Add(-time.Minute)), User: slacktest.BotUserID, BotID: slacktest.BotID, Text: "x", Metadata: metadataJSON(5)})

	got, err := a.Resolve(ctx, bot.Unconfirmed{Channel: "C1", Since: since, Deliveries: []int64{5}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("found %v among other messages, want nothing", got)
	}
	// The same message from this bot is found.
	ts := fake.AddMessage(slacktest.Message{Channel: "C1", User: slacktest.BotUserID, BotID: slacktest.BotID, Text: "x", Metadata: metadataJSON(5)})
	got, err = a.Resolve(ctx, bot.Unconfirmed{Channel: "C1", Since: since, Deliveries: []int64{5}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]string{5: ts}, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
}

func TestResolveNotPosted(t *testing.T) {
	fake, a := newResolveFake(t)
	ctx := testCtx(t)
	since := time.Now()
	fake.FailNext(slacktest.InternalError) // refused: nothing posted
	if _, err := a.Send(ctx, bot.Outgoing{DeliveryID: 3, Channel: "C1", Message: bot.Message{Title: "t"}}); err == nil {
		t.Fatal("500 not reported")
	}
	got, err := a.Resolve(ctx, bot.Unconfirmed{Channel: "C1", Since: since, Deliveries: []int64{3}})
	if err != nil || len(got) != 0 {
		t.Errorf("Resolve = %v, %v; want nothing found", got, err)
	}
	// An empty channel is no error either.
	got, err = a.Resolve(ctx, bot.Unconfirmed{Channel: "C0EMPTY", Since: since, Deliveries: []int64{3}})
	if err != nil || len(got) != 0 {
		t.Errorf("empty channel: Resolve = %v, %v; want nothing found", got, err)
	}
	// Nothing to look for asks nothing.
	n := len(fake.HistoryRequests())
	got, err = a.Resolve(ctx, bot.Unconfirmed{Channel: "C1", Since: since})
	if err != nil || got == nil || len(got) != 0 || len(fake.HistoryRequests()) != n {
		t.Errorf("no deliveries: Resolve = %v, %v after %d requests", got, err, len(fake.HistoryRequests())-n)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*slacktest.Server)
		channel  string
		retry    bool
		after    time.Duration
		inErr    []string
		requests int // history requests the fake saw
	}{
		{"missing_scope", func(s *slacktest.Server) { s.FailHistoryChannel("C1", slacktest.MissingScope("channels:history")) }, "C1",
			false, 0, []string{"missing_scope", "channels:history"}, 1},
		{"not_in_channel", func(s *slacktest.Server) { s.FailHistoryChannel("C1", slacktest.SlackError("not_in_channel")) }, "C1",
			false, 0, []string{"not_in_channel", "invite"}, 1},
		{"channel_not_found", func(s *slacktest.Server) { s.DeleteChannel("C1") }, "C1",
			false, 0, []string{"channel_not_found"}, 1},
		{"bad channel id", func(*slacktest.Server) {}, "general", false, 0, []string{"bad channel id"}, 0},
		{"429 with Retry-After", func(s *slacktest.Server) { s.FailHistory(slacktest.RateLimited(7)) }, "C1",
			true, 7 * time.Second, []string{"rate limit"}, 1},
		{"429 without Retry-After", func(s *slacktest.Server) { s.FailHistory(slacktest.TooManyRequests) }, "C1",
			true, 0, []string{"429"}, 1},
		{"500", func(s *slacktest.Server) { s.FailHistory(slacktest.InternalError) }, "C1", true, 0, []string{"500"}, 1},
		{"response lost", func(s *slacktest.Server) { s.FailHistory(slacktest.Failure{Drop: true}) }, "C1", true, 0, []string{"conversations.history"}, 1},
		{"other ok:false", func(s *slacktest.Server) { s.FailHistory(slacktest.SlackError("internal_error")) }, "C1", true, 0, []string{"internal_error"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, a := newResolveFake(t)
			tt.setup(fake)
			got, err := a.Resolve(testCtx(t), bot.Unconfirmed{Channel: tt.channel, Since: time.Now(), Deliveries: []int64{1}})
			se := sendErr(t, err)
			if got != nil {
				t.Errorf("found %v with an error", got)
			}
			if se.Retry != tt.retry || se.RetryAfter != tt.after {
				t.Errorf("Retry %v RetryAfter %v, want %v %v (%v)", se.Retry, se.RetryAfter, tt.retry, tt.after, err)
			}
			for _, s := range tt.inErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("token in the error")
			}
			if n := len(fake.HistoryRequests()); n != tt.requests {
				t.Errorf("%d history requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestResolveUnreachable(t *testing.T) {
	fake, a := newResolveFake(t)
	fake.Close()
	_, err := a.Resolve(testCtx(t), bot.Unconfirmed{Channel: "C1", Since: time.Now(), Deliveries: []int64{1}})
	if se := sendErr(t, err); !se.Retry {
		t.Errorf("connection refused: %v, want transient", err)
	}
}

// TestResolveRetryAfterPausesHistory: after a 429 with Retry-After, history
// reads wait that long, while posting to the channel is not held up.
func TestResolveRetryAfterPausesHistory(t *testing.T) {
	fake, a := newResolveFake(t)
	fake.FailHistory(slacktest.RateLimited(2))
	q := bot.Unconfirmed{Channel: "C1", Since: time.Now(), Deliveries: []int64{1}}
	if _, err := a.Resolve(testCtx(t), q); err == nil {
		t.Fatal("429 not reported")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := a.Resolve(ctx, q)
	if se := sendErr(t, err); !se.Retry || !strings.Contains(err.Error(), "rate limited") {
		t.Errorf("during the pause: %v, want transient", err)
	}
	if n := len(fake.HistoryRequests()); n != 1 {
		t.Errorf("%d history requests during the pause, want 1", n)
	}
	if _, err := a.Send(ctx, bot.Outgoing{DeliveryID: 1, Channel: "C1", Message: bot.Message{Title: "t"}}); err != nil {
		t.Errorf("posting during the history pause: %v", err)
	}
}

// TestResolvePagingBound: a server that always has another page (new
// cursors, or the same one again) cannot keep Resolve paging.
func TestResolvePagingBound(t *testing.T) {
	for _, repeat := range []bool{false, true} {
		t.Run(fmt.Sprintf("repeat=%v", repeat), func(t *testing.T) {
			var calls atomic.Int64
			mux := http.NewServeMux()
			mux.HandleFunc("/auth.test", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"ok":true,"user_id":"U0BOT","bot_id":"B0BOT"}`)
			})
			mux.HandleFunc("/conversations.history", func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				cursor := fmt.Sprintf("page%d", n)
				if repeat {
					cursor = "again"
				}
				fmt.Fprintf(w, `{"ok":true,"has_more":true,"messages":[{"type":"message","user":"U0HUMAN","text":"x","ts":"%d.000000"}],"response_metadata":{"next_cursor":%q}}`,
					2_000_000_000-n, cursor)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			a, err := New(Config{BotToken: testToken, APIURL: srv.URL, ChannelRate: NoLimit})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Resolve(testCtx(t), bot.Unconfirmed{Channel: "C1", Since: time.Now(), Deliveries: []int64{1}})
			if se := sendErr(t, err); se.Retry {
				t.Errorf("endless paging: %v, want a permanent error", err)
			}
			want := int64(maxHistoryPages)
			if repeat {
				want = 2
			}
			if got := calls.Load(); got != want {
				t.Errorf("%d pages asked (%v), want %d", got, err, want)
			}
		})
	}
}

// TestResolvePacing: with limiters on, history reads keep to Tier 3: a
// burst, then one request per 1.2 s, on a virtual clock.
func TestResolvePacing(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	a, _ := newSendAdapter(t, fake, 1, 1)
	var mu sync.Mutex
	now := time.Now()
	var sleeps []time.Duration
	a.clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		sleeps = append(sleeps, d)
		now = now.Add(d)
		return nil
	}
	since := time.Now()
	for i := range 7*historyPageSize - 1 {
		fake.AddMessage(slacktest.Message{Channel: "C1", User: "U0HUMAN", Text: fmt.Sprint(i)})
	}
	if _, err := a.Resolve(testCtx(t), bot.Unconfirmed{Channel: "C1", Since: since, Deliveries: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.HistoryRequests()); n != 7 {
		t.Fatalf("%d pages, want 7", n)
	}
	step := time.Duration(float64(time.Second) / float64(historyRate))
	want := []time.Duration{step, step}
	if diff := cmp.Diff(want, sleeps, cmp.Comparer(func(x, y time.Duration) bool { return (x - y).Abs() < time.Millisecond })); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}
