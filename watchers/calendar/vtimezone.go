package calendar

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/teambition/rrule-go"
)

// vtimezone is a calendar's own VTIMEZONE, used when its TZID names no
// zone we know.
type vtimezone struct {
	tzid     string
	location string // X-LIC-LOCATION, often the IANA name
	obs      []observance
	built    *vtzZone // set by newZoneResolver when the zone is needed
}

// observance is one STANDARD or DAYLIGHT block.
type observance struct {
	start    time.Time // DTSTART, wall time in the offset before it
	from, to int       // TZOFFSETFROM, TZOFFSETTO in seconds
	abbr     string
	rule     string
	rdates   []time.Time
}

// readVTimezone reads a VTIMEZONE, skipping observances it cannot read.
func readVTimezone(v *ics.VTimezone) *vtimezone {
	z := &vtimezone{
		tzid:     propValue(&v.ComponentBase, "TZID"),
		location: propValue(&v.ComponentBase, "X-LIC-LOCATION"),
	}
	for _, c := range v.Components {
		var cb *ics.ComponentBase
		switch o := c.(type) {
		case *ics.Standard:
			cb = &o.ComponentBase
		case *ics.Daylight:
			cb = &o.ComponentBase
		default:
			continue
		}
		from, err1 := parseOffset(propValue(cb, "TZOFFSETFROM"))
		to, err2 := parseOffset(propValue(cb, "TZOFFSETTO"))
		start, err3 := parseTimeValue(propValue(cb, "DTSTART"))
		if err2 != nil || err3 != nil {
			continue
		}
		if err1 != nil {
			from = to
		}
		o := observance{start: start.wall, from: from, to: to, abbr: propValue(cb, "TZNAME"), rule: propValue(cb, "RRULE")}
		for _, p := range props(cb, "RDATE") {
			ts, err := parseTimeList(p)
			if err != nil {
				continue
			}
			for _, t := range ts {
				o.rdates = append(o.rdates, t.wall)
			}
		}
		z.obs = append(z.obs, o)
	}
	return z
}

// transition is the moment an observance takes over.
type transition struct {
	wall     time.Time // onset in the wall clock before it
	instant  time.Time
	from, to int            // offsets before and after, in seconds
	loc      *time.Location // fixed zone with the new offset
}

// vtzZone is a zone built from a VTIMEZONE's observances.
type vtzZone struct {
	trans   []transition // sorted by instant
	initial *time.Location
}

// build expands the observances up to limit (a wall time) into a list of
// transitions, at most maxVTZTransition per observance and *budget in
// all (budget is decreased by what is kept); nil if there is none. It
// fails only when ctx is done.
func (v *vtimezone) build(ctx context.Context, limit time.Time, budget *int) (*vtzZone, error) {
	if len(v.obs) == 0 {
		return nil, nil
	}
	var trans []transition
	first := v.obs[0]
	for _, o := range v.obs {
		if o.start.Before(first.start) {
			first = o
		}
		loc := time.FixedZone(o.abbr, o.to)
		onsets := append([]time.Time{o.start}, o.rdates...)
		if o.rule != "" {
			from := o.from
			opt, err := parseRule(o.rule, o.start, false, func(u time.Time) time.Time {
				return u.Add(time.Duration(from) * time.Second)
			})
			var r *rrule.RRule
			if err == nil {
				r, err = rrule.NewRRule(*opt)
			}
			// More onsets than allowed: the first ones are kept.
			if n := min(maxVTZTransition, *budget-len(onsets)); err == nil && n > 0 {
				walls, _, err := walk(ctx, r, time.Time{}, limit, n)
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if err == nil || errors.Is(err, errTooMany) {
					onsets = append(onsets, walls...)
				}
			}
		}
		if len(onsets) > *budget {
			onsets = onsets[:*budget]
		}
		*budget -= len(onsets)
		for _, w := range onsets {
			trans = append(trans, transition{
				wall:    w,
				instant: w.Add(-time.Duration(o.from) * time.Second),
				from:    o.from,
				to:      o.to,
				loc:     loc,
			})
		}
	}
	slices.SortFunc(trans, func(a, b transition) int { return a.instant.Compare(b.instant) })
	return &vtzZone{trans: trans, initial: time.FixedZone(first.abbr, first.from)}, nil
}

func (z *vtzZone) fromWall(w time.Time) time.Time {
	// The last transition whose onset, read on the wall clock, is not
	// after w. Onsets are sorted by instant, which orders them on the
	// wall clock too except inside the overlap an onset creates; so a
	// time repeated by a fall-back onset reads in the offset before it,
	// its first occurrence, as RFC 5545 §3.3.5 wants.
	i := sort.Search(len(z.trans), func(i int) bool { return z.trans[i].wall.After(w) })
	if i == 0 {
		return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, z.initial)
	}
	t := z.trans[i-1]
	if gap := time.Duration(t.to-t.from) * time.Second; gap > 0 && w.Before(t.wall.Add(gap)) {
		// w lies in the hour a spring-forward onset skips: read it with
		// the offset before the gap (RFC 5545 §3.3.5, DESIGN §4).
		return w.Add(-time.Duration(t.from) * time.Second).In(t.loc)
	}
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, t.loc)
}

func (z *vtzZone) in(t time.Time) time.Time {
	return t.In(z.zoneBefore(func(tr transition) bool { return tr.instant.After(t) }))
}

// zoneBefore returns the zone in force just before the first transition
// (in their sorted order, found by binary search) that after reports true
// for: the offset the transition ahead of it set, or the initial offset
// when there is none.
func (z *vtzZone) zoneBefore(after func(transition) bool) *time.Location {
	i := sort.Search(len(z.trans), func(i int) bool { return after(z.trans[i]) })
	if i == 0 {
		return z.initial
	}
	return z.trans[i-1].loc
}

func (z *vtzZone) name() string { return "" }

// collectVTimezones reads every VTIMEZONE of a calendar by TZID.
func collectVTimezones(cal *ics.Calendar) map[string]*vtimezone {
	out := map[string]*vtimezone{}
	for _, c := range cal.Components {
		if v, ok := c.(*ics.VTimezone); ok {
			z := readVTimezone(v)
			if z.tzid != "" {
				out[z.tzid] = z
				// TZID parameters are compared as written, but some
				// producers change quoting or case between the two.
				out[strings.Trim(z.tzid, `"`)] = z
			}
		}
	}
	return out
}
