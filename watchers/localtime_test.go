package watchers

import (
	"testing"
	"time"
)

// TestDateDSTRule holds Date to RFC 5545 §3.3.5 as DESIGN §4 states it,
// for a zone west of UTC (New York) and one at UTC in winter (London),
// where time.Date picks differently; and to time.Date everywhere else.
func TestDateDSTRule(t *testing.T) {
	ny := loadLoc(t, "America/New_York")
	london := loadLoc(t, "Europe/London")
	tokyo := loadLoc(t, "Asia/Tokyo")
	santiago := loadLoc(t, "America/Santiago")
	tests := []struct {
		name string
		got  time.Time
		want string
	}{
		{"NY gap 02:30 → 03:30 EDT", Date(2025, 3, 9, 2, 30, 0, 0, ny), "2025-03-09T03:30:00-04:00"},
		{"NY gap 02:00 → 03:00 EDT", Date(2025, 3, 9, 2, 0, 0, 0, ny), "2025-03-09T03:00:00-04:00"},
		{"NY gap 02:59:59", Date(2025, 3, 9, 2, 59, 59, 0, ny), "2025-03-09T03:59:59-04:00"},
		{"NY before gap", Date(2025, 3, 9, 1, 59, 0, 0, ny), "2025-03-09T01:59:00-05:00"},
		{"NY after gap", Date(2025, 3, 9, 3, 0, 0, 0, ny), "2025-03-09T03:00:00-04:00"},
		{"NY overlap 01:30 → first (EDT)", Date(2025, 11, 2, 1, 30, 0, 0, ny), "2025-11-02T01:30:00-04:00"},
		{"NY overlap 01:00 → first (EDT)", Date(2025, 11, 2, 1, 0, 0, 0, ny), "2025-11-02T01:00:00-04:00"},
		{"NY after overlap", Date(2025, 11, 2, 2, 0, 0, 0, ny), "2025-11-02T02:00:00-05:00"},
		{"London gap 01:30 → 02:30 BST", Date(2025, 3, 30, 1, 30, 0, 0, london), "2025-03-30T02:30:00+01:00"},
		{"London overlap 01:30 → first (BST)", Date(2025, 10, 26, 1, 30, 0, 0, london), "2025-10-26T01:30:00+01:00"},
		{"London overlap 01:00 → first (BST)", Date(2025, 10, 26, 1, 0, 0, 0, london), "2025-10-26T01:00:00+01:00"},
		{"London after overlap", Date(2025, 10, 26, 2, 0, 0, 0, london), "2025-10-26T02:00:00Z"},
		{"London before overlap", Date(2025, 10, 26, 0, 59, 0, 0, london), "2025-10-26T00:59:00+01:00"},
		// Santiago springs forward at midnight: the day starts at 01:00.
		{"Santiago midnight gap", Date(2025, 9, 7, 0, 0, 0, 0, santiago), "2025-09-07T01:00:00-03:00"},
		{"Tokyo, no DST", Date(2025, 7, 20, 9, 0, 0, 0, tokyo), "2025-07-20T09:00:00+09:00"},
		{"UTC", Date(2025, 7, 20, 9, 0, 0, 0, time.UTC), "2025-07-20T09:00:00Z"},
		{"fixed zone", Date(2025, 7, 20, 9, 0, 0, 0, time.FixedZone("X", -3600)), "2025-07-20T09:00:00-01:00"},
		{"normalized fields", Date(2025, 3, 8, 26, 30, 0, 0, ny), "2025-03-09T03:30:00-04:00"},
	}
	for _, tt := range tests {
		if got := tt.got.Format(time.RFC3339); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
	// Nanoseconds survive, in a gap too.
	if got := Date(2025, 3, 9, 2, 30, 0, 5, ny); got.Nanosecond() != 5 {
		t.Errorf("nanoseconds = %d, want 5", got.Nanosecond())
	}
	// Every wall time of two whole years reads back as itself unless it
	// is in a gap, where it is read with the offset before the gap; and a
	// repeated one is the first of its instants. Lord Howe repeats half an
	// hour, Troll two hours.
	lordHowe, troll := loadLoc(t, "Australia/Lord_Howe"), loadLoc(t, "Antarctica/Troll")
	for _, loc := range []*time.Location{ny, london, lordHowe, troll} {
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for w := start; w.Year() < 2027; w = w.Add(15 * time.Minute) {
			got := Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, 0, loc)
			wall := w.Unix()
			_, off := got.Zone()
			if got.Unix()+int64(off) == wall {
				for back := 15 * time.Minute; back <= 3*time.Hour; back += 15 * time.Minute {
					e := got.Add(-back)
					if _, eo := e.Zone(); e.Unix()+int64(eo) == wall {
						t.Fatalf("%s %s: got %s, but %s shows the same wall time earlier", loc, w.Format("2006-01-02 15:04"), got, e)
					}
				}
				continue
			}
			tr, _ := got.ZoneBounds()
			_, before := tr.Add(-time.Nanosecond).Zone()
			if got.Before(tr) || got.Unix() != wall-int64(before) {
				t.Fatalf("%s %s (gap): got %s, want the instant of that wall time at the offset before the gap", loc, w.Format("2006-01-02 15:04"), got)
			}
		}
	}
}
