package store

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
)

func TestUserZone(t *testing.T) {
	db := openTest(t, testNow)
	ctx := testCtx(t)
	if z, err := db.UserZone(ctx, "slack:U1"); err != nil || z != "" {
		t.Fatalf("zone of a new user = %q, %v; want none", z, err)
	}
	for _, zone := range []string{"America/New_York", "Europe/London"} {
		if err := db.SetUserZone(ctx, "slack:U1", zone, testNow); err != nil {
			t.Fatal(err)
		}
		if z, err := db.UserZone(ctx, "slack:U1"); err != nil || z != zone {
			t.Fatalf("zone = %q, %v; want %s", z, err, zone)
		}
	}
	if z, _ := db.UserZone(ctx, "slack:U2"); z != "" {
		t.Errorf("another user's zone = %q", z)
	}
	if err := db.SetUserZone(ctx, "slack:U1", "", testNow); err != nil {
		t.Fatal(err)
	}
	if z, err := db.UserZone(ctx, "slack:U1"); err != nil || z != "" {
		t.Errorf("zone after forgetting = %q, %v", z, err)
	}
	if err := db.SetUserZone(ctx, "", "UTC", testNow); err == nil {
		t.Error("a zone for no user was stored")
	}
}

func TestConfigEntries(t *testing.T) {
	path := t.TempDir() + "/alertbot.db"
	db := openAt(t, path, testNow)
	ctx := testCtx(t)
	if _, ok, err := db.ConfigEntry(ctx, "subscriptions", "slack:C1"); ok || err != nil {
		t.Fatalf("entry before any seed: ok %v, %v", ok, err)
	}
	want := bot.ConfigEntry{Kind: "subscriptions", Key: "slack:C1", Hash: "h1", Items: []string{"all", "tag:予算"}, At: testNow}
	if err := db.SetConfigEntry(ctx, want); err != nil {
		t.Fatal(err)
	}
	want.Hash, want.Items = "h2", []string{"tag:budget"}
	if err := db.SetConfigEntry(ctx, want); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A restart reads what was last seeded.
	db = openAt(t, path, testNow)
	got, ok, err := db.ConfigEntry(ctx, "subscriptions", "slack:C1")
	if err != nil || !ok {
		t.Fatalf("entry after a restart: ok %v, %v", ok, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
	if err := db.SetConfigEntry(ctx, bot.ConfigEntry{Kind: "subscriptions", Key: "slack:C2", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := db.ConfigEntry(ctx, "subscriptions", "slack:C2"); e.Items == nil || len(e.Items) != 0 {
		t.Errorf("entry without items = %#v, want an empty list", e.Items)
	}
	if err := db.SetConfigEntry(ctx, bot.ConfigEntry{Kind: "subscriptions"}); err == nil {
		t.Error("an entry without a key was stored")
	}
}

func TestEventSummaries(t *testing.T) {
	db := openTest(t, testNow)
	ctx := testCtx(t)
	evs := []bot.EventRecord{
		mkEvent(t, "b", "2025-03-01", "japan"),
		mkEvent(t, "a", "2024-12-01", "us"),
		mkEvent(t, "c", "2025-02", "japan", "予算"),
	}
	for _, ev := range evs {
		if err := db.SaveEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	all, err := db.EventSummaries(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "c", "b"}, eventIDs(all)); diff != "" {
		t.Errorf("all events by start (-want +got):\n%s", diff)
	}
	if all[1].Current.Due.Raw != "2025-02" || all[1].Current.Title != "Title of c" {
		t.Errorf("summary of c = %+v", all[1].Current)
	}
	for tag, want := range map[string][]string{"japan": {"c", "b"}, "予算": {"c"}, "none": nil} {
		got, err := db.EventSummaries(ctx, tag)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, eventIDs(got)); diff != "" {
			t.Errorf("events tagged %s (-want +got):\n%s", tag, diff)
		}
	}
}

func TestSearchAudit(t *testing.T) {
	db := openTest(t, testNow)
	ctx := testCtx(t)
	for i, action := range []string{"subscribe", "event set", "mute", "event set", "event add"} {
		if err := db.Audit(ctx, bot.AuditEntry{At: testNow.Add(time.Duration(i) * time.Minute), Who: "slack:U1", Action: action, Target: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	actions := func(es []bot.AuditEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Action)
		}
		return out
	}
	sets := func(e bot.AuditEntry) bool { return strings.HasPrefix(e.Action, "event") }
	for _, tt := range []struct {
		n     int
		match func(bot.AuditEntry) bool
		want  []string
	}{
		{0, nil, []string{"event add", "event set", "mute", "event set", "subscribe"}},
		{2, nil, []string{"event add", "event set"}},
		{2, sets, []string{"event add", "event set"}},
		{0, sets, []string{"event add", "event set", "event set"}},
		{10, func(bot.AuditEntry) bool { return false }, nil},
	} {
		got, err := db.SearchAudit(ctx, tt.n, tt.match)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, actions(got)); diff != "" {
			t.Errorf("SearchAudit(%d) (-want +got):\n%s", tt.n, diff)
		}
		if !slices.IsSortedFunc(got, func(a, b bot.AuditEntry) int { return b.At.Compare(a.At) }) {
			t.Errorf("SearchAudit(%d) not newest first", tt.n)
		}
	}
}
