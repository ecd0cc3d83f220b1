package discord

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	b := newBuckets()
	now := time.Unix(1000, 0)
	const path = "/api/v9/channels/1/messages"
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	b.update(path, 200, h("X-RateLimit-Remaining", "3", "X-RateLimit-Reset-After", "2.5", "X-RateLimit-Bucket", "abc"), now)
	if d, _ := b.delay(path, now); d != 0 {
		t.Fatalf("delay %v with requests remaining", d)
	}
	b.update(path, 200, h("X-RateLimit-Remaining", "0", "X-RateLimit-Reset-After", "2.5", "X-RateLimit-Bucket", "abc"), now)
	if d, which := b.delay(path, now.Add(time.Second)); d != 1500*time.Millisecond || which != "abc" {
		t.Fatalf("delay %v bucket %q, want 1.5s on abc", d, which)
	}
	if d, _ := b.delay(path, now.Add(3*time.Second)); d != 0 {
		t.Fatalf("delay %v after the reset", d)
	}
	if d, _ := b.delay("/api/v9/channels/2/messages", now); d != 0 {
		t.Fatalf("another channel waits %v", d)
	}
	// A 429 empties the bucket for Retry-After even without the headers.
	b.update("/api/v9/channels/3/messages", 429, h("Retry-After", "4"), now)
	if d, _ := b.delay("/api/v9/channels/3/messages", now); d != 4*time.Second {
		t.Fatalf("delay after 429 %v, want 4s", d)
	}
	// A global 429 holds every route.
	b.update(path, 429, h("X-RateLimit-Global", "true", "Retry-After", "7", "X-RateLimit-Reset-After", "7"), now)
	if d, which := b.delay("/api/v9/channels/9/messages", now); d != 7*time.Second || which != "global" {
		t.Fatalf("delay %v %q during a global limit", d, which)
	}
	// Interaction callbacks and webhooks are not tracked.
	b.update("/api/v9/interactions/1/tok/callback", 200, h("X-RateLimit-Remaining", "0", "X-RateLimit-Reset-After", "60"), now)
	if _, ok := b.routes["/api/v9/interactions/1/tok/callback"]; ok {
		t.Fatal("interaction callback tracked")
	}
	// Garbage headers change nothing and do not panic.
	later := now.Add(time.Minute)
	b.update("/api/v9/channels/4/messages", 200, h("X-RateLimit-Remaining", "lots", "X-RateLimit-Reset-After", "soon"), later)
	if d, _ := b.delay("/api/v9/channels/4/messages", later); d != 0 {
		t.Fatalf("garbage headers gave a delay of %v", d)
	}
}

func TestBucketsWaitTooLong(t *testing.T) {
	b := newBuckets()
	const path = "/api/v9/channels/1/messages"
	h := http.Header{}
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset-After", "600")
	b.update(path, 200, h, time.Now())
	err := b.wait(ctxTimeout(t), path)
	var bw *errBucketWait
	if !errors.As(err, &bw) || bw.after < maxBucketWait {
		t.Fatalf("wait: %v, want *errBucketWait", err)
	}
}

func TestTransportGatewayOverride(t *testing.T) {
	tr := &transport{base: http.DefaultTransport, gateway: "ws://127.0.0.1:9/gateway", limits: newBuckets()}
	req, err := http.NewRequest(http.MethodGet, "https://discord.com/api/v9/gateway", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// exhausted is the headers of an answer that used up its route's bucket
// for a second.
func exhausted() http.Header {
	h := http.Header{}
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset-After", "1")
	return h
}

func TestBucketsPrune(t *testing.T) {
	b := newBuckets()
	now := time.Unix(1000, 0)
	h := exhausted()
	for i := range 4096 {
		b.update("/api/v9/channels/"+strconv.Itoa(i)+"/messages", 200, h, now)
	}
	// The next new route, after those windows passed, prunes them.
	b.update("/api/v9/channels/new/messages", 200, h, now.Add(2*time.Second))
	if n := len(b.routes); n != 1 {
		t.Fatalf("%d routes after pruning, want 1", n)
	}
}

// TestBucketsPruneAmortized: with thousands of live windows a prune drops
// nothing, and the next new routes do not walk them all again: the next
// prune comes when the routes have doubled.
func TestBucketsPruneAmortized(t *testing.T) {
	b := newBuckets()
	now := time.Unix(1000, 0)
	h := exhausted()
	add := func(i int, at time.Time) {
		b.update("/api/v9/channels/"+strconv.Itoa(i)+"/messages", 200, h, at)
	}
	for i := range minPrune + 1 {
		add(i, now) // the last one prunes: every window is still open
	}
	if n := len(b.routes); n != minPrune+1 {
		t.Fatalf("%d routes, want %d: none had passed", n, minPrune+1)
	}
	later := now.Add(2 * time.Second) // every window so far has passed
	add(-1, later)
	if n := len(b.routes); n != minPrune+2 {
		t.Fatalf("%d routes, want %d: no prune before the routes double", n, minPrune+2)
	}
	for i := minPrune + 1; ; i++ {
		before := len(b.routes)
		add(i, later)
		if len(b.routes) > before {
			continue
		}
		// Pruned: when the routes had doubled since the first prune,
		// which left minPrune; what is left now are the open windows.
		if before != 2*minPrune || len(b.routes) != before-(minPrune+1)+1 {
			t.Errorf("pruned at %d routes to %d, want at %d to %d", before, len(b.routes), 2*minPrune, before-minPrune)
		}
		break
	}
}
