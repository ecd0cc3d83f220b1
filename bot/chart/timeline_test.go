package chart_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot/chart"
	"github.com/policyteam/alertbot/watchers"
)

func item(t *testing.T, id, due string, tags ...string) chart.Item {
	t.Helper()
	d, err := watchers.ParseDue(due, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	return chart.Item{ID: id, Title: "Event " + id, Due: d, Status: watchers.DefaultStatus(d.Precision), Tags: tags}
}

func TestLayoutPlacesMarksOnTheScale(t *testing.T) {
	items := []chart.Item{
		item(t, "month", "2025-07", "election"),
		item(t, "quarter", "2025-Q4", "summit"),
		item(t, "fy", "JFY2026", "budget"),
		item(t, "day", "2025-09-30", "budget"),
		item(t, "instant", "2025-06-22T23:59", "japan"),
		item(t, "late", "2025-02"),
		item(t, "last", "2027-06-30"),
	}
	items[len(items)-1].Title = "The last event, whose label would run past the right edge"
	tl := chart.Layout(items, testNow, tokyo)
	byID := map[string]chart.Mark{}
	for _, m := range tl.Marks {
		byID[m.Event] = m
	}
	if len(byID) != len(items) {
		t.Fatalf("%d marks for %d items", len(byID), len(items))
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 0.01 {
			t.Errorf("%s = %.2f, want %.2f", what, got, want)
		}
	}
	for _, c := range []struct {
		id         string
		start, end time.Time
	}{
		{"month", time.Date(2025, 7, 1, 0, 0, 0, 0, tokyo), time.Date(2025, 8, 1, 0, 0, 0, 0, tokyo)},
		{"quarter", time.Date(2025, 10, 1, 0, 0, 0, 0, tokyo), time.Date(2026, 1, 1, 0, 0, 0, 0, tokyo)},
		{"fy", time.Date(2026, 4, 1, 0, 0, 0, 0, tokyo), time.Date(2027, 4, 1, 0, 0, 0, 0, tokyo)},
	} {
		m := byID[c.id]
		if !m.Bar {
			t.Errorf("%s is not a bar", c.id)
		}
		near(c.id+" bar start", m.X, tl.X(c.start))
		near(c.id+" bar end", m.X+m.W, tl.X(c.end))
	}
	if m := byID["day"]; m.Bar || m.W != 0 {
		t.Errorf("a day is a point, got bar=%v w=%.1f", m.Bar, m.W)
	} else {
		near("day point", m.X, tl.X(time.Date(2025, 9, 30, 12, 0, 0, 0, tokyo)))
	}
	near("instant point", byID["instant"].X, tl.X(time.Date(2025, 6, 22, 23, 59, 0, 0, tokyo)))
	near("now line", tl.NowX, tl.X(testNow))
	if !byID["late"].Overdue || byID["month"].Overdue {
		t.Errorf("overdue: late %v month %v, want true false", byID["late"].Overdue, byID["month"].Overdue)
	}
	// Everything, the past window included, lies inside the plot.
	for _, m := range tl.Marks {
		if m.X < tl.PlotLeft || m.X+m.W > tl.PlotRight || m.LabelX < 0 || m.LabelX+m.LabelW > tl.Width {
			t.Errorf("%s outside the plot: x %.1f w %.1f label %.1f+%.1f", m.Event, m.X, m.W, m.LabelX, m.LabelW)
		}
	}
	if m := byID["last"]; m.LabelX >= m.X-chart.PointRadius {
		t.Errorf("the last label starts at %.1f, under its point at %.1f: it should be moved left to fit", m.LabelX, m.X)
	}
	// Year ticks on 1 January in the display zone.
	found := false
	for _, tk := range tl.Ticks {
		if tk.Label == "2026" {
			found = tk.Major
			near("2026 tick", tk.X, tl.X(time.Date(2026, 1, 1, 0, 0, 0, 0, tokyo)))
		}
	}
	if !found {
		t.Errorf("no major 2026 tick in %v", tl.Ticks)
	}
}

// Labels never overlap, however many events crowd one month.
func TestLayoutLabelsDoNotOverlap(t *testing.T) {
	var items []chart.Item
	for i := range 40 {
		it := item(t, fmt.Sprintf("e%02d", i), fmt.Sprintf("2025-07-%02d", 1+i%28), "t")
		it.Title = fmt.Sprintf("A rather long title for event number %d, with ＣＪＫ 参議院議員通常選挙", i)
		items = append(items, it)
	}
	items = append(items, item(t, "wide", "2025-H2"))
	tl := chart.Layout(items, testNow, tokyo)
	type box struct{ x0, x1, y0, y1 float64 }
	boxes := map[string]box{}
	for _, m := range tl.Marks {
		boxes[m.Event] = box{m.LabelX, m.LabelX + m.LabelW, m.Y + chart.LabelBaseline - chart.LabelSize, m.Y + chart.LabelBaseline + 3}
		if m.Y+chart.LabelBaseline > tl.Height {
			t.Errorf("%s below the picture", m.Event)
		}
	}
	for a, ba := range boxes {
		for b, bb := range boxes {
			if a < b && ba.x0 < bb.x1 && bb.x0 < ba.x1 && ba.y0 < bb.y1 && bb.y0 < ba.y1 {
				t.Errorf("labels of %s and %s overlap: %v %v", a, b, ba, bb)
			}
		}
	}
}

func TestLayoutColoursByMostSpecificTag(t *testing.T) {
	items := []chart.Item{
		item(t, "a", "2025-07", "japan", "election"),
		item(t, "b", "2025-08-01", "japan", "budget"),
		item(t, "c", "2025-09-01", "japan", "budget"),
		item(t, "d", "2025-10-01"),
	}
	tl := chart.Layout(items, testNow, tokyo)
	want := []chart.LegendEntry{{Tag: "budget", Color: 0, Events: 2}, {Tag: "election", Color: 1, Events: 1}, {Tag: "", Color: len(chart.Palette) - 1, Events: 1}}
	if fmt.Sprint(tl.Legend) != fmt.Sprint(want) {
		t.Errorf("legend = %v, want %v (japan is on every tagged event and tells nothing apart)", tl.Legend, want)
	}
	colour := map[string]int{}
	for _, m := range tl.Marks {
		colour[m.Event] = m.Color
	}
	if colour["a"] != 1 || colour["b"] != 0 || colour["c"] != 0 || colour["d"] != len(chart.Palette)-1 {
		t.Errorf("colours = %v", colour)
	}
}

func TestLayoutEmptyAndSingle(t *testing.T) {
	tl := chart.Layout(nil, testNow, tokyo)
	if len(tl.Marks) != 0 || tl.To.Sub(tl.From) < 30*24*time.Hour || tl.NowX <= tl.PlotLeft || tl.NowX >= tl.PlotRight {
		t.Errorf("empty timeline: %v – %v, now at %.1f", tl.From, tl.To, tl.NowX)
	}
	// A lone instant at now is not stretched over the whole width.
	tl = chart.Layout([]chart.Item{item(t, "x", "2025-05-20T10:00")}, testNow, tokyo)
	if span := tl.To.Sub(tl.From); span < 30*24*time.Hour {
		t.Errorf("span %v, want at least a month", span)
	}
}
