package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// This file holds a channel's delivery rules (DESIGN §9): quiet hours,
// which hold deliveries until the window ends, and a digest, which
// collects routine alerts into one message at a time of day. The same
// functions decide for serve, replay and preview.

// Kinds of the messages the bot composes from held deliveries.
const (
	// KindDigest is a channel's digest: its collected routine alerts,
	// grouped by event and kind, and the agenda.
	KindDigest watchers.Kind = "digest"
	// KindQuietSummary lists the alerts held by a channel's quiet hours.
	KindQuietSummary watchers.Kind = "quiet_summary"
)

// Hold reasons: why a delivery waits (DeliveryRecord's state DeliveryHeld).
const (
	HoldQuiet  = "quiet"
	HoldDigest = "digest"
)

// agendaWithin is how far ahead a digest's agenda looks; agendaGrace is
// how late a digest with nothing collected (the agenda alone) may still
// be posted, after the bot was down at its time.
const (
	agendaWithin = 7 * 24 * time.Hour
	agendaGrace  = time.Hour
)

// ChannelSettings is a channel's quiet hours, digest and zone as typed in
// the config or in chat (DESIGN §9).
type ChannelSettings struct {
	Channel   string
	Quiet     string // "22:00-07:00"; "" none
	Digest    string // "daily 08:00" or "weekly mon 08:00"; "" none
	Zone      string // IANA zone of Quiet and Digest; "" the config's
	Origin    string // "config" or "chat"
	UpdatedAt time.Time
	UpdatedBy string
}

// Empty reports whether s sets nothing: the channel has no settings.
func (s ChannelSettings) Empty() bool { return s.Quiet == "" && s.Digest == "" && s.Zone == "" }

// ChannelSettingsStore keeps channels' settings; the router's settings
// command and the seeder change them, the pipeline reads them to route.
type ChannelSettingsStore interface {
	// ChannelSettings returns every channel's settings, by channel.
	ChannelSettings(ctx context.Context) ([]ChannelSettings, error)
	// SetChannelSettings stores s, replacing the channel's; settings
	// that set nothing (Empty) delete the channel's row.
	SetChannelSettings(ctx context.Context, s ChannelSettings) error
}

// settingsReader is the part of a ChannelSettingsStore routing needs.
type settingsReader interface {
	ChannelSettings(ctx context.Context) ([]ChannelSettings, error)
}

// quietWindow is a daily window of local minutes [start, end); start >
// end wraps over midnight.
type quietWindow struct{ start, end int }

// digestTime is a daily or weekly local time.
type digestTime struct {
	weekly bool
	day    time.Weekday
	minute int
}

// channelRules are a channel's settings, parsed.
type channelRules struct {
	loc    *time.Location
	quiet  *quietWindow
	digest *digestTime
	since  time.Time // settings changed then: digests before are not owed
}

// parseHHMM reads "HH:MM" (00:00–23:59) as minutes of the day.
func parseHHMM(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(h) < 1 || len(h) > 2 || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, false
	}
	return hh*60 + mm, true
}

// ParseQuiet checks quiet hours "HH:MM-HH:MM" and returns them in
// canonical form ("7:00-9:00" → "07:00-09:00").
func ParseQuiet(s string) (string, error) {
	w, err := parseQuiet(s)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.start/60, w.start%60, w.end/60, w.end%60), nil
}

func parseQuiet(s string) (quietWindow, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	start, ok1 := parseHHMM(strings.TrimSpace(a))
	end, ok2 := parseHHMM(strings.TrimSpace(b))
	if !ok || !ok1 || !ok2 {
		return quietWindow{}, fmt.Errorf("quiet: bad window %q (want HH:MM-HH:MM between 00:00 and 23:59, e.g. 22:00-07:00)", s)
	}
	if start == end {
		return quietWindow{}, fmt.Errorf("quiet: window %q starts and ends at the same time (want e.g. 22:00-07:00)", s)
	}
	return quietWindow{start, end}, nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseDigest checks a digest time, "daily HH:MM" or "weekly DAY HH:MM",
// and returns it in canonical form ("weekly Monday 8:00" → "weekly mon 08:00").
func ParseDigest(s string) (string, error) {
	d, err := parseDigest(s)
	if err != nil {
		return "", err
	}
	clock := fmt.Sprintf("%02d:%02d", d.minute/60, d.minute%60)
	if d.weekly {
		return "weekly " + strings.ToLower(d.day.String()[:3]) + " " + clock, nil
	}
	return "daily " + clock, nil
}

func parseDigest(s string) (digestTime, error) {
	const want = `(want "daily HH:MM" or "weekly DAY HH:MM", e.g. daily 08:00 or weekly mon 08:00)`
	f := strings.Fields(strings.ToLower(s))
	var d digestTime
	switch {
	case len(f) == 2 && f[0] == "daily":
	case len(f) == 3 && f[0] == "weekly":
		day, ok := weekdays[f[1]]
		if !ok && len(f[1]) > 3 {
			day, ok = weekdays[f[1][:3]]
			ok = ok && strings.HasPrefix(strings.ToLower(day.String()), f[1])
		}
		if !ok {
			return d, fmt.Errorf("digest: bad day %q (want mon, tue, wed, thu, fri, sat or sun, e.g. weekly mon 08:00)", f[1])
		}
		d.weekly, d.day = true, day
	default:
		return d, fmt.Errorf("digest: bad time %q %s", s, want)
	}
	m, ok := parseHHMM(f[len(f)-1])
	if !ok {
		return d, fmt.Errorf("digest: bad time of day %q %s", f[len(f)-1], want)
	}
	d.minute = m
	return d, nil
}

// compileRules parses s; def is the config's zone.
func compileRules(s ChannelSettings, def *time.Location) (channelRules, error) {
	r := channelRules{loc: def, since: s.UpdatedAt}
	if s.Zone != "" {
		loc, err := loadZone(s.Zone)
		if err != nil {
			return r, fmt.Errorf("zone: %w", err)
		}
		r.loc = loc
	}
	if r.loc == nil {
		r.loc = time.UTC
	}
	if s.Quiet != "" {
		w, err := parseQuiet(s.Quiet)
		if err != nil {
			return r, err
		}
		r.quiet = &w
	}
	if s.Digest != "" {
		d, err := parseDigest(s.Digest)
		if err != nil {
			return r, err
		}
		r.digest = &d
	}
	return r, nil
}

// at is minute m of the local day of t shifted by days, in r's zone; a
// wall time skipped or repeated by DST follows RFC 5545 (watchers.Date).
func (r channelRules) at(t time.Time, days, m int) time.Time {
	y, mo, d := t.In(r.loc).Date()
	return watchers.Date(y, mo, d+days, m/60, m%60, 0, 0, r.loc)
}

// quietUntil returns the end of the quiet window t falls in; false when
// t is outside quiet hours.
func (r channelRules) quietUntil(t time.Time) (time.Time, bool) {
	if r.quiet == nil {
		return time.Time{}, false
	}
	// Windows that contain t start on t's local day or the day before.
	for _, day := range []int{0, -1} {
		start := r.at(t, day, r.quiet.start)
		endDay := day
		if r.quiet.end <= r.quiet.start {
			endDay++
		}
		end := r.at(t, endDay, r.quiet.end)
		if !t.Before(start) && t.Before(end) {
			return end, true
		}
	}
	return time.Time{}, false
}

// digestsAround returns the channel's effective digest times near t —
// each moved to the end of quiet hours when it falls inside them — from
// eight days before t to eight days after, in order.
func (r channelRules) digestsAround(t time.Time) []time.Time {
	if r.digest == nil {
		return nil
	}
	var out []time.Time
	for day := -8; day <= 8; day++ {
		at := r.at(t, day, r.digest.minute)
		if r.digest.weekly && at.In(r.loc).Weekday() != r.digest.day {
			continue
		}
		if end, ok := r.quietUntil(at); ok {
			at = end
		}
		out = append(out, at)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
}

// nextDigest returns the first digest after t.
func (r channelRules) nextDigest(t time.Time) (time.Time, bool) {
	for _, at := range r.digestsAround(t) {
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

// lastDigest returns the latest digest at or before now that is owed:
// after the settings were made.
func (r channelRules) lastDigest(now time.Time) (time.Time, bool) {
	var best time.Time
	for _, at := range r.digestsAround(now) {
		if !at.After(now) && at.After(r.since) {
			best = at
		}
	}
	return best, !best.IsZero()
}

// Routine reports whether alerts of kind go into a channel's digest
// rather than one by one (DESIGN §9); every other kind is posted at once,
// subject to quiet hours.
func Routine(kind watchers.Kind) bool {
	switch kind {
	case watchers.KindReminder, watchers.KindWindowOpen, watchers.KindFeedItem, watchers.KindPageChanged,
		watchers.KindCalendarChanged, watchers.KindThreshold:
		return true
	}
	return false
}

// plan decides when an alert of kind that falls at t reaches the
// channel: at once (hold ""), at the end of quiet hours (HoldQuiet), or
// in the next digest (HoldDigest), and the time it is released.
func (r channelRules) plan(kind watchers.Kind, t time.Time) (hold string, until time.Time) {
	if r.digest != nil && Routine(kind) {
		if at, ok := r.nextDigest(t); ok {
			return HoldDigest, at
		}
	}
	if end, ok := r.quietUntil(t); ok {
		return HoldQuiet, end
	}
	return "", t
}

// Hold is a delivery to hold back: the channel's rules say it goes at
// Until, not now.
type Hold struct {
	Channel string
	Reason  string // HoldQuiet or HoldDigest
	Until   time.Time
}

// channelRuleSet is every channel's rules, by channel; channels whose
// settings do not parse are left out (and logged by whoever loads them).
type channelRuleSet map[string]channelRules

// compileAll parses every channel's settings; bad ones are returned
// separately so the caller can log them.
func compileAll(all []ChannelSettings, def *time.Location) (channelRuleSet, []error) {
	set := channelRuleSet{}
	var bad []error
	for _, s := range all {
		r, err := compileRules(s, def)
		if err != nil {
			bad = append(bad, fmt.Errorf("channel %s: %w", s.Channel, err))
			continue
		}
		set[s.Channel] = r
	}
	return set, bad
}

// holds returns the holds for an alert of kind routed at t to channels.
func (set channelRuleSet) holds(kind watchers.Kind, t time.Time, channels []string) []Hold {
	var out []Hold
	for _, ch := range channels {
		r, ok := set[ch]
		if !ok {
			continue
		}
		if reason, until := r.plan(kind, t); reason != "" {
			out = append(out, Hold{Channel: ch, Reason: reason, Until: until})
		}
	}
	return out
}

// HeldPlanner lets the deliveries a channel holds follow its settings
// when they change: turning quiet hours off releases what they held, a
// new digest time moves the collected alerts to it.
type HeldPlanner interface {
	// HeldIn returns the deliveries held in channel, by release time.
	HeldIn(ctx context.Context, channel string) ([]HeldDelivery, error)
	// RescheduleHeld sets Reason and Until of each still-held delivery
	// of holds, by ID.
	RescheduleHeld(ctx context.Context, holds []HeldDelivery) error
}

// replanHeld plans channel's held deliveries again under settings s, as
// if each fell at now: those the new rules still hold wait for the new
// release time; the others are released at now (several together still
// make one summary or digest). It returns whether any delivery moved.
func replanHeld(ctx context.Context, hp HeldPlanner, s ChannelSettings, def *time.Location, now time.Time) (bool, error) {
	rules, err := compileRules(s, def)
	if err != nil {
		return false, err
	}
	held, err := hp.HeldIn(ctx, s.Channel)
	if err != nil {
		return false, err
	}
	var moved []HeldDelivery
	for _, h := range held {
		reason, until := rules.plan(h.Alert.Kind, now)
		if reason == "" {
			reason, until = h.Reason, now
		}
		if reason != h.Reason || !until.Equal(h.Until) {
			h.Reason, h.Until = reason, until
			moved = append(moved, h)
		}
	}
	if len(moved) == 0 {
		return false, nil
	}
	return true, hp.RescheduleHeld(ctx, moved)
}
