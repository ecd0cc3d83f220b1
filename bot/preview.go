package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// This file answers /alerts preview (DESIGN §9): what a channel will
// receive within a period. It is replay run from now over the database's
// current events, watchers, subscriptions, mutes, settings and held
// deliveries — the same pipeline and the same channel rules as serve —
// not a second planner.

// maxPreview bounds the period a preview replays.
const maxPreview = 366 * 24 * time.Hour

// previewLine is one thing the channel receives or is kept from, at the
// time the alert falls.
type previewLine struct {
	at   time.Time // when the alert falls
	kind watchers.Kind
	key  string
	text string
}

func (r *Router) preview(ctx context.Context, c *call) (string, error) {
	within := 7 * 24 * time.Hour
	if len(c.args) > 0 {
		d, err := watchers.ParseDuration(c.args[0])
		if err != nil || d <= 0 {
			return "", userErr("Bad period %s: use e.g. 7d, 2w or 30d.", echo(c.args[0]))
		}
		if d > maxPreview {
			return "", userErr("Previews look at most a year ahead (366d).")
		}
		within = d
	}
	mem, err := r.previewStore(ctx, c.now, within)
	if err != nil {
		return "", err
	}
	cfg := r.config()
	from, to := c.now, c.now.Add(within)
	if err := replayOn(ctx, mem, cfg, r.factories, from, to, true); err != nil {
		return "", err
	}
	lines := previewLines(mem, c.req.Channel, from, c.fmtTime)
	var b strings.Builder
	fmt.Fprintf(&b, "What this channel will receive until %s:\n", c.fmtTime(to))
	if len(lines) == 0 {
		b.WriteString("Nothing: no subscribed alert falls due in this period.")
		return b.String(), nil
	}
	for _, l := range lines {
		b.WriteString("• " + l.text + "\n")
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// previewStore copies what the bot holds now into replay's memory: every
// event with its changes, the watchers, subscriptions, mutes and settings,
// and the deliveries held now (they are released within the period like
// those the replay holds).
func (r *Router) previewStore(ctx context.Context, now time.Time, within time.Duration) (*memStore, error) {
	cfg := r.config()
	mem := newMemStore(&Config{Location: cfg.Location}, now)
	evs, err := r.eventStore.Events(ctx, EventFilter{})
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		ev.Hash = ""
		mem.events = append(mem.events, ev)
	}
	ws, err := r.watcherStore.Watchers(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		mem.watchers[w.Spec.ID] = WatcherRecord{Spec: w.Spec, Origin: w.Origin, State: w.State}
		// The running bot has looked at every event up to now: the
		// replay looks from now on, so it catches up nothing the bot
		// already sent or skipped.
		for _, ev := range evs {
			mem.next[[2]string{w.Spec.ID, ev.ID}] = now
		}
	}
	if mem.subs, err = r.channelStore.Subscriptions(ctx); err != nil {
		return nil, err
	}
	if mem.mutes, err = r.channelStore.Mutes(ctx, now); err != nil {
		return nil, err
	}
	if mem.settings, err = r.channelStore.ChannelSettings(ctx); err != nil {
		return nil, err
	}
	held, err := r.channelStore.HeldDue(ctx, now.Add(within).Add(maxPreview))
	if err != nil {
		return nil, err
	}
	for _, h := range held {
		mem.seen[h.Alert.Key] = true
		mem.hold(h)
		mem.alerts[h.Alert.Key] = ReplayAlert{At: h.HeldFrom, Kind: h.Alert.Kind, Key: h.Alert.Key, Title: h.Alert.Title}
	}
	return mem, nil
}

// previewLines reads a preview's replay for channel: each alert with the
// time it arrives, each one kept back with why, in the order they fall.
// Alerts that fall exactly at from are the running bot's to send at this
// moment, not the future's: they are left out.
func previewLines(mem *memStore, channel string, from time.Time, fmtTime func(time.Time) string) []previewLine {
	var out []previewLine
	add := func(at time.Time, kind watchers.Kind, key, text string) {
		out = append(out, previewLine{at: at, kind: kind, key: key, text: text})
	}
	label := func(kind watchers.Kind, title string) string {
		return fmt.Sprintf("[%s] %s", strings.ReplaceAll(string(kind), "_", " "), title)
	}
	for _, l := range mem.sorted() {
		if l.At.Equal(from) && l.HeldFrom.IsZero() && l.Kind != KindDigest {
			continue
		}
		switch {
		case l.Kind == KindDigest && slices.Contains(l.Channels, channel):
			add(l.At, l.Kind, l.Key, fmt.Sprintf("%s — arrives %s", label(l.Kind, l.Title), fmtTime(l.At)))
			for _, k := range l.Items {
				a := mem.alerts[k]
				add(a.At, a.Kind, k, fmt.Sprintf("%s — %s, not posted by itself: goes into the digest of %s", label(a.Kind, a.Title), fmtTime(a.At), fmtTime(l.At)))
			}
		case slices.Contains(l.Channels, channel) && !l.HeldFrom.IsZero():
			add(l.HeldFrom, l.Kind, l.Key, fmt.Sprintf("%s — %s, held by quiet hours: arrives %s", label(l.Kind, l.Title), fmtTime(l.HeldFrom), fmtTime(l.At)))
		case slices.Contains(l.Channels, channel):
			add(l.At, l.Kind, l.Key, fmt.Sprintf("%s — arrives %s", label(l.Kind, l.Title), fmtTime(l.At)))
		case slices.Contains(l.Muted, channel):
			var until time.Time
			for _, m := range mem.mutes {
				if m.Channel == channel && m.Until.After(l.At) && TargetMatches(m.Target, mem.full[l.Key]) && m.Until.After(until) {
					until = m.Until
				}
			}
			add(l.At, l.Kind, l.Key, fmt.Sprintf("%s — %s, not posted: muted until %s", label(l.Kind, l.Title), fmtTime(l.At), fmtTime(until)))
		}
	}
	// Still held when the period ends.
	for _, h := range mem.held {
		if h.done || h.Channel != channel {
			continue
		}
		why := "held by quiet hours: arrives " + fmtTime(h.Until)
		if h.Reason == HoldDigest {
			why = "not posted by itself: goes into the digest of " + fmtTime(h.Until)
		}
		add(h.HeldFrom, h.Alert.Kind, h.Alert.Key, fmt.Sprintf("%s — %s, %s", label(h.Alert.Kind, h.Alert.Title), fmtTime(h.HeldFrom), why))
	}
	slices.SortStableFunc(out, func(a, b previewLine) int { return a.at.Compare(b.at) })
	return out
}
