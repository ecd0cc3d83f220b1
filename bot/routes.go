package bot

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// ChannelStore keeps what channels receive: subscriptions and mutes. The
// run pipeline routes alerts with it; the commands change it.
type ChannelStore interface {
	Subscribe(ctx context.Context, s Subscription) (added bool, err error)
	Unsubscribe(ctx context.Context, channel, target string) (removed bool, err error)
	Subscriptions(ctx context.Context) ([]Subscription, error)
	Mute(ctx context.Context, m Mute) error
	Unmute(ctx context.Context, channel, target string) (removed bool, err error)
	// Mutes returns the mutes still in force at now.
	Mutes(ctx context.Context, now time.Time) ([]Mute, error)
	// A channel's quiet hours, digest and zone (DESIGN §9), and the
	// deliveries they hold, which follow the settings when they change.
	ChannelSettingsStore
	HeldPlanner
	HoldStore
}

// routeReader is the part of a ChannelStore that routing needs.
type routeReader interface {
	Subscriptions(ctx context.Context) ([]Subscription, error)
	Mutes(ctx context.Context, now time.Time) ([]Mute, error)
}

// TargetReader is implemented by stores that read the subscriptions of
// given targets (store.DB, by an index on target). A watcher's run then
// reads only the subscriptions its alerts match, not every one: the first
// alerts of a burst over thousands of subscribed channels wait for a
// handful of rows instead of thousands.
type TargetReader interface {
	SubscriptionsFor(ctx context.Context, targets []string) ([]Subscription, error)
}

// routeTable matches alerts to channels: subscriptions minus mutes. The
// subscriptions are indexed by target, so routing one alert costs what it
// matches, not every subscription: a burst of 5,000 alerts over 5,000
// subscriptions would otherwise make 25 million comparisons.
type routeTable struct {
	subs     []Subscription
	byTarget map[string][]string // target ("all", "tag:x", "watcher:id", "event:id") → channels
	mutes    map[string][]Mute   // by channel
	// enabled platforms; nil means every platform (replay)
	enabled map[string]bool
	// src, when set, makes the table lazy: it holds the subscriptions of
	// the targets in loaded only, and load reads more from src, or every
	// subscription from all once a batch needs many targets. subs is
	// empty while the table is lazy (admins needs a full table).
	src    TargetReader
	all    routeReader
	loaded map[string]bool
}

// lazyTargets is the most targets a lazy route table reads by target at
// once; a batch that needs more (a burst's batches of 1,000) has every
// subscription read instead, which costs about half as much per row as a
// lookup by target.
const lazyTargets = 256

// newRouteTable indexes subs and mutes.
func newRouteTable(subs []Subscription, mutes []Mute, enabled map[string]bool) *routeTable {
	rt := &routeTable{subs: subs, byTarget: map[string][]string{}, mutes: map[string][]Mute{}, enabled: enabled}
	rt.index(subs)
	for _, m := range mutes {
		rt.mutes[m.Channel] = append(rt.mutes[m.Channel], m)
	}
	return rt
}

// runRoutes returns the route table of a watcher's run: lazy when st
// reads subscriptions by target (the run calls load with its alerts before
// routing them), else every subscription read at once.
func runRoutes(ctx context.Context, st routeReader, now time.Time, enabled map[string]bool) (*routeTable, error) {
	tr, ok := st.(TargetReader)
	if !ok {
		return loadRoutes(ctx, st, now, enabled)
	}
	mutes, err := st.Mutes(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("load mutes: %w", err)
	}
	rt := newRouteTable(nil, mutes, enabled)
	rt.src, rt.all, rt.loaded = tr, st, map[string]bool{}
	return rt, nil
}

// load reads, in one query, the subscriptions of the targets that alerts
// match and a lazy table has not read yet; a full table has them all.
func (rt *routeTable) load(ctx context.Context, alerts ...watchers.Alert) error {
	if rt.src == nil {
		return nil
	}
	var missing []string
	for _, a := range alerts {
		alertTargets(a, func(t string) {
			if !rt.loaded[t] {
				rt.loaded[t] = true
				missing = append(missing, t)
			}
		})
	}
	if len(missing) == 0 {
		return nil
	}
	full := len(missing) > lazyTargets
	var (
		subs []Subscription
		err  error
	)
	if full {
		subs, err = rt.all.Subscriptions(ctx)
	} else {
		subs, err = rt.src.SubscriptionsFor(ctx, missing)
	}
	if err != nil {
		for _, t := range missing {
			delete(rt.loaded, t) // read again next time
		}
		return fmt.Errorf("load subscriptions: %w", err)
	}
	if full {
		// From now on a full table: the targets read before are read
		// again with the rest.
		rt.subs, rt.byTarget, rt.src, rt.loaded = subs, map[string][]string{}, nil, nil
	}
	rt.index(subs)
	return nil
}

// index adds subs to the channels by target.
func (rt *routeTable) index(subs []Subscription) {
	for _, s := range subs {
		rt.byTarget[s.Target] = append(rt.byTarget[s.Target], s.Channel)
	}
}

// loadRoutes reads every subscription and the mutes in force at now into
// a full route table.
func loadRoutes(ctx context.Context, st routeReader, now time.Time, enabled map[string]bool) (*routeTable, error) {
	subs, err := st.Subscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	mutes, err := st.Mutes(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("load mutes: %w", err)
	}
	return newRouteTable(subs, mutes, enabled), nil
}

// TargetMatches reports whether a subscription or mute target covers a.
func TargetMatches(target string, a watchers.Alert) bool {
	kind, val, _ := strings.Cut(target, ":")
	switch kind {
	case "all":
		return true
	case "tag":
		return slices.Contains(a.Tags, val)
	case "watcher":
		return a.Watcher == val
	case "event":
		return a.Event != "" && a.Event == val
	case ProposalsTarget:
		return a.Kind == watchers.KindDateProposal
	}
	return false
}

// on reports whether channel is on a platform this bot delivers to.
func (rt *routeTable) on(channel string) bool {
	if rt.enabled == nil {
		return true
	}
	p, _, _ := strings.Cut(channel, ":")
	return rt.enabled[p]
}

// channels returns the subscribed, un-muted channels for a, in a stable
// order, on platforms this bot runs.
func (rt *routeTable) channels(a watchers.Alert) []string { return rt.subscribed(a, false) }

// mutedChannels returns the channels subscribed to a that a mute keeps
// from it, in a stable order.
func (rt *routeTable) mutedChannels(a watchers.Alert) []string { return rt.subscribed(a, true) }

// subscribed returns the channels on this bot's platforms subscribed to
// a that are muted for it (muted true) or not (false), sorted.
func (rt *routeTable) subscribed(a watchers.Alert, muted bool) []string {
	var out []string
	add := func(target string) {
		for _, ch := range rt.byTarget[target] {
			if rt.on(ch) && rt.muted(ch, a) == muted {
				out = append(out, ch)
			}
		}
	}
	alertTargets(a, add)
	// A channel may match by several targets: sort, then drop repeats.
	sort.Strings(out)
	return slices.Compact(out)
}

// alertTargets calls fn with each subscription target that covers a.
func alertTargets(a watchers.Alert, fn func(target string)) {
	if a.Kind == watchers.KindDateProposal {
		// Proposals go where someone decides them, not to every channel
		// that follows the event or the source.
		fn(ProposalsTarget)
		return
	}
	fn("all")
	for _, t := range a.Tags {
		fn("tag:" + t)
	}
	if a.Watcher != "" {
		fn("watcher:" + a.Watcher)
	}
	if a.Event != "" {
		fn("event:" + a.Event)
	}
}

// muted reports whether a mute of channel covers a.
func (rt *routeTable) muted(channel string, a watchers.Alert) bool {
	for _, m := range rt.mutes[channel] {
		if TargetMatches(m.Target, a) {
			return true
		}
	}
	return false
}

// admins returns the channels subscribed to all, other than except: where
// the bot reports its own trouble. It needs a full table (loadRoutes).
func (rt *routeTable) admins(except string) []string {
	var out []string
	for _, s := range rt.subs {
		if s.Target == "all" && s.Channel != except && rt.on(s.Channel) && !slices.Contains(out, s.Channel) {
			out = append(out, s.Channel)
		}
	}
	return out
}

// loadRules reads the channels' settings; settings that no longer parse
// (a zone removed from the system's database, say) are logged and treated
// as none, so alerts still go out.
func loadRules(ctx context.Context, sr settingsReader, def *time.Location, log interface{ Warn(string, ...any) }) (channelRuleSet, error) {
	all, err := sr.ChannelSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("load channel settings: %w", err)
	}
	set, bad := compileAll(all, def)
	for _, err := range bad {
		log.Warn("channel settings ignored", "err", err)
	}
	return set, nil
}
