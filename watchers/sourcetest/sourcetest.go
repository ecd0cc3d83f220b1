// Package sourcetest is the one fake watched site for the tests of the
// source watchers and their fetcher: a real HTTP server on loopback
// (net/http/httptest), so the production fetcher runs unmodified against
// it. A test changes what it serves, gives it validators, makes it fail
// or redirect, and reads back what it was asked. Check runs one check of
// a source watcher the way those tests all need it.
package sourcetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// Source is a site that serves one document at every path, answering
// conditional GETs as a real server does. It is safe for concurrent use
// and closes when the test ends.
type Source struct {
	// URL is the base URL of the server, http://127.0.0.1:port; any path
	// below it serves the same document.
	URL string

	mu            sync.Mutex
	body          []byte
	contentType   string
	etag          string // fixed ETag, "" for none
	hashETag      bool   // ETag derived from the body instead
	lastModified  string
	status        int    // non-zero: a failure or redirect instead of the body
	location      string // for a redirect status
	validators304 bool

	requests    int
	conditional int
	notModified int
	header      http.Header // of the last request
}

// New starts a Source serving body as contentType, without validators
// until SetETag or SetLastModified gives it some.
func New(t testing.TB, contentType, body string) *Source {
	t.Helper()
	s := &Source{body: []byte(body), contentType: contentType}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Set serves body from now on with the validators as they are set, and
// ends a failure or redirect.
func (s *Source) Set(body string) {
	s.update(func() { s.body, s.status, s.location = []byte(body), 0, "" })
}

// SetContentType sets the Content-Type header of the document; "" sends
// none, leaving the client to sniff.
func (s *Source) SetContentType(ct string) {
	s.update(func() { s.contentType = ct })
}

// SetETag gives the document a fixed ETag (quoted, as on the wire), or
// none with "": a test picks when the tag changes, also for one body.
func (s *Source) SetETag(etag string) {
	s.update(func() { s.etag, s.hashETag = etag, false })
}

// HashETag makes the ETag a hash of the body from now on, so that it
// changes exactly when the body does, as most servers compute it.
// SetETag ends it.
func (s *Source) HashETag() {
	s.update(func() { s.etag, s.hashETag = "", true })
}

// SetLastModified gives the document a Last-Modified date (HTTP date
// format), or none with "".
func (s *Source) SetLastModified(date string) {
	s.update(func() { s.lastModified = date })
}

// ValidatorsOn304 makes a 304 repeat the document's validators, as RFC
// 9110 asks of a server; off (the default), a 304 is bare, as some
// servers send it, and the client must keep the validators it sent.
func (s *Source) ValidatorsOn304(on bool) {
	s.update(func() { s.validators304 = on })
}

// Fail answers every request with status and a short text body until
// Set is called; Fail(0) serves the document again.
func (s *Source) Fail(status int) {
	s.update(func() { s.status, s.location = status, "" })
}

// Redirect answers every request with status (a 3xx) and location,
// written as given so that a test can send targets a client must refuse,
// until Set or Fail(0).
func (s *Source) Redirect(status int, location string) {
	s.update(func() { s.status, s.location = status, location })
}

// Requests reports how many requests the server answered.
func (s *Source) Requests() int { return s.count(&s.requests) }

// Conditional reports how many requests carried If-None-Match or
// If-Modified-Since, whatever the answer.
func (s *Source) Conditional() int { return s.count(&s.conditional) }

// NotModified reports how many requests were answered 304.
func (s *Source) NotModified() int { return s.count(&s.notModified) }

// update changes the Source under its lock.
func (s *Source) update(change func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change()
}

// count reads one of the Source's counters under its lock.
func (s *Source) count(n *int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *n
}

// LastHeader returns a copy of the last request's header (nil before
// any), for tests of what the client sends.
func (s *Source) LastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.header.Clone()
}

func (s *Source) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.header = r.Header.Clone()
	inm, ims := r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
	if inm != "" || ims != "" {
		s.conditional++
	}
	switch {
	case s.location != "":
		w.Header().Set("Location", s.location)
		w.WriteHeader(s.status)
		return
	case s.status != 0:
		http.Error(w, http.StatusText(s.status), s.status)
		return
	}
	etag := s.etag
	if s.hashETag {
		sum := sha256.Sum256(s.body)
		etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	}
	if fresh(inm, ims, etag, s.lastModified) {
		s.notModified++
		if s.validators304 {
			setValidators(w.Header(), etag, s.lastModified)
		}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	setValidators(w.Header(), etag, s.lastModified)
	if s.contentType != "" {
		w.Header().Set("Content-Type", s.contentType)
	}
	_, _ = w.Write(s.body)
}

func setValidators(h http.Header, etag, lastModified string) {
	if etag != "" {
		h.Set("ETag", etag)
	}
	if lastModified != "" {
		h.Set("Last-Modified", lastModified)
	}
}

// fresh reports whether the client's copy is current, by the rules of
// RFC 9110 §13.2.2: If-None-Match (weak comparison, "*" or a list) when
// present, else If-Modified-Since against Last-Modified.
func fresh(inm, ims, etag, lastModified string) bool {
	if inm != "" {
		if etag == "" {
			return false
		}
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == strings.TrimPrefix(etag, "W/") {
				return true
			}
		}
		return false
	}
	if ims == "" || lastModified == "" {
		return false
	}
	since, err1 := http.ParseTime(ims)
	modified, err2 := http.ParseTime(lastModified)
	return err1 == nil && err2 == nil && !modified.After(since)
}

// Check runs w.Check at now on state, bounded in time so that a hang
// fails the test rather than stalls the suite. It fails the test on an
// error, and on a result without state: a source watcher's successful
// check always hands on its state, or the next check starts over.
func Check(t testing.TB, w watchers.Watcher, now time.Time, state []byte) watchers.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	res, err := w.Check(ctx, watchers.Input{Now: now, State: state})
	if err != nil {
		t.Fatalf("check at %v: %v", now, err)
	}
	if res.State == nil {
		t.Fatalf("check at %v: success without state", now)
	}
	return res
}
