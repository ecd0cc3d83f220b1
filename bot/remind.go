package bot

// This file holds "Remind again" (the buttons under every alert) and
// personal reminders by direct message (DESIGN §9): later posts that go
// through the outbox like any alert once they are due.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// ScheduledPost is an alert to post to one channel later: a "Remind
// again" press, or a personal reminder at a lead of the user's own. When
// At comes it becomes an alert (its key is Alert.Key) with one delivery to
// Channel, through the outbox, so it is posted once (DESIGN §5).
type ScheduledPost struct {
	Alert   watchers.Alert // as it will be posted; At is the time to post it
	Channel string         // address, e.g. "slack:C0123ABCD" or "slack:dm:U0123ABCD"
	Owner   string         // the user who asked, e.g. "slack:U0123ABCD"
	Created time.Time
	// Holds is set when the post comes due: a channel's quiet hours or
	// digest hold a repeat like any alert (DESIGN §9).
	Holds []Hold
}

// LaterStore keeps scheduled posts. They are not deliveries until they
// are due: a pending delivery holds up its channel's later ones, to keep
// their order, and a post an hour away must not hold up the alerts
// meanwhile.
type LaterStore interface {
	// SchedulePost stores p; added is false when a post or an alert with
	// its key already exists (a second press of the same button).
	SchedulePost(ctx context.Context, p ScheduledPost) (added bool, err error)
	// PostDue turns platform's posts due at now into alerts, each with
	// its delivery, and removes them, in one transaction; it returns how
	// many alerts it created. check, when set, sees each post first and
	// returns it as it is to be posted, or false to drop it.
	PostDue(ctx context.Context, platform string, now time.Time, check func(ScheduledPost) (ScheduledPost, bool)) (int, error)
	// NextPost returns when platform's earliest post is due.
	NextPost(ctx context.Context, platform string) (time.Time, bool, error)
	// ScheduledPosts returns owner's posts to channel that are not due
	// yet, by time.
	ScheduledPosts(ctx context.Context, owner, channel string) ([]ScheduledPost, error)
	// CancelPosts removes owner's posts to channel about event ("" for
	// every event) and returns how many it removed.
	CancelPosts(ctx context.Context, owner, channel, event string) (int, error)
	// EventPosts returns every post about event, by time.
	EventPosts(ctx context.Context, event string) ([]ScheduledPost, error)
	// DeletePost removes the post with key; false when there was none.
	DeletePost(ctx context.Context, key string) (bool, error)
	// Delivery returns one delivery with its alert (ErrNotFound when
	// there is none).
	Delivery(ctx context.Context, id int64) (DeliveryRecord, error)
}

// LeadPlanner plans the reminders of ev at leads other than its own, for
// one person: the alerts as they will read when each is due, At set. cmd
// wires it to the countdown planner, so they are the same reminders a
// channel gets, at other times.
type LeadPlanner func(ev *watchers.Event, leads []watchers.Lead, now time.Time) ([]watchers.Alert, error)

// Remind again: the buttons' commands and their wording.
const (
	againWhenHour     = "1h"
	againWhenTomorrow = "tomorrow"
	// againMarker joins an alert's key to the channel and time of a
	// repeat: "<key>/again:<channel>@<unix>". A repeat of a repeat keeps
	// the original key, so keys do not grow with each press.
	againMarker = "/again:"
	// againRound rounds "in 1 hour" up, so that two presses in a row (a
	// double click, or Slack retrying the interaction) ask for the same
	// time and post once.
	againRound = 5 * time.Minute
	// againMax is the furthest a typed "again" may ask for.
	againMax = 30 * 24 * time.Hour
	// againNote starts the first line of a repeat's text.
	againNote = "Again, as "
)

// AgainButtons are the "Remind again" buttons under the alert of delivery
// id: in one hour, and tomorrow at the config's alert_time. They run
// "/alerts again <id> 1h|tomorrow".
func AgainButtons(deliveryID int64) []Button {
	id := strconv.FormatInt(deliveryID, 10)
	return []Button{
		{Label: "Remind again in 1 hour", Command: "again " + id + " " + againWhenHour},
		{Label: "Remind again tomorrow", Command: "again " + id + " " + againWhenTomorrow},
	}
}

// againKey is the key of alert key posted again to channel at at.
func againKey(key, channel string, at time.Time) string {
	base, _, _ := strings.Cut(key, againMarker)
	return base + againMarker + channel + "@" + strconv.FormatInt(at.Unix(), 10)
}

// againTime reads when of "again": 1h (any duration from 5 minutes to 30
// days, rounded up to five minutes) or tomorrow (the alert time of the
// next day in the config's zone).
func (r *Router) againTime(now time.Time, when string) (time.Time, error) {
	if strings.EqualFold(when, againWhenTomorrow) {
		cfg := r.config()
		y, m, d := now.In(cfg.Location).AddDate(0, 0, 1).Date()
		at := cfg.AlertTime
		return watchers.Date(y, m, d, int(at/time.Hour), int(at%time.Hour/time.Minute), 0, 0, cfg.Location), nil
	}
	dur, err := watchers.ParseDuration(when)
	if err != nil || dur < againRound || dur > againMax {
		return time.Time{}, userErr("When must be tomorrow or a time from 5m to 30d, e.g. 1h or 2h30m; got %s.", echo(when))
	}
	at := now.Add(dur)
	if rest := at.Sub(at.Truncate(againRound)); rest > 0 {
		at = at.Add(againRound - rest)
	}
	return at, nil
}

// again schedules the alert of a delivery to be posted again in the
// channel it went to: "again <delivery> <when>", what the Remind again
// buttons run.
func (r *Router) again(ctx context.Context, c *call) (string, error) {
	if r.later == nil {
		return "", userErr("Remind again is not available here.")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(c.args[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return "", userErr("The delivery must be a number, as the Remind again buttons send it, e.g. /alerts again 42 1h; got %s.", echo(c.args[0]))
	}
	d, err := r.later.Delivery(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return "", userErr("No alert was delivered with number %d.", id)
	} else if err != nil {
		return "", err
	}
	// Only where the alert went: this channel, or the caller's own direct
	// messages. Anything else would show an alert to a channel that did
	// not ask for it.
	dm, _ := DMAddress(c.req.User)
	if d.Channel != c.req.Channel && (dm == "" || d.Channel != dm) {
		return "", userErr("Alert %d was not posted here; press Remind again under the alert itself.", id)
	}
	if d.Alert.Kind == watchers.KindDeliveryFailed {
		return "", userErr("Delivery failure notices are not repeated.")
	}
	at, err := r.againTime(c.now, c.args[1])
	if err != nil {
		return "", err
	}
	a := d.Alert
	first := d.SentAt
	if first.IsZero() {
		first = d.Created
	}
	a.Key = againKey(a.Key, d.Channel, at)
	a.At = at
	// A countdown written when the alert was made would be wrong later;
	// the due date's field shows the time itself.
	a.Fields = slices.DeleteFunc(slices.Clone(a.Fields), func(f watchers.Field) bool { return f.Name == "Countdown" })
	if strings.HasPrefix(a.Text, againNote) {
		// A repeat of a repeat: one note, the newest.
		_, a.Text, _ = strings.Cut(a.Text, "\n")
	}
	// The channel reads it: the config's zone, not the presser's.
	note := fmt.Sprintf("%s%s asked; first posted %s.", againNote, c.req.User, first.In(r.loc()).Format("2006-01-02 15:04 MST"))
	if a.Text == "" {
		a.Text = note
	} else {
		a.Text = note + "\n" + a.Text
	}
	added, err := r.later.SchedulePost(ctx, ScheduledPost{Alert: a, Channel: d.Channel, Owner: c.req.User, Created: c.now})
	if err != nil {
		return "", err
	}
	if !added {
		return fmt.Sprintf("Already set: %q comes again %s.", d.Alert.Title, c.fmtTime(at)), nil
	}
	where := "in this channel"
	if d.Channel == dm {
		where = "by direct message"
	}
	return fmt.Sprintf("%q comes again %s at %s (%s).", d.Alert.Title, where, c.fmtTime(at), Countdown(c.now, at, c.zone)), nil
}

// dmOf returns the caller's direct-message address, or the error that
// says why there is none.
func dmOf(c *call) (string, error) {
	dm, ok := DMAddress(c.req.User)
	if !ok {
		return "", refuse("Personal reminders come by direct message on Slack or Discord; run this there.")
	}
	return dm, nil
}

// leadWords splits the leads of "remind me": words, or one Discord value
// with spaces or commas.
func leadWords(args []string) []string {
	var out []string
	for _, a := range args {
		out = append(out, strings.FieldsFunc(a, func(r rune) bool { return r == ' ' || r == ',' || r == '、' })...)
	}
	return out
}

// remindMe subscribes the caller's direct messages to a target, and with
// leads schedules the event's reminders at those leads for the caller
// only.
func (r *Router) remindMe(ctx context.Context, c *call) (string, error) {
	dm, err := dmOf(c)
	if err != nil {
		return "", err
	}
	t, err := r.checkTarget(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	words := leadWords(c.args[1:])
	var leads []watchers.Lead
	for _, w := range words {
		l, err := watchers.ParseLead(w)
		if err != nil {
			return "", userErr("Bad lead %s: use e.g. 3d, 12h, 2w or 1h30m, as in /alerts remind me event:upper-house-election-2028 3d 1d.", echo(w))
		}
		if !slices.Contains(leads, l) {
			leads = append(leads, l)
		}
	}
	kind, evID, _ := strings.Cut(t, ":")
	if len(leads) > 0 && kind != "event" {
		return "", userErr("Leads of your own need one event, e.g. /alerts remind me event:upper-house-election-2028 3d 1d; %s has none.", showTarget(t))
	}
	if len(leads) > 0 && r.later == nil {
		return "", userErr("Leads of your own are not available here.")
	}
	added, err := r.channelStore.Subscribe(ctx, Subscription{Channel: dm, Target: t, Origin: "chat", Created: c.now})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if added {
		fmt.Fprintf(&b, "You will get %s by direct message.", showTarget(t))
	} else {
		fmt.Fprintf(&b, "You already get %s by direct message.", showTarget(t))
	}
	if len(leads) == 0 {
		if added {
			r.audit(ctx, c, "remind me", t, "", dm)
		}
		b.WriteString(" Stop with /alerts forget " + c.args[0] + ".")
		return b.String(), nil
	}
	rec, err := r.getEvent(ctx, evID)
	if err != nil {
		return "", err
	}
	posts, skipped, err := r.personalPosts(rec, dm, c, leads)
	if err != nil {
		return "", err
	}
	// A new list of leads replaces the old one (Remind again presses in
	// the DM stay).
	old, err := r.later.ScheduledPosts(ctx, c.req.User, dm)
	if err != nil {
		return "", err
	}
	for _, p := range old {
		if _, _, ok := personalKey(p.Alert.Key); ok && p.Alert.Event == evID {
			if _, err := r.later.DeletePost(ctx, p.Alert.Key); err != nil {
				return "", err
			}
		}
	}
	var lines []string
	for _, p := range posts {
		if _, err := r.later.SchedulePost(ctx, p); err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprintf("• %s", c.fmtTime(p.Alert.At)))
	}
	r.audit(ctx, c, "remind me", t, "", dm+" at leads "+leadList(leads))
	if len(lines) > 0 {
		fmt.Fprintf(&b, "\nYour own reminders of %s:\n%s", evID, strings.Join(lines, "\n"))
	} else {
		fmt.Fprintf(&b, "\nNone of your leads (%s) is still ahead for %s.", leadList(leads), evID)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "\nAlready among the event's own reminders: %s.", strings.Join(skipped, ", "))
	}
	b.WriteString("\nIf the date changes, they follow it. Stop with /alerts forget " + c.args[0] + ".")
	return b.String(), nil
}

// personalPosts plans rec's reminders at leads for the user of dm: the
// leads the event already has are left out (its own reminders come through
// the subscription), and so are times already past.
func (r *Router) personalPosts(rec EventRecord, dm string, c *call, leads []watchers.Lead) ([]ScheduledPost, []string, error) {
	own := rec.LeadTimes
	if own == nil {
		own = r.config().LeadTimes
	}
	var extra []watchers.Lead
	var skipped []string
	for _, l := range leads {
		if slices.Contains(own, l) {
			skipped = append(skipped, l.String())
			continue
		}
		extra = append(extra, l)
	}
	if len(extra) == 0 {
		return nil, skipped, nil
	}
	if r.planLeads == nil {
		return nil, nil, errors.New("no lead planner wired")
	}
	ev := rec.Event
	alerts, err := r.planLeads(&ev, extra, c.now)
	if err != nil {
		return nil, nil, userErr("Cannot plan reminders for %s: %v.", rec.ID, err)
	}
	var out []ScheduledPost
	for _, a := range alerts {
		if !a.At.After(c.now) {
			continue
		}
		// "personal/<address>/<event>/reminder/<lead>@<due>": the user's
		// own, beside the channel's keys.
		a.Key = "personal/" + dm + "/" + strings.TrimPrefix(a.Key, a.Watcher+"/")
		a.Watcher = "personal"
		out = append(out, ScheduledPost{Alert: a, Channel: dm, Owner: c.req.User, Created: c.now})
	}
	return out, skipped, nil
}

func leadList(leads []watchers.Lead) string {
	s := make([]string, len(leads))
	for i, l := range leads {
		s[i] = l.String()
	}
	return strings.Join(s, " ")
}

// reminders lists the caller's personal reminders: the targets their
// direct messages get, and the posts scheduled for them.
func (r *Router) reminders(ctx context.Context, c *call) (string, error) {
	dm, err := dmOf(c)
	if err != nil {
		return "", err
	}
	subs, err := r.channelStore.Subscriptions(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range subs {
		if s.Channel == dm {
			if b.Len() == 0 {
				b.WriteString("You get by direct message:\n")
			}
			fmt.Fprintf(&b, "• %s\n", showTarget(s.Target))
		}
	}
	if b.Len() == 0 {
		b.WriteString("You have no personal reminders. Try /alerts remind me #budget or /alerts remind me event:<id> 3d 1d.\n")
	}
	if r.later != nil {
		posts, err := r.later.ScheduledPosts(ctx, c.req.User, dm)
		if err != nil {
			return "", err
		}
		for i, p := range posts {
			if i == 0 {
				b.WriteString("Coming:\n")
			}
			fmt.Fprintf(&b, "• %s: %s\n", c.fmtTime(p.Alert.At), p.Alert.Title)
		}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// forget ends one of the caller's personal reminders, with the reminders
// at leads of their own for that event.
func (r *Router) forget(ctx context.Context, c *call) (string, error) {
	dm, err := dmOf(c)
	if err != nil {
		return "", err
	}
	t, err := NormalizeTarget(c.args[0])
	if err != nil {
		return "", userErr("%s.", strings.TrimSuffix(err.Error(), "."))
	}
	removed, err := r.channelStore.Unsubscribe(ctx, dm, t)
	if err != nil {
		return "", err
	}
	cancelled := 0
	if kind, ev, _ := strings.Cut(t, ":"); kind == "event" && r.later != nil {
		if cancelled, err = r.later.CancelPosts(ctx, c.req.User, dm, ev); err != nil {
			return "", err
		}
	}
	if !removed && cancelled == 0 {
		return "", userErr("You have no personal reminder for %s; see /alerts reminders.", showTarget(t))
	}
	r.audit(ctx, c, "forget", t, dm, "")
	msg := fmt.Sprintf("You will no longer get %s by direct message.", showTarget(t))
	if cancelled > 0 {
		msg += fmt.Sprintf(" %s of your own cancelled.", Plural(cancelled, "reminder"))
	}
	return msg, nil
}

// postDue turns platform's scheduled posts that are due into deliveries,
// and wakes the platform's worker when it made some. A failure is logged:
// the posts stay and are tried on the next pass.
func (b *Bot) postDue(ctx context.Context, platform string, now time.Time) {
	// Every delivery pass comes here: look first (an indexed read), so a
	// pass with nothing due writes nothing and reads no settings.
	if at, ok := b.nextPost(ctx, platform); !ok || at.After(now) {
		return
	}
	var again []ScheduledPost
	rules, rerr := loadRules(ctx, b.pipe.store, b.Config().Location, b.log)
	if rerr != nil {
		b.log.Error("scheduled posts wait: channel settings unreadable; trying again on the next pass", "platform", platform, "err", rerr)
		return
	}
	held := false
	n, err := b.later.PostDue(ctx, platform, now, func(p ScheduledPost) (ScheduledPost, bool) {
		p, ok, next := b.stillDue(ctx, p)
		again = append(again, next...)
		if ok {
			p.Holds = rules.holds(p.Alert.Kind, now, []string{p.Channel})
			held = held || len(p.Holds) > 0
		}
		return p, ok
	})
	if err != nil {
		b.log.Error("scheduled posts not made; trying again on the next pass", "platform", platform, "err", err)
		return
	}
	for _, p := range again {
		if _, err := b.later.SchedulePost(ctx, p); err != nil {
			b.log.Error("personal reminder for a new date not scheduled", "key", p.Alert.Key, "err", err)
		}
	}
	if n > 0 {
		b.log.Debug("scheduled posts due", "platform", platform, "alerts", n)
		if held {
			b.wakeRelease()
		}
	}
}

// personalKey reads the lead of a personal reminder's key,
// "personal/<address>/<event>/reminder/<lead>@<due>".
func personalKey(key string) (prefix string, lead watchers.Lead, ok bool) {
	head, _, found := strings.Cut(key, "@")
	i := strings.LastIndex(head, "/reminder/")
	if !found || i < 0 || !strings.HasPrefix(key, "personal/") {
		return "", watchers.Lead{}, false
	}
	l, err := watchers.ParseLead(head[i+len("/reminder/"):])
	if err != nil {
		return "", watchers.Lead{}, false
	}
	return head[:i], l, true
}

// stillDue checks a personal reminder against its event as it is now: it
// was planned when the user asked, and the event may have changed since.
// Planned again at the same lead, a reminder with the same key is posted,
// worded afresh; one whose date moved is dropped, and the reminder of
// the new date is returned in next when it is still ahead; none is sent
// once the event happened, was cancelled or removed (DESIGN §4: reminders
// only while tentative or scheduled). Other posts pass unchanged.
func (b *Bot) stillDue(ctx context.Context, p ScheduledPost) (ScheduledPost, bool, []ScheduledPost) {
	prefix, lead, ok := personalKey(p.Alert.Key)
	if !ok || b.plan == nil {
		return p, true, nil
	}
	rec, err := b.events.Event(ctx, p.Alert.Event)
	if errors.Is(err, ErrNotFound) {
		b.log.Info("personal reminder dropped: its event is gone", "key", p.Alert.Key)
		return p, false, nil
	} else if err != nil {
		// Better the reminder as planned than none.
		b.log.Warn("personal reminder not checked against its event", "key", p.Alert.Key, "err", err)
		return p, true, nil
	}
	same, next, err := b.replan(rec, p, prefix, lead, p.Alert.At.Add(-time.Nanosecond))
	if err != nil {
		b.log.Warn("personal reminder not checked against its event", "key", p.Alert.Key, "err", err)
		return p, true, nil
	}
	if same != nil {
		return *same, true, nil
	}
	b.log.Info("personal reminder dropped: its event changed", "key", p.Alert.Key, "replanned", len(next))
	return p, false, next
}

// replan plans p's lead again for rec as it is now, from from on: same is
// p worded afresh when the plan still has it (same key, same time), else
// nil, and next the plan's other reminders after from.
func (b *Bot) replan(rec EventRecord, p ScheduledPost, prefix string, lead watchers.Lead, from time.Time) (same *ScheduledPost, next []ScheduledPost, err error) {
	planned, err := b.plan(&rec.Event, []watchers.Lead{lead}, from)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range planned {
		a.Key = prefix + "/reminder/" + strings.TrimPrefix(a.Key, a.Watcher+"/"+rec.ID+"/reminder/")
		a.Watcher = "personal"
		np := ScheduledPost{Alert: a, Channel: p.Channel, Owner: p.Owner, Created: p.Created}
		if a.Key == p.Alert.Key && a.At.Equal(p.Alert.At) {
			same = &np
			continue
		}
		next = append(next, np)
	}
	if same != nil {
		return same, nil, nil
	}
	return nil, next, nil
}

// replanPersonal plans the personal reminders of event again after it
// changed (its changed alert was made), so that a reminder whose date
// moved comes at the new time, even when that is earlier than the old
// one. Posts the new plan still has stay as they are.
func (b *Bot) replanPersonal(ctx context.Context, event string, now time.Time) {
	if b.later == nil || b.plan == nil {
		return
	}
	posts, err := b.later.EventPosts(ctx, event)
	if err != nil || len(posts) == 0 {
		if err != nil {
			b.log.Warn("personal reminders not replanned", "event", event, "err", err)
		}
		return
	}
	rec, err := b.events.Event(ctx, event)
	if err != nil {
		// A removed event's reminders are dropped when they come due.
		return
	}
	for _, p := range posts {
		prefix, lead, ok := personalKey(p.Alert.Key)
		if !ok {
			continue
		}
		same, next, err := b.replan(rec, p, prefix, lead, now)
		if err != nil {
			b.log.Warn("personal reminder not replanned", "key", p.Alert.Key, "err", err)
			continue
		}
		if same != nil {
			continue
		}
		if _, err := b.later.DeletePost(ctx, p.Alert.Key); err != nil {
			b.log.Warn("personal reminder not replanned", "key", p.Alert.Key, "err", err)
			continue
		}
		for _, np := range next {
			if _, err := b.later.SchedulePost(ctx, np); err != nil {
				b.log.Warn("personal reminder not replanned", "key", np.Alert.Key, "err", err)
			}
		}
		b.log.Info("personal reminder replanned after a change", "key", p.Alert.Key, "new", len(next))
	}
}

// wakeDuePosts wakes the delivery workers of platforms with a scheduled
// post due at now. A worker sleeps until its next post by a timer; this
// backstop on every scheduled check catches a post whose timer is late
// because the clock jumped (a machine resumed from sleep, a test clock).
func (b *Bot) wakeDuePosts(ctx context.Context, now time.Time) {
	for name := range b.platforms {
		if at, ok := b.nextPost(ctx, name); ok && !at.After(now) {
			b.wake(name)
		}
	}
}

// nextPost returns when platform's next scheduled post is due.
func (b *Bot) nextPost(ctx context.Context, platform string) (time.Time, bool) {
	if b.later == nil {
		return time.Time{}, false
	}
	at, ok, err := b.later.NextPost(ctx, platform)
	if err != nil {
		return time.Time{}, false
	}
	return at, ok
}
