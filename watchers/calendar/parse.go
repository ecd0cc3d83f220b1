package calendar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	ics "github.com/arran4/golang-ical"
	"github.com/teambition/rrule-go"

	"github.com/policyteam/alertbot/watchers"
)

// occurrence is one instance of a calendar event inside the window.
type occurrence struct {
	id     string
	series string // short hash of the UID, shared by a series' instances
	title  string
	allDay bool
	date   time.Time     // all-day: the date, in UTC fields
	start  time.Time     // the instant (all-day: the day's start in its zone)
	length time.Duration // from DTEND or DURATION; 0 when neither
	zone   zone          // the event's own zone; nil: floating or UTC
	status watchers.Status
	url    string
}

// expandOptions say which instances to keep and how to read floating times.
type expandOptions struct {
	from, to time.Time
	floating zone // for floating times and for showing UTC ones
	// floatingSet is true when the watcher's spec names the zone, so it
	// beats the calendar's X-WR-TIMEZONE.
	floatingSet bool
}

// expansion is what a calendar holds inside the window.
type expansion struct {
	occ      []occurrence
	vevents  int      // VEVENT components read
	skipped  []string // why components were left out
	warnings []string // problems with components that were kept, in part
	floating zone     // the zone used for floating times
}

// expand parses an iCalendar body and expands its events into the
// instances inside [opt.from, opt.to). Broken components are skipped and
// listed; only an unreadable calendar, or one that needs more work than
// the limits allow, is an error. It returns when ctx is done, also in
// the middle of a recurrence. It never panics: a panic inside the parser
// is turned into an error.
func expand(ctx context.Context, data []byte, opt expandOptions) (exp expansion, err error) {
	defer func() {
		if r := recover(); r != nil {
			exp, err = expansion{}, fmt.Errorf("calendar parser failed: %v", r)
		}
	}()
	data, err = preflight(data)
	if err != nil {
		return expansion{}, err
	}
	cal, err := ics.ParseCalendarWithOptions(bytes.NewReader(data), ics.WithUnknownPropertyHandler(ics.AcceptUnknownPropertyHandler))
	if err != nil {
		return expansion{}, fmt.Errorf("parse: %w", err)
	}
	if cal == nil {
		return expansion{}, errors.New("parse: no calendar")
	}
	// VTIMEZONE rules are expanded a year past the window, enough for any
	// instance in it.
	zr, err := newZoneResolver(ctx, collectVTimezones(cal), opt.to.AddDate(1, 0, 0).UTC())
	if err != nil {
		return expansion{}, fmt.Errorf("time zones: %w", err)
	}
	exp.floating = opt.floating
	if !opt.floatingSet {
		for _, p := range cal.CalendarProperties {
			if strings.EqualFold(p.IANAToken, "X-WR-TIMEZONE") {
				if z := zr.resolve(strings.TrimSpace(p.Value)); z != nil {
					exp.floating = z
				}
			}
		}
	}
	x := &expander{opt: opt, zr: zr, floating: exp.floating, ids: map[string][2]string{},
		perSeries: perSeries(opt.to.Sub(opt.from))}
	for _, s := range groupSeries(cal, &exp) {
		if err := ctx.Err(); err != nil {
			return expansion{}, fmt.Errorf("expand: %w", err)
		}
		skip, warn := x.series(ctx, s)
		if x.fatal != nil {
			return expansion{}, fmt.Errorf("expand: %w", x.fatal)
		}
		shown, _ := watchers.Truncate(s.uid, 60)
		if skip != nil {
			exp.skipped = append(exp.skipped, fmt.Sprintf("%s: %v", shown, skip))
		}
		if warn != nil {
			exp.warnings = append(exp.warnings, fmt.Sprintf("%s: %v", shown, warn))
		}
		if len(x.out) > maxOccurrences {
			return expansion{}, fmt.Errorf("more than %d instances within the horizon", maxOccurrences)
		}
	}
	exp.occ = x.out
	slices.SortFunc(exp.occ, func(a, b occurrence) int {
		if c := a.start.Compare(b.start); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return exp, nil
}

// preflight strips a byte-order mark, wraps bare components (files that
// hold a VEVENT without its VCALENDAR) and refuses nesting deep enough to
// make the recursive parser costly.
func preflight(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	depth, first := 0, ""
	for line := range bytes.Lines(data) {
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case bytes.EqualFold(name, []byte("BEGIN")):
			if first == "" {
				first = strings.ToUpper(string(bytes.TrimSpace(value)))
			}
			depth++
			if depth > maxDepth {
				return nil, fmt.Errorf("components nested more than %d deep", maxDepth)
			}
		case bytes.EqualFold(name, []byte("END")):
			depth--
		}
	}
	switch first {
	case "":
		return nil, errors.New("not an iCalendar file (no BEGIN:VCALENDAR)")
	case "VEVENT", "VTIMEZONE":
		out := make([]byte, 0, len(data)+64)
		out = append(out, "BEGIN:VCALENDAR\r\n"...)
		out = append(out, bytes.TrimRight(data, "\r\n")...)
		out = append(out, "\r\nEND:VCALENDAR\r\n"...)
		return out, nil
	}
	return data, nil
}

// series is a master VEVENT and the overrides that share its UID.
type series struct {
	uid       string
	master    *ics.VEvent
	overrides []*ics.VEvent
}

// groupSeries groups VEVENTs by UID, in order of first appearance.
func groupSeries(cal *ics.Calendar, exp *expansion) []*series {
	var out []*series
	byUID := map[string]*series{}
	for _, c := range cal.Components {
		ev, ok := c.(*ics.VEvent)
		if !ok {
			continue
		}
		exp.vevents++
		uid := propValue(&ev.ComponentBase, "UID")
		if uid == "" {
			// Without a UID, a hash of the properties stands in for it, so
			// the event keeps its id from one fetch to the next.
			h := sha256.New()
			for _, p := range ev.Properties {
				fmt.Fprintf(h, "%s:%s\n", p.IANAToken, p.Value)
			}
			uid = "nouid-" + hex.EncodeToString(h.Sum(nil)[:8])
		}
		s := byUID[uid]
		if s == nil {
			s = &series{uid: uid}
			byUID[uid] = s
			out = append(out, s)
		}
		if prop(&ev.ComponentBase, "RECURRENCE-ID") != nil {
			s.overrides = append(s.overrides, ev)
		} else if s.master == nil {
			s.master = ev
		} else {
			shown, _ := watchers.Truncate(uid, 60)
			exp.skipped = append(exp.skipped, shown+": duplicate UID, later copy ignored")
		}
	}
	return out
}

// expander expands series into occurrences.
type expander struct {
	opt       expandOptions
	zr        *zoneResolver
	floating  zone
	out       []occurrence
	ids       map[string][2]string // UID → id prefix, series key
	perSeries int                  // instances kept per series (perSeries)
	walked    int                  // recurrence instances walked so far, over all series
	// fatal stops the whole expansion: ctx is done or the calendar
	// needs more work than maxWalked.
	fatal error
}

var utcZone zone = locZone{loc: time.UTC}

// instance is one start of a series before overrides and windowing.
type instance struct {
	key   string    // identifies the instance for EXDATE and RECURRENCE-ID
	start time.Time // instant; all-day: the date in UTC fields
}

// frame is how a series reads its wall-clock times.
type frame struct {
	allDay bool
	calc   zone // wall → instant
	own    zone // the event's zone for display; nil: floating
}

// frameOf returns the frame of a start value: UTC, a TZID or floating.
func (x *expander) frameOf(t icalTime) frame {
	f := frame{allDay: t.date}
	switch {
	case t.utc:
		f.calc = utcZone
	case t.tzid != "":
		if z := x.zr.resolve(t.tzid); z != nil {
			f.calc, f.own = z, z
		} else {
			// An unknown TZID with no definition: read it as floating
			// rather than drop the event.
			f.calc = x.floating
		}
	default:
		f.calc = x.floating
	}
	return f
}

// instantOf reads a value (EXDATE, RDATE, RECURRENCE-ID) in a series'
// frame; values without zone information take the series' zone.
func (x *expander) instantOf(t icalTime, f frame) instance {
	if f.allDay {
		d := time.Date(t.wall.Year(), t.wall.Month(), t.wall.Day(), 0, 0, 0, 0, time.UTC)
		return instance{key: "D" + d.Format("20060102"), start: d}
	}
	var at time.Time
	switch {
	case t.utc:
		at = t.wall
	case t.tzid != "":
		if z := x.zr.resolve(t.tzid); z != nil {
			at = z.fromWall(t.wall)
		} else {
			at = f.calc.fromWall(t.wall)
		}
	default:
		at = f.calc.fromWall(t.wall)
	}
	return instance{key: "T" + strconv.FormatInt(at.Unix(), 10), start: at}
}

// series expands one UID: the master's recurrence, minus EXDATEs and
// overridden instances, plus the overrides. skip says why the series or
// part of it was left out; warn reports a problem with a series that was
// kept, such as a bad RRULE with DTSTART's instance kept. A problem that
// stops the whole expansion is left in x.fatal.
func (x *expander) series(ctx context.Context, s *series) (skip, warn error) {
	var f frame
	recurring := false
	overridden := map[string]bool{}
	kept := 0
	var masterErr error
	if s.master != nil {
		cb := &s.master.ComponentBase
		dt := prop(cb, "DTSTART")
		if dt == nil {
			masterErr = errors.New("event without DTSTART")
		} else if st, err := parseTimeProp(dt); err != nil {
			masterErr = fmt.Errorf("DTSTART: %w", err)
		} else {
			f = x.frameOf(st)
			recurring = prop(cb, "RRULE") != nil || prop(cb, "RDATE") != nil
			for _, ov := range s.overrides {
				if rid, err := parseTimeProp(prop(&ov.ComponentBase, "RECURRENCE-ID")); err == nil {
					overridden[x.instantOf(rid, f).key] = true
				}
			}
			insts, ruleErr, err := x.instances(ctx, cb, st, f)
			if x.fatal != nil {
				return nil, nil
			}
			if err != nil {
				masterErr = err
			}
			warn = ruleErr
			for _, in := range insts {
				if overridden[in.key] {
					continue
				}
				suffix := ""
				if recurring {
					suffix = x.suffix(in, f)
				}
				if o, ok := x.occurrence(cb, nil, s.uid, suffix, in, f); ok {
					if kept++; kept > x.perSeries {
						return fmt.Errorf("more than %d instances in the horizon, rest skipped", x.perSeries), warn
					}
					x.out = append(x.out, o)
				}
			}
		}
	}
	errs := []error{masterErr}
	for _, ov := range s.overrides {
		cb := &ov.ComponentBase
		rid, err := parseTimeProp(prop(cb, "RECURRENCE-ID"))
		if err != nil {
			errs = append(errs, fmt.Errorf("RECURRENCE-ID: %w", err))
			continue
		}
		dt := prop(cb, "DTSTART")
		if dt == nil {
			errs = append(errs, errors.New("override without DTSTART"))
			continue
		}
		st, err := parseTimeProp(dt)
		if err != nil {
			errs = append(errs, fmt.Errorf("override DTSTART: %w", err))
			continue
		}
		of := x.frameOf(st)
		idFrame := f
		if s.master == nil || masterErr != nil {
			idFrame = x.frameOf(rid)
		}
		suffix := x.suffix(x.instantOf(rid, idFrame), idFrame)
		if s.master != nil && !recurring && masterErr == nil {
			suffix = "" // an override of a one-off event replaces it
		}
		var master *ics.ComponentBase
		if s.master != nil {
			master = &s.master.ComponentBase
		}
		if o, ok := x.occurrence(cb, master, s.uid, suffix, x.instantOf(st, of), of); ok {
			x.out = append(x.out, o)
		}
	}
	return errors.Join(errs...), warn
}

// instances lists a master's starts: DTSTART, the RRULE instances and
// RDATEs, without EXDATEs, sorted, up to the end of the window. A rule
// that cannot be read or expanded is left out and reported as ruleErr,
// and the other starts are kept: DTSTART is always an instance (RFC 5545
// §3.8.5.3). err means the series cannot be read at all.
func (x *expander) instances(ctx context.Context, cb *ics.ComponentBase, st icalTime, f frame) (_ []instance, ruleErr, err error) {
	first := x.instantOf(st, f)
	out := []instance{first}
	// The window's end on the series' wall clock, with a day to spare for
	// any UTC offset.
	limit := x.opt.to.UTC().Add(24 * time.Hour)
	var ruleErrs []error
	for _, p := range props(cb, "RRULE") {
		walls, err := x.rule(ctx, p.Value, st, f, limit)
		if x.fatal != nil {
			return nil, nil, x.fatal
		}
		if err != nil {
			ruleErrs = append(ruleErrs, err)
			continue
		}
		for _, w := range walls {
			if f.allDay {
				out = append(out, instance{key: "D" + w.Format("20060102"), start: w})
			} else {
				at := f.calc.fromWall(w)
				out = append(out, instance{key: "T" + strconv.FormatInt(at.Unix(), 10), start: at})
			}
		}
	}
	if len(ruleErrs) > 0 {
		ruleErr = fmt.Errorf("%w; the rule is ignored and DTSTART's instance kept", errors.Join(ruleErrs...))
	}
	for _, p := range props(cb, "RDATE") {
		ts, err := parseTimeList(p)
		if err != nil {
			return nil, ruleErr, fmt.Errorf("RDATE: %w", err)
		}
		for _, t := range ts {
			out = append(out, x.instantOf(t, f))
		}
	}
	ex := map[string]bool{}
	for _, p := range props(cb, "EXDATE") {
		ts, err := parseTimeList(p)
		if err != nil {
			return nil, ruleErr, fmt.Errorf("EXDATE: %w", err)
		}
		for _, t := range ts {
			ex[x.instantOf(t, f).key] = true
		}
	}
	slices.SortFunc(out, func(a, b instance) int { return a.start.Compare(b.start) })
	seen := map[string]bool{}
	kept := out[:0]
	for _, in := range out {
		if ex[in.key] || seen[in.key] {
			continue
		}
		seen[in.key] = true
		kept = append(kept, in)
	}
	return kept, ruleErr, nil
}

// rule expands one RRULE into wall times (UTC fields) up to limit. It
// counts what it walks against maxWalked and sets x.fatal when that runs
// out or ctx is done.
func (x *expander) rule(ctx context.Context, value string, st icalTime, f frame, limit time.Time) ([]time.Time, error) {
	opt, err := parseRule(value, st.wall, f.allDay, func(u time.Time) time.Time {
		w := f.calc.in(u)
		return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
	})
	if err != nil {
		return nil, err
	}
	// Two days short of the window on the wall clock covers any offset.
	fastForward(opt, x.opt.from.UTC().Add(-48*time.Hour))
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, fmt.Errorf("bad RRULE: %w", err)
	}
	budget := min(maxIterations, maxWalked-x.walked)
	walls, walked, err := walk(ctx, r, x.opt.from.UTC().Add(-48*time.Hour), limit, budget)
	x.walked += walked
	switch {
	case ctx.Err() != nil:
		x.fatal = ctx.Err()
		return nil, x.fatal
	case errors.Is(err, errTooMany) && budget < maxIterations:
		x.fatal = fmt.Errorf("calendar has more than %d recurrence instances to walk before its horizon ends", maxWalked)
		return nil, x.fatal
	case errors.Is(err, errTooMany):
		return nil, fmt.Errorf("recurrence has more than %d instances before the horizon ends", maxIterations)
	case err != nil:
		return nil, err
	}
	return walls, nil
}

// errTooMany says a walk reached its limit of instances.
var errTooMany = errors.New("too many instances")

// walk lists a rule's instances in [from, limit]; it walks at most max
// instances (those before from included), else it stops with errTooMany,
// and reports how many it walked. rrule-go cannot be stopped while it
// searches for the next instance, and for a rule that matches no day at
// all it searches up to the year 9999 (half a second for a daily rule);
// so the walk runs on its own goroutine, and walk returns as soon as ctx
// is done. A walk given up that way stops at its next instance, or at the
// year 9999.
func walk(ctx context.Context, r *rrule.RRule, from, limit time.Time, max int) (walls []time.Time, walked int, err error) {
	type result struct {
		walls  []time.Time
		walked int
		err    error
	}
	done := make(chan result, 1) // buffered: an abandoned walk does not block
	var stop atomic.Bool
	go func() {
		var res result
		defer func() {
			// rrule-go is third-party code fed hostile input.
			if p := recover(); p != nil {
				res = result{err: fmt.Errorf("recurrence expansion failed: %v", p)}
			}
			done <- res
		}()
		next := r.Iterator()
		for !stop.Load() {
			w, ok := next()
			if !ok || w.After(limit) {
				return
			}
			if res.walked >= max {
				res.err = errTooMany
				return
			}
			res.walked++
			if !w.Before(from) {
				res.walls = append(res.walls, w)
			}
		}
	}()
	select {
	case res := <-done:
		return res.walls, res.walked, res.err
	case <-ctx.Done():
		stop.Store(true)
		return nil, 0, ctx.Err()
	}
}

// suffix names an instance of a series for its id: 20250720 for an
// all-day instance, 20250720t1000 on the series' wall clock otherwise.
func (x *expander) suffix(in instance, f frame) string {
	if f.allDay {
		return in.start.Format("20060102")
	}
	return strings.ToLower(f.calc.in(in.start).Format("20060102T1504"))
}

// occurrence builds an occurrence from a component's properties, falling
// back to the master's for those an override leaves out. ok is false when
// the instance lies outside the window.
func (x *expander) occurrence(cb, master *ics.ComponentBase, uid, suffix string, in instance, f frame) (occurrence, bool) {
	ids, ok := x.ids[uid]
	if !ok {
		ids = [2]string{idPrefix(uid), seriesKey(uid)}
		x.ids[uid] = ids
	}
	o := occurrence{
		id:     ids[0],
		series: ids[1],
		allDay: f.allDay,
		zone:   f.own,
		status: watchers.Scheduled,
	}
	if suffix != "" {
		o.id += "-" + suffix
	}
	if f.allDay {
		o.date = in.start
		z := f.own
		if z == nil {
			z = x.floating
		}
		o.start = z.fromWall(in.start)
	} else {
		o.start = in.start
	}
	if !o.start.Before(x.opt.to) || o.start.Before(x.opt.from) {
		return occurrence{}, false
	}
	get := func(name string) string {
		if v := propValue(cb, name); v != "" || master == nil {
			return v
		}
		return propValue(master, name)
	}
	o.title = cleanTitle(get("SUMMARY"))
	switch strings.ToUpper(propValue(cb, "STATUS")) {
	case "CANCELLED":
		o.status = watchers.Cancelled
	case "TENTATIVE":
		o.status = watchers.Tentative
	}
	if u := get("URL"); strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		o.url = u
	}
	o.length = x.length(cb, f)
	return o, true
}

// length reads DTEND or DURATION as a length; 0 when absent or bad.
func (x *expander) length(cb *ics.ComponentBase, f frame) time.Duration {
	if p := prop(cb, "DURATION"); p != nil {
		if d, err := parseDuration(p.Value); err == nil && d > 0 {
			return d
		}
	}
	end, st := prop(cb, "DTEND"), prop(cb, "DTSTART")
	if end == nil || st == nil {
		return 0
	}
	e, err1 := parseTimeProp(end)
	s, err2 := parseTimeProp(st)
	if err1 != nil || err2 != nil {
		return 0
	}
	if f.allDay || (e.date && s.date) {
		return e.wall.Sub(s.wall)
	}
	d := x.instantOf(e, f).start.Sub(x.instantOf(s, f).start)
	if d < 0 {
		return 0
	}
	return d
}

// cleanTitle makes a SUMMARY fit for a chat line: one line, trimmed, cut.
func cleanTitle(s string) string {
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	if s == "" {
		return "(untitled)"
	}
	r := []rune(s)
	if len(r) > maxTitleRunes {
		return string(r[:maxTitleRunes-1]) + "…"
	}
	return s
}

// seriesKey is a short, stable hash of a UID.
func seriesKey(uid string) string {
	h := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(h[:4])
}

// eventID builds "cal-<slug>-<hash>[-<suffix>]" from a UID: readable when
// the UID is, unique by its hash, and always within watchers.IDPattern.
func eventID(uid, suffix string) string {
	id := idPrefix(uid)
	if suffix != "" {
		id += "-" + suffix
	}
	return id
}

// idPrefix is the part of an event id that comes from the UID.
func idPrefix(uid string) string {
	var b strings.Builder
	dash := true
	for _, c := range strings.ToLower(uid) {
		if b.Len() >= 20 {
			break
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.Trim(b.String(), "-")
	id := "cal-"
	if slug != "" {
		id += slug + "-"
	}
	return id + seriesKey(uid)
}
