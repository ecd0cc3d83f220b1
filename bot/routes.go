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
}

// newRouteTable indexes subs and mutes.
func newRouteTable(subs []Subscription, mutes []Mute, enabled map[string]bool) *routeTable {
	rt := &routeTable{subs: subs, byTarget: map[string][]string{}, mutes: map[string][]Mute{}, enabled: enabled}
	for _, s := range subs {
		rt.byTarget[s.Target] = append(rt.byTarget[s.Target], s.Channel)
	}
	for _, m := range mutes {
		rt.mutes[m.Channel] = append(rt.mutes[m.Channel], m)
	}
	return rt
}

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
	if a.Kind == watchers.KindDateProposal {
		// Proposals go where someone decides them, not to every channel
		// that follows the event or the source.
		add(ProposalsTarget)
		sort.Strings(out)
		return slices.Compact(out)
	}
	add("all")
	for _, t := range a.Tags {
		add("tag:" + t)
	}
	if a.Watcher != "" {
		add("watcher:" + a.Watcher)
	}
	if a.Event != "" {
		add("event:" + a.Event)
	}
	// A channel may match by several targets: sort, then drop repeats.
	sort.Strings(out)
	return slices.Compact(out)
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
// the bot reports its own trouble.
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
