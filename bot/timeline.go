package bot

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/policyteam/alertbot/bot/chart"
	"github.com/policyteam/alertbot/watchers"
)

// Limits of /alerts timeline (DESIGN §11).
const (
	// DefaultTimelineWithin is how far ahead the picture reaches when no
	// window is given: a year, so a fiscal year's budget, the next
	// election and the tentative summits all fit, where upcoming's 90
	// days would leave most tentative windows out.
	DefaultTimelineWithin = 365 * 24 * time.Hour
	// MaxTimelineEvents bounds the events drawn: beyond about forty, the
	// lanes make a picture taller than a chat client shows at a glance
	// (and its pixels cost memory); the reply says how many were left out.
	MaxTimelineEvents = 40
	// timelineQueried bounds the events read for one picture.
	timelineQueried = 1000
)

// timeline draws the open events — tentative, scheduled or postponed,
// overdue ones included, as on the status page — whose window starts
// within the given time from now, and attaches the picture to the reply.
// With none, it answers in text and attaches nothing.
func (r *Router) timeline(ctx context.Context, c *call) (string, error) {
	tag, within, err := tagWithin(c.args, DefaultTimelineWithin)
	if err != nil {
		return "", err
	}
	if err := refreshEvents(ctx, r.eventStore, c.now, r.loc(), r.log); err != nil {
		return "", err
	}
	to := c.now.Add(within)
	evs, err := r.eventStore.Events(ctx, EventFilter{To: to, Tag: tag, Active: true, Limit: timelineQueried})
	if err != nil {
		return "", err
	}
	var items []chart.Item
	for _, rec := range evs {
		// Worked out again to the second, as the page does: the stored
		// state is refreshed on ticks.
		if err := Materialize(&rec, c.now, r.loc()); err != nil {
			r.log.Warn("timeline: event not drawn", "event", rec.ID, "err", err)
			continue
		}
		st := rec.Current
		if !(st.Status.Active() || st.Status == watchers.Postponed) || !st.Due.Start.Before(to) {
			continue
		}
		items = append(items, chart.Item{ID: rec.ID, Title: st.Title, Due: st.Due, Status: st.Status, Tags: rec.Tags})
	}
	scope := "within " + watchers.FormatDuration(within)
	if tag != "" {
		scope = "#" + tag + " " + scope
	}
	if len(items) == 0 {
		return fmt.Sprintf("No open events %s, so no timeline to draw. Try a longer window, e.g. /alerts timeline 730d, or see /alerts events all.", scope), nil
	}
	left := 0
	if len(items) > MaxTimelineEvents {
		// The store lists by window start: the nearest ones are drawn.
		left, items = len(items)-MaxTimelineEvents, items[:MaxTimelineEvents]
	}
	tl := chart.Layout(items, c.now, c.zone)
	png, err := drawTimeline(ctx, tl)
	if err != nil {
		return "", err
	}
	caption := timelineCaption(tl, scope)
	var b strings.Builder
	b.WriteString(caption)
	if left > 0 {
		fmt.Fprintf(&b, "\n%s not drawn: narrow it with #tag or a shorter window.", Plural(left, "more event"))
	}
	name := "alertbot-timeline.png"
	if tag != "" && asciiName(tag) {
		name = "alertbot-timeline-" + tag + ".png"
	}
	c.attachment = &Attachment{Name: name, ContentType: "image/png", Data: png, Alt: timelineAlt(tl, caption)}
	c.public = true
	return b.String(), nil
}

// drawSlot lets one picture be drawn at a time in the process: a picture
// of MaxTimelineEvents crowded events takes about 25 MB while it is drawn
// (BenchmarkTimelinePNG), and a burst of commands must not multiply that.
var drawSlot = make(chan struct{}, 1)

// drawTimeline draws tl as a PNG when the slot is free, or fails when ctx
// ends first.
func drawTimeline(ctx context.Context, tl chart.Timeline) ([]byte, error) {
	select {
	case drawSlot <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("timeline picture: %w", ctx.Err())
	}
	defer func() { <-drawSlot }()
	var buf bytes.Buffer
	if err := chart.WritePNG(&buf, tl); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// timelineCaption says what the picture shows in one line: "Timeline of
// the open events #budget within 365d: 3 events (1 tentative window, 2
// dates), Jul 2025 – Mar 2027."
func timelineCaption(tl chart.Timeline, scope string) string {
	bars := 0
	for _, m := range tl.Marks {
		if m.Bar {
			bars++
		}
	}
	var kinds []string
	if bars > 0 {
		kinds = append(kinds, Plural(bars, "tentative window"))
	}
	if n := len(tl.Marks) - bars; n > 0 {
		kinds = append(kinds, Plural(n, "date"))
	}
	first, last := tl.Marks[0].Start, tl.Marks[0].Start
	for _, m := range tl.Marks {
		end := m.End // a window's last second; an instant itself
		if end.After(m.Start) {
			end = end.Add(-time.Second)
		}
		first, last = minTime(first, m.Start), maxTime(last, end)
	}
	// Months in the events' own zones, as their labels give them.
	span := first.Format("Jan 2006")
	if e := last.Format("Jan 2006"); e != span {
		span += " – " + e
	}
	return fmt.Sprintf("Timeline of the open events %s: %s (%s), %s.", scope, Plural(len(tl.Marks), "event"), strings.Join(kinds, ", "), span)
}

// timelineAlt describes the picture in words for those who cannot see
// it: the caption, then each event as it is labelled, nearest first, cut
// to MaxAltText.
func timelineAlt(tl chart.Timeline, caption string) string {
	var b strings.Builder
	b.WriteString(caption)
	for _, m := range tl.Marks {
		fmt.Fprintf(&b, " %s (%s).", m.Label, m.Status)
	}
	s, _ := Truncate(b.String(), MaxAltText)
	return s
}

// asciiName reports whether a tag can go into a file name as it is:
// every platform and file system takes a-z, 0-9, - and _.
func asciiName(tag string) bool {
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return tag != ""
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
