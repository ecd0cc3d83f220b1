package sourcetest

import (
	"io"
	"net/http"
	"testing"
)

// get requests s.URL+path with the given header fields (name, value
// pairs) and returns the status, body and response header.
func get(t *testing.T, s *Source, path string, fields ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		req.Header.Set(fields[i], fields[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestServesAndCounts(t *testing.T) {
	s := New(t, "application/rss+xml", "<rss/>")
	code, body, h := get(t, s, "/any/path", "User-Agent", "probe")
	if code != 200 || body != "<rss/>" || h.Get("Content-Type") != "application/rss+xml" || h.Get("ETag") != "" {
		t.Fatalf("got %d %q %v", code, body, h)
	}
	s.Set("<rss>2</rss>")
	if _, body, _ := get(t, s, "/", "User-Agent", "second"); body != "<rss>2</rss>" {
		t.Errorf("after Set: %q", body)
	}
	if s.Requests() != 2 || s.Conditional() != 0 || s.NotModified() != 0 {
		t.Errorf("counts %d %d %d", s.Requests(), s.Conditional(), s.NotModified())
	}
	if ua := s.LastHeader().Get("User-Agent"); ua != "second" {
		t.Errorf("LastHeader has User-Agent %q, want the last request's", ua)
	}
}

func TestConditional(t *testing.T) {
	const lm = "Tue, 03 Jun 2025 08:00:00 GMT"
	for _, tt := range []struct {
		name   string
		setup  func(*Source)
		fields []string
		want   int
	}{
		{"no validators", func(s *Source) {}, []string{"If-None-Match", `"a"`}, 200},
		{"etag match", func(s *Source) { s.SetETag(`"a"`) }, []string{"If-None-Match", `"a"`}, 304},
		{"etag in list, weak", func(s *Source) { s.SetETag(`"a"`) }, []string{"If-None-Match", `"x", W/"a"`}, 304},
		{"etag star", func(s *Source) { s.SetETag(`"a"`) }, []string{"If-None-Match", "*"}, 304},
		{"etag changed", func(s *Source) { s.SetETag(`"b"`) }, []string{"If-None-Match", `"a"`}, 200},
		{"etag wins over date", func(s *Source) { s.SetETag(`"b"`); s.SetLastModified(lm) }, []string{"If-None-Match", `"a"`, "If-Modified-Since", lm}, 200},
		{"date same", func(s *Source) { s.SetLastModified(lm) }, []string{"If-Modified-Since", lm}, 304},
		{"date later", func(s *Source) { s.SetLastModified(lm) }, []string{"If-Modified-Since", "Wed, 04 Jun 2025 08:00:00 GMT"}, 304},
		{"date earlier", func(s *Source) { s.SetLastModified(lm) }, []string{"If-Modified-Since", "Mon, 02 Jun 2025 08:00:00 GMT"}, 200},
		{"failing", func(s *Source) { s.SetETag(`"a"`); s.Fail(503) }, []string{"If-None-Match", `"a"`}, 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, "text/plain", "doc")
			tt.setup(s)
			code, _, _ := get(t, s, "/", tt.fields...)
			if code != tt.want {
				t.Fatalf("status %d, want %d", code, tt.want)
			}
			wantNM := 0
			if tt.want == 304 {
				wantNM = 1
			}
			if s.Conditional() != 1 || s.NotModified() != wantNM {
				t.Errorf("conditional %d, 304s %d", s.Conditional(), s.NotModified())
			}
		})
	}
}

func TestHashETagFollowsBody(t *testing.T) {
	s := New(t, "application/json", `{"a":1}`)
	s.HashETag()
	_, _, h1 := get(t, s, "/")
	tag := h1.Get("ETag")
	if tag == "" || tag[0] != '"' {
		t.Fatalf("ETag %q", tag)
	}
	if code, _, _ := get(t, s, "/", "If-None-Match", tag); code != 304 {
		t.Errorf("same body: %d, want 304", code)
	}
	s.Set(`{"a":2}`)
	if code, _, h := get(t, s, "/", "If-None-Match", tag); code != 200 || h.Get("ETag") == tag {
		t.Errorf("new body: %d with ETag %q", code, h.Get("ETag"))
	}
	s.SetETag("")
	if _, _, h := get(t, s, "/"); h.Get("ETag") != "" {
		t.Errorf("SetETag(\"\") still sends %q", h.Get("ETag"))
	}
}

func TestValidatorsOn304(t *testing.T) {
	s := New(t, "text/plain", "doc")
	s.SetETag(`"a"`)
	if _, _, h := get(t, s, "/", "If-None-Match", `"a"`); h.Get("ETag") != "" {
		t.Errorf("bare 304 carries ETag %q", h.Get("ETag"))
	}
	s.ValidatorsOn304(true)
	if _, _, h := get(t, s, "/", "If-None-Match", `"a"`); h.Get("ETag") != `"a"` {
		t.Errorf("304 carries ETag %q, want \"a\"", h.Get("ETag"))
	}
}

func TestFailAndRedirect(t *testing.T) {
	s := New(t, "text/plain", "doc")
	s.Fail(500)
	if code, _, _ := get(t, s, "/"); code != 500 {
		t.Errorf("Fail(500): %d", code)
	}
	s.Redirect(http.StatusFound, "file:///etc/passwd")
	if code, _, h := get(t, s, "/"); code != 302 || h.Get("Location") != "file:///etc/passwd" {
		t.Errorf("Redirect: %d to %q", code, h.Get("Location"))
	}
	s.Fail(0)
	if code, body, _ := get(t, s, "/"); code != 200 || body != "doc" {
		t.Errorf("Fail(0): %d %q", code, body)
	}
	s.Fail(404)
	s.Set("new")
	if code, body, _ := get(t, s, "/"); code != 200 || body != "new" {
		t.Errorf("Set after Fail: %d %q", code, body)
	}
}
