package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBucketWait is the longest Send blocks for a per-route bucket to reset;
// longer waits are handed back to the dispatcher as a transient error so
// that one busy channel does not hold a delivery worker.
const maxBucketWait = 5 * time.Second

// parallelSends is how many channels the dispatcher may send to at once
// (ParallelSends). Discord's own limit (50 requests/s by default, the
// `limits:` setting) paces them; lanes hide the round trip when the limit
// is lifted, and cost nothing after a crash (ClaimAhead). 16 rather than
// 32: on the 2-core machine a burst with the limit lifted went faster
// with 16 (BenchmarkEndToEnd, fewer goroutines and connections to serve).
const parallelSends = 16

// transport points discordgo's requests at another base URL (discordgo
// computes its Endpoint* variables at init, so reassigning them redirects
// nothing), answers the gateway lookup when a gateway URL is configured,
// and records rate-limit headers for the buckets.
type transport struct {
	base    http.RoundTripper
	scheme  string
	host    string
	rewrite bool
	gateway string
	limits  *buckets
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.gateway != "" && req.Method == http.MethodGet && isGatewayPath(req.URL.Path) {
		if req.Body != nil {
			req.Body.Close()
		}
		body, err := json.Marshal(map[string]any{"url": t.gateway, "shards": 1})
		if err != nil {
			return nil, fmt.Errorf("discord: gateway lookup: %w", err)
		}
		return &http.Response{
			Status:        "200 OK",
			StatusCode:    http.StatusOK,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{"Content-Type": {"application/json"}},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       req,
		}, nil
	}
	out := req
	if t.rewrite && (req.URL.Host != t.host || req.URL.Scheme != t.scheme) {
		// A RoundTripper must not modify the caller's request. (Send's
		// requests are addressed to the host already.)
		out = req.Clone(req.Context())
		out.URL.Scheme = t.scheme
		out.URL.Host = t.host
		out.Host = ""
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	t.limits.update(routeKey(req.Method, req.URL.Path), resp.StatusCode, resp.Header, time.Now())
	return resp, nil
}

// routeKey names the bucket of a request: Discord limits routes by method
// as well as path (reading a channel's messages apart from posting to it),
// and the path holds the major parameter, the channel id.
func routeKey(method, path string) string { return method + " " + path }

func isGatewayPath(p string) bool {
	p = strings.TrimSuffix(p, "/")
	return strings.HasSuffix(p, "/gateway") || strings.HasSuffix(p, "/gateway/bot")
}

// buckets tracks Discord's per-route rate limits from X-RateLimit-* headers,
// keyed by routeKey: method and path (the path holds the route's major
// parameter, the channel id, which Discord's buckets are split by). Real
// time is used, not Config.Now: these are waits on the wall clock.
type buckets struct {
	mu     sync.Mutex
	routes map[string]*bucket
	global time.Time // all requests wait until then (a global 429)
	// pruneAt is the number of routes at which a new one first prunes
	// the passed windows: at least minPrune, and twice what a prune left,
	// so a burst to thousands of live channels does not walk them all for
	// each new one.
	pruneAt int
}

// minPrune is the fewest routes kept before passed windows are pruned.
const minPrune = 4096

type bucket struct {
	remaining int
	reset     time.Time
	hash      string // X-RateLimit-Bucket, for errors
}

func newBuckets() *buckets { return &buckets{routes: make(map[string]*bucket)} }

// tracked reports whether a route is worth a bucket: interaction callbacks
// and follow-ups carry one-off tokens and would only grow the map.
func tracked(key string) bool {
	return !strings.Contains(key, "/interactions/") && !strings.Contains(key, "/webhooks/")
}

// update records the headers of one response on the route key (routeKey).
// The X-RateLimit-* names are written as http.Header keeps them
// ("X-Ratelimit-…"): Get canonicalises any other spelling into a new
// string, on every response.
func (b *buckets) update(key string, status int, h http.Header, now time.Time) {
	if !tracked(key) {
		return
	}
	after, hasAfter := seconds(h.Get("X-Ratelimit-Reset-After"))
	if status == http.StatusTooManyRequests {
		if ra, ok := seconds(h.Get("Retry-After")); ok && (!hasAfter || ra > after) {
			after, hasAfter = ra, true
		}
	}
	global := h.Get("X-Ratelimit-Global") != "" || strings.EqualFold(h.Get("X-Ratelimit-Scope"), "global")
	b.mu.Lock()
	defer b.mu.Unlock()
	if status == http.StatusTooManyRequests && global && hasAfter {
		if until := now.Add(after); until.After(b.global) {
			b.global = until
		}
		return
	}
	rem := h.Get("X-Ratelimit-Remaining")
	if rem == "" && status != http.StatusTooManyRequests {
		return
	}
	r, err := strconv.Atoi(rem)
	switch {
	case status == http.StatusTooManyRequests:
		r = 0
	case err != nil:
		return // garbage: keep what we knew
	}
	bk := b.routes[key]
	if bk == nil {
		if len(b.routes) >= max(b.pruneAt, minPrune) {
			b.prune(now)
			b.pruneAt = 2 * len(b.routes)
		}
		bk = &bucket{}
		b.routes[key] = bk
	}
	bk.remaining = r
	bk.hash = h.Get("X-Ratelimit-Bucket")
	if hasAfter {
		bk.reset = now.Add(after)
	}
}

// prune drops buckets whose window has passed; called with mu held.
func (b *buckets) prune(now time.Time) {
	for k, bk := range b.routes {
		if !now.Before(bk.reset) {
			delete(b.routes, k)
		}
	}
}

// delay returns how long a request on the route key must wait now, and the
// bucket that holds it.
func (b *buckets) delay(key string, now time.Time) (time.Duration, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var d time.Duration
	var which string
	if now.Before(b.global) {
		d, which = b.global.Sub(now), "global"
	}
	if bk := b.routes[key]; bk != nil && bk.remaining <= 0 && now.Before(bk.reset) && bk.reset.Sub(now) > d {
		d, which = bk.reset.Sub(now), bk.hash
	}
	return d, which
}

// errBucketWait says a bucket is exhausted for longer than Send will block.
type errBucketWait struct {
	bucket string // X-RateLimit-Bucket, or "global"
	after  time.Duration
}

// Error implements error.
func (e *errBucketWait) Error() string {
	return fmt.Sprintf("rate limit bucket %q exhausted for %s", e.bucket, e.after.Round(time.Millisecond))
}

// wait blocks until a request on the route key may go, or returns
// *errBucketWait when that is further away than maxBucketWait, or ctx's
// error.
func (b *buckets) wait(ctx context.Context, key string) error {
	for {
		d, which := b.delay(key, time.Now())
		if d <= 0 {
			return nil
		}
		if d > maxBucketWait {
			return &errBucketWait{bucket: which, after: d}
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// seconds parses Discord's float seconds ("1.5").
func seconds(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e6 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}
