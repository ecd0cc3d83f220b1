package jsonapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
)

// source is a loopback JSON API answering conditional requests.
type source struct {
	srv    *httptest.Server
	mu     sync.Mutex
	body   string
	status int
	noETag bool
	notMod int
}

func newSource(t *testing.T, body string) *source {
	t.Helper()
	s := &source{body: body}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
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
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(s.body))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *source) set(body string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = body, status
}

func newWatcher(t *testing.T, src *source, mod func(*watchers.Spec)) watchers.Watcher {
	t.Helper()
	spec := watchers.Spec{
		ID: "usdjpy", Kind: "jsonapi", URL: src.srv.URL + "/rates", Path: "rates.JPY",
		Condition: "value > 160", Label: "USD/JPY", Unit: "yen", Tags: []string{"fx"},
		Fetch: watchers.Fetch{AllowPrivate: true},
	}
	if mod != nil {
		mod(&spec)
	}
	w, err := New(spec, watchers.Deps{Fetcher: fetch.New(fetch.Options{Timeout: 10 * time.Second})})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var t0 = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

func check(t *testing.T, w watchers.Watcher, n int, state []byte) watchers.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := w.Check(ctx, watchers.Input{Now: t0.Add(time.Duration(n) * time.Hour), State: state})
	if err != nil {
		t.Fatalf("check %d: %v", n, err)
	}
	return res
}

func rates(v string) string { return `{"base":"USD","rates":{"EUR":0.92,"JPY":` + v + `}}` }

func TestEdgeTriggered(t *testing.T) {
	src := newSource(t, rates("158.9"))
	w := newWatcher(t, src, nil)

	// First run, condition false: baseline, no alert.
	r := check(t, w, 0, nil)
	if len(r.Alerts) != 0 {
		t.Fatalf("first run posted %+v", r.Alerts)
	}
	// Unchanged: 304, state kept.
	r2 := check(t, w, 1, r.State)
	if len(r2.Alerts) != 0 || string(r2.State) != string(r.State) || src.notMod != 1 {
		t.Fatalf("304: alerts %d, state kept %v, 304s %d", len(r2.Alerts), string(r2.State) == string(r.State), src.notMod)
	}
	// Crossed: one alert.
	src.set(rates("161.2"), 0)
	r3 := check(t, w, 2, r2.State)
	if len(r3.Alerts) != 1 {
		t.Fatalf("crossing posted %d alerts", len(r3.Alerts))
	}
	a := r3.Alerts[0]
	want := watchers.Alert{
		Key: "usdjpy/threshold/1", Kind: watchers.KindThreshold, Watcher: "usdjpy", Tags: []string{"fx"},
		At: t0.Add(2 * time.Hour), Title: "USD/JPY: threshold crossed",
		Text:     "USD/JPY 161.2 yen (was 158.9 yen): condition `value > 160` is now true",
		Link:     src.srv.URL + "/rates",
		Fields:   []watchers.Field{{Name: "USD/JPY", Value: "161.2 yen"}, {Name: "Condition", Value: "value > 160"}, {Name: "Previous", Value: "158.9 yen"}},
		Severity: watchers.Warning,
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("crossing alert (-want +got):\n%s", diff)
	}
	// Stays true with a new value: nothing, whether the body changes or not.
	src.set(rates("162.0"), 0)
	r4 := check(t, w, 3, r3.State)
	src.noETag = true
	r5 := check(t, w, 4, r4.State)
	if len(r4.Alerts)+len(r5.Alerts) != 0 {
		t.Errorf("still true posted %d + %d alerts", len(r4.Alerts), len(r5.Alerts))
	}
	// Restart with the state: still nothing.
	w2 := newWatcher(t, src, nil)
	r6 := check(t, w2, 5, r5.State)
	if len(r6.Alerts) != 0 {
		t.Errorf("restart posted %+v", r6.Alerts)
	}
	// Back below: one recovery.
	src.set(rates("159.5"), 0)
	r7 := check(t, w2, 6, r6.State)
	if len(r7.Alerts) != 1 {
		t.Fatalf("recovery posted %d alerts", len(r7.Alerts))
	}
	rec := r7.Alerts[0]
	if rec.Key != "usdjpy/threshold/2" || rec.Severity != watchers.Info ||
		rec.Text != "USD/JPY 159.5 yen (was 162 yen): condition `value > 160` is no longer true" {
		t.Errorf("recovery = %+v", rec)
	}
	// Crossing again gets a new key.
	src.set(rates("165"), 0)
	r8 := check(t, w2, 7, r7.State)
	if len(r8.Alerts) != 1 || r8.Alerts[0].Key != "usdjpy/threshold/3" {
		t.Errorf("second crossing = %+v", r8.Alerts)
	}
}

func TestFirstRunAlertsWhenAlreadyTrue(t *testing.T) {
	src := newSource(t, rates("170"))
	r := check(t, newWatcher(t, src, nil), 0, nil)
	if len(r.Alerts) != 1 || r.Alerts[0].Text != "USD/JPY 170 yen: condition `value > 160` is now true" {
		t.Errorf("first run alerts = %+v", r.Alerts)
	}
}

func TestFailuresKeepState(t *testing.T) {
	src := newSource(t, rates("158"))
	w := newWatcher(t, src, nil)
	r := check(t, w, 0, nil)
	for name, tc := range map[string]struct {
		body   string
		status int
		want   string
	}{
		"500":         {rates("170"), 500, "500"},
		"not json":    {"<html>rate limited</html>", 0, "not valid JSON"},
		"no path":     {`{"rates":{}}`, 0, `path "rates.JPY" not found`},
		"not numeric": {`{"rates":{"JPY":"n/a"}}`, 0, "not a number"},
	} {
		src.set(tc.body, tc.status)
		_, err := w.Check(context.Background(), watchers.Input{Now: t0.Add(time.Hour), State: r.State})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	// Recovery from the last good state: the crossing is seen once.
	src.set(rates("170"), 0)
	r2 := check(t, w, 2, r.State)
	if len(r2.Alerts) != 1 || !strings.Contains(r2.Alerts[0].Text, "(was 158 yen)") {
		t.Errorf("after recovery: %+v", r2.Alerts)
	}
}

func TestGJSONQueryAndText(t *testing.T) {
	body := `{"items":[{"name":"seats-ldp","value":"191"},{"name":"x","value":42.5}],"status":"open"}`
	src := newSource(t, body)
	w := newWatcher(t, src, func(s *watchers.Spec) {
		s.Path, s.Condition, s.Label, s.Unit = `items.#(name=="x").value`, "value >= 40 && previous >= 40", "", ""
	})
	r := check(t, w, 0, nil)
	if len(r.Alerts) != 1 || r.Alerts[0].Text != "items.#(name==\"x\").value 42.5: condition `value >= 40 && previous >= 40` is now true" {
		t.Errorf("query alerts = %+v", r.Alerts)
	}
	// A text condition works on non-numeric values.
	w2 := newWatcher(t, src, func(s *watchers.Spec) {
		s.Path, s.Condition, s.Label, s.Unit = "status", `text == "open"`, "Diet session", ""
	})
	r2 := check(t, w2, 0, nil)
	if len(r2.Alerts) != 1 || r2.Alerts[0].Text != "Diet session open: condition `text == \"open\"` is now true" {
		t.Errorf("text alerts = %+v", r2.Alerts)
	}
	// A number written as a string counts as a number.
	w3 := newWatcher(t, src, func(s *watchers.Spec) { s.Path, s.Condition = `items.#(name=="seats-ldp").value`, "value < 200" })
	if r3 := check(t, w3, 0, nil); len(r3.Alerts) != 1 {
		t.Errorf("string number alerts = %+v", r3.Alerts)
	}
}

func TestConditionErrors(t *testing.T) {
	for cond, want := range map[string]string{
		"value >":                 "line 1, column",
		"value > 160 &&\nfoo > 1": "line 2, column",
		"value + 1":               "expected bool",
		`text > 3`:                "line 1, column",
		"":                        "required",
	} {
		_, err := New(watchers.Spec{ID: "j", URL: "https://x.org/a.json", Path: "a", Condition: cond}, watchers.Deps{})
		var fe *watchers.FieldError
		if !errors.As(err, &fe) || fe.Field != "condition" || !strings.Contains(err.Error(), want) {
			t.Errorf("condition %q: err = %v, want a condition FieldError with %q", cond, err, want)
		}
	}
	for _, tc := range []struct {
		spec  watchers.Spec
		field string
	}{
		{watchers.Spec{ID: "j", Path: "a", Condition: "value > 1"}, "url"},
		{watchers.Spec{ID: "j", URL: "ftp://x.org/a", Path: "a", Condition: "value > 1"}, "url"},
		{watchers.Spec{ID: "j", URL: "https://x.org/a", Condition: "value > 1"}, "path"},
	} {
		_, err := New(tc.spec, watchers.Deps{})
		var fe *watchers.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("New(%+v) = %v, want a FieldError on %s", tc.spec, err, tc.field)
		}
	}
	w, err := New(watchers.Spec{ID: "j", URL: "https://x.org/a", Path: "a", Condition: "value > 1"}, watchers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Check(context.Background(), watchers.Input{Now: t0}); err == nil {
		t.Error("Check without a fetcher succeeded")
	}
}
