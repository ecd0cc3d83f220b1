package watchers

import (
	"strings"
	"testing"
	"time"
)

func TestParseLead(t *testing.T) {
	tests := []struct {
		in       string
		want     Lead
		str      string
		whole    bool
		days     int
		duration time.Duration
	}{
		{"90d", Lead{90, 'd'}, "90d", true, 90, 90 * 24 * time.Hour},
		{"2w", Lead{2, 'w'}, "2w", true, 14, 14 * 24 * time.Hour},
		{"12h", Lead{12, 'h'}, "12h", false, 0, 12 * time.Hour},
		{"30m", Lead{30, 'm'}, "30m", false, 0, 30 * time.Minute},
		{"0d", Lead{0, 'd'}, "0d", true, 0, 0},
		{" 7d ", Lead{7, 'd'}, "7d", true, 7, 7 * 24 * time.Hour},
		{"07d", Lead{7, 'd'}, "7d", true, 7, 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		l, err := ParseLead(tt.in)
		if err != nil {
			t.Errorf("ParseLead(%q): %v", tt.in, err)
			continue
		}
		if l != tt.want || l.String() != tt.str || l.WholeDays() != tt.whole || l.Duration() != tt.duration {
			t.Errorf("ParseLead(%q) = %+v (%s, whole %v, %s)", tt.in, l, l, l.WholeDays(), l.Duration())
		}
		if tt.whole && l.Days() != tt.days {
			t.Errorf("%s.Days() = %d, want %d", l, l.Days(), tt.days)
		}
	}
	for _, in := range []string{"", "7", "d", "7x", "7D", "-1d", "+7d", "1.5d", "100001d", "7 d", "d7", "٣d"} {
		_, err := ParseLead(in)
		want := `bad duration "` + strings.TrimSpace(in) + `" (want a number and a unit m, h, d or w, or several from largest to smallest, e.g. 7d, 12h, 1h30m or 2w3d)`
		if err == nil || err.Error() != want {
			t.Errorf("ParseLead(%q) = %v, want %q", in, err, want)
		}
	}
	leads, err := ParseLeads([]string{"30d", "7d", "1h"})
	if err != nil || len(leads) != 3 || leads[2] != (Lead{1, 'h'}) {
		t.Errorf("ParseLeads = %v, %v", leads, err)
	}
	if _, err := ParseLeads([]string{"30d", "soon"}); err == nil || !strings.Contains(err.Error(), `"soon"`) {
		t.Errorf("ParseLeads with a bad lead = %v", err)
	}
}

func TestParseAndFormatDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"1h30m": 90 * time.Minute, "2w3d": 17 * 24 * time.Hour, "7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "90m": 90 * time.Minute, "36h": 36 * time.Hour, "0m": 0} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"7", "1y", "-2h", "30m1h", "1h1h"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour: "1w", 14 * 24 * time.Hour: "2w", 48 * time.Hour: "2d", 3 * time.Hour: "3h",
		90 * time.Minute: "90m", 0: "0d", 10 * 24 * time.Hour: "10d",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
		// What FormatDuration writes, ParseDuration reads back.
		if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("round trip of %s = %s, %v", d, back, err)
		}
	}
}

func TestParseStatusAndIDs(t *testing.T) {
	for _, s := range []string{"tentative", "Scheduled", " happened ", "POSTPONED", "cancelled"} {
		st, err := ParseStatus(s)
		if err != nil || string(st) != strings.ToLower(strings.TrimSpace(s)) {
			t.Errorf("ParseStatus(%q) = %q, %v", s, st, err)
		}
	}
	if _, err := ParseStatus("done"); err == nil || err.Error() != `unknown status "done" (want tentative, scheduled, happened, postponed or cancelled)` {
		t.Errorf("ParseStatus(done) = %v", err)
	}
	for st, active := range map[Status]bool{Tentative: true, Scheduled: true, Happened: false, Postponed: false, Cancelled: false} {
		if st.Active() != active {
			t.Errorf("%s.Active() = %v", st, !active)
		}
	}
	if DefaultStatus(Day) != Scheduled || DefaultStatus(Instant) != Scheduled || DefaultStatus(Month) != Tentative || DefaultStatus(FiscalYear) != Tentative {
		t.Error("DefaultStatus wrong")
	}
	for id, ok := range map[string]bool{"upper-house-election-2025": true, "a": true, "Upper": false, "-x": false, "": false, "a_b": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false} {
		if err := ValidID("event", id); (err == nil) != ok {
			t.Errorf("ValidID(%q) = %v", id, err)
		}
	}
}

func TestEventLocation(t *testing.T) {
	tokyo := loadLoc(t, "Asia/Tokyo")
	ev := &Event{ID: "e"}
	if loc, err := ev.Location(tokyo); err != nil || loc != tokyo {
		t.Errorf("no zone: %v, %v; want the default", loc, err)
	}
	ev.Zone = "America/New_York"
	if loc, err := ev.Location(tokyo); err != nil || loc.String() != "America/New_York" {
		t.Errorf("zone: %v, %v", loc, err)
	}
	for _, z := range []string{"Mars/Olympus", "Local", "../etc/passwd"} {
		ev.Zone = z
		if _, err := ev.Location(tokyo); err == nil || !strings.Contains(err.Error(), `event e: unknown time zone "`+z+`"`) {
			t.Errorf("zone %q: %v", z, err)
		}
	}
}

func TestStateAt(t *testing.T) {
	tokyo := loadLoc(t, "Asia/Tokyo")
	at := func(s string) time.Time { return rfc(t, s+"T09:00:00+09:00") }
	ev := &Event{
		ID: "upper-house-election-2025", Title: "Upper House election", Due: "2025-07",
		Source: "https://example.org/a",
		Changes: []Change{
			{At: at("2025-07-03"), Due: "2025-07-20", Note: "officially announced"},              // month → day: scheduled
			{At: at("2025-07-10"), Status: Postponed, Source: "https://example.org/b"},           // postponed
			{At: at("2025-07-15"), Due: "2025-08-03", Title: "Upper House election (postponed)"}, // new date: scheduled again
			{At: at("2025-07-20"), Due: "2025-08", Status: Tentative},                            // explicit status wins
			{At: at("2025-08-03"), Due: "2025-08-03", Status: Happened},
			{At: at("2025-08-05"), Due: "2025-09"}, // happened sticks through a new date
		},
	}
	tests := []struct {
		at     time.Time
		due    string
		status Status
		title  string
		source string
		note   string
	}{
		{at("2025-01-01"), "2025-07", Tentative, "Upper House election", "https://example.org/a", ""},
		{at("2025-07-03").Add(-time.Nanosecond), "2025-07", Tentative, "Upper House election", "https://example.org/a", ""},
		{at("2025-07-03"), "2025-07-20", Scheduled, "Upper House election", "https://example.org/a", "officially announced"},
		{at("2025-07-12"), "2025-07-20", Postponed, "Upper House election", "https://example.org/b", ""},
		{at("2025-07-15"), "2025-08-03", Scheduled, "Upper House election (postponed)", "https://example.org/b", ""},
		{at("2025-07-21"), "2025-08", Tentative, "Upper House election (postponed)", "https://example.org/b", ""},
		{at("2025-08-03"), "2025-08-03", Happened, "Upper House election (postponed)", "https://example.org/b", ""},
		{at("2025-12-31"), "2025-09", Happened, "Upper House election (postponed)", "https://example.org/b", ""},
	}
	for _, tt := range tests {
		st, err := ev.StateAt(tt.at, tokyo)
		if err != nil {
			t.Fatal(err)
		}
		if st.Due.Raw != tt.due || st.Status != tt.status || st.Title != tt.title || st.Source != tt.source || st.Note != tt.note {
			t.Errorf("StateAt(%s) = %s %s %q %s %q; want %s %s %q %s %q", tt.at, st.Due.Raw, st.Status, st.Title, st.Source, st.Note,
				tt.due, tt.status, tt.title, tt.source, tt.note)
		}
	}

	// Cancelled sticks too; an explicit status beside a new date wins.
	ev2 := &Event{ID: "e", Due: "2025-07-20", Status: Cancelled, Changes: []Change{{At: at("2025-07-01"), Due: "2025-07-27"}}}
	if st, err := ev2.StateAfter(1, tokyo); err != nil || st.Status != Cancelled || st.Due.Raw != "2025-07-27" {
		t.Errorf("cancelled with new date = %+v, %v", st, err)
	}
	if st, err := ev2.StateAfter(0, tokyo); err != nil || st.Due.Raw != "2025-07-20" {
		t.Errorf("StateAfter(0) = %+v, %v", st, err)
	}
	for _, n := range []int{-1, 2} {
		if _, err := ev2.StateAfter(n, tokyo); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("StateAfter(%d) = %v", n, err)
		}
	}

	// A bad date names the event.
	ev3 := &Event{ID: "broken", Due: "2025-02-29"}
	if _, err := ev3.StateAt(at("2025-01-01"), tokyo); err == nil || !strings.HasPrefix(err.Error(), `event broken: bad due date "2025-02-29"`) {
		t.Errorf("bad due = %v", err)
	}
	if tagged := (&Event{Tags: []string{"japan", "us"}}); !tagged.HasTag("us") || tagged.HasTag("jap") || ev.HasTag("japan") {
		t.Error("HasTag wrong")
	}
}
