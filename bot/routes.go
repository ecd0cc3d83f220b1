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
}

// routeReader is the part of a ChannelStore that routing needs.
type routeReader interface {
	Subscriptions(ctx context.Context) ([]Subscription, error)
	Mutes(ctx context.Context, now time.Time) ([]Mute, error)
}

// routeTable matches alerts to channels: subscriptions minus mutes.
type routeTable struct {
	subs  []Subscription
	mutes []Mute
	// enabled platforms; nil means every platform (replay)
	enabled map[string]bool
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
	return &routeTable{subs: subs, mutes: mutes, enabled: enabled}, nil
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
func (rt *routeTable) channels(a watchers.Alert) []string {
	var out []string
	for _, s := range rt.subs {
		if slices.Contains(out, s.Channel) || !TargetMatches(s.Target, a) || !rt.on(s.Channel) {
			continue
		}
		muted := false
		for _, m := range rt.mutes {
			if m.Channel == s.Channel && TargetMatches(m.Target, a) {
				muted = true
				break
			}
		}
		if !muted {
			out = append(out, s.Channel)
		}
	}
	sort.Strings(out)
	return out
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
