package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/discord/discordtest"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// testNow is the adapter's clock in tests.
var testNow = time.Date(2025, 7, 13, 0, 0, 0, 0, time.UTC)

// fakeHandler is a bot.Handler that records requests and answers with the
// words it got, so tests see exactly what the router would.
type fakeHandler struct {
	mu   sync.Mutex
	reqs []bot.Request
	ids  map[string][]string // what → ids for Complete
}

var _ bot.Handler = (*fakeHandler)(nil)

func newFakeHandler() *fakeHandler {
	return &fakeHandler{ids: map[string][]string{
		"event":   {"upper-house-election-2025", "upper-house-results", "jp-fy2025-budget", "ishiba-trump-summit"},
		"watcher": {"deadlines", "crs-japan"},
		"tag":     {"japan", "budget", "election", "us"},
	}}
}

func words(req bot.Request) []string {
	if req.Args != nil {
		return req.Args
	}
	return strings.Fields(req.Text)
}

func (h *fakeHandler) Handle(ctx context.Context, req bot.Request) bot.Reply {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	h.mu.Unlock()
	w := words(req)
	public := len(w) > 0 && slices.Contains([]string{"subscribe", "unsubscribe", "mute", "unmute"}, w[0])
	return bot.Reply{Text: "ran: " + strings.Join(w, " "), Public: public}
}

func (h *fakeHandler) Slow(req bot.Request) bool {
	w := words(req)
	return len(w) >= 2 && w[0] == "watcher" && w[1] == "run"
}

func (h *fakeHandler) Complete(ctx context.Context, what, prefix string) []string {
	var out []string
	for _, id := range h.ids[what] {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	return out
}

func (h *fakeHandler) requests() []bot.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bot.Request(nil), h.reqs...)
}

// env is an adapter wired to a fake Discord and served over HTTP.
type env struct {
	fake    *discordtest.Server
	handler *fakeHandler
	adapter *Adapter
	http    *httptest.Server
	priv    ed25519.PrivateKey
}

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fake: discordtest.NewServer(), handler: newFakeHandler(), priv: priv}
	t.Cleanup(e.fake.Close)
	cfg := Config{
		BotToken:  "test-token",
		AppID:     "1000",
		PublicKey: hex.EncodeToString(pub),
		APIURL:    e.fake.URL,
		Commands:  testSpecs,
		Logger:    testLogger(t),
		Now:       func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	e.adapter, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.adapter.Routes(mux, e.handler)
	e.http = httptest.NewServer(mux)
	t.Cleanup(e.http.Close)
	return e
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// sign returns the signature headers for body at ts with priv.
func sign(priv ed25519.PrivateKey, ts time.Time, body []byte) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	sig := ed25519.Sign(priv, append([]byte(stamp), body...))
	h := http.Header{}
	h.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	h.Set("X-Signature-Timestamp", stamp)
	return h
}

// post sends body to the interactions endpoint with headers h.
func (e *env) post(t testing.TB, body []byte, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+"/discord/interactions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Client().Do(req)
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

// signedPost signs body with the env's key at testNow and posts it.
func (e *env) signedPost(t testing.TB, body []byte) (*http.Response, []byte) {
	t.Helper()
	return e.post(t, body, sign(e.priv, testNow, body))
}

// interactionResponse is the decoded answer to an interaction.
type interactionResponse struct {
	Type int `json:"type"`
	Data *struct {
		Content         string `json:"content"`
		Flags           int    `json:"flags"`
		AllowedMentions *struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
		Choices []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"choices"`
	} `json:"data"`
}

func decodeResponse(t testing.TB, b []byte) interactionResponse {
	t.Helper()
	var r interactionResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	return r
}

// opt is an interaction option in a test payload.
type opt struct {
	Name    string `json:"name"`
	Type    int    `json:"type"`
	Value   any    `json:"value,omitempty"`
	Focused bool   `json:"focused,omitempty"`
	Options []opt  `json:"options,omitempty"`
}

// commandBody builds a type-2 (or, with focused options, type-4)
// interaction for /command sub with options.
func commandBody(t testing.TB, typ int, command, sub string, opts ...opt) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"id": "1200", "application_id": "1000", "type": typ, "token": "itoken-" + sub,
		"guild_id": "300", "channel_id": "400", "version": 1,
		"member": map[string]any{"user": map[string]any{"id": "500", "username": "aiko"}},
		"data":   map[string]any{"id": "9", "name": command, "type": 1, "options": []opt{{Name: sub, Type: 1, Options: opts}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func strOpt(name, value string) opt { return opt{Name: name, Type: 3, Value: value} }

// sharedTestdata returns /work/shared/testdata/discord/<rel> found from the
// repository root (the directory holding go.mod), skipping when absent.
func sharedTestdata(t testing.TB, rel string) string {
	return sharedtest.Path(t, "discord", rel)
}

func ctxTimeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
