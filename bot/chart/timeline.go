// Package chart lays out the timeline of open events — bars over
// tentative windows, points for days and instants, a line at now, tag
// colours, labels that never overlap — and draws it: the status page
// (bot/web) as SVG, /alerts timeline (package bot) as a PNG. It imports
// no other package of the bot, so both can use it.
package chart

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/width"

	"github.com/policyteam/alertbot/watchers"
)

// Item is one open event to place on the timeline.
type Item struct {
	ID     string
	Title  string
	Due    watchers.Due // window in the event's own zone
	Status watchers.Status
	Tags   []string
}

// Mark is an event drawn on the timeline: a bar over a tentative window
// (month or coarser) or a point for a day or an instant, with its label
// below it in the same lane.
type Mark struct {
	Event  string
	Title  string // full title, for the tooltip
	Label  string // the drawn text: the title, cut, and a short due date
	Tip    string // tooltip: title, due, status, tags
	Bar    bool
	X, W   float64 // a bar spans [X, X+W]; a point is centred on X (W = 0)
	Y      float64 // top of the mark's lane
	LabelX float64 // left end of the label (text-anchor start)
	LabelW float64 // the label's estimated width
	Color  int     // index into Palette
	Status watchers.Status
	// Overdue: the window ended and the event is still open.
	Overdue    bool
	Start, End time.Time
}

// MarkTop and MarkHeight place a mark inside its lane; LabelBaseline is
// the label's baseline below the lane's top. The page and any picture of
// the timeline share them.
const (
	MarkTop       = 4.0
	MarkHeight    = 12.0
	PointRadius   = 6.0
	LabelBaseline = 30.0
	LabelSize     = 12.0 // px; the width estimate and the style sheet agree on it
	laneHeight    = 38.0
	axisHeight    = 40.0
	timelineWidth = 960.0
	plotMargin    = 16.0
	labelGap      = 14.0 // free space between two things in one lane
	maxLabelRunes = 44
)

// Tick is an axis line: a month, or a year (Major).
type Tick struct {
	X     float64
	Label string // "" when there is no room for one
	Major bool
}

// LegendEntry is one colour of the timeline: the tag it stands for and
// how many drawn events it colours.
type LegendEntry struct {
	Tag    string // "" for untagged events; OtherTags for the rest
	Color  int
	Events int
}

// OtherTags is the legend's name for the tags beyond the palette.
const OtherTags = "other tags"

// Palette holds the timeline's colours, one per tag, in legend order; the
// last one is for untagged events and tags beyond the others. The
// colours are the Okabe–Ito set (told apart with any colour vision),
// readable on light and dark backgrounds.
var Palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#A6761D", "#8C8C8C"}

// Timeline is the laid-out picture of the open events, in pixels: the
// page draws it as SVG.
type Timeline struct {
	Width, Height       float64
	PlotLeft, PlotRight float64 // x of From and To
	PlotTop             float64 // y of the first lane
	From, To            time.Time
	Now                 time.Time
	NowX                float64
	NowLabelY           float64 // baseline of the "now" label, below the lanes
	Ticks               []Tick
	Marks               []Mark
	Legend              []LegendEntry
}

// X returns the x coordinate of instant t.
func (tl *Timeline) X(t time.Time) float64 {
	span := tl.To.Sub(tl.From)
	if span <= 0 {
		return tl.PlotLeft
	}
	return tl.PlotLeft + (tl.PlotRight-tl.PlotLeft)*float64(t.Sub(tl.From))/float64(span)
}

// Layout places items on a timeline around now; ticks fall on month and
// year boundaries in loc, the display zone. Each item gets a lane, shared
// with other items only where neither its mark nor its label would touch
// theirs, so labels never overlap.
func Layout(items []Item, now time.Time, loc *time.Location) Timeline {
	tl := Timeline{Width: timelineWidth, PlotLeft: plotMargin, PlotRight: timelineWidth - plotMargin, PlotTop: axisHeight + 6, Now: now}
	from, to := now, now
	for _, it := range items {
		if it.Due.Start.Before(from) {
			from = it.Due.Start
		}
		if it.Due.End.After(to) {
			to = it.Due.End
		}
	}
	// A short span is widened to a month, so a lone instant is not
	// stretched over the whole width; a margin keeps marks off the edges.
	const minSpan = 30 * 24 * time.Hour
	if span := to.Sub(from); span < minSpan {
		pad := (minSpan - span) / 2
		from, to = from.Add(-pad), to.Add(pad)
	}
	margin := to.Sub(from) / 30
	tl.From, tl.To = from.Add(-margin), to.Add(margin)
	tl.NowX = tl.X(now)
	tl.Ticks = ticks(&tl, loc)

	sorted := slices.Clone(items)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].Due.Start.Equal(sorted[j].Due.Start) {
			return sorted[i].Due.Start.Before(sorted[j].Due.Start)
		}
		return sorted[i].ID < sorted[j].ID
	})
	colors, legend := colorTags(sorted)
	tl.Legend = legend
	var lanes []float64 // right end of what each lane holds so far
	for _, it := range sorted {
		m := Mark{Event: it.ID, Title: it.Title, Status: it.Status, Start: it.Due.Start, End: it.Due.End,
			Bar: it.Due.Coarse(), Color: colors[it.ID]}
		m.Overdue = !it.Due.End.After(now)
		left, right := 0.0, 0.0
		if m.Bar {
			m.X = tl.X(it.Due.Start)
			m.W = max(tl.X(it.Due.End)-m.X, 3) // a month over years is still visible
			left, right = m.X, m.X+m.W
		} else {
			at := it.Due.Start
			if it.Due.Precision == watchers.Day {
				at = at.Add(it.Due.End.Sub(it.Due.Start) / 2) // the middle of the day
			}
			m.X = tl.X(at)
			left, right = m.X-PointRadius, m.X+PointRadius
		}
		m.Label = label(it, m.Overdue)
		m.Tip = tip(it, m.Overdue)
		m.LabelW = TextWidth(m.Label, LabelSize)
		// The label starts under the mark, moved left when it would run
		// past the right edge.
		m.LabelX = max(min(left, tl.PlotRight-m.LabelW), 0)
		left, right = min(left, m.LabelX), max(right, m.LabelX+m.LabelW)
		lane := -1
		for i, end := range lanes {
			if end+labelGap <= left {
				lane = i
				break
			}
		}
		if lane < 0 {
			lanes = append(lanes, 0)
			lane = len(lanes) - 1
		}
		lanes[lane] = right
		m.Y = tl.PlotTop + float64(lane)*laneHeight
		tl.Marks = append(tl.Marks, m)
	}
	tl.NowLabelY = tl.PlotTop + float64(max(len(lanes), 1))*laneHeight + 12
	tl.Height = tl.NowLabelY + 6
	return tl
}

// ticks returns the month and year lines of the timeline, labelled where
// there is room: years always, months when a month is wide enough for
// its name.
func ticks(tl *Timeline, loc *time.Location) []Tick {
	from := tl.From.In(loc)
	t := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, loc)
	if t.Before(tl.From) {
		t = t.AddDate(0, 1, 0)
	}
	months := tl.To.Sub(tl.From).Hours() / (24 * 30.44)
	perMonth := (tl.PlotRight - tl.PlotLeft) / months
	var out []Tick
	for ; t.Before(tl.To); t = t.AddDate(0, 1, 0) {
		tk := Tick{X: tl.X(t), Major: t.Month() == time.January}
		switch {
		case tk.Major:
			tk.Label = t.Format("2006")
		case perMonth >= 34:
			tk.Label = t.Format("Jan")
		case perMonth >= 12 && (t.Month()-1)%3 == 0:
			tk.Label = fmt.Sprintf("Q%d", (t.Month()-1)/3+1)
		case perMonth < 4 && (t.Month()-1)%3 != 0:
			continue // over many years, quarter lines are enough
		}
		if tk.Label != "" && tk.X+3+TextWidth(tk.Label, LabelSize) > tl.Width {
			tk.Label = "" // it would be cut at the edge
		}
		out = append(out, tk)
	}
	return out
}

// colorTags gives each item the colour of its most specific tag — the
// one fewest drawn events carry — since a tag every event has (say
// "japan") tells nothing apart. The legend lists those tags, most used
// first; tags beyond the palette share its last colour.
func colorTags(items []Item) (map[string]int, []LegendEntry) {
	count := map[string]int{}
	for _, it := range items {
		for _, t := range it.Tags {
			count[t]++
		}
	}
	pick := map[string]string{}
	uses := map[string]int{}
	for _, it := range items {
		best := ""
		for _, t := range it.Tags {
			if best == "" || count[t] < count[best] || (count[t] == count[best] && t < best) {
				best = t
			}
		}
		pick[it.ID] = best
		uses[best]++
	}
	tags := make([]string, 0, len(uses))
	for t := range uses {
		if t != "" {
			tags = append(tags, t)
		}
	}
	sort.Slice(tags, func(i, j int) bool {
		if uses[tags[i]] != uses[tags[j]] {
			return uses[tags[i]] > uses[tags[j]]
		}
		return tags[i] < tags[j]
	})
	last := len(Palette) - 1
	color := map[string]int{}
	var legend []LegendEntry
	other := 0
	for i, t := range tags {
		if i < last {
			color[t] = i
			legend = append(legend, LegendEntry{Tag: t, Color: i, Events: uses[t]})
		} else {
			color[t] = last
			other += uses[t]
		}
	}
	if other > 0 {
		legend = append(legend, LegendEntry{Tag: OtherTags, Color: last, Events: other})
	}
	if n := uses[""]; n > 0 {
		color[""] = last
		legend = append(legend, LegendEntry{Tag: "", Color: last, Events: n})
	}
	out := make(map[string]int, len(items))
	for id, t := range pick {
		out[id] = color[t]
	}
	return out, legend
}

// label is the text drawn under a mark: the title, cut, and when it is
// due in short.
func label(it Item, overdue bool) string {
	title, _ := watchers.Truncate(strings.Join(strings.Fields(it.Title), " "), maxLabelRunes)
	s := title + " — " + ShortDue(it.Due)
	switch {
	case it.Status == watchers.Postponed:
		s += " (postponed)"
	case overdue:
		s += " (overdue)"
	}
	return s
}

func tip(it Item, overdue bool) string {
	s := fmt.Sprintf("%s\n%s · %s", it.Title, it.Due.Describe(), it.Status)
	if overdue {
		s += " · overdue"
	}
	if len(it.Tags) > 0 {
		s += "\n#" + strings.Join(it.Tags, " #")
	}
	return s
}

// ShortDue writes a due date in few characters: "20 Jan 2025 12:00 EST",
// "31 Mar 2027", "Jul 2025", "Q3 2025", "2027", "JFY2027".
func ShortDue(d watchers.Due) string {
	switch d.Precision {
	case watchers.Instant:
		return d.Start.Format("2 Jan 2006 15:04 MST")
	case watchers.Day:
		return d.Start.Format("2 Jan 2006")
	case watchers.Month:
		return d.Start.Format("Jan 2006")
	case watchers.Quarter, watchers.Half:
		if len(d.Raw) >= 7 {
			return d.Raw[5:] + " " + d.Raw[:4]
		}
	}
	return d.Raw
}

// TextWidth estimates the width in pixels of s set in a sans-serif font
// of size px, erring wide: lane packing must never let two labels touch,
// and the browser test measures the real ones.
func TextWidth(s string, px float64) float64 {
	em := 0.0
	for _, r := range s {
		switch k := width.LookupRune(r).Kind(); {
		case k == width.EastAsianWide || k == width.EastAsianFullwidth:
			em += 1.05
		case strings.ContainsRune("MWmw@%—", r):
			em += 0.95
		case unicode.IsUpper(r) || unicode.IsDigit(r):
			em += 0.72
		case strings.ContainsRune("il.,:;'|! ", r):
			em += 0.36
		default:
			em += 0.62
		}
	}
	return em * px
}
