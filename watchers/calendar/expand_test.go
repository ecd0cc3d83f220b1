package calendar

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
)

// run expands body in [from, to) with floating times in Tokyo and
// returns the events the watcher would report.
func run(t testing.TB, body string, from, to time.Time) ([]watchers.Event, expansion) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fl := locZone{loc: tokyo(t)}
	exp, err := expand(ctx, []byte(body), expandOptions{from: from, to: to, floating: fl})
	if err != nil {
		t.Fatalf("expand: %v", err)
	}
	w := &Watcher{spec: watchers.Spec{ID: "t", URL: "https://example.org/c.ics"}}
	var evs []watchers.Event
	for _, o := range exp.occ {
		evs = append(evs, w.event(o, exp.floating))
	}
	return evs, exp
}

type brief struct{ ID, Due, Zone, Title string }

func briefs(evs []watchers.Event) []brief {
	var out []brief
	for _, e := range evs {
		out = append(out, brief{e.ID, e.Due, e.Zone, e.Title})
	}
	return out
}

func TestWeeklyWithExdatesRdateAndMovedInstance(t *testing.T) {
	body := vcal(
		"BEGIN:VEVENT", "UID:standup@example.org", "SUMMARY:Alliance call",
		"DTSTART;TZID=America/New_York:20250303T090000",
		"RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20250414T130000Z",
		"EXDATE;TZID=America/New_York:20250317T090000",
		"EXDATE:20250407T130000Z", // UTC against a TZID start, on its own line
		"RDATE;TZID=America/New_York:20250320T160000",
		"END:VEVENT",
		"BEGIN:VEVENT", "UID:standup@example.org", "SUMMARY:Alliance call (moved)",
		"RECURRENCE-ID;TZID=America/New_York:20250324T090000",
		"DTSTART;TZID=America/New_York:20250325T140000", "END:VEVENT",
	)
	evs, _ := run(t, body, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	id := func(s string) string { return eventID("standup@example.org", s) }
	ny := "America/New_York"
	want := []brief{
		{id("20250303t0900"), "2025-03-03T09:00:00-05:00", ny, "Alliance call"},
		{id("20250310t0900"), "2025-03-10T09:00:00-04:00", ny, "Alliance call"}, // after the DST change
		{id("20250320t1600"), "2025-03-20T16:00:00-04:00", ny, "Alliance call"}, // RDATE
		{id("20250324t0900"), "2025-03-25T14:00:00-04:00", ny, "Alliance call (moved)"},
		{id("20250331t0900"), "2025-03-31T09:00:00-04:00", ny, "Alliance call"},
		{id("20250414t0900"), "2025-04-14T09:00:00-04:00", ny, "Alliance call"}, // UNTIL is inclusive
	}
	if diff := cmp.Diff(want, briefs(evs)); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	// The exact instants, independent of formatting.
	wantUTC := []string{"2025-03-03T14:00:00Z", "2025-03-10T13:00:00Z", "2025-03-20T20:00:00Z", "2025-03-25T18:00:00Z", "2025-03-31T13:00:00Z", "2025-04-14T13:00:00Z"}
	var gotUTC []string
	for _, e := range evs {
		ts, err := time.Parse(time.RFC3339, e.Due)
		if err != nil {
			t.Fatal(err)
		}
		gotUTC = append(gotUTC, ts.UTC().Format(time.RFC3339))
	}
	if diff := cmp.Diff(wantUTC, gotUTC); diff != "" {
		t.Errorf("instants (-want +got):\n%s", diff)
	}
}

func TestAllDayIsDayPrecision(t *testing.T) {
	body := vcal("BEGIN:VEVENT", "UID:e@x", "SUMMARY:Upper House election",
		"DTSTART;VALUE=DATE:20250720", "DTEND;VALUE=DATE:20250721", "END:VEVENT",
		// Google writes a date with a TZID and no VALUE=DATE.
		"BEGIN:VEVENT", "UID:g@x", "SUMMARY:Holiday", "DTSTART;TZID=Japan:20250721", "END:VEVENT")
	evs, _ := run(t, body, t0, t0.AddDate(0, 2, 0))
	want := []brief{
		{eventID("e@x", ""), "2025-07-20", "", "Upper House election"},
		{eventID("g@x", ""), "2025-07-21", "Asia/Tokyo", "Holiday"},
	}
	if diff := cmp.Diff(want, briefs(evs)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	d, err := watchers.ParseDue(evs[0].Due, tokyo(t))
	if err != nil || d.Precision != watchers.Day {
		t.Errorf("due %q: precision %v, err %v", evs[0].Due, d.Precision, err)
	}
}

func TestZones(t *testing.T) {
	at := func(tzid string) string {
		return vcal("BEGIN:VEVENT", "UID:z", "SUMMARY:Z", "DTSTART;TZID="+tzid+":20250910T100000", "END:VEVENT")
	}
	customTokyo := vcal(
		"BEGIN:VTIMEZONE", "TZID:Tokyo (custom)", "BEGIN:STANDARD", "DTSTART:19700101T000000",
		"TZOFFSETFROM:+0900", "TZOFFSETTO:+0900", "TZNAME:JST", "END:STANDARD", "END:VTIMEZONE",
		"BEGIN:VEVENT", "UID:z", "SUMMARY:Z", `DTSTART;TZID="Tokyo (custom)":20250910T100000`, "END:VEVENT")
	inlineIANA := vcal(
		"BEGIN:VTIMEZONE", "TZID:Asia/Tokyo", "BEGIN:STANDARD", "DTSTART:19700101T000000",
		"TZOFFSETFROM:+0900", "TZOFFSETTO:+0900", "TZNAME:JST", "END:STANDARD", "END:VTIMEZONE",
		"BEGIN:VEVENT", "UID:z", "SUMMARY:Z", "DTSTART;TZID=Asia/Tokyo:20250910T100000", "END:VEVENT")
	for _, tc := range []struct {
		name, body, due, zone string
	}{
		{"iana", at("Asia/Tokyo"), "2025-09-10T10:00:00+09:00", "Asia/Tokyo"},
		{"inline Asia/Tokyo VTIMEZONE", inlineIANA, "2025-09-10T10:00:00+09:00", "Asia/Tokyo"},
		{"legacy alias", at("Japan"), "2025-09-10T10:00:00+09:00", "Asia/Tokyo"},
		{"windows Tokyo", at("Tokyo Standard Time"), "2025-09-10T10:00:00+09:00", "Asia/Tokyo"},
		{"windows Eastern", at("Eastern Standard Time"), "2025-09-10T10:00:00-04:00", "America/New_York"},
		{"windows W. Europe", at("W. Europe Standard Time"), "2025-09-10T10:00:00+02:00", "Europe/Berlin"},
		{"outlook display name", at(`"(GMT+10.00) Canberra, Melbourne, Sydney"`), "2025-09-10T10:00:00+10:00", "Australia/Sydney"},
		{"prefixed", at("/citadel.org/20260108_1/Asia/Tokyo"), "2025-09-10T10:00:00+09:00", "Asia/Tokyo"},
		{"custom VTIMEZONE", customTokyo, "2025-09-10T10:00:00+09:00", ""},
		{"utc", vcal("BEGIN:VEVENT", "UID:z", "SUMMARY:Z", "DTSTART:20250910T010000Z", "END:VEVENT"), "2025-09-10T10:00:00+09:00", ""},
		{"floating", vcal("BEGIN:VEVENT", "UID:z", "SUMMARY:Z", "DTSTART:20250910T100000", "END:VEVENT"), "2025-09-10T10:00:00+09:00", ""},
		{"unknown tzid reads as floating", at("Nowhere/Atlantis"), "2025-09-10T10:00:00+09:00", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, _ := run(t, tc.body, t0, t0.AddDate(1, 0, 0))
			if len(evs) != 1 || evs[0].Due != tc.due || evs[0].Zone != tc.zone {
				t.Errorf("got %+v, want due %s zone %q", briefs(evs), tc.due, tc.zone)
			}
		})
	}
}

func TestCustomVTimezoneWithDST(t *testing.T) {
	body := vcal(
		"BEGIN:VTIMEZONE", "TZID:My Eastern",
		"BEGIN:STANDARD", "DTSTART:19701101T020000", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
		"TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "TZNAME:EST", "END:STANDARD",
		"BEGIN:DAYLIGHT", "DTSTART:19700308T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
		"TZOFFSETFROM:-0500", "TZOFFSETTO:-0400", "TZNAME:EDT", "END:DAYLIGHT", "END:VTIMEZONE",
		"BEGIN:VEVENT", "UID:w", "SUMMARY:Winter", "DTSTART;TZID=My Eastern:20260115T090000", "END:VEVENT",
		"BEGIN:VEVENT", "UID:s", "SUMMARY:Summer", "DTSTART;TZID=My Eastern:20250715T090000", "END:VEVENT",
	)
	evs, _ := run(t, body, t0, t0.AddDate(1, 0, 0))
	want := []brief{
		{eventID("s", ""), "2025-07-15T09:00:00-04:00", "", "Summer"},
		{eventID("w", ""), "2026-01-15T09:00:00-05:00", "", "Winter"},
	}
	if diff := cmp.Diff(want, briefs(evs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLibicalTokyoVTimezone reads libical's full historical Asia/Tokyo
// VTIMEZONE: its prefixed TZID resolves to the IANA zone, and its own
// observances give JDT (+10) in 1950 and LMT before 1888.
func TestLibicalTokyoVTimezone(t *testing.T) {
	dir := testdataDir(t, "ics/libical")
	data, err := os.ReadFile(filepath.Join(dir, "zoneinfo2025c_Asia_Tokyo.ics"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(data), "END:VCALENDAR",
		crlf("BEGIN:VEVENT", "UID:summit", "SUMMARY:Summit", "DTSTART;TZID=/citadel.org/20260108_1/Asia/Tokyo:20250910T100000", "END:VEVENT")+"END:VCALENDAR", 1)
	evs, exp := run(t, body, t0, t0.AddDate(1, 0, 0))
	if len(evs) != 1 || evs[0].Due != "2025-09-10T10:00:00+09:00" || evs[0].Zone != "Asia/Tokyo" {
		t.Errorf("event = %+v", briefs(evs))
	}
	if exp.vevents != 1 {
		t.Errorf("vevents = %d", exp.vevents)
	}

	// The definition itself, as used when a TZID is not an IANA name.
	ctx := context.Background()
	fl := locZone{loc: time.UTC}
	if _, err := expand(ctx, data, expandOptions{from: t0, to: t0.Add(time.Hour), floating: fl}); err != nil {
		t.Fatal(err)
	}
	budget := maxVTZTransitionTotal
	vz, err := collectVTimezonesFromBody(t, data)["/citadel.org/20260108_1/Asia/Tokyo"].build(ctx, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), &budget)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		wall time.Time
		off  int
	}{
		{time.Date(1880, 1, 1, 12, 0, 0, 0, time.UTC), 9*3600 + 18*60 + 59},
		{time.Date(1950, 6, 1, 12, 0, 0, 0, time.UTC), 10 * 3600},
		{time.Date(1950, 10, 1, 12, 0, 0, 0, time.UTC), 9 * 3600},
		{time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC), 9 * 3600},
	} {
		_, off := vz.fromWall(tc.wall).Zone()
		if off != tc.off {
			t.Errorf("offset at %v = %d, want %d", tc.wall, off, tc.off)
		}
	}
}

func TestLookupZone(t *testing.T) {
	for in, want := range map[string]string{
		"Tokyo Standard Time":                "Asia/Tokyo",
		"Eastern Standard Time":              "America/New_York",
		"Pacific Standard Time":              "America/Los_Angeles",
		"GMT Standard Time":                  "Europe/London",
		"W. Europe Standard Time":            "Europe/Berlin",
		"AUS Eastern Standard Time":          "Australia/Sydney",
		"China Standard Time":                "Asia/Shanghai",
		"Korea Standard Time":                "Asia/Seoul",
		"UTC":                                "UTC",
		"Japan":                              "Asia/Tokyo",
		"US-Eastern":                         "America/New_York",
		"Asia/Tokyo":                         "Asia/Tokyo",
		`"Asia/Tokyo"`:                       "Asia/Tokyo",
		"/citadel.org/20260108_1/Asia/Tokyo": "Asia/Tokyo",
		"/mozilla.org/20050126_1/America/Argentina/Buenos_Aires": "America/Argentina/Buenos_Aires",
		"(UTC-03:00) Brasília":                                   "America/Sao_Paulo",
		"":                                                       "",
		"Local":                                                  "",
		"../../etc/passwd":                                       "",
		"Nowhere/Atlantis":                                       "",
	} {
		_, got, ok := lookupZone(in)
		if got != want || ok != (want != "") {
			t.Errorf("lookupZone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestBrokenComponentsAreSkipped: an event that cannot be read is left
// out with its reason; an event whose RRULE cannot be used keeps DTSTART's
// instance (RFC 5545: DTSTART is always the first instance), and the rule
// problem is reported as a warning.
func TestBrokenComponentsAreSkipped(t *testing.T) {
	body := vcal(
		"BEGIN:VEVENT", "UID:ok", "SUMMARY:Fine", "DTSTART:20250910T010000Z", "END:VEVENT",
		"BEGIN:VEVENT", "UID:nostart", "SUMMARY:No start", "END:VEVENT",
		"BEGIN:VEVENT", "UID:baddate", "SUMMARY:Bad", "DTSTART:2025-09-10", "END:VEVENT",
		"BEGIN:VEVENT", "UID:hourly", "SUMMARY:Hourly", "DTSTART:20250910T010000Z", "RRULE:FREQ=HOURLY;INTERVAL=24;BYHOUR=5", "END:VEVENT",
		"BEGIN:VEVENT", "UID:never", "SUMMARY:Never", "DTSTART:20250910T010000Z", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "END:VEVENT",
		"BEGIN:VEVENT", "UID:badfreq", "SUMMARY:Bad", "DTSTART:20250910T010000Z", "RRULE:FREQ=SOMETIMES", "END:VEVENT",
		"BEGIN:VEVENT", "UID:huge", "SUMMARY:Huge", "DTSTART:20250910T010000Z", "RRULE:FREQ=DAILY;INTERVAL=9223372036854775807", "END:VEVENT",
		"BEGIN:VEVENT", "UID:twice", "SUMMARY:Twice a day", "DTSTART:20250910T010000Z", "RRULE:FREQ=DAILY;BYHOUR=1,13", "END:VEVENT",
	)
	evs, exp := run(t, body, t0, t0.AddDate(1, 0, 0))
	var titles []string
	for _, e := range evs {
		titles = append(titles, e.Title)
	}
	slices.Sort(titles)
	if want := []string{"Bad", "Fine", "Hourly", "Huge", "Never", "Twice a day"}; !slices.Equal(titles, want) {
		t.Errorf("events = %q, want %q", titles, want)
	}
	if len(exp.skipped) != 2 {
		t.Errorf("skipped %d components, want 2: %q", len(exp.skipped), exp.skipped)
	}
	joined := strings.Join(exp.skipped, "\n")
	for _, want := range []string{"without DTSTART", "bad date-time"} {
		if !strings.Contains(joined, want) {
			t.Errorf("skip reasons lack %q: %s", want, joined)
		}
	}
	if len(exp.warnings) != 5 {
		t.Errorf("%d warnings, want 5: %q", len(exp.warnings), exp.warnings)
	}
	joined = strings.Join(exp.warnings, "\n")
	for _, want := range []string{"more frequent than daily", "never occurs", "FREQ", "INTERVAL", "2 instances a day", "DTSTART's instance kept"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q: %s", want, joined)
		}
	}
}

func TestUnreadableCalendars(t *testing.T) {
	for name, body := range map[string]string{
		"empty":     "",
		"html":      "<html><body>moved</body></html>",
		"nested":    strings.Repeat("BEGIN:X\r\n", 100) + "BEGIN:VCALENDAR\r\n",
		"truncated": "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID",
	} {
		_, err := expand(context.Background(), []byte(body), expandOptions{from: t0, to: t0.AddDate(1, 0, 0), floating: utcZone})
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestSharedTestdata reads every file of ../shared/testdata/ics: each
// parses or fails with an error, within a time bound, and every event
// it yields is well formed.
func TestSharedTestdata(t *testing.T) {
	dir := testdataDir(t, "ics")
	// What some files must yield, in a window around their dates.
	type expect struct {
		from      time.Time
		min, max  int
		zone, due string // of the first instance, when set
		err       bool
	}
	y := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	expects := map[string]expect{
		"valid_mathBirthdays.ics":    {from: y(2025, 7, 1), min: 1300, max: 1500},
		"valid_EXDATE-IN-UTC.ics":    {from: y(2007, 5, 1), min: 50, max: 60, zone: "America/Chicago", due: "2007-05-08T05:15:00-05:00"},
		"valid_japan_west.ics":       {from: y(2005, 1, 1), min: 30, max: 30, zone: "Asia/Tokyo"}, // 28 in 2005, 2 in January 2006
		"valid_Standup.ics":          {from: y(2025, 7, 1), min: 250, max: 300, zone: "Australia/Sydney"},
		"invalid_korganizer.ics":     {from: y(2025, 7, 1), min: 1, max: 1},
		"icalrecur_test.txt":         {from: y(2025, 7, 1), err: true},
		"calendars_bom_calendar.ics": {from: y(2025, 7, 1), min: 0, max: 0},
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			ex, known := expects[name]
			from := ex.from
			if !known {
				from = y(2025, 7, 1)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			exp, err := expand(ctx, data, expandOptions{from: from, to: from.AddDate(1, 1, 0), floating: locZone{loc: tokyo(t)}})
			if ctx.Err() != nil {
				t.Fatalf("did not finish in time: %v", ctx.Err())
			}
			if known && ex.err != (err != nil) {
				t.Fatalf("err = %v, want error %v", err, ex.err)
			}
			if err != nil {
				return
			}
			w := &Watcher{spec: watchers.Spec{ID: "t", URL: "https://example.org/c.ics"}}
			for _, o := range exp.occ {
				e := w.event(o, exp.floating)
				if !watchers.IDPattern.MatchString(e.ID) {
					t.Errorf("bad id %q", e.ID)
				}
				if _, err := watchers.ParseDue(e.Due, time.UTC); err != nil {
					t.Errorf("event %s: %v", e.ID, err)
				}
			}
			if !known {
				return
			}
			if n := len(exp.occ); n < ex.min || n > ex.max {
				t.Errorf("%d instances, want %d-%d", n, ex.min, ex.max)
			}
			if len(exp.occ) > 0 {
				e := w.event(exp.occ[0], exp.floating)
				if ex.zone != "" && e.Zone != ex.zone {
					t.Errorf("zone %q, want %q", e.Zone, ex.zone)
				}
				if ex.due != "" && e.Due != ex.due {
					t.Errorf("first due %q, want %q", e.Due, ex.due)
				}
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func collectVTimezonesFromBody(t *testing.T, data []byte) map[string]*vtimezone {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return collectVTimezones(cal)
}
