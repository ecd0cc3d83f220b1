package web_test

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/policyteam/alertbot/bot/web"
)

var guarded = []string{"/", "/events/jp-fy2027-budget", "/calendar.ics"}

func TestAccessLoopbackIsOpen(t *testing.T) {
	// A token set does not close a loopback page: only this machine can
	// reach it anyway.
	ts := newServer(t, seasonData(t), func(o *web.Options) { o.Token = "s3cret" })
	for _, p := range guarded {
		if resp, _ := get(t, ts, p); resp.StatusCode != 200 {
			t.Errorf("loopback GET %s = %d, want 200", p, resp.StatusCode)
		}
	}
}

func TestAccessPublicWithoutTokenRefuses(t *testing.T) {
	ts := newServer(t, seasonData(t), func(o *web.Options) { o.Public = true })
	for _, p := range guarded {
		resp, body := get(t, ts, p, "Authorization", "Bearer anything")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "ALERTBOT_WEB_TOKEN is not set") {
			t.Errorf("public, no token: GET %s = %d %q, want 403 saying why", p, resp.StatusCode, body)
		}
		if strings.Contains(body, "Diet") {
			t.Errorf("GET %s leaked data while refusing", p)
		}
	}
	if resp, _ := get(t, ts, "/favicon.svg"); resp.StatusCode != 200 {
		t.Errorf("the icon holds no data and stays served: %d", resp.StatusCode)
	}
}

func TestAccessPublicWithToken(t *testing.T) {
	const token = "tok-9f8e7d6c5b4a"
	var logs bytes.Buffer
	ts := newServer(t, seasonData(t), func(o *web.Options) {
		o.Public, o.Token = true, token
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	for _, p := range guarded {
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		for _, c := range []struct {
			name   string
			path   string
			header []string
			want   int
		}{
			{"no token", p, nil, 401},
			{"wrong bearer", p, []string{"Authorization", "Bearer " + token + "x"}, 401},
			{"prefix of the token", p, []string{"Authorization", "Bearer " + token[:5]}, 401},
			{"wrong query", p + sep + "token=nope", nil, 401},
			{"basic, not bearer", p, []string{"Authorization", "Basic " + token}, 401},
			{"bearer", p, []string{"Authorization", "Bearer " + token}, 200},
			{"bearer, any case", p, []string{"Authorization", "bearer " + token}, 200},
			{"query", p + sep + "token=" + token, nil, 200},
		} {
			resp, body := get(t, ts, c.path, c.header...)
			if resp.StatusCode != c.want {
				t.Errorf("%s, %s: %d, want %d", p, c.name, resp.StatusCode, c.want)
			}
			if c.want == 401 {
				if resp.Header.Get("WWW-Authenticate") == "" || strings.Contains(body, "Diet") {
					t.Errorf("%s, %s: 401 without a challenge, or with data", p, c.name)
				}
			}
			if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s, %s: security headers missing", p, c.name)
			}
		}
	}
	// Signed in by ?token=, the page's own links carry it (a browser has
	// no other way to send it); signed in by header, they do not.
	_, body := get(t, ts, "/?token="+token)
	if !strings.Contains(body, `href="/events/jp-fy2027-budget?token=`+token+`"`) ||
		!strings.Contains(body, `href="/calendar.ics?token=`+token+`&amp;tag=budget"`) {
		t.Errorf("links of a ?token= page lack the token")
	}
	_, body = get(t, ts, "/", "Authorization", "Bearer "+token)
	if strings.Contains(body, token) {
		t.Errorf("a page fetched with a bearer header shows the token")
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the token reached the log:\n%s", logs.String())
	}
}

func TestLoopbackAndPageURL(t *testing.T) {
	for _, c := range []struct {
		addr     string
		loopback bool
		url      string
	}{
		{"127.0.0.1:8080", true, "http://127.0.0.1:8080/"},
		{"[::1]:8080", true, "http://[::1]:8080/"},
		{"0.0.0.0:8080", false, "http://127.0.0.1:8080/"},
		{"[::]:8080", false, "http://[::1]:8080/"},
		{"192.0.2.7:80", false, "http://192.0.2.7:80/"},
	} {
		a, err := net.ResolveTCPAddr("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := web.Loopback(a); got != c.loopback {
			t.Errorf("Loopback(%s) = %v, want %v", c.addr, got, c.loopback)
		}
		if got := web.PageURL(a); got != c.url {
			t.Errorf("PageURL(%s) = %s, want %s", c.addr, got, c.url)
		}
	}
}
