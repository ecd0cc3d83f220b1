package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// HoldStore keeps the deliveries that channels' rules hold back (DESIGN
// §9). Held deliveries live in the outbox like any other, so they survive
// restarts; releasing them is a run commit (RunRecord.Release, and
// NewAlert.Carries for the summary or digest that lists them), so a
// summary is a delivery with its own key and is never posted twice.
type HoldStore interface {
	// HeldDue returns the held deliveries whose hold ends by now, by
	// channel, release time and id.
	HeldDue(ctx context.Context, now time.Time) ([]HeldDelivery, error)
	// NextHeld returns the earliest end of a hold; false when nothing is
	// held.
	NextHeld(ctx context.Context) (time.Time, bool, error)
}

// releaseStore is what a releaser commits to: serve's database,
// replay's memory (a RunStore keeps holds and settings).
type releaseStore = RunStore

// releaser turns held deliveries into messages when their hold ends:
// each held alert by itself, a quiet-hours summary, or a digest with the
// agenda; and posts the digests that have no held alerts but an agenda.
// serve and replay both release through it.
type releaser struct {
	store  releaseStore
	config func() *Config
	// agenda returns the open events whose window starts within
	// [now, now+agendaWithin) or is open at now, by start.
	agenda func(ctx context.Context, now time.Time) ([]EventRecord, error)
	log    *slog.Logger

	mu   sync.Mutex
	done map[string]time.Time // channel → the last digest time handled
}

func newReleaser(st releaseStore, config func() *Config, agenda func(context.Context, time.Time) ([]EventRecord, error), log *slog.Logger) *releaser {
	return &releaser{store: st, config: config, agenda: agenda, log: log, done: map[string]time.Time{}}
}

// heldGroup is the held deliveries of one channel that end together for
// one reason: one message.
type heldGroup struct {
	channel string
	reason  string
	until   time.Time
	items   []HeldDelivery
}

// release commits what is due at now and returns how many messages it
// made ready to send: summaries and digests created, and held alerts
// released to go by themselves.
func (r *releaser) release(ctx context.Context, now time.Time) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	held, err := r.store.HeldDue(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("release held deliveries: %w", err)
	}
	def := r.config().Location
	rules, err := loadRules(ctx, r.store, def, r.log)
	if err != nil {
		return 0, fmt.Errorf("release held deliveries: %w", err)
	}
	var groups []*heldGroup
	for _, h := range held {
		if n := len(groups); n > 0 {
			g := groups[n-1]
			if g.channel == h.Channel && g.reason == h.Reason && g.until.Equal(h.Until) {
				g.items = append(g.items, h)
				continue
			}
		}
		groups = append(groups, &heldGroup{channel: h.Channel, reason: h.Reason, until: h.Until, items: []HeldDelivery{h}})
	}
	// Digests owed with nothing held: the agenda alone, while it is
	// fresh — after a restart, a digest time long past that nothing was
	// collected for is not posted late.
	for ch, rule := range rules {
		at, ok := rule.lastDigest(now)
		if !ok || !at.After(r.done[ch]) || now.Sub(at) > agendaGrace {
			continue
		}
		if !slices.ContainsFunc(groups, func(g *heldGroup) bool {
			return g.channel == ch && g.reason == HoldDigest && g.until.Equal(at)
		}) {
			groups = append(groups, &heldGroup{channel: ch, reason: HoldDigest, until: at})
		}
	}
	slices.SortStableFunc(groups, func(a, b *heldGroup) int {
		return cmp.Or(a.until.Compare(b.until), strings.Compare(a.channel, b.channel), strings.Compare(b.reason, a.reason))
	})
	var (
		agenda []EventRecord
		loaded bool
		subs   []Subscription
		run    = RunRecord{At: now}
	)
	for _, g := range groups {
		loc := def
		if rule, ok := rules[g.channel]; ok {
			loc = rule.loc
		}
		ids := make([]int64, len(g.items))
		for i, h := range g.items {
			ids[i] = h.ID
		}
		switch {
		case g.reason == HoldQuiet && len(g.items) == 1:
			run.Release = append(run.Release, ids...)
		case g.reason == HoldQuiet:
			run.Alerts = append(run.Alerts, NewAlert{Alert: quietSummary(g, loc), Channels: []string{g.channel}, Carries: ids})
		default:
			if !loaded {
				if agenda, err = r.agenda(ctx, now); err != nil {
					return 0, fmt.Errorf("digest agenda: %w", err)
				}
				if subs, err = r.store.Subscriptions(ctx); err != nil {
					return 0, fmt.Errorf("digest agenda: %w", err)
				}
				loaded = true
			}
			mine := r.channelAgenda(ctx, agenda, subs, g.channel)
			if len(g.items) == 0 && len(mine) == 0 {
				continue // both empty: nothing is posted (DESIGN §9)
			}
			run.Alerts = append(run.Alerts, NewAlert{Alert: digestAlert(g, mine, now, loc, def), Channels: []string{g.channel}, Carries: digestOrder(g.items)})
		}
	}
	n := 0
	if len(run.Alerts) > 0 || len(run.Release) > 0 {
		created, err := r.store.CommitRun(ctx, run)
		if err != nil {
			return 0, fmt.Errorf("release held deliveries: %w", err)
		}
		n = len(created) + len(run.Release)
	}
	for ch, rule := range rules {
		if at, ok := rule.lastDigest(now); ok {
			r.done[ch] = at
		}
	}
	return n, nil
}

// channelAgenda narrows the agenda to the events channel follows: those
// its subscriptions cover (all, their tag, the event; a watcher target
// covers the events of the watcher's tags, or every event when it has
// none), so a team's digest does not list what it never asked for.
func (r *releaser) channelAgenda(ctx context.Context, agenda []EventRecord, subs []Subscription, channel string) []EventRecord {
	var targets []string
	for _, s := range subs {
		if s.Channel != channel {
			continue
		}
		if id, ok := strings.CutPrefix(s.Target, "watcher:"); ok {
			w, err := r.store.Watcher(ctx, id)
			if err != nil {
				continue
			}
			if len(w.Spec.Tags) == 0 {
				targets = append(targets, "all")
			}
			for _, t := range w.Spec.Tags {
				targets = append(targets, "tag:"+t)
			}
			continue
		}
		targets = append(targets, s.Target)
	}
	var out []EventRecord
	for _, ev := range agenda {
		a := watchers.Alert{Event: ev.ID, Tags: ev.Tags}
		if slices.ContainsFunc(targets, func(t string) bool { return TargetMatches(t, a) }) {
			out = append(out, ev)
		}
	}
	return out
}

// next returns when release next has something to do after now: the
// earliest hold's end or digest time; false when neither comes.
func (r *releaser) next(ctx context.Context, now time.Time) (time.Time, bool, error) {
	best, ok, err := r.store.NextHeld(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	rules, err := loadRules(ctx, r.store, r.config().Location, r.log)
	if err != nil {
		return time.Time{}, false, err
	}
	for _, rule := range rules {
		if at, found := rule.nextDigest(now); found && (!ok || at.Before(best)) {
			best, ok = at, true
		}
	}
	return best, ok, nil
}

// summaryKey is the alert key of a channel's message at until.
func summaryKey(kind watchers.Kind, channel string, until time.Time) string {
	return fmt.Sprintf("%s/%s@%s", kind, channel, keyTime(until))
}

// heldLine is one held alert in a summary or digest: its title, when it
// came, and its link.
func heldLine(h HeldDelivery, loc *time.Location) string {
	what := h.Alert.Title
	if first, _, _ := strings.Cut(h.Alert.Text, "\n"); first != "" {
		what += ": " + first
	}
	line := fmt.Sprintf("%s (%s)", what, h.HeldFrom.In(loc).Format("Mon 2 Jan 15:04"))
	if h.Alert.Link != "" {
		line += " " + h.Alert.Link
	}
	return line
}

// quietSummary is the one message for the alerts quiet hours held.
func quietSummary(g *heldGroup, loc *time.Location) watchers.Alert {
	var b strings.Builder
	for i, h := range g.items {
		fmt.Fprintf(&b, "%d. %s\n", i+1, heldLine(h, loc))
	}
	sev := watchers.Info
	for _, h := range g.items {
		sev = max(sev, h.Alert.Severity)
	}
	return watchers.Alert{
		Key:      summaryKey(KindQuietSummary, g.channel, g.until),
		Kind:     KindQuietSummary,
		At:       g.until,
		Title:    "While the channel was quiet: " + Plural(len(g.items), "alert"),
		Text:     strings.TrimRight(b.String(), "\n"),
		Severity: sev,
	}
}

// digestGroups orders a digest's items by event, then kind, each in the
// order its first item came.
func digestGroups(items []HeldDelivery) [][]HeldDelivery {
	var groups [][]HeldDelivery
	index := map[[2]string]int{}
	var events []string
	for _, h := range items {
		if !slices.Contains(events, h.Alert.Event) {
			events = append(events, h.Alert.Event)
		}
	}
	for _, ev := range events {
		for _, h := range items {
			if h.Alert.Event != ev {
				continue
			}
			k := [2]string{ev, string(h.Alert.Kind)}
			i, ok := index[k]
			if !ok {
				i = len(groups)
				index[k] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], h)
		}
	}
	return groups
}

// digestOrder is the ids of items in the order the digest lists them.
func digestOrder(items []HeldDelivery) []int64 {
	var out []int64
	for _, g := range digestGroups(items) {
		for _, h := range g {
			out = append(out, h.ID)
		}
	}
	return out
}

// digestAlert is a channel's digest: its collected alerts grouped by event
// and kind, then the agenda (DESIGN §9).
func digestAlert(g *heldGroup, agenda []EventRecord, now time.Time, loc, def *time.Location) watchers.Alert {
	var b strings.Builder
	event := "\x00"
	for _, grp := range digestGroups(g.items) {
		h := grp[0]
		if h.Alert.Event != event {
			event = h.Alert.Event
			if event == "" {
				b.WriteString("Not about an event\n")
			} else {
				fmt.Fprintf(&b, "Event %s\n", event)
			}
		}
		fmt.Fprintf(&b, "  %s (%d)\n", strings.ReplaceAll(string(h.Alert.Kind), "_", " "), len(grp))
		for _, it := range grp {
			fmt.Fprintf(&b, "    • %s\n", heldLine(it, loc))
		}
	}
	if len(agenda) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Agenda, next 7 days:\n")
		for _, ev := range agenda {
			b.WriteString("  • " + agendaLine(ev, now, def) + "\n")
		}
	}
	title := "Digest: " + Plural(len(g.items), "alert")
	if len(g.items) == 0 {
		title = "Digest: the agenda"
	}
	return watchers.Alert{
		Key:   summaryKey(KindDigest, g.channel, g.until),
		Kind:  KindDigest,
		At:    g.until,
		Title: title,
		Text:  strings.TrimRight(b.String(), "\n"),
	}
}

// agendaLine is one event of a digest's agenda: title, due, status, and
// whether its window is open now.
func agendaLine(ev EventRecord, now time.Time, def *time.Location) string {
	localize(&ev, def)
	st := ev.Current
	title := cmp.Or(st.Title, ev.Title)
	line := fmt.Sprintf("%s (%s) — %s, %s", title, ev.ID, st.Due.Describe(), st.Status)
	if !st.Due.Start.After(now) {
		line += ", open now"
	}
	return line
}

// agendaOf picks the agenda at now from events whose Current is their
// state at now: open (tentative or scheduled) with a window that is open
// now or starts within agendaWithin, by start.
func agendaOf(evs []EventRecord, now time.Time) []EventRecord {
	var out []EventRecord
	until := now.Add(agendaWithin)
	for _, ev := range evs {
		st := ev.Current
		if !st.Status.Active() || st.Due.IsZero() || !st.Due.Start.Before(until) {
			continue
		}
		end := st.Due.End
		if end.Equal(st.Due.Start) {
			end = end.Add(time.Nanosecond) // an instant is open at its moment
		}
		if !end.After(now) {
			continue
		}
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(a, b EventRecord) int {
		return cmp.Or(a.Current.Due.Start.Compare(b.Current.Due.Start), strings.Compare(a.ID, b.ID))
	})
	return out
}

// ReleaseHeld releases what channels' rules held back until now: each
// single alert by itself, a summary of several held by quiet hours, the
// digests due (DESIGN §9). Only the leader releases, like it runs the
// watchers; it returns how many messages it made ready to send.
func (b *Bot) ReleaseHeld(ctx context.Context, now time.Time) (int, error) {
	if f, leading := b.Leading(); !leading {
		return 0, nil
	} else if f.Lease != "" {
		ctx = WithFence(ctx, f)
	}
	n, err := b.rel.release(ctx, now)
	if !errors.Is(err, ErrNotLeader) {
		b.health.set("releases", err)
	}
	if n > 0 {
		b.kick()
	}
	return n, err
}

// releasePoll bounds the wait between release passes, so settings
// changed by another process are seen; releaseTick bounds it while a
// hold or a digest is pending.
const (
	releasePoll = time.Minute
	releaseTick = time.Second
)

// releaseLoop releases held deliveries when their holds end and posts
// digests at their times, until ctx ends.
func (b *Bot) releaseLoop(ctx context.Context) {
	// next is the earliest release the database holds, as last read, and
	// read is when: between reads the loop only compares the clock with
	// next, so a second's tick costs no query. It reads again when next
	// comes, when woken (a hold made or settings changed here, leadership
	// gained), and at least every releasePoll for what other replicas
	// changed.
	var next, read time.Time
	known := false
	for {
		now := b.now()
		failed := false
		if !known || !now.Before(next) || now.Sub(read) >= releasePoll {
			if _, err := b.ReleaseHeld(ctx, now); err != nil && ctx.Err() == nil {
				b.log.Error("held deliveries not released", "err", err)
				failed = true
			}
			known = false
			if _, leading := b.Leading(); leading {
				if at, ok, err := b.rel.next(ctx, now); err == nil && ok {
					next, read, known = at, now, true
				}
			}
		}
		// A follower looks again every releasePoll (and Lead wakes it).
		// While something waits, the clock is read again every
		// releaseTick: a long timer does not follow the wall clock when
		// it jumps (a suspended machine, an NTP step).
		wait := releasePoll
		if known {
			wait = min(releaseTick, max(next.Sub(b.now()), 10*time.Millisecond))
		}
		if failed {
			// A release that failed (a full disk) is tried again a tick
			// later, not at once.
			wait = max(wait, releaseTick)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-b.relWake:
			t.Stop()
			known = false
		case <-t.C:
		}
	}
}

// SettingsChanged wakes the release loop after a channel's settings
// changed, so a digest time or quiet hours set now take effect at once.
func (b *Bot) SettingsChanged() { b.wakeRelease() }

// wakeRelease makes the release loop plan again: settings changed, or a
// delivery was held and its hold's end may come before the loop's wait.
func (b *Bot) wakeRelease() {
	select {
	case b.relWake <- struct{}{}:
	default:
	}
}

// storeAgenda is serve's digest agenda: the open events as materialized
// in the database.
func (b *Bot) storeAgenda(ctx context.Context, now time.Time) ([]EventRecord, error) {
	evs, err := b.events.Events(ctx, EventFilter{From: now, To: now.Add(agendaWithin), Active: true})
	if err != nil {
		return nil, err
	}
	return agendaOf(evs, now), nil
}
