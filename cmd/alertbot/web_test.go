package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// webServer is an in-process `alertbot serve` for the status page tests.
type webServer struct {
	base     string // http://127.0.0.1:PORT, whatever the listen address
	out, log *sharedtest.Buffer
}

// serveWeb runs `alertbot serve` in-process with args after the database
// and listen flags, on a clock that starts at start (zero: real time) and
// runs on from there, and waits until it listens.
func serveWeb(t *testing.T, listen string, start time.Time, env map[string]string, args ...string) *webServer {
	t.Helper()
	now := time.Now
	if !start.IsZero() {
		t0 := time.Now()
		now = func() time.Time { return start.Add(time.Since(t0)) }
	}
	s := &webServer{out: &sharedtest.Buffer{}, log: &sharedtest.Buffer{}}
	ready := make(chan string, 1)
	m := &Main{
		Args:   append([]string{"serve", "--db", filepath.Join(t.TempDir(), "a.db"), "--http", listen}, args...),
		Stdout: s.out, Stderr: s.log, Ready: ready, Now: now,
		Getenv: func(k string) string { return env[k] },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case addr := <-ready:
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		s.base = "http://127.0.0.1:" + port
	case err := <-done:
		cancel()
		t.Fatalf("serve ended before listening: %v\nlog:\n%s", err, s.log)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not listen\nlog:\n%s", s.log)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop")
		}
		if t.Failed() {
			t.Logf("alertbot log:\n%s", s.log)
		}
	})
	return s
}

func (s *webServer) get(t *testing.T, path string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestStatusPageOnLoopbackIsOpen(t *testing.T) {
	s := serveWeb(t, "127.0.0.1:0", time.Time{}, nil)
	if !strings.Contains(s.out.String(), "Status page: "+s.base+"/ (calendar: "+s.base+"/calendar.ics)") {
		t.Errorf("banner lacks the page's address %s:\n%s", s.base, s.out)
	}
	for _, p := range []string{"/", "/events/upper-house-election-2025", "/calendar.ics"} {
		if code, _ := s.get(t, p); code != 200 {
			t.Errorf("GET %s = %d, want 200", p, code)
		}
	}
	// The page shows the seed's season.
	if _, body := s.get(t, "/"); !strings.Contains(body, "Diet passes the FY2027 budget") || !strings.Contains(body, "Asia/Tokyo") {
		t.Errorf("the status page does not show the example's events")
	}
}

// On a public address the page and calendar need ALERTBOT_WEB_TOKEN;
// without one they are refused and the log says so, while /healthz and
// the platform endpoints stay.
func TestStatusPageOnPublicAddress(t *testing.T) {
	t.Run("no token", func(t *testing.T) {
		s := serveWeb(t, "0.0.0.0:0", time.Time{}, nil)
		if !strings.Contains(s.log.String(), "status page and calendar off: listening on a public address without ALERTBOT_WEB_TOKEN") {
			t.Errorf("no log line says why the page is off:\n%s", s.log)
		}
		if !strings.Contains(s.out.String(), "Status page: off") {
			t.Errorf("banner does not say the page is off:\n%s", s.out)
		}
		for _, p := range []string{"/", "/events/upper-house-election-2025", "/calendar.ics"} {
			if code, body := s.get(t, p); code != http.StatusForbidden || strings.Contains(body, "Diet") {
				t.Errorf("GET %s = %d, want 403 and no data", p, code)
			}
		}
		if code, _ := s.get(t, "/healthz"); code != 200 {
			t.Errorf("/healthz = %d, want 200", code)
		}
	})
	t.Run("token", func(t *testing.T) {
		const token = "web-token-5c1d7a"
		s := serveWeb(t, "0.0.0.0:0", time.Time{}, map[string]string{"ALERTBOT_WEB_TOKEN": token})
		if !strings.Contains(s.out.String(), "token required") {
			t.Errorf("banner does not say a token is needed:\n%s", s.out)
		}
		for _, p := range []string{"/", "/events/upper-house-election-2025", "/calendar.ics"} {
			if code, _ := s.get(t, p); code != http.StatusUnauthorized {
				t.Errorf("GET %s without the token = %d, want 401", p, code)
			}
			if code, _ := s.get(t, p, "Authorization", "Bearer "+token); code != 200 {
				t.Errorf("GET %s with the bearer token = %d, want 200", p, code)
			}
		}
		if code, body := s.get(t, "/calendar.ics?token="+token); code != 200 || !strings.Contains(body, "BEGIN:VCALENDAR") {
			t.Errorf("calendar with ?token= = %d", code)
		}
		if code, _ := s.get(t, "/healthz"); code != 200 {
			t.Errorf("/healthz = %d, want 200 without a token", code)
		}
		if strings.Contains(s.log.String(), token) || strings.Contains(s.out.String(), token) {
			t.Errorf("the token was printed")
		}
	})
}
