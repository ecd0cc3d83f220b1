// Package calendar is the iCalendar source watcher: it fetches a calendar
// feed, expands its events (recurrences, exceptions, overrides, time
// zones) within a horizon, hands every instance to the bot as an event,
// and posts calendar_changed when an instance is added, moved or
// cancelled.
package calendar

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
)

// DefaultHorizon is how far ahead events are expanded when the spec does
// not say.
const DefaultHorizon = "400d"

// refreshEvery is how often the calendar is fetched without validators,
// even if the server would answer 304: the horizon slides with time, so
// recurring events need expanding again to bring new instances into it.
const refreshEvery = 24 * time.Hour

// New builds a calendar watcher from its spec. Fields: url (required,
// http or https), tags, horizon (default 400d) and timezone (the zone of
// floating times; default: the calendar's X-WR-TIMEZONE, else the
// config's zone). deps.Fetcher may be nil when only validating a config;
// Check then fails.
func New(spec watchers.Spec, deps watchers.Deps) (watchers.Watcher, error) {
	if err := fetch.CheckSpec(spec); err != nil {
		return nil, err
	}
	h := spec.Horizon
	if h == "" {
		h = DefaultHorizon
	}
	horizon, err := watchers.ParseDuration(h)
	if err != nil {
		return nil, &watchers.FieldError{Field: "horizon", Err: err}
	}
	if horizon <= 0 || horizon > 10*366*24*time.Hour {
		return nil, &watchers.FieldError{Field: "horizon", Err: fmt.Errorf("horizon %q must be more than 0 and at most 10 years", h)}
	}
	w := &Watcher{spec: spec, fetcher: deps.Fetcher, horizon: horizon}
	loc := deps.Defaults.Location
	if loc == nil {
		loc = time.UTC
	}
	w.floating = locZone{loc: loc}
	if spec.Timezone != "" {
		loc, name, ok := lookupZone(spec.Timezone)
		if !ok {
			return nil, &watchers.FieldError{Field: "timezone", Err: fmt.Errorf("unknown time zone %q (want an IANA name such as Asia/Tokyo)", spec.Timezone)}
		}
		w.floating, w.floatingSet = locZone{loc: loc, iana: name}, true
	}
	return w, nil
}

// Watcher is a calendar watcher. It keeps nothing between checks but the
// State it returns.
type Watcher struct {
	spec        watchers.Spec
	fetcher     watchers.Fetcher
	horizon     time.Duration
	floating    zone
	floatingSet bool
}

// state is what a calendar watcher remembers between checks.
type state struct {
	fetch.Validators
	ParsedAt   time.Time       `json:"parsed_at"`
	HorizonEnd time.Time       `json:"horizon_end"`
	Events     map[string]seen `json:"events"`
}

// seen is what was last reported for an event id.
type seen struct {
	Due    string          `json:"d"`
	Status watchers.Status `json:"s"`
	Title  string          `json:"t"`
	Series string          `json:"u"`
}

// Check fetches the calendar (conditionally on the stored validators)
// and compares its instances with those last reported. The first check
// returns every instance as an event and posts nothing. Later checks
// return the instances that are new or changed, each with a quiet Change
// the bot appends to the event's history, and post calendar_changed for
// instances added, moved, cancelled (STATUS:CANCELLED, or gone from the
// feed while still ahead) or restored. Instances that only enter the
// horizon as time passes are added without an alert. A 304 posts nothing.
func (w *Watcher) Check(ctx context.Context, in watchers.Input) (watchers.Result, error) {
	var prev state
	first, err := fetch.LoadState(in.State, &prev)
	if err != nil {
		return watchers.Result{}, fmt.Errorf("calendar %s: %w", w.spec.ID, err)
	}
	now := in.Now
	// Once a day without validators, so that recurrences entering the
	// horizon are seen even from a server that always answers 304.
	conditional := !first && now.Sub(prev.ParsedAt) < refreshEvery
	resp, v, err := fetch.Get(ctx, w.fetcher, w.spec.URL, w.spec.Fetch, prev.Validators, conditional)
	if err != nil {
		return watchers.Result{}, fmt.Errorf("calendar %s: fetch: %w", w.spec.ID, err)
	}
	if resp.NotModified {
		return watchers.Result{State: in.State, Found: "not modified"}, nil
	}
	exp, err := expand(ctx, resp.Body, expandOptions{
		from:        now.Add(-24 * time.Hour),
		to:          now.Add(w.horizon),
		floating:    w.floating,
		floatingSet: w.floatingSet,
	})
	if err != nil {
		return watchers.Result{}, fmt.Errorf("calendar %s: %w", w.spec.ID, err)
	}
	if exp.vevents == 0 && !first && prev.activeAhead(now) > 0 {
		// An empty body from a broken server would otherwise cancel every
		// event: report it as a failure and keep what we know.
		return watchers.Result{}, fmt.Errorf("calendar %s: calendar has no events (it had %d ahead); not cancelling them", w.spec.ID, prev.activeAhead(now))
	}
	d := w.diff(prev, first, exp, now)
	next := state{
		Validators: v,
		ParsedAt:   now,
		HorizonEnd: now.Add(w.horizon),
		Events:     d.events,
	}
	data, err := fetch.SaveState(next)
	if err != nil {
		return watchers.Result{}, fmt.Errorf("calendar %s: %w", w.spec.ID, err)
	}
	res := watchers.Result{State: data, Events: d.out, Alerts: d.alerts}
	if first {
		res.Found = fmt.Sprintf("first run: %d events", len(d.out))
	} else {
		res.Found = fmt.Sprintf("%d events: %d added, %d moved, %d cancelled", len(exp.occ), d.added, d.moved, d.cancelled)
	}
	if n := len(exp.skipped); n > 0 {
		res.Found += fmt.Sprintf("; %d skipped (%s)", n, strings.ReplaceAll(exp.skipped[0], "\n", "; "))
	}
	if n := len(exp.warnings); n > 0 {
		res.Found += fmt.Sprintf("; %s (%s)", plural(n, "warning"), strings.ReplaceAll(exp.warnings[0], "\n", "; "))
	}
	return res, nil
}

// activeAhead counts the events still ahead of now and not cancelled.
func (s state) activeAhead(now time.Time) int {
	n := 0
	for _, e := range s.Events {
		if e.Status != watchers.Cancelled && dueStart(e.Due).After(now) {
			n++
		}
	}
	return n
}

// dueStart returns when a due string we wrote starts; the zero time if
// it does not parse. All-day dues are read in UTC: a day's difference at
// the edge of the horizon does not matter.
func dueStart(due string) time.Time {
	d, err := watchers.ParseDue(due, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return d.Start
}

// sameDue compares two dues by instant, so that the same time written
// with another offset is not a move.
func sameDue(a, b string) bool {
	if a == b {
		return true
	}
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// diffResult is what changed since the last check.
type diffResult struct {
	out                     []watchers.Event
	alerts                  []watchers.Alert
	events                  map[string]seen
	added, moved, cancelled int
}

// diff compares the expansion with what was last reported.
func (w *Watcher) diff(prev state, first bool, exp expansion, now time.Time) diffResult {
	d := diffResult{events: make(map[string]seen, len(exp.occ))}
	knownSeries := map[string]bool{}
	for _, s := range prev.Events {
		knownSeries[s.Series] = true
	}
	by := "calendar:" + w.spec.ID
	current := make(map[string]bool, len(exp.occ))
	for _, o := range exp.occ {
		if current[o.id] {
			continue // two components claim one instance: the first wins
		}
		current[o.id] = true
		ev := w.event(o, exp.floating)
		d.events[o.id] = seen{Due: ev.Due, Status: ev.Status, Title: ev.Title, Series: o.series}
		p, known := prev.Events[o.id]
		switch {
		case first:
			d.out = append(d.out, ev)
		case !known:
			d.out = append(d.out, ev)
			// An instance of a known series that only now enters the
			// horizon is not news; neither is a new cancelled instance.
			slid := knownSeries[o.series] && !o.start.Before(prev.HorizonEnd)
			if !slid && ev.Status != watchers.Cancelled {
				d.added++
				d.alerts = append(d.alerts, w.alert(ev, "added", ev.Due, "added: "+describe(ev, ev.Due, exp.floating), watchers.Notice, now))
			}
		default:
			c := watchers.Change{At: now, By: by, Quiet: true}
			var kind, text string
			sev := watchers.Notice
			if p.Title != ev.Title {
				c.Title = ev.Title
				c.Note = "renamed in calendar"
			}
			if !sameDue(p.Due, ev.Due) {
				c.Due = ev.Due
				c.Note = "moved in calendar"
				kind, text, sev = "moved", "moved: "+describe(ev, p.Due, exp.floating)+" → "+describe(ev, ev.Due, exp.floating), watchers.Warning
			}
			if p.Status != ev.Status {
				c.Status = ev.Status
				switch {
				case ev.Status == watchers.Cancelled:
					c.Note = "cancelled in calendar"
					kind, text, sev = "cancelled", "cancelled: "+describe(ev, ev.Due, exp.floating), watchers.Warning
				case p.Status == watchers.Cancelled:
					c.Note = "restored in calendar"
					kind, text, sev = "restored", "restored: "+describe(ev, ev.Due, exp.floating), watchers.Notice
				}
			}
			if c.Title == "" && c.Due == "" && c.Status == "" {
				continue
			}
			ev.Changes = []watchers.Change{c}
			d.out = append(d.out, ev)
			switch kind {
			case "moved":
				d.moved++
			case "cancelled":
				d.cancelled++
			}
			if kind != "" {
				at := ev.Due
				if kind != "moved" {
					at = string(ev.Status)
				}
				d.alerts = append(d.alerts, w.alert(ev, kind, at, text, sev, now))
			}
		}
	}
	if first {
		return d
	}
	horizonEnd := now.Add(w.horizon)
	ids := make([]string, 0, len(prev.Events))
	for id := range prev.Events {
		ids = append(ids, id)
	}
	slices.Sort(ids) // deterministic order of alerts
	for _, id := range ids {
		p := prev.Events[id]
		if current[id] {
			continue
		}
		start := dueStart(p.Due)
		if !start.After(now) || start.After(horizonEnd) {
			continue // over, or beyond a shortened horizon: forget it
		}
		if p.Status == watchers.Cancelled {
			d.events[id] = p // keep it, so a return reads as restored
			continue
		}
		p.Status = watchers.Cancelled
		d.events[id] = p
		ev := watchers.Event{
			ID:     id,
			Title:  p.Title,
			Due:    p.Due,
			Status: watchers.Cancelled,
			Tags:   slices.Clone(w.spec.Tags),
			Source: w.spec.URL,
			Origin: by,
			Changes: []watchers.Change{{
				At: now, Status: watchers.Cancelled, Note: "removed from calendar", By: by, Quiet: true,
			}},
		}
		d.out = append(d.out, ev)
		d.cancelled++
		d.alerts = append(d.alerts, w.alert(ev, "cancelled", string(watchers.Cancelled),
			"cancelled: "+describe(ev, p.Due, exp.floating)+" (removed from the calendar)", watchers.Warning, now))
	}
	return d
}

// event turns an occurrence into the event the bot stores.
func (w *Watcher) event(o occurrence, floating zone) watchers.Event {
	ev := watchers.Event{
		ID:     o.id,
		Title:  o.title,
		Status: o.status,
		Tags:   slices.Clone(w.spec.Tags),
		Source: o.url,
		Origin: "calendar:" + w.spec.ID,
	}
	if ev.Source == "" {
		ev.Source = w.spec.URL
	}
	show := o.zone
	if show == nil {
		show = floating
	}
	// "" for floating and UTC times when neither the spec nor the
	// calendar names a zone: they then follow the config's zone.
	ev.Zone = show.name()
	if o.allDay {
		ev.Due = o.date.Format("2006-01-02")
	} else {
		ev.Due = show.in(o.start).Format(time.RFC3339)
	}
	return ev
}

// describe writes a due for people, in the event's zone.
func describe(ev watchers.Event, due string, floating zone) string {
	var loc *time.Location
	if ev.Zone != "" {
		loc, _ = time.LoadLocation(ev.Zone)
	}
	if loc == nil {
		if lz, ok := floating.(locZone); ok {
			loc = lz.loc
		}
	}
	d, err := watchers.ParseDue(due, loc)
	if err != nil {
		return due
	}
	return d.Describe()
}

// alert builds a calendar_changed alert. Its key names the event, what
// happened and the new due or status, so each change is posted once.
func (w *Watcher) alert(ev watchers.Event, kind, at, text string, sev watchers.Severity, now time.Time) watchers.Alert {
	return watchers.Alert{
		Key:      fmt.Sprintf("%s/%s/%s/%s@%s", w.spec.ID, watchers.KindCalendarChanged, ev.ID, kind, at),
		Kind:     watchers.KindCalendarChanged,
		Watcher:  w.spec.ID,
		Event:    ev.ID,
		Tags:     slices.Clone(w.spec.Tags),
		At:       now,
		Title:    ev.Title,
		Text:     text,
		Link:     ev.Source,
		Fields:   []watchers.Field{{Name: "Event", Value: ev.ID}},
		Severity: sev,
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
