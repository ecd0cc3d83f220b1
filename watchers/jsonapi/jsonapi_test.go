package jsonapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
	"github.com/policyteam/alertbot/watchers/sourcetest"
)

// newSource serves body as a JSON API from a loopback server, with an
// ETag that follows the body.
func newSource(t *testing.T, body string) *sourcetest.Source {
	t.Helper()
	s := sourcetest.New(t, "application/json", body)
	s.HashETag()
	return s
}

func newWatcher(t *testing.T, src *sourcetest.Source, mod func(*watchers.Spec)) watchers.Watcher {
	t.Helper()
	spec := watchers.Spec{
		ID: "usdjpy", Kind: "jsonapi", URL: src.URL + "/rates", Path: "rates.JPY",
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

// check runs the n-th check, an hour after the one before.
func check(t *testing.T, w watchers.Watcher, n int, state []byte) watchers.Result {
	t.Helper()
	return sourcetest.Check(t, w, t0.Add(time.Duration(n)*time.Hour), state)
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
	if len(r2.Alerts) != 0 || string(r2.State) != string(r.State) || src.NotModified() != 1 {
		t.Fatalf("304: alerts %d, state kept %v, 304s %d", len(r2.Alerts), string(r2.State) == string(r.State), src.NotModified())
	}
	// Crossed: one alert.
	src.Set(rates("161.2"))
	r3 := check(t, w, 2, r2.State)
	if len(r3.Alerts) != 1 {
		t.Fatalf("crossing posted %d alerts", len(r3.Alerts))
	}
	a := r3.Alerts[0]
	want := watchers.Alert{
		Key: "usdjpy/threshold/1", Kind: watchers.KindThreshold, Watcher: "usdjpy", Tags: []string{"fx"},
		At: t0.Add(2 * time.Hour), Title: "USD/JPY: threshold crossed",
		Text:     "USD/JPY 161.2 yen (was 158.9 yen): condition `value > 160` is now true",
		Link:     src.URL + "/rates",
		Fields:   []watchers.Field{{Name: "USD/JPY", Value: "161.2 yen"}, {Name: "Condition", Value: "value > 160"}, {Name: "Previous", Value: "158.9 yen"}},
		Severity: watchers.Warning,
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("crossing alert (-want +got):\n%s", diff)
	}
	// Stays true with a new value: nothing, whether the body changes or not.
	src.Set(rates("162.0"))
	r4 := check(t, w, 3, r3.State)
	src.SetETag("")
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
	src.Set(rates("159.5"))
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
	src.Set(rates("165"))
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
		src.Set(tc.body)
		src.Fail(tc.status)
		_, err := w.Check(context.Background(), watchers.Input{Now: t0.Add(time.Hour), State: r.State})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	// Recovery from the last good state: the crossing is seen once.
	src.Set(rates("170"))
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
