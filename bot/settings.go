package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// This file answers /alerts settings (DESIGN §9): a channel's quiet
// hours, digest and zone.

const settingsUsage = "settings quiet 22:00-07:00 [zone] | settings quiet off | settings digest daily 08:00 [zone] | " +
	"settings digest weekly mon 08:00 [zone] | settings digest off | settings zone Asia/Tokyo"

// channelSettings returns channel's settings; zero when it has none.
func channelSettings(ctx context.Context, st ChannelSettingsStore, channel string) (ChannelSettings, error) {
	all, err := st.ChannelSettings(ctx)
	if err != nil {
		return ChannelSettings{}, err
	}
	for _, s := range all {
		if s.Channel == channel {
			return s, nil
		}
	}
	return ChannelSettings{Channel: channel}, nil
}

func settingsJSON(s ChannelSettings) string {
	if s.Empty() {
		return ""
	}
	data, _ := json.Marshal(struct{ Quiet, Digest, Zone string }{s.Quiet, s.Digest, s.Zone})
	return string(data)
}

func (r *Router) settings(ctx context.Context, c *call) (string, error) {
	st := r.channelStore
	cur, err := channelSettings(ctx, st, c.req.Channel)
	if err != nil {
		return "", err
	}
	if len(c.args) == 0 {
		return r.showSettings(cur), nil
	}
	next := cur
	// Discord sends the value as one option: split it into words as
	// typed text is.
	what, rest := strings.ToLower(c.args[0]), strings.Fields(strings.Join(c.args[1:], " "))
	// A trailing word that is not part of the value is the zone.
	zoneArg := func(n int) error {
		if len(rest) == n+1 {
			loc, err := loadUserZone(rest[n])
			if err != nil {
				return userErr("%s. Usage: %s", capitalize(err.Error()), settingsUsage)
			}
			next.Zone = loc.String()
			return nil
		}
		if len(rest) > n+1 {
			return userErr("Too many words: %s. Usage: %s", echo(strings.Join(rest[n+1:], " ")), settingsUsage)
		}
		return nil
	}
	switch what {
	case "quiet":
		if len(rest) == 0 {
			return "", userErr("Missing the quiet hours, e.g. /alerts settings quiet 22:00-07:00 or /alerts settings quiet off.")
		}
		if strings.EqualFold(rest[0], "off") && len(rest) == 1 {
			next.Quiet = ""
			break
		}
		q, err := ParseQuiet(rest[0])
		if err != nil {
			return "", userErr("%s; e.g. /alerts settings quiet 22:00-07:00 Asia/Tokyo.", capitalize(strings.TrimPrefix(err.Error(), "quiet: ")))
		}
		next.Quiet = q
		if err := zoneArg(1); err != nil {
			return "", err
		}
	case "digest":
		if len(rest) == 0 {
			return "", userErr("Missing the digest time, e.g. /alerts settings digest daily 08:00 or /alerts settings digest weekly mon 08:00.")
		}
		if strings.EqualFold(rest[0], "off") && len(rest) == 1 {
			next.Digest = ""
			break
		}
		n := 2
		if strings.EqualFold(rest[0], "weekly") {
			n = 3
		}
		if len(rest) < n {
			n = len(rest)
		}
		d, err := ParseDigest(strings.Join(rest[:n], " "))
		if err != nil {
			return "", userErr("%s; e.g. /alerts settings digest daily 08:00 or /alerts settings digest weekly mon 08:00.", capitalize(strings.TrimPrefix(err.Error(), "digest: ")))
		}
		next.Digest = d
		if err := zoneArg(n); err != nil {
			return "", err
		}
	case "zone":
		if len(rest) != 1 {
			return "", userErr("Give one IANA zone, e.g. /alerts settings zone Asia/Tokyo (or off for the bot's, %s).", r.loc())
		}
		if strings.EqualFold(rest[0], "off") {
			next.Zone = ""
			break
		}
		loc, err := loadUserZone(rest[0])
		if err != nil {
			return "", userErr("%s, e.g. /alerts settings zone Asia/Tokyo.", capitalize(err.Error()))
		}
		next.Zone = loc.String()
	default:
		return "", userErr("Unknown setting %s. Usage: %s", echo(c.args[0]), settingsUsage)
	}
	next.Origin, next.UpdatedAt, next.UpdatedBy = "chat", c.now, c.req.User
	if err := st.SetChannelSettings(ctx, next); err != nil {
		return "", err
	}
	if _, err := replanHeld(ctx, r.channelStore, next, r.loc(), c.now); err != nil {
		// The settings are stored; held alerts keep their old release
		// time, which still comes.
		r.log.Error("held alerts not planned again for new settings", "channel", c.req.Channel, "err", err)
	}
	r.audit(ctx, c, "settings "+what, c.req.Channel, settingsJSON(cur), settingsJSON(next))
	if s, ok := r.schedules.(interface{ SettingsChanged() }); ok {
		s.SettingsChanged()
	}
	return fmt.Sprintf("Settings changed by %s.\n%s", c.req.User, r.showSettings(next)), nil
}

// showSettings describes a channel's settings in words.
func (r *Router) showSettings(s ChannelSettings) string {
	zone := s.Zone
	if zone == "" {
		zone = r.loc().String()
	}
	var b strings.Builder
	b.WriteString("This channel's settings:\n")
	if s.Quiet == "" {
		b.WriteString("• Quiet hours: none (set with /alerts settings quiet 22:00-07:00)\n")
	} else {
		fmt.Fprintf(&b, "• Quiet hours: %s %s — alerts in them are held and posted when they end\n", s.Quiet, zone)
	}
	if s.Digest == "" {
		b.WriteString("• Digest: none; every alert is posted as it comes (set with /alerts settings digest daily 08:00)\n")
	} else {
		fmt.Fprintf(&b, "• Digest: %s %s — reminders, window openings, feed items, page, calendar and threshold alerts are collected into it, with the agenda of the next 7 days\n", s.Digest, zone)
	}
	if s.Zone == "" {
		fmt.Fprintf(&b, "• Zone: %s, the bot's", zone)
	} else {
		fmt.Fprintf(&b, "• Zone: %s", zone)
	}
	if s.Origin != "" {
		by := s.UpdatedBy
		if s.Origin == "config" {
			by = "the config file"
		}
		fmt.Fprintf(&b, "\nLast changed by %s.", by)
	}
	return b.String()
}
