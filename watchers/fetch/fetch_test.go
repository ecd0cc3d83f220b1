package fetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/sourcetest"
)

// private lets a fetch reach the loopback httptest servers.
var private = watchers.Fetch{AllowPrivate: true}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFetchOK(t *testing.T) {
	src := sourcetest.New(t, "application/rss+xml; charset=utf-8", "<rss/>")
	src.SetETag(`"v1"`)
	src.SetLastModified("Mon, 02 Jun 2025 10:00:00 GMT")

	c := New(Options{})
	got, err := c.Fetch(testCtx(t), watchers.FetchRequest{URL: src.URL + "/feed", Options: private})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Body) != "<rss/>" || got.NotModified {
		t.Errorf("body %q notModified %v", got.Body, got.NotModified)
	}
	if got.ETag != `"v1"` || got.LastModified != "Mon, 02 Jun 2025 10:00:00 GMT" {
		t.Errorf("validators %q %q", got.ETag, got.LastModified)
	}
	if got.ContentType != "application/rss+xml; charset=utf-8" || got.FinalURL != src.URL+"/feed" {
		t.Errorf("content type %q final %q", got.ContentType, got.FinalURL)
	}
	if s := src.LastHeader().Get("User-Agent"); !strings.HasPrefix(s, "alertbot/") || !strings.Contains(s, "github.com/policyteam/alertbot") {
		t.Errorf("User-Agent %q does not name alertbot", s)
	}
}

func TestRedirectToFileRefused(t *testing.T) {
	src := sourcetest.New(t, "", "")
	src.Redirect(http.StatusFound, "file:///etc/passwd")
	_, err := New(Options{}).Fetch(testCtx(t), watchers.FetchRequest{URL: src.URL, Options: private})
	if !errors.Is(err, ErrScheme) {
		t.Fatalf("err = %v, want ErrScheme", err)
	}
	if !strings.HasPrefix(err.Error(), "fetch "+src.URL) || !strings.Contains(err.Error(), "file:///etc/passwd") {
		t.Errorf("error %q should name the url and the redirect target", err)
	}
}

func TestRedirectToOtherSchemeRefused(t *testing.T) {
	for _, target := range []string{"ftp://example.org/x", "gopher://example.org/", "javascript:alert(1)"} {
		t.Run(target, func(t *testing.T) {
			src := sourcetest.New(t, "", "")
			src.Redirect(http.StatusMovedPermanently, target)
			_, err := New(Options{}).Fetch(testCtx(t), watchers.FetchRequest{URL: src.URL, Options: private})
			if !errors.Is(err, ErrScheme) {
				t.Fatalf("err = %v, want ErrScheme", err)
			}
		})
	}
}

func TestRedirectLoopStopsAtFive(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		http.Redirect(w, r, fmt.Sprintf("/loop/%d", n), http.StatusFound)
	}))
	defer srv.Close()
	_, err := New(Options{}).Fetch(testCtx(t), watchers.FetchRequest{URL: srv.URL, Options: private})
	if !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("err = %v, want ErrTooManyRedirects", err)
	}
	// The first request plus five followed redirects.
	if got := hits.Load(); got != 6 {
		t.Errorf("server saw %d requests, want 6", got)
	}
}

func TestFiveRedirectsFollowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/r/%d", &n)
		if n < 5 {
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n+1), http.StatusFound)
			return
		}
		fmt.Fprint(w, "done")
	}))
	defer srv.Close()
	got, err := New(Options{}).Fetch(testCtx(t), watchers.FetchRequest{URL: srv.URL + "/r/0", Options: private})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Body) != "done" || got.FinalURL != srv.URL+"/r/5" {
		t.Errorf("body %q final %q", got.Body, got.FinalURL)
	}
}

func TestBodyOverCap(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2048)
	tests := []struct {
		name    string
		opts    Options
		req     watchers.Fetch
		body    []byte
		chunked bool
		gzip    bool
		want    string // "" means success
	}{
		{name: "exactly the cap", opts: Options{MaxBytes: 2048}, body: big},
		{name: "content-length over", opts: Options{MaxBytes: 1024}, body: big, want: "body exceeds 1 KiB cap"},
		{name: "chunked over", opts: Options{MaxBytes: 1024}, body: big, chunked: true, want: "body exceeds 1 KiB cap"},
		{name: "request option overrides", opts: Options{MaxBytes: 1 << 20}, req: watchers.Fetch{MaxBytes: 1000}, body: big, want: "body exceeds 1000 bytes cap"},
		{name: "default 5 MiB", body: bytes.Repeat([]byte("y"), 5<<20+1), chunked: true, want: "body exceeds 5 MiB cap"},
		// The cap counts decompressed bytes, so a small gzip bomb fails too.
		{name: "gzip bomb", opts: Options{MaxBytes: 1024}, body: make([]byte, 1<<20), gzip: true, want: "body exceeds 1 KiB cap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body := tt.body
				if tt.gzip {
					var buf bytes.Buffer
					zw := gzip.NewWriter(&buf)
					zw.Write(body)
					zw.Close()
					body = buf.Bytes()
					w.Header().Set("Content-Encoding", "gzip")
				}
				if tt.chunked {
					// Two writes with a flush between make the response chunked.
					w.Write(body[:1])
					w.(http.Flusher).Flush()
					w.Write(body[1:])
					return
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.Write(body)
			}))
			defer srv.Close()
			req := tt.req
			req.AllowPrivate = true
			got, err := New(tt.opts).Fetch(testCtx(t), watchers.FetchRequest{URL: srv.URL, Options: req})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Body, tt.body) {
					t.Errorf("got %d bytes, want %d", len(got.Body), len(tt.body))
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrTooLarge with %q", err, tt.want)
			}
			if got.Body != nil {
				t.Errorf("a truncated body was returned (%d bytes)", len(got.Body))
			}
		})
	}
}

func TestSlowServerTimesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			// Headers at once, then a body that never ends.
			w.Write([]byte("<rss>"))
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	for _, path := range []string{"/headers", "/body"} {
		t.Run(path, func(t *testing.T) {
			c := New(Options{Timeout: 200 * time.Millisecond})
			_, err := c.Fetch(testCtx(t), watchers.FetchRequest{URL: srv.URL + path, Options: private})
			if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out after 200ms") {
				t.Fatalf("err = %v, want a timeout after 200ms", err)
			}
		})
	}
	t.Run("request timeout overrides", func(t *testing.T) {
		c := New(Options{Timeout: time.Hour})
		_, err := c.Fetch(testCtx(t), watchers.FetchRequest{URL: srv.URL, Options: watchers.Fetch{AllowPrivate: true, Timeout: "150ms"}})
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "after 150ms") {
			t.Fatalf("err = %v, want a timeout after 150ms", err)
		}
	})
	t.Run("caller cancel is not our timeout", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testCtx(t))
		c := New(Options{Timeout: time.Hour})
		errc := make(chan error, 1)
		go func() {
			_, err := c.Fetch(ctx, watchers.FetchRequest{URL: srv.URL, Options: private})
			errc <- err
		}()
		cancel()
		err := <-errc
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// recordDial is a DialContext hook that fails the test if anything is dialled.
func recordDial(dials *atomic.Int32) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("no dial expected")
	}
}

func TestForbiddenAddressesAlwaysRefused(t *testing.T) {
	urls := []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://169.254.1.2/",
		"http://[fe80::1]/",
		"http://[fd00:ec2::254]/",
		"http://[::ffff:169.254.169.254]/",
		"http://metadata.google.internal/computeMetadata/v1/",
		"http://METADATA.GOOGLE.INTERNAL./",
	}
	for _, u := range urls {
		for _, allow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s allow=%v", u, allow), func(t *testing.T) {
				var dials atomic.Int32
				c := New(Options{DialContext: recordDial(&dials)})
				_, err := c.Fetch(testCtx(t), watchers.FetchRequest{URL: u, Options: watchers.Fetch{AllowPrivate: allow}})
				if !errors.Is(err, ErrForbiddenAddress) {
					t.Fatalf("err = %v, want ErrForbiddenAddress", err)
				}
				if n := dials.Load(); n != 0 {
					t.Errorf("%d connections attempted", n)
				}
			})
		}
	}
}

func TestRealDialerRefusesMetadataLiteral(t *testing.T) {
	// Without a hook: the literal check must refuse before any connect,
	// which would otherwise hang or reach a real metadata service.
	_, err := New(Options{ConnectTimeout: time.Second}).Fetch(testCtx(t), watchers.FetchRequest{URL: "http://169.254.169.254/", Options: private})
	if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), "cloud metadata") {
		t.Fatalf("err = %v, want a refused metadata address", err)
	}
}

func TestRedirectToMetadataRefused(t *testing.T) {
	src := sourcetest.New(t, "", "")
	src.Redirect(http.StatusFound, "http://169.254.169.254/latest/")
	_, err := New(Options{}).Fetch(testCtx(t), watchers.FetchRequest{URL: src.URL, Options: private})
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
}

func TestLoopbackRefusedUnlessAllowed(t *testing.T) {
	src := sourcetest.New(t, "text/plain", "ok")
	u, err := url.Parse(src.URL)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	c := New(Options{})
	ctx := testCtx(t)

	// Literal address: refused before dialling.
	_, err = c.Fetch(ctx, watchers.FetchRequest{URL: src.URL})
	if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("literal: err = %v, want loopback refused", err)
	}
	// A name resolving to loopback: refused at dial time on the resolved
	// address, the check DNS rebinding cannot dodge.
	_, err = c.Fetch(ctx, watchers.FetchRequest{URL: "http://localhost:" + port + "/"})
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("name: err = %v, want ErrForbiddenAddress", err)
	}
	if n := src.Requests(); n != 0 {
		t.Fatalf("server reached %d times while refused", n)
	}
	// Allowed: works, and a later strict fetch does not reuse the
	// connection the allowed one left open.
	if _, err := c.Fetch(ctx, watchers.FetchRequest{URL: src.URL, Options: private}); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if _, err := c.Fetch(ctx, watchers.FetchRequest{URL: "http://localhost:" + port + "/"}); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("after allowed fetch: err = %v, want ErrForbiddenAddress", err)
	}
	if n := src.Requests(); n != 1 {
		t.Errorf("server reached %d times, want 1", n)
	}
}

func TestRedirectToPrivateChecksDial(t *testing.T) {
	// A public-looking start that redirects to a name on loopback: the
	// dial-time check refuses it. The hook stands in for the network, and
	// checks still run on the address it is asked for.
	var dials atomic.Int32
	c := New(Options{DialContext: recordDial(&dials)})
	_, err := c.Fetch(testCtx(t), watchers.FetchRequest{URL: "http://10.1.2.3/"})
	if !errors.Is(err, ErrForbiddenAddress) || dials.Load() != 0 {
		t.Fatalf("err = %v dials %d, want refused without dial", err, dials.Load())
	}
}

func TestConditionalGet(t *testing.T) {
	const etag, lm = `"abc"`, "Tue, 03 Jun 2025 08:00:00 GMT"
	src := sourcetest.New(t, "text/plain", "fresh")
	src.SetETag(etag)
	src.SetLastModified(lm)
	c := New(Options{})
	ctx := testCtx(t)
	first, err := c.Fetch(ctx, watchers.FetchRequest{URL: src.URL, Options: private})
	if err != nil || first.NotModified || string(first.Body) != "fresh" {
		t.Fatalf("first: %+v %v", first, err)
	}
	for _, send := range []bool{false, true} {
		src.ValidatorsOn304(send)
		got, err := c.Fetch(ctx, watchers.FetchRequest{URL: src.URL, ETag: first.ETag, LastModified: first.LastModified, Options: private})
		if err != nil {
			t.Fatal(err)
		}
		if h := src.LastHeader(); h.Get("If-None-Match") != etag || h.Get("If-Modified-Since") != lm {
			t.Errorf("send=%v: request validators %q %q, want both", send, h.Get("If-None-Match"), h.Get("If-Modified-Since"))
		}
		if !got.NotModified || got.Body != nil || got.ETag != etag || got.LastModified != lm {
			t.Errorf("send=%v: got %+v, want NotModified with validators kept", send, got)
		}
	}
}

func TestStatusError(t *testing.T) {
	src := sourcetest.New(t, "", "")
	src.Fail(http.StatusInternalServerError)
	_, err := New(Options{}).Fetch(testCtx(t), watchers.FetchRequest{URL: src.URL + "/x?token=s3cret", Options: private})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 500 {
		t.Fatalf("err = %v, want StatusError 500", err)
	}
	if want := "fetch " + src.URL + "/x?…: http status 500 Internal Server Error"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestErrorsDoNotLeakQuery(t *testing.T) {
	_, err := New(Options{}).Fetch(testCtx(t), watchers.FetchRequest{URL: "http://user:pw@127.0.0.1:1/x?api_key=s3cret"})
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "pw@") {
		t.Fatalf("err = %v, want an error without secrets", err)
	}
}

func TestBadRequests(t *testing.T) {
	c := New(Options{})
	for _, tt := range []struct {
		url  string
		opts watchers.Fetch
		want string
	}{
		{url: "file:///etc/passwd", want: "only http and https"},
		{url: "ftp://example.org/", want: "only http and https"},
		{url: "http://%zz", want: "bad url"},
		{url: "http:///path", want: "no host"},
		{url: "http://127.0.0.1/", opts: watchers.Fetch{AllowPrivate: true, Timeout: "soon"}, want: `bad timeout "soon"`},
	} {
		_, err := c.Fetch(testCtx(t), watchers.FetchRequest{URL: tt.url, Options: tt.opts})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.url, err, tt.want)
		}
	}
}

func TestPacingHonoursContext(t *testing.T) {
	src := sourcetest.New(t, "", "")
	c := New(Options{PerHostInterval: time.Hour})
	if _, err := c.Fetch(testCtx(t), watchers.FetchRequest{URL: src.URL, Options: private}); err != nil {
		t.Fatal(err)
	}

	// The second request to the host must wait an hour; cancelling ends it.
	// No deadline here: with one shorter than the hour, the limiter fails
	// at once ("would exceed context deadline") before the cancel lands.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Fetch(ctx, watchers.FetchRequest{URL: src.URL + "/again", Options: private})
		errc <- err
	}()
	cancel()
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v, want cancellation", err)
	}

	// A deadline shorter than the wait fails at once rather than sleeping.
	dctx, dcancel := context.WithTimeout(testCtx(t), 5*time.Second)
	defer dcancel()
	if _, err := c.Fetch(dctx, watchers.FetchRequest{URL: src.URL, Options: private}); err == nil || !strings.Contains(err.Error(), "pacing") {
		t.Fatalf("err = %v, want a pacing error", err)
	}
	if n := src.Requests(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}

	// Another host has its own limiter.
	other := sourcetest.New(t, "", "")
	if _, err := c.Fetch(testCtx(t), watchers.FetchRequest{URL: other.URL, Options: private}); err != nil {
		t.Fatalf("other host: %v", err)
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tt := range []struct {
		ip           string
		strict, priv bool // allowed without and with AllowPrivate
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1::1", true, true},
		{"127.0.0.1", false, true},
		{"::1", false, true},
		{"10.0.0.1", false, true},
		{"172.16.5.4", false, true},
		{"192.168.1.1", false, true},
		{"fd12::1", false, true},
		{"0.0.0.0", false, true},
		{"::", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"169.254.169.254", false, false},
		{"169.254.0.1", false, false},
		{"fe80::1", false, false},
		{"fd00:ec2::254", false, false},
		{"224.0.0.1", false, false},
	} {
		ip := netip.MustParseAddr(tt.ip)
		if got := CheckAddr(ip, false) == nil; got != tt.strict {
			t.Errorf("CheckAddr(%s, false) allowed=%v, want %v", tt.ip, got, tt.strict)
		}
		if got := CheckAddr(ip, true) == nil; got != tt.priv {
			t.Errorf("CheckAddr(%s, true) allowed=%v, want %v", tt.ip, got, tt.priv)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://example.org/feed", true},
		{"http://example.org", true},
		{"", false},
		{"example.org/feed", false},
		{"file:///etc/passwd", false},
		{"https://", false},
		{"http://%zz", false},
	} {
		if err := ValidateURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("ValidateURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
	for _, tt := range []struct {
		f  watchers.Fetch
		ok bool
	}{
		{watchers.Fetch{}, true},
		{watchers.Fetch{Timeout: "10s", MaxBytes: 1 << 20}, true},
		{watchers.Fetch{Timeout: "ten"}, false},
		{watchers.Fetch{Timeout: "-1s"}, false},
		{watchers.Fetch{MaxBytes: -1}, false},
	} {
		if err := ValidateOptions(tt.f); (err == nil) != tt.ok {
			t.Errorf("ValidateOptions(%+v) = %v, want ok=%v", tt.f, err, tt.ok)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@example.org/a/b?key=1#frag": "https://example.org/a/b?…",
		"https://example.org/a":                  "https://example.org/a",
		"http://%zz":                             "<unparsable url>",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
