package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// Truncate cuts s to at most max runes with an ellipsis, without logging;
// see watchers.Truncate, the one rule for every limit. Text fitted to a
// platform limit goes through CutText instead, which logs the cut.
func Truncate(s string, max int) (string, bool) { return watchers.Truncate(s, max) }

// Countdown describes how far t is from now for people: "today",
// "tomorrow", "in 4 days", "2 days ago", "in 3 hours". Day counts are local
// calendar days in loc, so they are right across DST changes.
func Countdown(now, t time.Time, loc *time.Location) string {
	nl, tl := now.In(loc), t.In(loc)
	days := civilDays(tl) - civilDays(nl)
	switch {
	case days == 0:
		d := t.Sub(now)
		switch {
		case d >= time.Hour:
			return fmt.Sprintf("today, in %s", hoursMinutes(d))
		case d > 0:
			return fmt.Sprintf("today, in %d min", int(d.Minutes()+0.5))
		}
		return "today"
	case days == 1:
		return "tomorrow"
	case days == -1:
		return "yesterday"
	case days > 1:
		return fmt.Sprintf("in %d days", days)
	}
	return fmt.Sprintf("%d days ago", -days)
}

func hoursMinutes(d time.Duration) string {
	h := int(d / time.Hour)
	m := int((d % time.Hour) / time.Minute)
	if m == 0 {
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh %02dm", h, m)
}

// civilDays numbers local calendar days, independent of DST.
func civilDays(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// DueText describes a state's due date with its precision and countdown,
// e.g. "Sun 20 July 2025 (in 12 days)" or "expected in February 2025 — exact
// date not set (window opens in 9 days)".
func DueText(st watchers.State, now time.Time) string {
	d := st.Due
	loc := d.Start.Location()
	switch {
	case d.Coarse():
		switch {
		case now.Before(d.Start):
			return fmt.Sprintf("expected in %s — exact date not set (window opens %s)", d.Describe(), Countdown(now, d.Start, loc))
		case now.Before(d.End):
			return fmt.Sprintf("expected in %s — exact date not set (window open, closes %s)", d.Describe(), Countdown(now, d.End.Add(-time.Second), loc))
		}
		return fmt.Sprintf("expected in %s — window closed", d.Describe())
	case d.Precision == watchers.Day:
		return fmt.Sprintf("%s (%s)", d.Describe(), Countdown(now, d.Start, loc))
	}
	return fmt.Sprintf("%s (%s)", d.Describe(), Countdown(now, d.Start, loc))
}

// MessageFor turns an alert into the platform-neutral message.
func MessageFor(a watchers.Alert) Message {
	m := Message{
		Kind:     a.Kind,
		Severity: a.Severity,
		Title:    a.Title,
		Text:     a.Text,
		Fields:   a.Fields,
		Link:     a.Link,
		Tags:     a.Tags,
		Footer:   a.Watcher + " · " + strings.ReplaceAll(string(a.Kind), "_", " "),
		AlertKey: a.Key,
		Event:    a.Event,
	}
	if a.Kind == watchers.KindDateProposal {
		m.Buttons = proposalButtons(a)
		return m
	}
	if a.Event != "" {
		m.Buttons = append(m.Buttons, Button{Label: "Mute 1 day", Command: "mute event:" + a.Event + " 1d"})
		switch a.Kind {
		case watchers.KindReminder, watchers.KindWindowOpen, watchers.KindOverdue:
			m.Buttons = append(m.Buttons, Button{Label: "Mark happened", Command: "event set " + a.Event + " status=happened", AdminOnly: true})
		}
	} else if a.Watcher != "" {
		m.Buttons = append(m.Buttons, Button{Label: "Mute 1 day", Command: "mute watcher:" + a.Watcher + " 1d"})
	}
	return m
}

// PlainText renders a message as readable text, for the console and for
// notification fallbacks.
func PlainText(m Message, loc *time.Location) string {
	var b strings.Builder
	icon := map[watchers.Severity]string{watchers.Info: "•", watchers.Notice: "▶", watchers.Warning: "⚠", watchers.Critical: "‼"}[m.Severity]
	fmt.Fprintf(&b, "%s [%s] %s\n", icon, strings.ReplaceAll(string(m.Kind), "_", " "), m.Title)
	if m.Text != "" {
		for _, line := range strings.Split(m.Text, "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	for _, f := range m.Fields {
		v := f.Value
		if !f.Time.IsZero() && loc != nil {
			v = f.Time.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
			// A value that only restates the time in UTC (a feed item's
			// publication) is a fallback for platforms that cannot show
			// times: here the time reads in the channel's zone. Other
			// values say more than the time ("February 2025") and stay.
			if f.Value != "" && f.Value != v && f.Value != f.Time.UTC().Format("2006-01-02 15:04 UTC") {
				v = f.Value
			}
		}
		fmt.Fprintf(&b, "  %s: %s\n", f.Name, v)
	}
	if len(m.Tags) > 0 {
		fmt.Fprintf(&b, "  tags: #%s\n", strings.Join(m.Tags, " #"))
	}
	if m.Link != "" {
		fmt.Fprintf(&b, "  source: %s\n", m.Link)
	}
	// Buttons are commands to type here: each with what pressing it runs.
	for _, btn := range m.Buttons {
		who := ""
		if btn.AdminOnly {
			who = " (admins)"
		}
		fmt.Fprintf(&b, "  [%s] /alerts %s%s\n", btn.Label, btn.Command, who)
	}
	if m.Footer != "" {
		fmt.Fprintf(&b, "  — %s\n", m.Footer)
	}
	return b.String()
}
