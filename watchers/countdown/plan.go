// Package countdown is the date watcher of DESIGN §4: lead-time reminders,
// window_open and overdue alerts, and change notices for dated events. The
// planner is pure (the clock is an argument), so the same code serves the
// cron tick, replay and tests.
package countdown

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/bizdays"
)

// DefaultCatchUp is how late a missed milestone may still be sent when the
// configuration does not say (DESIGN §3).
const DefaultCatchUp = 7 * 24 * time.Hour

// Config is what the planner needs to know besides the event.
type Config struct {
	WatcherID string
	Location  *time.Location  // default zone of events without one; nil means UTC
	AlertTime time.Duration   // local time of day of date-only milestones, e.g. 9h
	LeadTimes []watchers.Lead // default leads of events without their own
	CatchUp   time.Duration   // how late a missed milestone may be sent; 0 means DefaultCatchUp
	Tags      []string        // events having any of these; empty: all events
}

// Milestone is one moment of an event's timeline at which an alert is due.
type Milestone struct {
	At   time.Time
	Kind watchers.Kind
	Lead watchers.Lead // reminders only
	Due  string        // the due date in force, as written (normalized by ParseDue)
	// State is the number of the event's changes applied to the state in
	// force at At (Event.StateAfter(State)).
	State int
	// Change is, for a changed milestone, the 1-based index into the
	// event's Changes; 0 otherwise. Changes sharing one instant make one
	// milestone, at the last of them.
	Change int
	// Prev is, for a changed milestone, the number of changes applied to
	// the state before it (the "old" side of old → new).
	Prev int
}

// Key returns the alert key of DESIGN §5 for the milestone.
func (m Milestone) Key(watcher, event string) string {
	prefix := watcher + "/" + event + "/"
	switch m.Kind {
	case watchers.KindReminder:
		return prefix + "reminder/" + m.Lead.String() + "@" + m.Due
	case watchers.KindChanged:
		return prefix + "changed@" + m.At.UTC().Format("2006-01-02T15:04:05.999Z07:00")
	}
	return prefix + string(m.Kind) + "@" + m.Due
}

// Describe names the milestone for people, e.g. "7d reminder" or
// "window opens".
func (m Milestone) Describe() string {
	switch m.Kind {
	case watchers.KindReminder:
		return m.Lead.String() + " reminder"
	case watchers.KindWindowOpen:
		return "window opens"
	case watchers.KindOverdue:
		return "overdue notice"
	case watchers.KindChanged:
		return "change notice"
	}
	return string(m.Kind)
}

// Plan returns every milestone of the event's whole timeline, sorted by
// time: for each state segment the milestones of that state that fall inside
// it, and a changed milestone for each change that alters the due date,
// status or title (except history from before the event's CreatedAt and
// quiet changes).
func Plan(cfg Config, ev *watchers.Event) ([]Milestone, error) {
	loc, err := ev.Location(location(cfg))
	if err != nil {
		return nil, err
	}
	return appendPlan(nil, &cfg, ev, loc)
}

func location(cfg Config) *time.Location {
	if cfg.Location == nil {
		return time.UTC
	}
	return cfg.Location
}

// lite is the part of an event's state the planner needs. It is updated in
// place change after change, so that a timeline costs one due-date parse
// per change that sets a date rather than one replay per change. It must
// follow watchers.Event.StateAfter exactly; a test holds it to that.
type lite struct {
	due       watchers.Due
	rawStatus watchers.Status // as set, "" when defaulted
	status    watchers.Status
	title     string
}

func (s *lite) apply(c *watchers.Change, loc *time.Location, id string) error {
	if c.Due != "" {
		d, err := watchers.ParseDue(c.Due, loc)
		if err != nil {
			return fmt.Errorf("event %s: change at %s: %w", id, c.At.Format(time.RFC3339), err)
		}
		s.due = d
		// A new date without a status re-defaults the status, unless the
		// event is over (the same rule as Event.StateAfter).
		if c.Status == "" && s.rawStatus != watchers.Happened && s.rawStatus != watchers.Cancelled {
			s.rawStatus = ""
		}
	}
	if c.Status != "" {
		s.rawStatus = c.Status
	}
	if c.Title != "" {
		s.title = c.Title
	}
	s.status = s.rawStatus
	if s.status == "" {
		s.status = watchers.DefaultStatus(s.due.Precision)
	}
	return nil
}

func (s *lite) differs(o *lite) bool {
	return s.status != o.status || s.title != o.title ||
		s.due.Precision != o.due.Precision || !s.due.Start.Equal(o.due.Start) || !s.due.End.Equal(o.due.End)
}

// segment is the half-open span [start, end) during which one state holds;
// a zero start or end means unbounded.
type segment struct {
	start, end       time.Time
	hasStart, hasEnd bool
}

func (g *segment) holds(t time.Time) bool {
	return (!g.hasStart || !t.Before(g.start)) && (!g.hasEnd || t.Before(g.end))
}

// planner accumulates one event's milestones, noting whether they arrive
// in time order so that the usual case needs no sort.
type planner struct {
	dst      []Milestone
	first    int // index of the event's first milestone in dst
	unsorted bool
	seg      segment
}

func (p *planner) push(m Milestone) {
	if n := len(p.dst); n > p.first && m.At.Before(p.dst[n-1].At) {
		p.unsorted = true
	}
	p.dst = append(p.dst, m)
}

// appendPlan appends the event's milestones to dst, sorted, reusing dst's
// storage so that a tick allocates nothing per event for planning.
func appendPlan(dst []Milestone, cfg *Config, ev *watchers.Event, loc *time.Location) ([]Milestone, error) {
	d, err := watchers.ParseDue(ev.Due, loc)
	if err != nil {
		return dst, fmt.Errorf("event %s: %w", ev.ID, err)
	}
	cur := lite{due: d, rawStatus: ev.Status, status: ev.Status, title: ev.Title}
	if cur.status == "" {
		cur.status = watchers.DefaultStatus(d.Precision)
	}
	leads := ev.LeadTimes
	if leads == nil {
		leads = cfg.LeadTimes
	}
	p := planner{dst: dst, first: len(dst)}
	var (
		before    lite // state before the current group of same-instant changes
		groupFrom int
		loud      bool // some change of the group is not quiet
	)
	for i := 0; ; i++ {
		p.seg.hasEnd = i < len(ev.Changes)
		if p.seg.hasEnd {
			p.seg.end = ev.Changes[i].At
		}
		p.addState(cfg, leads, &cur, i, loc)
		if !p.seg.hasEnd {
			break
		}
		c := &ev.Changes[i]
		if i == 0 || !ev.Changes[i-1].At.Equal(c.At) {
			before, groupFrom, loud = cur, i, false
		}
		if err := cur.apply(c, loc, ev.ID); err != nil {
			return dst[:p.first], err
		}
		loud = loud || !c.Quiet
		// Changes at one instant are one change to readers, and would
		// otherwise share one alert key.
		last := i+1 == len(ev.Changes) || !ev.Changes[i+1].At.Equal(c.At)
		if last && loud && !c.At.Before(ev.CreatedAt) && cur.differs(&before) {
			p.push(Milestone{At: c.At, Kind: watchers.KindChanged, Due: cur.due.Raw, State: i + 1, Change: i + 1, Prev: groupFrom})
		}
		p.seg.start, p.seg.hasStart = c.At, true
	}
	if p.unsorted {
		slices.SortStableFunc(p.dst[p.first:], func(a, b Milestone) int { return a.At.Compare(b.At) })
	}
	return p.dst, nil
}

// addState adds the milestones of state n that fall in its segment.
func (p *planner) addState(cfg *Config, leads []watchers.Lead, st *lite, n int, loc *time.Location) {
	if !st.status.Active() {
		return
	}
	d := &st.due
	y, mo, day := d.Start.Date()
	for i, l := range leads {
		if slices.Contains(leads[:i], l) {
			continue
		}
		// For a month or wider window the 0d reminder is the window_open
		// alert (DESIGN §4): one alert, not two.
		if l.N == 0 && d.Coarse() {
			continue
		}
		var t time.Time
		switch {
		case l.BusinessDays():
			// Counted on the holidays of the event zone's country, so a
			// 5bd reminder before Golden Week lands on a working day.
			by, bm, bd := bizdays.For(loc).Before(y, mo, day, l.N)
			if d.Precision != watchers.Instant {
				t = atAlert(cfg, by, bm, bd, loc)
			} else {
				// As for d leads: an instant keeps its wall time.
				t = watchers.Date(by, bm, bd, d.Start.Hour(), d.Start.Minute(), d.Start.Second(), d.Start.Nanosecond(), d.Start.Location())
			}
		case l.WholeDays() && d.Precision != watchers.Instant:
			// time.Date normalizes day-N across month ends, and building
			// the wall clock in loc keeps DST right.
			t = atAlert(cfg, y, mo, day-l.Days(), loc)
		case l.WholeDays():
			// Whole days before an instant are the same wall time that
			// many days earlier, by the one DST rule.
			t = watchers.Date(y, mo, day-l.Days(), d.Start.Hour(), d.Start.Minute(), d.Start.Second(), d.Start.Nanosecond(), d.Start.Location())
		default:
			t = d.Start.Add(-l.Duration())
		}
		if p.seg.holds(t) {
			p.push(Milestone{At: t, Kind: watchers.KindReminder, Lead: l, Due: d.Raw, State: n})
		}
	}
	if d.Coarse() {
		if t := atAlert(cfg, y, mo, day, loc); p.seg.holds(t) {
			p.push(Milestone{At: t, Kind: watchers.KindWindowOpen, Due: d.Raw, State: n})
		}
	}
	var t time.Time
	if d.Precision == watchers.Instant {
		t = atAlert(cfg, y, mo, day+1, loc)
	} else {
		ey, em, ed := d.End.Date()
		t = atAlert(cfg, ey, em, ed, loc)
	}
	if p.seg.holds(t) {
		p.push(Milestone{At: t, Kind: watchers.KindOverdue, Due: d.Raw, State: n})
	}
}

// atAlert returns the configured alert time on a local date. The time of
// day is set on the wall clock, not added to midnight, so a DST change that
// night does not shift it; an alert time that the change skips or repeats
// follows DESIGN §4 (watchers.Date).
func atAlert(cfg *Config, y int, m time.Month, d int, loc *time.Location) time.Time {
	at := cfg.AlertTime
	return watchers.Date(y, m, d, int(at/time.Hour), int(at%time.Hour/time.Minute), int(at%time.Minute/time.Second), 0, loc)
}

// Due returns what a check at now sends for one event not looked at since
// since (zero: never): of the milestones with since ≤ At ≤ now, only the
// latest (all of them if several share its instant), and only if it is no
// older than cfg.CatchUp; every other one is returned as skipped so that it
// is recorded and never sent later. next is the time of the first milestone
// after now, zero if there is none.
func Due(cfg Config, ev *watchers.Event, since, now time.Time) (alerts, skipped []watchers.Alert, next time.Time, err error) {
	loc, err := ev.Location(location(cfg))
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	ms, err := appendPlan(nil, &cfg, ev, loc)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	send, sk, next := pick(&cfg, ms, since, now)
	alerts, err = build(&cfg, ev, loc, send, now, nil)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	skipped, err = build(&cfg, ev, loc, sk, now, nil)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	return alerts, skipped, next, nil
}

// pick splits sorted milestones into those to send now and those to skip,
// and finds the next milestone after now. The returned slices share ms.
func pick(cfg *Config, ms []Milestone, since, now time.Time) (send, skip []Milestone, next time.Time) {
	lo := 0
	if !since.IsZero() {
		for lo < len(ms) && ms[lo].At.Before(since) {
			lo++
		}
	}
	hi := lo
	for hi < len(ms) && !ms[hi].At.After(now) {
		hi++
	}
	if hi < len(ms) {
		next = ms[hi].At
	}
	if hi == lo {
		return nil, nil, next
	}
	latest := ms[hi-1].At
	tie := hi - 1
	for tie > lo && ms[tie-1].At.Equal(latest) {
		tie--
	}
	catchUp := cfg.CatchUp
	if catchUp <= 0 {
		catchUp = DefaultCatchUp
	}
	if now.Sub(latest) > catchUp {
		return nil, ms[lo:hi], next
	}
	return ms[tie:hi], ms[lo:tie], next
}

// build turns milestones into alerts worded for a send at now.
func build(cfg *Config, ev *watchers.Event, loc *time.Location, ms []Milestone, now time.Time, dst []watchers.Alert) ([]watchers.Alert, error) {
	for _, m := range ms {
		a, err := alertFor(cfg, ev, loc, m, now)
		if err != nil {
			return dst, err
		}
		dst = append(dst, a)
	}
	return dst, nil
}

func alertFor(cfg *Config, ev *watchers.Event, loc *time.Location, m Milestone, now time.Time) (watchers.Alert, error) {
	st, err := ev.StateAfter(m.State, loc)
	if err != nil {
		return watchers.Alert{}, err
	}
	a := watchers.Alert{
		Key:     m.Key(cfg.WatcherID, ev.ID),
		Kind:    m.Kind,
		Watcher: cfg.WatcherID,
		Event:   ev.ID,
		Tags:    slices.Clone(ev.Tags),
		At:      m.At,
		Title:   st.Title,
		Link:    st.Source,
		Fields: []watchers.Field{
			{Name: "Due", Value: st.Due.Describe(), Time: st.Due.Start},
			{Name: "Status", Value: string(st.Status)},
			{Name: "Countdown", Value: countdown(st.Due, now, loc)},
		},
	}
	switch m.Kind {
	case watchers.KindReminder:
		a.Severity = watchers.Info
		a.Text = reminderText(st.Due, now, loc)
	case watchers.KindWindowOpen:
		a.Severity = watchers.Notice
		a.Text = "The window is open: " + expected(st.Due) + "; " + closes(st.Due, now, loc) + "."
	case watchers.KindOverdue:
		a.Severity = watchers.Warning
		a.Text = fmt.Sprintf("Overdue: %s has passed and the status is still %s.", st.Due.Describe(), st.Status)
	case watchers.KindChanged:
		a.Severity = watchers.Notice
		old, err := ev.StateAfter(m.Prev, loc)
		if err != nil {
			return watchers.Alert{}, err
		}
		a.Text = changeText(old, st)
	}
	return a, nil
}

// reminderText states the real remaining time at send time.
func reminderText(d watchers.Due, now time.Time, loc *time.Location) string {
	if d.Coarse() {
		return "Due: " + expected(d) + "; " + opens(d, now, loc) + "."
	}
	return "Due " + remaining(d, now, loc) + ": " + d.Describe() + "."
}

// countdown is the Countdown field: the remaining time at send time.
func countdown(d watchers.Due, now time.Time, loc *time.Location) string {
	if d.Coarse() {
		return opens(d, now, loc)
	}
	return remaining(d, now, loc)
}

// expected words a window whose exact date is not set.
func expected(d watchers.Due) string {
	return "expected in " + d.Describe() + " — exact date not set"
}

// opens says how far a window's opening is.
func opens(d watchers.Due, now time.Time, loc *time.Location) string {
	switch {
	case now.Before(d.Start):
		return "the window opens " + inDays(dayDiff(now, d.Start, loc))
	case now.Before(d.End):
		return "the window is open; " + closes(d, now, loc)
	}
	return "the window closed " + inDays(dayDiff(now, d.End, loc))
}

// closes says how far a window's last day is.
func closes(d watchers.Due, now time.Time, loc *time.Location) string {
	if !now.Before(d.End) {
		return "it closed " + inDays(dayDiff(now, d.End, loc))
	}
	last := d.End.AddDate(0, 0, -1)
	return "its last day is " + inDays(dayDiff(now, last, loc))
}

// remaining is the time left until a day or an instant: calendar days for
// a day; for an instant, hours and minutes under a day, else whole days.
func remaining(d watchers.Due, now time.Time, loc *time.Location) string {
	if d.Precision != watchers.Instant {
		return inDays(dayDiff(now, d.Start, loc))
	}
	left := d.Start.Sub(now)
	ago := left < 0
	if ago {
		left = -left
	}
	var s string
	switch mins := int((left + 30*time.Second) / time.Minute); {
	case mins == 0:
		return "now"
	case mins < 60:
		s = plural(mins, "minute")
	case mins < 24*60:
		// Exact to the minute under a day (DESIGN §4): a 90-minute lead
		// reads "1 hour 30 minutes", not a rounded "2 hours".
		s = plural(mins/60, "hour")
		if m := mins % 60; m > 0 {
			s += " " + plural(m, "minute")
		}
	default:
		// Rounded to whole days: a 7d lead across a DST change is 167 or
		// 169 hours and still reads "7 days".
		s = plural(int((left+12*time.Hour)/(24*time.Hour)), "day")
	}
	if ago {
		return s + " ago"
	}
	return "in " + s
}

// dayDiff counts local calendar days from now's date to t's date.
func dayDiff(now, t time.Time, loc *time.Location) int {
	return dayNumber(t.In(loc)) - dayNumber(now.In(loc))
}

func dayNumber(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func inDays(n int) string {
	switch {
	case n == 0:
		return "today"
	case n == 1:
		return "tomorrow"
	case n == -1:
		return "yesterday"
	case n < 0:
		return plural(-n, "day") + " ago"
	}
	return "in " + plural(n, "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// changeText words a change as old → new, one line per thing changed.
func changeText(old, cur watchers.State) string {
	var b strings.Builder
	if old.Due.Precision != cur.Due.Precision || !old.Due.Start.Equal(cur.Due.Start) || !old.Due.End.Equal(cur.Due.End) {
		fmt.Fprintf(&b, "Due: %s (%s) → %s (%s)", old.Due.Describe(), old.Status, cur.Due.Describe(), cur.Status)
	} else if old.Status != cur.Status {
		fmt.Fprintf(&b, "Status: %s → %s", old.Status, cur.Status)
	}
	if old.Title != cur.Title {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Title: %s → %s", old.Title, cur.Title)
	}
	if cur.Note != "" {
		b.WriteString("\nNote: " + cur.Note)
	}
	return b.String()
}
