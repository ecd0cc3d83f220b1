package calendar

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// source is a loopback server standing in for a calendar feed. It
// answers conditional requests with 304 when the body is unchanged.
type source struct {
	srv *httptest.Server

	mu       sync.Mutex
	body     string
	status   int  // non-zero: answer with this status
	noETag   bool // serve without validators
	requests int
	notMod   int
}

func newSource(t *testing.T, body string) *source {
	t.Helper()
	s := &source{body: body}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *source) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.status != 0 {
		http.Error(w, "boom", s.status)
		return
	}
	sum := sha256.Sum256([]byte(s.body))
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if !s.noETag {
		if r.Header.Get("If-None-Match") == etag {
			s.notMod++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	_, _ = w.Write([]byte(s.body))
}

func (s *source) set(body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

func (s *source) fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

func (s *source) counts() (requests, notModified int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.notMod
}

// testFetcher is the production fetcher, allowed to reach loopback.
func testFetcher() watchers.Fetcher {
	return fetch.New(fetch.Options{Timeout: 10 * time.Second})
}

func tokyo(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no zone data: %v", err)
	}
	return loc
}

// testdataDir returns ../shared/testdata/<sub> from the repository root,
// skipping the test when it is absent.
func testdataDir(t testing.TB, sub string) string {
	return sharedtest.Path(t, sub)
}
