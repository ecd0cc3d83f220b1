package countdown

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// maxReported caps the unreadable events named in Found.
const maxReported = 3

var (
	_ watchers.Factory    = New
	_ watchers.DateDriven = (*watcher)(nil)
)

// New builds a countdown watcher. spec.LeadTimes overrides the configured
// default leads; spec.Tags narrows it to events having any of those tags.
// deps.Events may be nil (the config checker validates specs without a
// database); Check then fails.
func New(spec watchers.Spec, deps watchers.Deps) (watchers.Watcher, error) {
	cfg, err := NewConfig(spec, deps.Defaults)
	if err != nil {
		return nil, err
	}
	return &watcher{cfg: cfg, events: deps.Events}, nil
}

// NewConfig validates a countdown spec and merges it with the config-wide
// defaults; replay uses it to plan without a watcher.
func NewConfig(spec watchers.Spec, d watchers.Defaults) (Config, error) {
	if err := watchers.ValidID("watcher", spec.ID); err != nil {
		return Config{}, &watchers.FieldError{Field: "id", Err: err}
	}
	cfg := Config{
		WatcherID: spec.ID,
		Location:  d.Location,
		AlertTime: d.AlertTime,
		LeadTimes: d.LeadTimes,
		CatchUp:   d.CatchUp,
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.AlertTime < 0 || cfg.AlertTime >= 24*time.Hour {
		return Config{}, fmt.Errorf("alert time %s is not a time of day", cfg.AlertTime)
	}
	if cfg.CatchUp < 0 {
		return Config{}, fmt.Errorf("catch-up %s is negative", cfg.CatchUp)
	}
	if cfg.CatchUp == 0 {
		cfg.CatchUp = DefaultCatchUp
	}
	if spec.LeadTimes != nil {
		leads, err := watchers.ParseLeads(spec.LeadTimes)
		if err != nil {
			return Config{}, &watchers.FieldError{Field: "lead_times", Err: err}
		}
		cfg.LeadTimes = leads
	}
	for _, t := range spec.Tags {
		if !watchers.TagPattern.MatchString(t) {
			return Config{}, &watchers.FieldError{Field: "tags", Err: fmt.Errorf("bad tag %q: use lowercase letters, digits, dashes and underscores", t)}
		}
	}
	cfg.Tags = slices.Clone(spec.Tags)
	return cfg, nil
}

// Wants reports whether the configuration covers the event (by its tags).
func (c Config) Wants(ev *watchers.Event) bool {
	if len(c.Tags) == 0 {
		return true
	}
	for _, t := range c.Tags {
		if ev.HasTag(t) {
			return true
		}
	}
	return false
}

type watcher struct {
	cfg    Config
	events watchers.EventSource
}

// DateDriven marks the countdown as a date watcher (watchers.DateDriven).
func (w *watcher) DateDriven() {}

// Check plans every event that is due for a look and returns the alerts to
// send now and when each event next needs a look. Events outside the
// watcher's tags get a zero next time (not again until they change); an
// event whose date cannot be read is skipped and named in Found, so one bad
// event does not stop the others.
func (w *watcher) Check(ctx context.Context, in watchers.Input) (watchers.Result, error) {
	if w.events == nil {
		return watchers.Result{}, fmt.Errorf("countdown %s: no event source", w.cfg.WatcherID)
	}
	limit := watchers.BatchLimit(in.Batch)
	planned, err := w.events.DueEvents(ctx, w.cfg.WatcherID, in.Now, limit)
	if err != nil {
		return watchers.Result{}, fmt.Errorf("countdown %s: due events: %w", w.cfg.WatcherID, err)
	}
	res := watchers.Result{Next: make([]watchers.NextPlan, 0, len(planned))}
	var (
		buf        []Milestone // reused across events: planning allocates nothing per event
		bad        []string
		firstErr   error
		defaultLoc = location(w.cfg)
	)
	for i := range planned {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return watchers.Result{}, fmt.Errorf("countdown %s: %w", w.cfg.WatcherID, err)
			}
		}
		pe := &planned[i]
		ev := &pe.Event
		if !w.cfg.Wants(ev) {
			res.Next = append(res.Next, watchers.NextPlan{Event: ev.ID})
			continue
		}
		next, err := w.checkOne(ev, defaultLoc, pe.Since, in.Now, &buf, &res)
		if err != nil {
			bad = append(bad, ev.ID)
			if firstErr == nil {
				firstErr = err
			}
		}
		res.Next = append(res.Next, watchers.NextPlan{Event: ev.ID, At: next})
	}
	res.Found = found(len(planned), len(res.Alerts), len(res.Skipped), bad, firstErr)
	res.More = len(planned) >= limit
	return res, nil
}

// checkOne appends one event's alerts and skipped alerts to res and
// returns its next check time.
func (w *watcher) checkOne(ev *watchers.Event, def *time.Location, since, now time.Time, buf *[]Milestone, res *watchers.Result) (time.Time, error) {
	loc, err := ev.Location(def)
	if err != nil {
		return time.Time{}, err
	}
	ms, err := appendPlan((*buf)[:0], &w.cfg, ev, loc)
	*buf = ms
	if err != nil {
		return time.Time{}, err
	}
	send, skip, next := pick(&w.cfg, ms, since, now)
	if len(send) == 0 && len(skip) == 0 {
		return next, nil
	}
	alerts, err := build(&w.cfg, ev, loc, send, now, nil)
	if err != nil {
		return time.Time{}, err
	}
	skipped, err := build(&w.cfg, ev, loc, skip, now, nil)
	if err != nil {
		return time.Time{}, err
	}
	res.Alerts = append(res.Alerts, alerts...)
	res.Skipped = append(res.Skipped, skipped...)
	return next, nil
}

func found(checked, alerts, skipped int, bad []string, firstErr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s checked, %s", count(checked, "event"), count(alerts, "alert"))
	if skipped > 0 {
		fmt.Fprintf(&b, ", %d missed and skipped", skipped)
	}
	if len(bad) > 0 {
		names := bad
		if len(names) > maxReported {
			names = names[:maxReported]
		}
		fmt.Fprintf(&b, ", %s unreadable (%s", count(len(bad), "event"), strings.Join(names, ", "))
		if len(bad) > maxReported {
			b.WriteString(", …")
		}
		if firstErr != nil {
			fmt.Fprintf(&b, "; %s", firstErr.Error())
		}
		b.WriteString(")")
	}
	return b.String()
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
