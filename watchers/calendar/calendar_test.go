package calendar

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/sourcetest"
)

// ics joins lines with CRLF into a calendar body.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

func vcal(body ...string) string {
	return crlf(append(append([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//alertbot test//EN"}, body...), "END:VCALENDAR")...)
}

var (
	summit = []string{
		"BEGIN:VEVENT", "UID:summit-1@example.org", "SUMMARY:Ishiba–Trump summit",
		"DTSTART;TZID=Asia/Tokyo:20250910T100000", "DTEND;TZID=Asia/Tokyo:20250910T120000",
		"URL:https://example.org/summit", "END:VEVENT",
	}
	summitMoved = []string{
		"BEGIN:VEVENT", "UID:summit-1@example.org", "SUMMARY:Ishiba–Trump summit",
		"DTSTART;TZID=Asia/Tokyo:20250912T100000", "DTEND;TZID=Asia/Tokyo:20250912T120000",
		"URL:https://example.org/summit", "END:VEVENT",
	}
	election = []string{
		"BEGIN:VEVENT", "UID:election@example.org", "SUMMARY:Upper House election",
		"DTSTART;VALUE=DATE:20250720", "DTEND;VALUE=DATE:20250721", "END:VEVENT",
	}
	briefing = []string{
		"BEGIN:VEVENT", "UID:briefing@example.org", "SUMMARY:Weekly briefing",
		"DTSTART;TZID=Asia/Tokyo:20250701T150000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=4", "END:VEVENT",
	}
	briefingCancel = []string{
		"BEGIN:VEVENT", "UID:briefing@example.org", "SUMMARY:Weekly briefing",
		"RECURRENCE-ID;TZID=Asia/Tokyo:20250715T150000",
		"DTSTART;TZID=Asia/Tokyo:20250715T150000", "STATUS:CANCELLED", "END:VEVENT",
	}
	hearing = []string{
		"BEGIN:VEVENT", "UID:hearing@example.org", "SUMMARY:Senate hearing",
		"DTSTART:20250801T140000Z", "END:VEVENT",
	}
	budget = []string{
		"BEGIN:VEVENT", "UID:budget@example.org", "SUMMARY:Budget request",
		"DTSTART;VALUE=DATE:20250805", "END:VEVENT",
	}
)

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var t0 = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC) // 09:00 in Tokyo

func newTestWatcher(t *testing.T, src *sourcetest.Source, mod func(*watchers.Spec)) watchers.Watcher {
	t.Helper()
	spec := watchers.Spec{
		ID: "diet-cal", Kind: "calendar", URL: src.URL + "/cal.ics", Tags: []string{"japan"},
		Fetch: watchers.Fetch{AllowPrivate: true},
	}
	if mod != nil {
		mod(&spec)
	}
	w, err := New(spec, watchers.Deps{Defaults: watchers.Defaults{Location: tokyo(t)}, Fetcher: testFetcher()})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func dues(evs []watchers.Event) map[string]string {
	m := map[string]string{}
	for _, e := range evs {
		m[e.ID] = e.Due
	}
	return m
}

func TestFirstRunChangesAndRestart(t *testing.T) {
	src := newSource(t, vcal(cat(summit, election, briefing, hearing)...))
	w := newTestWatcher(t, src, nil)

	// First run: every instance, no alerts.
	r1 := sourcetest.Check(t, w, t0, nil)
	if len(r1.Alerts) != 0 {
		t.Fatalf("first run posted %d alerts", len(r1.Alerts))
	}
	if r1.Found != "first run: 7 events" {
		t.Errorf("Found = %q", r1.Found)
	}
	bID := func(suffix string) string { return eventID("briefing@example.org", suffix) }
	want := map[string]string{
		eventID("summit-1@example.org", ""): "2025-09-10T10:00:00+09:00",
		eventID("election@example.org", ""): "2025-07-20",
		bID("20250701t1500"):                "2025-07-01T15:00:00+09:00",
		bID("20250708t1500"):                "2025-07-08T15:00:00+09:00",
		bID("20250715t1500"):                "2025-07-15T15:00:00+09:00",
		bID("20250722t1500"):                "2025-07-22T15:00:00+09:00",
		eventID("hearing@example.org", ""):  "2025-08-01T23:00:00+09:00",
	}
	if diff := cmp.Diff(want, dues(r1.Events)); diff != "" {
		t.Fatalf("first run dues (-want +got):\n%s", diff)
	}
	for _, e := range r1.Events {
		if !watchers.IDPattern.MatchString(e.ID) {
			t.Errorf("id %q does not match the id pattern", e.ID)
		}
		if e.Origin != "calendar:diet-cal" || !slices.Equal(e.Tags, []string{"japan"}) || e.Status != watchers.Scheduled {
			t.Errorf("event %s: origin %q tags %v status %q", e.ID, e.Origin, e.Tags, e.Status)
		}
		if _, err := watchers.ParseDue(e.Due, time.UTC); err != nil {
			t.Errorf("event %s: due does not parse: %v", e.ID, err)
		}
	}
	summitEv := r1.Events[slices.IndexFunc(r1.Events, func(e watchers.Event) bool { return e.ID == eventID("summit-1@example.org", "") })]
	if summitEv.Zone != "Asia/Tokyo" || summitEv.Source != "https://example.org/summit" || summitEv.Title != "Ishiba–Trump summit" {
		t.Errorf("summit event = %+v", summitEv)
	}

	// Unchanged source: 304, nothing posted, state kept.
	r2 := sourcetest.Check(t, w, t0.Add(time.Hour), r1.State)
	if len(r2.Alerts)+len(r2.Events) != 0 || string(r2.State) != string(r1.State) {
		t.Fatalf("304 check returned %d alerts, %d events, state changed %v", len(r2.Alerts), len(r2.Events), string(r2.State) != string(r1.State))
	}
	if nm := src.NotModified(); nm != 1 {
		t.Errorf("server answered %d 304s, want 1", nm)
	}

	// Changes: the summit moves, one briefing is cancelled, the hearing
	// disappears and a budget deadline is added.
	src.Set(vcal(cat(summitMoved, election, briefing, briefingCancel, budget)...))
	now3 := t0.Add(2 * time.Hour)
	r3 := sourcetest.Check(t, w, now3, r2.State)
	type got struct{ Key, Text string }
	var alerts []got
	for _, a := range r3.Alerts {
		if a.Kind != watchers.KindCalendarChanged || a.Watcher != "diet-cal" || !a.At.Equal(now3) {
			t.Errorf("alert %+v", a)
		}
		alerts = append(alerts, got{a.Key, a.Text})
	}
	wantAlerts := []got{
		{"diet-cal/calendar_changed/" + bID("20250715t1500") + "/cancelled@cancelled", "cancelled: 15 July 2025 15:00 JST"},
		{"diet-cal/calendar_changed/" + eventID("budget@example.org", "") + "/added@2025-08-05", "added: Tue 5 August 2025"},
		{"diet-cal/calendar_changed/" + eventID("summit-1@example.org", "") + "/moved@2025-09-12T10:00:00+09:00", "moved: 10 September 2025 10:00 JST → 12 September 2025 10:00 JST"},
		{"diet-cal/calendar_changed/" + eventID("hearing@example.org", "") + "/cancelled@cancelled", "cancelled: 1 August 2025 23:00 JST (removed from the calendar)"},
	}
	if diff := cmp.Diff(wantAlerts, alerts); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	changes := map[string]watchers.Change{}
	for _, e := range r3.Events {
		if len(e.Changes) == 1 {
			changes[e.ID] = e.Changes[0]
		}
	}
	by := "calendar:diet-cal"
	wantChanges := map[string]watchers.Change{
		eventID("summit-1@example.org", ""): {At: now3, Due: "2025-09-12T10:00:00+09:00", Note: "moved in calendar", By: by, Quiet: true},
		bID("20250715t1500"):                {At: now3, Status: watchers.Cancelled, Note: "cancelled in calendar", By: by, Quiet: true},
		eventID("hearing@example.org", ""):  {At: now3, Status: watchers.Cancelled, Note: "removed from calendar", By: by, Quiet: true},
	}
	if diff := cmp.Diff(wantChanges, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if len(r3.Events) != 4 {
		t.Errorf("changed run returned %d events, want 4 (3 changed, 1 added)", len(r3.Events))
	}

	// Unchanged body served without validators: nothing new.
	src.SetETag("")
	r4 := sourcetest.Check(t, w, now3.Add(time.Hour), r3.State)
	if len(r4.Alerts)+len(r4.Events) != 0 {
		t.Errorf("unchanged body posted %d alerts, %d events", len(r4.Alerts), len(r4.Events))
	}

	// Restart: a new instance with the stored state posts nothing again.
	w2 := newTestWatcher(t, src, nil)
	r5 := sourcetest.Check(t, w2, now3.Add(2*time.Hour), r4.State)
	if len(r5.Alerts)+len(r5.Events) != 0 {
		t.Errorf("after restart: %d alerts, %d events", len(r5.Alerts), len(r5.Events))
	}

	// The cancelled briefing returns: restored.
	src.Set(vcal(cat(summitMoved, election, briefing, budget)...))
	r6 := sourcetest.Check(t, w2, now3.Add(3*time.Hour), r5.State)
	if len(r6.Alerts) != 1 || r6.Alerts[0].Key != "diet-cal/calendar_changed/"+bID("20250715t1500")+"/restored@scheduled" {
		t.Errorf("restore alerts = %+v", r6.Alerts)
	}
}

func TestFailuresKeepState(t *testing.T) {
	src := newSource(t, vcal(cat(summit, election)...))
	w := newTestWatcher(t, src, nil)
	r1 := sourcetest.Check(t, w, t0, nil)

	src.Fail(http.StatusInternalServerError)
	_, err := w.Check(context.Background(), watchers.Input{Now: t0.Add(time.Hour), State: r1.State})
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("500: err = %v", err)
	}

	src.Fail(0)
	src.Set("<html>this is not a calendar</html>")
	_, err = w.Check(context.Background(), watchers.Input{Now: t0.Add(2 * time.Hour), State: r1.State})
	if err == nil || !strings.Contains(err.Error(), "not an iCalendar file") {
		t.Errorf("garbage: err = %v", err)
	}

	// An empty calendar would cancel everything: refused.
	src.Set(vcal())
	_, err = w.Check(context.Background(), watchers.Input{Now: t0.Add(3 * time.Hour), State: r1.State})
	if err == nil || !strings.Contains(err.Error(), "no events") {
		t.Errorf("empty calendar: err = %v", err)
	}

	// Recovery with the last good state: nothing to post.
	src.Set(vcal(cat(summit, election)...))
	r2 := sourcetest.Check(t, w, t0.Add(4*time.Hour), r1.State)
	if len(r2.Alerts)+len(r2.Events) != 0 {
		t.Errorf("after recovery: %d alerts, %d events", len(r2.Alerts), len(r2.Events))
	}
}

func TestHorizonSlidesQuietly(t *testing.T) {
	weekly := vcal("BEGIN:VEVENT", "UID:weekly@example.org", "SUMMARY:Cabinet meeting",
		"DTSTART;TZID=Asia/Tokyo:20250701T100000", "RRULE:FREQ=WEEKLY", "END:VEVENT")
	src := newSource(t, weekly)
	w := newTestWatcher(t, src, func(s *watchers.Spec) { s.Horizon = "30d" })
	r1 := sourcetest.Check(t, w, t0, nil)
	if len(r1.Events) != 5 { // Jul 1, 8, 15, 22, 29
		t.Fatalf("first run: %d events, want 5", len(r1.Events))
	}
	// A week later the 304 is bypassed (a day has passed), and the new
	// instance at the end of the horizon arrives without an alert.
	r2 := sourcetest.Check(t, w, t0.Add(7*24*time.Hour), r1.State)
	if len(r2.Alerts) != 0 {
		t.Errorf("sliding horizon posted %+v", r2.Alerts)
	}
	if len(r2.Events) != 1 || r2.Events[0].Due != "2025-08-05T10:00:00+09:00" {
		t.Errorf("sliding horizon events = %+v", r2.Events)
	}
}

func TestNewValidates(t *testing.T) {
	deps := watchers.Deps{}
	for _, tc := range []struct {
		spec  watchers.Spec
		field string
	}{
		{watchers.Spec{ID: "c"}, "url"},
		{watchers.Spec{ID: "c", URL: "file:///etc/passwd"}, "url"},
		{watchers.Spec{ID: "c", URL: "https://x.org/c.ics", Horizon: "soon"}, "horizon"},
		{watchers.Spec{ID: "c", URL: "https://x.org/c.ics", Timezone: "Mars/Olympus"}, "timezone"},
		{watchers.Spec{ID: "c", URL: "https://x.org/c.ics", Tags: []string{"Bad Tag"}}, "tags"},
	} {
		_, err := New(tc.spec, deps)
		var fe *watchers.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("New(%+v) = %v, want a FieldError on %s", tc.spec, err, tc.field)
		}
	}
	// Valid without a fetcher (config check), but Check then fails.
	w, err := New(watchers.Spec{ID: "c", URL: "https://x.org/c.ics", Timezone: "Tokyo Standard Time"}, deps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Check(context.Background(), watchers.Input{Now: t0}); err == nil {
		t.Error("Check without a fetcher succeeded")
	}
}

func TestStateIsCompact(t *testing.T) {
	src := newSource(t, vcal(cat(summit, election, briefing)...))
	w := newTestWatcher(t, src, nil)
	r := sourcetest.Check(t, w, t0, nil)
	var st state
	if err := json.Unmarshal(r.State, &st); err != nil {
		t.Fatal(err)
	}
	got := st.Events[eventID("summit-1@example.org", "")]
	want := seen{Due: "2025-09-10T10:00:00+09:00", Status: watchers.Scheduled, Title: "Ishiba–Trump summit", Series: seriesKey("summit-1@example.org")}
	if got != want {
		t.Errorf("state entry = %+v, want %+v", got, want)
	}
	if st.ETag == "" || !st.ParsedAt.Equal(t0) {
		t.Errorf("state validators: etag %q parsed_at %v", st.ETag, st.ParsedAt)
	}
}
