package chart_test

import (
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot/chart"
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

// seasonItems are the open events of the seed's kind of season at
// testNow: tentative windows of every precision, days, an instant, a
// postponed window and an overdue month.
func seasonItems(t testing.TB) []chart.Item {
	t.Helper()
	ny := mustZone("America/New_York")
	rows := []struct {
		id, title, due string
		zone           *time.Location
		status         watchers.Status
		tags           []string
	}{
		{"diet-session-end", "Ordinary Diet session ends", "2025-06-22T23:59", tokyo, "", []string{"japan"}},
		{"g7-summit-2025", "G7 summit", "2025-Q2", tokyo, "", []string{"summit"}},
		{"ishiba-trump-summit", "Ishiba–Trump summit", "2025-02", tokyo, "", []string{"japan", "us", "summit"}},
		{"jp-defense-buildup-plan", "FY2023–FY2027 defense buildup plan ends", "JFY2027", tokyo, "", []string{"japan", "defense"}},
		{"jp-fy2027-budget", "Diet passes the FY2027 budget", "2027-03-31", tokyo, "", []string{"japan", "budget"}},
		{"jp-us-2plus2", "Japan–U.S. 2+2 meeting", "2025-H2", tokyo, watchers.Postponed, []string{"japan", "us"}},
		{"upper-house-election-2025", "House of Councillors (Upper House) election", "2025-07", tokyo, "", []string{"japan", "election"}},
		{"us-fy2026-appropriations", "U.S. FY2026 appropriations deadline", "2025-09-30", ny, "", []string{"us", "budget"}},
	}
	var items []chart.Item
	for _, r := range rows {
		d, err := watchers.ParseDue(r.due, r.zone)
		if err != nil {
			t.Fatalf("%s: %v", r.id, err)
		}
		st := r.status
		if st == "" {
			st = watchers.DefaultStatus(d.Precision)
		}
		items = append(items, chart.Item{ID: r.id, Title: r.title, Due: d, Status: st, Tags: r.tags})
	}
	return items
}
