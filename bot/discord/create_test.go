package discord

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
)

// rawDiscord is an httptest server answering create-message with what a
// test says, recording each request and counting connections, for Send's
// own request code (create.go) against answers the fake does not give.
type rawDiscord struct {
	srv     *httptest.Server
	adapter *Adapter
	conns   atomic.Int64

	mu   sync.Mutex
	reqs []rawRequest
}

type rawRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

func newRawDiscord(t *testing.T, answer http.HandlerFunc) *rawDiscord {
	t.Helper()
	d := &rawDiscord{}
	d.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request: %v", err)
		}
		d.mu.Lock()
		d.reqs = append(d.reqs, rawRequest{r.Method, r.URL.Path, r.Header.Clone(), body})
		d.mu.Unlock()
		answer(w, r)
	}))
	d.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			d.conns.Add(1)
		}
	}
	d.srv.Start()
	t.Cleanup(d.srv.Close)
	a, err := New(Config{BotToken: "test-token", APIURL: d.srv.URL, GlobalRate: NoLimit,
		Logger: testLogger(t), Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	d.adapter = a
	return d
}

func (d *rawDiscord) requests() []rawRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]rawRequest(nil), d.reqs...)
}

// send sends an alert to channel ch with delivery id.
func (d *rawDiscord) send(t *testing.T, ch string, id int64) (string, error) {
	t.Helper()
	return d.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: id, Channel: ch, Message: alertMessage()})
}

// answer writes status with headers kv and body.
func answer(status int, body string, kv ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// TestCreateRequest: Send's request is create-message as discordgo sent
// it: POST to the channel's messages with the bot token, the session's
// User-Agent and a JSON body carrying the enforced nonce; the id comes
// back from an answer that echoes the message.
func TestCreateRequest(t *testing.T) {
	d := newRawDiscord(t, answer(http.StatusOK,
		`{"type":0,"embeds":[{"title":"t","fields":[{"name":"id","value":"x"}]}],"author":{"id":"99"},"id":"1250000000000000042","nonce":"n"}`,
		"Content-Type", "application/json"))
	id, err := d.send(t, "80351110224678912", 7)
	if err != nil {
		t.Fatal(err)
	}
	if id != "1250000000000000042" {
		t.Errorf("id %q, want 1250000000000000042", id)
	}
	reqs := d.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/api/v9/channels/80351110224678912/messages" {
		t.Errorf("request %s %s", r.method, r.path)
	}
	if got := r.header.Get("Authorization"); got != "Bot test-token" {
		t.Errorf("Authorization %q", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}
	// https://discord.com/developers/docs/reference#user-agent
	if ua := r.header.Get("User-Agent"); !regexp.MustCompile(`^DiscordBot \(https://\S+, v?[0-9][0-9.]*\)$`).MatchString(ua) {
		t.Errorf("User-Agent %q is not DiscordBot ($url, $version)", ua)
	}
	if cl := r.header.Get("Content-Length"); cl == "" {
		t.Error("no Content-Length")
	}
	var b struct {
		Nonce        string `json:"nonce"`
		EnforceNonce bool   `json:"enforce_nonce"`
		Embeds       []struct {
			Title string `json:"title"`
		} `json:"embeds"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if b.Nonce != bot.Nonce(7) || !b.EnforceNonce || len(b.Embeds) != 1 || b.Embeds[0].Title != alertMessage().Title {
		t.Errorf("body %s", r.body)
	}
}

// TestChannelsPath: Send's path is the one discordgo's endpoint has.
func TestChannelsPath(t *testing.T) {
	want := strings.TrimPrefix(discordgo.EndpointChannelMessages("5"), "https://discord.com")
	if got := channelsPath + "5/messages"; got != want || channelsPath != "/api/v9/channels/" {
		t.Errorf("path %q, discordgo's %q", got, want)
	}
}

// TestCreateErrors: each answer is classified as classify does
// discordgo's errors, Discord's own message and code are kept, the token
// is not, and error answers leave the connection for the next request.
func TestCreateErrors(t *testing.T) {
	big := strings.Repeat("a", maxAnswer)
	tests := []struct {
		name      string
		answer    http.HandlerFunc
		wantRetry bool
		wantAfter time.Duration
		wantText  string
		noText    string
	}{
		{"429 retry_after in the body", answer(http.StatusTooManyRequests,
			`{"message":"You are being rate limited.","retry_after":3.25,"global":false}`, "Retry-After", "4"),
			true, 3250 * time.Millisecond, "rate limited: You are being rate limited.", ""},
		{"429 Retry-After only", answer(http.StatusTooManyRequests, `<html>error 1015</html>`, "Retry-After", "7"),
			true, 7 * time.Second, "rate limited: Too Many Requests", ""},
		{"503 Retry-After", answer(http.StatusServiceUnavailable, `upstream down`, "Retry-After", "2"),
			true, 2 * time.Second, "send to 9: HTTP 503: Service Unavailable", ""},
		{"502 HTML", answer(http.StatusBadGateway, `<html><h1>502 Bad Gateway</h1></html>`),
			true, 0, "HTTP 502: Bad Gateway", "html"},
		{"500 Discord error", answer(http.StatusInternalServerError, `{"message":"500: Internal Server Error","code":0}`),
			true, 0, "HTTP 500: 500: Internal Server Error (code 0)", ""},
		{"408", answer(http.StatusRequestTimeout, ``), true, 0, "HTTP 408", ""},
		{"403 missing permissions", answer(http.StatusForbidden, `{"message":"Missing Permissions","code":50013}`),
			false, 0, "send to 9: HTTP 403: Missing Permissions (code 50013)", ""},
		{"404 unknown channel", answer(http.StatusNotFound, `{"message":"Unknown Channel","code":10003}`),
			false, 0, "HTTP 404: Unknown Channel (code 10003)", ""},
		{"401", answer(http.StatusUnauthorized, `{"message":"401: Unauthorized","code":0}`),
			false, 0, "HTTP 401: 401: Unauthorized (code 0)", ""},
		{"400 not JSON", answer(http.StatusBadRequest, `bad`), false, 0, "HTTP 400: Bad Request", ""},
		{"400 form errors", answer(http.StatusBadRequest,
			`{"code":50035,"errors":{"embeds":{"0":{"title":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 256 or fewer in length."}]}}}},"message":"Invalid Form Body"}`),
			false, 0, "HTTP 400: Invalid Form Body (code 50035)", ""},
		{"403 over the bound", answer(http.StatusForbidden, `{"message":"Missing Access","code":50001,"x":"`+big+`"}`),
			false, 0, "HTTP 403: Forbidden", "Missing Access"},
		{"200 without id", answer(http.StatusOK, `{"content":"x","embeds":[]}`), true, 0, "response has no message id", ""},
		{"200 id not a string", answer(http.StatusOK, `{"id":1250000000000000042}`), true, 0, "response has no message id", ""},
		{"200 not JSON", answer(http.StatusOK, `<html>`), true, 0, "response has no message id", ""},
		{"204", answer(http.StatusNoContent, ``), true, 0, "response has no message id", ""},
		{"200 over the bound", answer(http.StatusOK, `{"id":"1250000000000000042","content":"`+big+`"}`),
			true, 0, "response has no message id", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newRawDiscord(t, tt.answer)
			_, err := d.send(t, "9", 1)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			se := sendErr(t, err)
			if se.Retry != tt.wantRetry || se.RetryAfter != tt.wantAfter {
				t.Errorf("retry %v after %v, want %v after %v (%v)", se.Retry, se.RetryAfter, tt.wantRetry, tt.wantAfter, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			if tt.noText != "" && strings.Contains(err.Error(), tt.noText) {
				t.Errorf("error %q says %q", err, tt.noText)
			}
			if strings.Contains(err.Error(), "test-token") {
				t.Errorf("error leaks the token: %v", err)
			}
			if n := len(d.requests()); n != 1 {
				t.Errorf("%d requests, want 1 (no retries inside Send)", n)
			}
			// Another channel's send (its bucket is not the 429's) goes
			// over the same connection when the answer was read to its
			// end; one over the bound is dropped rather than drained.
			_, _ = d.send(t, "10", 2)
			if n := len(d.requests()); n != 2 {
				t.Fatalf("%d requests after a send to another channel, want 2", n)
			}
			wantConns := int64(1)
			if strings.Contains(tt.name, "over the bound") {
				wantConns = 2
			}
			if n := d.conns.Load(); n != wantConns {
				t.Errorf("%d connections for two sends, want %d", n, wantConns)
			}
		})
	}
}

// TestCreate429FeedsBuckets: a 429's headers still reach the route's
// bucket, so the next send to the channel waits (here: is handed back)
// without asking Discord again, while other channels go on.
func TestCreate429FeedsBuckets(t *testing.T) {
	var n atomic.Int64
	d := newRawDiscord(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			answer(http.StatusTooManyRequests, `{"message":"You are being rate limited.","retry_after":60}`,
				"Retry-After", "60", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset-After", "60", "X-RateLimit-Bucket", "b1")(w, r)
			return
		}
		answer(http.StatusOK, `{"id":"1250000000000000043"}`)(w, r)
	})
	if _, err := d.send(t, "9", 1); err == nil {
		t.Fatal("want the 429")
	}
	_, err := d.send(t, "9", 2)
	se := sendErr(t, err)
	if !se.Retry || se.RetryAfter < 55*time.Second || !strings.Contains(err.Error(), `bucket "b1"`) {
		t.Fatalf("second send: %v, want the bucket b1's wait", err)
	}
	if got := len(d.requests()); got != 1 {
		t.Fatalf("%d requests, want 1", got)
	}
	if id, err := d.send(t, "10", 3); err != nil || id != "1250000000000000043" {
		t.Fatalf("other channel: %q, %v", id, err)
	}
}

// TestCreateNetworkError: a refused connection and a response cut off are
// transient, and the error names neither the URL nor the token.
func TestCreateNetworkError(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		d := newRawDiscord(t, answer(http.StatusOK, `{"id":"1"}`))
		d.srv.Close()
		_, err := d.send(t, "9", 1)
		checkNetworkError(t, err, d.srv.URL)
	})
	t.Run("cut off", func(t *testing.T) {
		d := newRawDiscord(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"id":"1250000000000000044","con`)
			hangUp(t, w)
		})
		_, err := d.send(t, "9", 1)
		se := sendErr(t, err)
		if !se.Retry || !strings.Contains(err.Error(), "no message id") {
			t.Errorf("cut-off answer: %v, want transient without an id", err)
		}
	})
	t.Run("before the answer", func(t *testing.T) {
		d := newRawDiscord(t, func(w http.ResponseWriter, _ *http.Request) { hangUp(t, w) })
		_, err := d.send(t, "9", 1)
		checkNetworkError(t, err, d.srv.URL)
	})
}

func checkNetworkError(t *testing.T, err error, url string) {
	t.Helper()
	if err == nil {
		t.Fatal("Send succeeded")
	}
	se := sendErr(t, err)
	if !se.Retry {
		t.Errorf("network error not transient: %v", err)
	}
	for _, s := range []string{url, "/api/v9", "test-token"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q names %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), "discord: send to 9: Post:") {
		t.Errorf("error %q does not say what failed", err)
	}
}

// hangUp closes the connection under w without finishing the answer.
func hangUp(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}
