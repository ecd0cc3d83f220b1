package slack

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// sharedTestdata returns a path under ../shared/testdata (next to the
// repository root), skipping the test when that material is absent.
func sharedTestdata(t testing.TB, parts ...string) string {
	return sharedtest.Path(t, parts...)
}

// fakeHandler is a bot.Handler that records requests and answers with
// reply; commands starting with "watcher run" are slow. When gate is set,
// Handle waits for it to be closed.
type fakeHandler struct {
	mu    sync.Mutex
	reqs  []bot.Request
	reply func(bot.Request) bot.Reply
	gate  chan struct{}
	seen  chan bot.Request // optional: gets every request
}

var _ bot.Handler = (*fakeHandler)(nil)

func (h *fakeHandler) Handle(ctx context.Context, req bot.Request) bot.Reply {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	gate, seen := h.gate, h.seen
	h.mu.Unlock()
	if seen != nil {
		seen <- req
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return bot.Reply{Text: "cancelled", Error: true}
		}
	}
	if h.reply != nil {
		return h.reply(req)
	}
	return bot.Reply{Text: "ok: " + req.Text, Public: strings.HasPrefix(req.Text, "subscribe ")}
}

func (h *fakeHandler) Slow(req bot.Request) bool { return strings.HasPrefix(req.Text, "watcher run") }

func (h *fakeHandler) Complete(context.Context, string, string) []string { return nil }

func (h *fakeHandler) requests() []bot.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bot.Request(nil), h.reqs...)
}

// testLogger logs everything, at debug level, into a buffer.
func testLogger() (*slog.Logger, *sharedtest.Buffer) {
	buf := &sharedtest.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
