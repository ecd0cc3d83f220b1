package watchers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func loadLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func rfc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

func TestParseDue(t *testing.T) {
	tokyo := loadLoc(t, "Asia/Tokyo")
	ny := loadLoc(t, "America/New_York")
	tests := []struct {
		in         string
		loc        *time.Location
		raw        string
		prec       Precision
		start, end string // RFC 3339 with the offset the window has in its zone
		zone       string // name of Start's location
		describe   string
	}{
		// instants
		{"2025-02-07T10:30-05:00", tokyo, "2025-02-07T10:30-05:00", Instant, "2025-02-08T00:30:00+09:00", "2025-02-08T00:30:00+09:00", "Asia/Tokyo", "8 February 2025 00:30 JST"},
		{"2025-02-07T10:30:15Z", tokyo, "2025-02-07T10:30:15Z", Instant, "2025-02-07T19:30:15+09:00", "2025-02-07T19:30:15+09:00", "Asia/Tokyo", "7 February 2025 19:30 JST"},
		{"2025-02-07T10:30", tokyo, "2025-02-07T10:30", Instant, "2025-02-07T10:30:00+09:00", "2025-02-07T10:30:00+09:00", "Asia/Tokyo", "7 February 2025 10:30 JST"},
		{"2025-02-07t10:30:45", tokyo, "2025-02-07t10:30:45", Instant, "2025-02-07T10:30:45+09:00", "2025-02-07T10:30:45+09:00", "Asia/Tokyo", "7 February 2025 10:30 JST"},
		{"2025-03-09T03:30[America/New_York]", tokyo, "2025-03-09T03:30[America/New_York]", Instant, "2025-03-09T03:30:00-04:00", "2025-03-09T03:30:00-04:00", "America/New_York", "9 March 2025 03:30 EDT"},
		{"2025-03-09T01:59[America/New_York]", tokyo, "2025-03-09T01:59[America/New_York]", Instant, "2025-03-09T01:59:00-05:00", "2025-03-09T01:59:00-05:00", "America/New_York", "9 March 2025 01:59 EST"},
		{"2025-07-20T10:30 Europe/London", tokyo, "2025-07-20T10:30 Europe/London", Instant, "2025-07-20T10:30:00+01:00", "2025-07-20T10:30:00+01:00", "Europe/London", "20 July 2025 10:30 BST"},
		// DESIGN §4 / RFC 5545 §3.3.5: a time in the spring-forward gap is
		// read with the offset before it; a repeated time is the first.
		{"2025-03-09T02:30[America/New_York]", tokyo, "2025-03-09T02:30[America/New_York]", Instant, "2025-03-09T03:30:00-04:00", "2025-03-09T03:30:00-04:00", "America/New_York", "9 March 2025 03:30 EDT"},
		{"2025-03-09T02:00:00 America/New_York", tokyo, "2025-03-09T02:00:00 America/New_York", Instant, "2025-03-09T03:00:00-04:00", "2025-03-09T03:00:00-04:00", "America/New_York", "9 March 2025 03:00 EDT"},
		{"2025-11-02T01:30", ny, "2025-11-02T01:30", Instant, "2025-11-02T01:30:00-04:00", "2025-11-02T01:30:00-04:00", "America/New_York", "2 November 2025 01:30 EDT"},
		{"2025-10-26T01:30 Europe/London", tokyo, "2025-10-26T01:30 Europe/London", Instant, "2025-10-26T01:30:00+01:00", "2025-10-26T01:30:00+01:00", "Europe/London", "26 October 2025 01:30 BST"},
		{"2025-03-30T01:30:00[Europe/London]", tokyo, "2025-03-30T01:30:00[Europe/London]", Instant, "2025-03-30T02:30:00+01:00", "2025-03-30T02:30:00+01:00", "Europe/London", "30 March 2025 02:30 BST"},
		{"  2025-01-20T12:00  ", ny, "2025-01-20T12:00", Instant, "2025-01-20T12:00:00-05:00", "2025-01-20T12:00:00-05:00", "America/New_York", "20 January 2025 12:00 EST"},
		// days, including leap days and DST days (23 and 25 hours long)
		{"2025-07-20", tokyo, "2025-07-20", Day, "2025-07-20T00:00:00+09:00", "2025-07-21T00:00:00+09:00", "Asia/Tokyo", "Sun 20 July 2025"},
		{"2024-02-29", tokyo, "2024-02-29", Day, "2024-02-29T00:00:00+09:00", "2024-03-01T00:00:00+09:00", "Asia/Tokyo", "Thu 29 February 2024"},
		{"2025-12-31", tokyo, "2025-12-31", Day, "2025-12-31T00:00:00+09:00", "2026-01-01T00:00:00+09:00", "Asia/Tokyo", "Wed 31 December 2025"},
		{"2025-03-09", ny, "2025-03-09", Day, "2025-03-09T00:00:00-05:00", "2025-03-10T00:00:00-04:00", "America/New_York", "Sun 9 March 2025"},
		{"2025-11-02", ny, "2025-11-02", Day, "2025-11-02T00:00:00-04:00", "2025-11-03T00:00:00-05:00", "America/New_York", "Sun 2 November 2025"},
		// months, quarters, halves, years, fiscal years
		{"2025-02", tokyo, "2025-02", Month, "2025-02-01T00:00:00+09:00", "2025-03-01T00:00:00+09:00", "Asia/Tokyo", "February 2025"},
		{"2025-12", tokyo, "2025-12", Month, "2025-12-01T00:00:00+09:00", "2026-01-01T00:00:00+09:00", "Asia/Tokyo", "December 2025"},
		{"2025-Q3", tokyo, "2025-Q3", Quarter, "2025-07-01T00:00:00+09:00", "2025-10-01T00:00:00+09:00", "Asia/Tokyo", "Q3 2025 (July–September 2025)"},
		{"2025-q4", tokyo, "2025-Q4", Quarter, "2025-10-01T00:00:00+09:00", "2026-01-01T00:00:00+09:00", "Asia/Tokyo", "Q4 2025 (October–December 2025)"},
		{"2025-H1", tokyo, "2025-H1", Half, "2025-01-01T00:00:00+09:00", "2025-07-01T00:00:00+09:00", "Asia/Tokyo", "H1 2025 (January–June 2025)"},
		{"2025-h2", tokyo, "2025-H2", Half, "2025-07-01T00:00:00+09:00", "2026-01-01T00:00:00+09:00", "Asia/Tokyo", "H2 2025 (July–December 2025)"},
		{"2025", tokyo, "2025", Year, "2025-01-01T00:00:00+09:00", "2026-01-01T00:00:00+09:00", "Asia/Tokyo", "2025"},
		{"JFY2025", tokyo, "JFY2025", FiscalYear, "2025-04-01T00:00:00+09:00", "2026-04-01T00:00:00+09:00", "Asia/Tokyo", "JFY2025 (April 2025 – March 2026)"},
		{"jfy2025", tokyo, "JFY2025", FiscalYear, "2025-04-01T00:00:00+09:00", "2026-04-01T00:00:00+09:00", "Asia/Tokyo", "JFY2025 (April 2025 – March 2026)"},
		{"USFY2025", ny, "USFY2025", FiscalYear, "2024-10-01T00:00:00-04:00", "2025-10-01T00:00:00-04:00", "America/New_York", "USFY2025 (October 2024 – September 2025)"},
		// nil location means UTC
		{"2025-07-20", nil, "2025-07-20", Day, "2025-07-20T00:00:00Z", "2025-07-21T00:00:00Z", "UTC", "Sun 20 July 2025"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDue(tt.in, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			if d.Raw != tt.raw || d.Precision != tt.prec {
				t.Errorf("raw, precision = %q, %s; want %q, %s", d.Raw, d.Precision, tt.raw, tt.prec)
			}
			if got := d.Start.Format(time.RFC3339); got != tt.start {
				t.Errorf("start = %s, want %s", got, tt.start)
			}
			if got := d.End.Format(time.RFC3339); got != tt.end {
				t.Errorf("end = %s, want %s", got, tt.end)
			}
			if got := d.Start.Location().String(); got != tt.zone {
				t.Errorf("zone = %s, want %s", got, tt.zone)
			}
			if got := d.Describe(); got != tt.describe {
				t.Errorf("Describe = %q, want %q", got, tt.describe)
			}
			if d.Coarse() != (tt.prec >= Month) || d.IsZero() || d.String() != tt.raw {
				t.Errorf("Coarse/IsZero/String wrong for %+v", d)
			}
		})
	}
}

func TestParseDueErrors(t *testing.T) {
	ny := loadLoc(t, "America/New_York")
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"   ", "empty"},
		{"2025-02-29", "February 2025 has no day 29"},
		{"2025-04-31", "April 2025 has no day 31"},
		{"2025-13", `month "13" out of range 01-12`},
		{"2025-00-10", `month "00" out of range 01-12`},
		{"2025-7", `month "7" must have two digits`},
		{"2025-+7", `month "+7" must have two digits`},
		{"2025-07-32", `day "32" out of range 01-31`},
		{"2025-07-2", `day "2" must have two digits`},
		{"2025-07-20-01", "too many parts"},
		{"2025-", `month "" must have two digits`},
		{"25-07", `year "25" must have four digits`},
		{"+025", `year "+025" must have four digits`},
		{"1800", `year "1800" out of range 1900-2999`},
		{"2025-Q5", `quarter "Q5" must be Q1, Q2, Q3 or Q4`},
		{"2025-H3", `half "H3" must be H1 or H2`},
		{"JFY25", `year "25" must have four digits`},
		{"USFY20x5", `year "20X5" must have four digits`},
		{"July 2025", `year "July 2025" must have four digits`},
		{"2025-07-20T25:00", "not a date-time (want 2025-02-07T10:30 or 2025-02-07T10:30-05:00)"},
		{"2025-07-20T10", "not a date-time (want 2025-02-07T10:30 or 2025-02-07T10:30-05:00)"},
		{"2025-07-20T10:30+25:00", "not a date-time (want 2025-02-07T10:30 or 2025-02-07T10:30-05:00)"},
		{"2025-07-20T10:30[Mars/Olympus]", `unknown time zone "Mars/Olympus"`},
		{"2025-07-20T10:30[]", `unknown time zone ""`},
		{"2025-07-20T10:30[Asia/Tokyo", `zone name "Asia/Tokyo" lacks its closing bracket`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDue(tt.in, ny)
			var de *DueError
			if !errors.As(err, &de) {
				t.Fatalf("ParseDue(%q) = %+v, %v; want a *DueError", tt.in, d, err)
			}
			if de.Reason != tt.reason || de.Input != tt.in {
				t.Errorf("reason = %q, want %q", de.Reason, tt.reason)
			}
			want := `bad due date "` + tt.in + `": ` + tt.reason + " (want 2025-07-20,"
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q, want it to start with %q", err, want)
			}
		})
	}
	// The same wall time without a zone is resolved in loc: in New York's
	// gap with the offset before it (DESIGN §4), in Tokyo as written.
	if d, err := ParseDue("2025-03-09T02:30", ny); err != nil || d.Start.Format(time.RFC3339) != "2025-03-09T03:30:00-04:00" {
		t.Errorf("2025-03-09T02:30 in New York = %v, %v; want 03:30 EDT", d.Start, err)
	}
	if _, err := ParseDue("2025-03-09T02:30", loadLoc(t, "Asia/Tokyo")); err != nil {
		t.Errorf("2025-03-09T02:30 rejected in Tokyo: %v", err)
	}
}

func TestPrecisionString(t *testing.T) {
	for p, want := range map[Precision]string{Instant: "instant", Day: "day", Month: "month", FiscalYear: "fiscal year", Precision(99): "unknown", Precision(-1): "unknown"} {
		if got := p.String(); got != want {
			t.Errorf("Precision(%d) = %q, want %q", int(p), got, want)
		}
	}
}

// FuzzParseDue: no input panics, and every accepted window is ordered.
func FuzzParseDue(f *testing.F) {
	for _, s := range []string{"2025-07-20", "2025-07", "2025-Q3", "JFY2025", "2025-07-20T10:30-05:00", "2025-03-09T02:30[America/New_York]", "2025-07-20T10:30 Asia/Tokyo", "[", "T", "-", "2025--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDue(s, time.UTC)
		if err != nil {
			return
		}
		if d.End.Before(d.Start) || d.Raw == "" {
			t.Errorf("ParseDue(%q) = %+v", s, d)
		}
		_ = d.Describe()
	})
}

// TestParseCommonMatchesParseDue holds the fast path to the general
// parser: the same window for every form it takes, and nothing it should
// not take.
func TestParseCommonMatchesParseDue(t *testing.T) {
	ny := loadLoc(t, "America/New_York")
	var inputs []string
	for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2026; d = d.AddDate(0, 0, 1) {
		inputs = append(inputs, d.Format("2006-01-02"), d.Format("2006-01"))
	}
	for _, day := range []string{"2025-03-09", "2025-11-02", "2024-02-29"} {
		for h := range 24 {
			for _, m := range []string{"00", "30", "59"} {
				inputs = append(inputs, fmt.Sprintf("%sT%02d:%s", day, h, m), fmt.Sprintf("%sT%02d:%s:30", day, h, m))
			}
		}
	}
	inputs = append(inputs, "2025-02-29", "2025-13", "2025-00", "1899-12", "3000-01", "2025-07-20T24:00", "2025-07-20T10:60",
		"2025-07-20T10:30:60", "2025-07-20t10:30", "2025-07-20 10:30", "2025/07/20", "2025-07-2x", "+025-07", "2025-7-20")
	checked := 0
	for _, in := range inputs {
		fast, ok := parseCommon(in, ny)
		slow, err := parseDue(in, in, ny)
		if !ok {
			continue
		}
		checked++
		if err != nil || fast.Raw != slow.Raw || fast.Precision != slow.Precision || !fast.Start.Equal(slow.Start) ||
			!fast.End.Equal(slow.End) || fast.Start.Location() != slow.Start.Location() {
			t.Errorf("%s: fast %+v, general %+v, %v", in, fast, slow, err)
		}
	}
	if checked < 1000 {
		t.Errorf("fast path took only %d inputs", checked)
	}
	for _, in := range []string{"2025-02-29", "2025-13", "2025-07-20T24:00", "2025-07-20t10:30"} {
		if _, ok := parseCommon(in, ny); ok {
			t.Errorf("fast path took %q", in)
		}
	}
}
