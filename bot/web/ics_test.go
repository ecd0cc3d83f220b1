package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
)

// vevent is what the tests read back from a VEVENT.
type vevent struct {
	Summary, Status, Start, End, URL, Sequence string
	StartIsDate, EndIsDate                     bool
	Categories                                 []string
}

func readCalendar(t *testing.T, body string) map[string]vevent {
	t.Helper()
	cal, err := ics.ParseCalendar(strings.NewReader(body))
	if err != nil {
		t.Fatalf("calendar does not parse: %v\n%s", err, body)
	}
	out := map[string]vevent{}
	for _, ev := range cal.Events() {
		prop := func(p ics.ComponentProperty) string {
			if x := ev.GetProperty(p); x != nil {
				return x.Value
			}
			return ""
		}
		isDate := func(p ics.ComponentProperty) bool {
			x := ev.GetProperty(p)
			return x != nil && len(x.ICalParameters["VALUE"]) == 1 && x.ICalParameters["VALUE"][0] == "DATE"
		}
		v := vevent{Summary: prop(ics.ComponentPropertySummary), Status: prop(ics.ComponentPropertyStatus),
			Start: prop(ics.ComponentPropertyDtStart), End: prop(ics.ComponentPropertyDtEnd), URL: prop(ics.ComponentPropertyUrl),
			Sequence: prop(ics.ComponentPropertySequence), StartIsDate: isDate(ics.ComponentPropertyDtStart), EndIsDate: isDate(ics.ComponentPropertyDtEnd)}
		for _, c := range ev.GetProperties(ics.ComponentPropertyCategories) {
			v.Categories = append(v.Categories, c.Value)
		}
		if _, dup := out[ev.Id()]; dup {
			t.Errorf("UID %s twice", ev.Id())
		}
		out[ev.Id()] = v
	}
	return out
}

func TestCalendarEventByEvent(t *testing.T) {
	m := seasonData(t)
	ts := newServer(t, m)
	resp, body := get(t, ts, "/calendar.ics")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("GET /calendar.ics = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, "\r\n") || strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\n") {
		t.Errorf("lines must end in CRLF only")
	}
	src := "https://crsreports.congress.gov/product/pdf/IN/IN12466"
	want := map[string]vevent{
		// Month, quarter, half, fiscal year: all-day spans over the whole
		// window, the precision in the summary, tentative.
		"upper-house-election-2025@alertbot": {Summary: "House of Councillors (Upper House) election (expected July 2025)", Status: "TENTATIVE",
			Start: "20250701", End: "20250801", StartIsDate: true, EndIsDate: true, URL: src, Sequence: "0", Categories: []string{"japan", "election"}},
		"g7-summit-2025@alertbot": {Summary: "G7 summit (expected Q2 2025)", Status: "TENTATIVE",
			Start: "20250401", End: "20250701", StartIsDate: true, EndIsDate: true, Sequence: "0", Categories: []string{"summit"}},
		"jp-us-2plus2@alertbot": {Summary: "Japan–U.S. 2+2 meeting (expected H2 2025) [postponed]", Status: "TENTATIVE",
			Start: "20250701", End: "20260101", StartIsDate: true, EndIsDate: true, Sequence: "0", Categories: []string{"japan", "us"}},
		"jp-defense-buildup-plan@alertbot": {Summary: "FY2023–FY2027 defense buildup plan ends (expected JFY2027, April 2027 – March 2028)", Status: "TENTATIVE",
			Start: "20270401", End: "20280401", StartIsDate: true, EndIsDate: true, URL: src, Sequence: "0", Categories: []string{"japan", "defense"}},
		"ishiba-trump-summit@alertbot": {Summary: "Ishiba–Trump summit (expected February 2025)", Status: "TENTATIVE",
			Start: "20250201", End: "20250301", StartIsDate: true, EndIsDate: true, Sequence: "0", Categories: []string{"japan", "us", "summit"}},
		// Days: one all-day span in the event's own zone.
		"jp-fy2027-budget@alertbot": {Summary: "Diet passes the FY2027 budget", Status: "CONFIRMED",
			Start: "20270331", End: "20270401", StartIsDate: true, EndIsDate: true, Sequence: "0", Categories: []string{"japan", "budget"}},
		"us-fy2026-appropriations@alertbot": {Summary: "U.S. FY2026 appropriations deadline", Status: "CONFIRMED",
			Start: "20250930", End: "20251001", StartIsDate: true, EndIsDate: true, Sequence: "0", Categories: []string{"us", "budget"}},
		"cancelled-visit@alertbot": {Summary: "State visit", Status: "CANCELLED",
			Start: "20250410", End: "20250411", StartIsDate: true, EndIsDate: true, Sequence: "0"},
		// Instants: in UTC, no end.
		"diet-session-end@alertbot": {Summary: "Ordinary Diet session ends", Status: "CONFIRMED",
			Start: "20250622T145900Z", Sequence: "0", Categories: []string{"japan"}},
		"trump-inauguration@alertbot": {Summary: "Inauguration of President Trump", Status: "CONFIRMED",
			Start: "20250120T170000Z", Sequence: "1", Categories: []string{"us"}},
	}
	if diff := cmp.Diff(want, readCalendar(t, body)); diff != "" {
		t.Errorf("calendar (-want +got):\n%s", diff)
	}

	// A change: the same UID, a higher SEQUENCE, the new date and status.
	m.change(t, "upper-house-election-2025", watchers.Change{At: testNow.Add(-time.Minute), Due: "2025-07-20", Note: "announced", By: "slack:U0ADMIN"})
	_, body2 := get(t, ts, "/calendar.ics")
	got := readCalendar(t, body2)["upper-house-election-2025@alertbot"]
	wantEv := vevent{Summary: "House of Councillors (Upper House) election", Status: "CONFIRMED", Start: "20250720", End: "20250721",
		StartIsDate: true, EndIsDate: true, URL: src, Sequence: "1", Categories: []string{"japan", "election"}}
	if diff := cmp.Diff(wantEv, got); diff != "" {
		t.Errorf("after the change (-want +got):\n%s", diff)
	}
	m.change(t, "upper-house-election-2025", watchers.Change{At: testNow, Status: watchers.Cancelled, By: "slack:U0ADMIN"})
	_, body3 := get(t, ts, "/calendar.ics")
	if got := readCalendar(t, body3)["upper-house-election-2025@alertbot"]; got.Sequence != "2" || got.Status != "CANCELLED" {
		t.Errorf("after the second change: SEQUENCE %s STATUS %s, want 2 CANCELLED", got.Sequence, got.Status)
	}
	// A change planned for later is not in force yet.
	m.change(t, "jp-fy2027-budget", watchers.Change{At: testNow.Add(time.Hour), Status: watchers.Postponed, By: "config"})
	_, body4 := get(t, ts, "/calendar.ics")
	if got := readCalendar(t, body4)["jp-fy2027-budget@alertbot"]; got.Sequence != "0" || got.Status != "CONFIRMED" {
		t.Errorf("a planned change counted: SEQUENCE %s STATUS %s", got.Sequence, got.Status)
	}
}

func TestCalendarTagFilter(t *testing.T) {
	ts := newServer(t, seasonData(t))
	_, body := get(t, ts, "/calendar.ics?tag=budget")
	got := readCalendar(t, body)
	if len(got) != 2 || got["jp-fy2027-budget@alertbot"].Summary == "" || got["us-fy2026-appropriations@alertbot"].Summary == "" {
		t.Errorf("?tag=budget gave %d events: %v", len(got), got)
	}
	if !strings.Contains(body, "X-WR-CALNAME:alertbot events #budget") {
		t.Errorf("calendar name does not say the tag")
	}
	if resp, _ := get(t, ts, "/calendar.ics?tag="+strings.Repeat("x", 65)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("overlong tag = %d, want 400", resp.StatusCode)
	}
}

func TestCalendarConditionalGet(t *testing.T) {
	m := seasonData(t)
	ts := newServer(t, m)
	resp, body := get(t, ts, "/calendar.ics")
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag = %q", etag)
	}
	if resp2, body2 := get(t, ts, "/calendar.ics"); resp2.Header.Get("ETag") != etag || body2 != body {
		t.Errorf("the same calendar twice gave another ETag or body: the feed must not depend on the request time")
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		resp, body := get(t, ts, "/calendar.ics", "If-None-Match", inm)
		if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s = %d with %d bytes, want 304 and no body", inm, resp.StatusCode, len(body))
		}
	}
	if resp, _ := get(t, ts, "/calendar.ics", "If-None-Match", `"stale"`); resp.StatusCode != 200 {
		t.Errorf("stale If-None-Match = %d, want 200", resp.StatusCode)
	}
	m.change(t, "g7-summit-2025", watchers.Change{At: testNow.Add(-time.Minute), Due: "2025-06-15", By: "config"})
	resp, _ = get(t, ts, "/calendar.ics", "If-None-Match", etag)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
		t.Errorf("after a change: %d with ETag %s, want 200 and a new ETag", resp.StatusCode, resp.Header.Get("ETag"))
	}
}

// A title from a hostile calendar must not end its line and add
// properties of its own.
func TestCalendarHostileText(t *testing.T) {
	m := newMem()
	m.addEvent(t, watchers.Event{ID: "evil", Title: "Meeting\r\nSTATUS:CANCELLED\rURL:https://evil.example/\nX", Due: "2025-08-01",
		Source: "https://ok.example/\r\nATTACH:x"})
	ts := newServer(t, m)
	_, body := get(t, ts, "/calendar.ics")
	for _, line := range strings.Split(body, "\r\n") {
		if strings.HasPrefix(line, "STATUS:CANCELLED") || strings.HasPrefix(line, "URL:https://evil") || strings.HasPrefix(line, "ATTACH") {
			t.Errorf("injected line %q", line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("bare CR or LF in %q", line)
		}
	}
	got := readCalendar(t, body)["evil@alertbot"]
	if got.Status != "CONFIRMED" || got.URL != "" || !strings.HasPrefix(got.Summary, "Meeting") {
		t.Errorf("hostile event read back as %+v", got)
	}
}
