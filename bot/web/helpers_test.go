package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/web"
	"github.com/policyteam/alertbot/watchers"
)

var tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// testNow is the tests' clock: late in the spring of the seed's season.
var testNow = time.Date(2025, 5, 20, 10, 0, 0, 0, tokyo)

// memData is an in-memory store behind every reader interface of the
// package, with the filters of the real store (tag, active).
type memData struct {
	mu         sync.Mutex
	events     map[string]bot.EventRecord
	watchers   []bot.WatcherRecord
	deliveries []bot.DeliveryRecord // oldest first
	alerts     []bot.AlertRecord
	subs       []bot.Subscription
	mutes      []bot.Mute
	settings   []bot.ChannelSettings
	next       map[string]time.Time
}

var (
	_ web.EventReader    = (*memData)(nil)
	_ web.WatcherReader  = (*memData)(nil)
	_ web.NextRuns       = (*memData)(nil)
	_ web.DeliveryReader = (*memData)(nil)
	_ web.AlertReader    = (*memData)(nil)
	_ web.ChannelReader  = (*memData)(nil)
)

func newMem() *memData {
	return &memData{events: map[string]bot.EventRecord{}, next: map[string]time.Time{}}
}

// addEvent stores ev materialized at testNow, as the bot would.
func (m *memData) addEvent(t testing.TB, ev watchers.Event) {
	t.Helper()
	m.addEventAt(t, ev, testNow)
}

// addEventAt stores ev materialized at, which may be before testNow: the
// bot refreshes stored states on its ticks, so they can lag.
func (m *memData) addEventAt(t testing.TB, ev watchers.Event, at time.Time) {
	t.Helper()
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = testNow.Add(-30 * 24 * time.Hour)
	}
	rec := bot.EventRecord{Event: ev, UpdatedAt: ev.CreatedAt, UpdatedBy: "config"}
	if err := bot.Materialize(&rec, at, tokyo); err != nil {
		t.Fatalf("materialize %s: %v", ev.ID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events[ev.ID] = rec
}

// change appends a dated change to an event, as /alerts event set does.
func (m *memData) change(t testing.TB, id string, c watchers.Change) {
	t.Helper()
	m.mu.Lock()
	rec := m.events[id]
	m.mu.Unlock()
	rec.Changes = append(slices.Clone(rec.Changes), c)
	rec.UpdatedAt = c.At
	if err := bot.Materialize(&rec, testNow, tokyo); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	m.events[id] = rec
	m.mu.Unlock()
}

func (m *memData) Events(ctx context.Context, f bot.EventFilter) ([]bot.EventRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []bot.EventRecord
	for _, rec := range m.events {
		if f.Tag != "" && !rec.HasTag(f.Tag) {
			continue
		}
		if f.Active && !(rec.Current.Status.Active() || rec.Current.Status == watchers.Postponed) {
			continue
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (m *memData) Event(ctx context.Context, id string) (bot.EventRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.events[id]
	if !ok {
		return bot.EventRecord{}, fmt.Errorf("event %q: %w", id, bot.ErrNotFound)
	}
	return rec, nil
}

func (m *memData) Watchers(ctx context.Context) ([]bot.WatcherRecord, error) {
	return slices.Clone(m.watchers), nil
}

func (m *memData) NextRun(id string) (time.Time, bool) {
	t, ok := m.next[id]
	return t, ok
}

func (m *memData) RecentDeliveries(ctx context.Context, n int) ([]bot.DeliveryRecord, error) {
	out := slices.Clone(m.deliveries)
	slices.Reverse(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func (m *memData) AlertsForEvent(ctx context.Context, event string, n int) ([]bot.AlertRecord, error) {
	var out []bot.AlertRecord
	for _, a := range slices.Backward(m.alerts) {
		if a.Alert.Event == event {
			out = append(out, a)
		}
	}
	return out, nil
}

// ChannelSettings returns the channels' quiet hours and digests.
func (m *memData) ChannelSettings(ctx context.Context) ([]bot.ChannelSettings, error) {
	return slices.Clone(m.settings), nil
}

func (m *memData) Subscriptions(ctx context.Context) ([]bot.Subscription, error) {
	return slices.Clone(m.subs), nil
}

func (m *memData) Mutes(ctx context.Context, now time.Time) ([]bot.Mute, error) {
	var out []bot.Mute
	for _, mu := range m.mutes {
		if mu.Until.After(now) {
			out = append(out, mu)
		}
	}
	return out, nil
}

// seasonData is the seed's kind of season: tentative windows of every
// precision, days, an instant, closed events, a watcher that fails, a
// failed delivery, subscriptions and a mute.
func seasonData(t testing.TB) *memData {
	m := newMem()
	src := "https://crsreports.congress.gov/product/pdf/IN/IN12466"
	for _, ev := range []watchers.Event{
		{ID: "upper-house-election-2025", Title: "House of Councillors (Upper House) election", Due: "2025-07",
			Tags: []string{"japan", "election"}, Source: src, Origin: "config"},
		{ID: "jp-fy2027-budget", Title: "Diet passes the FY2027 budget", Due: "2027-03-31", Tags: []string{"japan", "budget"}, Origin: "config"},
		{ID: "jp-defense-buildup-plan", Title: "FY2023–FY2027 defense buildup plan ends", Due: "JFY2027", Tags: []string{"japan", "defense"}, Source: src, Origin: "config"},
		{ID: "g7-summit-2025", Title: "G7 summit", Due: "2025-Q2", Tags: []string{"summit"}, Origin: "chat"},
		{ID: "us-fy2026-appropriations", Title: "U.S. FY2026 appropriations deadline", Due: "2025-09-30", Zone: "America/New_York", Tags: []string{"us", "budget"}, Origin: "config"},
		{ID: "diet-session-end", Title: "Ordinary Diet session ends", Due: "2025-06-22T23:59", Tags: []string{"japan"}, Origin: "config"},
		{ID: "jp-us-2plus2", Title: "Japan–U.S. 2+2 meeting", Due: "2025-H2", Tags: []string{"japan", "us"}, Status: watchers.Postponed, Origin: "chat"},
		{ID: "trump-inauguration", Title: "Inauguration of President Trump", Due: "2025-01-20T12:00-05:00", Zone: "America/New_York",
			Tags: []string{"us"}, Origin: "config", Changes: []watchers.Change{{At: time.Date(2025, 1, 20, 17, 0, 0, 0, time.UTC), Status: watchers.Happened, By: "config"}}},
		{ID: "ishiba-trump-summit", Title: "Ishiba–Trump summit", Due: "2025-02", Tags: []string{"japan", "us", "summit"}, Origin: "config"},
		{ID: "cancelled-visit", Title: "State visit", Due: "2025-04-10", Status: watchers.Cancelled, Origin: "chat"},
	} {
		m.addEvent(t, ev)
	}
	m.watchers = []bot.WatcherRecord{
		{Spec: watchers.Spec{ID: "deadlines", Kind: "countdown", Schedule: "@every 1m"}, LastRun: testNow.Add(-30 * time.Second), LastSuccess: testNow.Add(-30 * time.Second)},
		{Spec: watchers.Spec{ID: "crs-japan", Kind: "feed", Schedule: "*/30 * * * *"}, LastRun: testNow.Add(-10 * time.Minute),
			LastError: "fetch https://example.org/crs.rss: 503 Service Unavailable", Failures: 4, Failing: true},
		{Spec: watchers.Spec{ID: "paused-page", Kind: "page", Schedule: "@hourly", Paused: true}},
	}
	m.next["deadlines"] = testNow.Add(30 * time.Second)
	m.next["crs-japan"] = testNow.Add(20 * time.Minute)
	al := watchers.Alert{Key: "deadlines/upper-house-election-2025/reminder/90d@2025-07", Kind: watchers.KindReminder, Watcher: "deadlines",
		Event: "upper-house-election-2025", At: testNow.Add(-48 * time.Hour), Title: "House of Councillors (Upper House) election",
		Text: "Due: expected in July 2025 — exact date not set.\nThe window opens in 42 days."}
	m.alerts = []bot.AlertRecord{{ID: 1, Alert: al, Created: al.At}}
	m.deliveries = []bot.DeliveryRecord{
		{ID: 1, AlertID: 1, Alert: al, Channel: "console:local", Platform: "console", State: bot.DeliverySent, Attempts: 1, Created: al.At, SentAt: al.At.Add(time.Second)},
		{ID: 2, AlertID: 1, Alert: al, Channel: "slack:C0GONE", Platform: "slack", State: bot.DeliveryFailed, Attempts: 1, Created: al.At, LastError: "channel_not_found"},
	}
	m.subs = []bot.Subscription{{Channel: "console:local", Target: "all"}, {Channel: "slack:C0GONE", Target: "tag:election"}, {Channel: "slack:C0GONE", Target: "event:jp-fy2027-budget"}}
	m.mutes = []bot.Mute{{Channel: "slack:C0GONE", Target: "tag:budget", Until: testNow.Add(3 * time.Hour)}, {Channel: "console:local", Target: "all", Until: testNow.Add(-time.Hour)}}
	return m
}

// openEvents are the events of seasonData still open at testNow.
var openEvents = []string{"diet-session-end", "g7-summit-2025", "ishiba-trump-summit", "jp-defense-buildup-plan", "jp-fy2027-budget",
	"jp-us-2plus2", "upper-house-election-2025", "us-fy2026-appropriations"}

// newServer serves m through a test HTTP server; opts adjusts the options.
func newServer(t testing.TB, m *memData, opts ...func(*web.Options)) *httptest.Server {
	t.Helper()
	o := web.Options{Events: m, Watchers: m, Runs: m, Deliveries: m, Alerts: m, Channels: m,
		Location: func() *time.Location { return tokyo }, Now: func() time.Time { return testNow }}
	for _, f := range opts {
		f(&o)
	}
	s, err := web.New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// get fetches path with the headers given as name, value pairs.
func get(t testing.TB, ts *httptest.Server, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}
