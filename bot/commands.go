package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/bizdays"
)

// handlers binds each command of the table (Commands) to the method that
// runs it; NewRouter refuses a name in one and not the other.
func (r *Router) handlers() map[string]handler {
	return map[string]handler{
		"help":             func(ctx context.Context, c *call) (string, error) { return r.help(c.req, c.args), nil },
		"upcoming":         r.upcoming,
		"event":            r.event,
		"history":          r.history,
		"watchers":         r.watchers,
		"subscribe":        r.subscribe,
		"unsubscribe":      r.unsubscribe,
		"subscriptions":    r.subscriptions,
		"mute":             r.mute,
		"unmute":           r.unmute,
		"event add":        r.eventAdd,
		"event set":        r.eventSet,
		"event remove":     r.eventRemove,
		"watcher add":      r.watcherAdd,
		"watcher set":      r.watcherSet,
		"watcher pause":    r.watcherPause(true),
		"watcher resume":   r.watcherPause(false),
		"watcher run":      r.watcherRun,
		"watcher remove":   r.watcherRemove,
		"events":           r.events,
		"tz":               r.tz,
		"audit":            r.auditCmd,
		"timeline":         r.timeline,
		"again":            r.again,
		"remind me":        r.remindMe,
		"reminders":        r.reminders,
		"forget":           r.forget,
		"proposals":        r.proposalsCmd,
		"proposal confirm": r.proposalConfirm,
		"proposal dismiss": r.proposalDismiss,
		"settings":         r.settings,
		"preview":          r.preview,
	}
}

func (r *Router) loc() *time.Location { return r.config().Location }

func (r *Router) upcoming(ctx context.Context, c *call) (string, error) {
	tag, within, err := tagWithin(c.args, 90*24*time.Hour)
	if err != nil {
		return "", err
	}
	if err := refreshEvents(ctx, r.eventStore, c.now, r.loc(), r.log); err != nil {
		return "", err
	}
	const limit = 20
	evs, err := r.eventStore.Events(ctx, EventFilter{From: c.now, To: c.now.Add(within), Tag: tag, Active: true, Limit: limit + 1, Brief: true})
	if err != nil {
		return "", err
	}
	scope := "within " + watchers.FormatDuration(within)
	if tag != "" {
		scope = "#" + tag + " " + scope
	}
	if len(evs) == 0 {
		return fmt.Sprintf("No upcoming events %s. Try a longer window, e.g. /alerts upcoming 400d.", scope), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Upcoming events %s:\n", scope)
	for i, e := range evs {
		localize(&e, r.loc())
		if i == limit {
			b.WriteString("… and more; narrow it with #tag or a shorter window.\n")
			break
		}
		st := dueIn(e.Current, c.zone)
		fmt.Fprintf(&b, "• %s — %s [%s] (%s)\n", st.Title, DueText(st, c.now), st.Status, e.ID)
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// tagWithin reads the optional [#tag] [within] words of upcoming and
// timeline, in either order; within is def when not given.
func tagWithin(args []string, def time.Duration) (tag string, within time.Duration, err error) {
	within = def
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "#") || strings.HasPrefix(strings.ToLower(a), "tag:"):
			t, err := NormalizeTarget(a)
			if err != nil || !strings.HasPrefix(t, "tag:") {
				return "", 0, userErr("Bad tag %s: %s.", echo(a), watchers.TagRule)
			}
			tag = strings.TrimPrefix(t, "tag:")
		default:
			d, err := watchers.ParseDuration(a)
			if err != nil || d <= 0 {
				return "", 0, userErr("Expected #tag or a duration like 90d or 2w3d, got %s.", echo(a))
			}
			within = d
		}
	}
	return tag, within, nil
}

func (r *Router) getEvent(ctx context.Context, id string) (EventRecord, error) {
	rec, err := r.eventStore.Event(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return rec, userErr("No event %s. Find ids with /alerts events all, or /alerts events <words>.", echo(id))
	}
	return rec, err
}

func (r *Router) event(ctx context.Context, c *call) (string, error) {
	if err := refreshEvents(ctx, r.eventStore, c.now, r.loc(), r.log); err != nil {
		return "", err
	}
	rec, err := r.getEvent(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	loc, err := rec.Location(r.loc())
	if err != nil {
		return "", err
	}
	cur, err := rec.StateAt(c.now, loc)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)\n", cur.Title, rec.ID)
	fmt.Fprintf(&b, "Due: %s\n", DueText(dueIn(cur, c.zone), c.now))
	// Read in the event's own zone: its country's holidays decide.
	if d := cur.Due; d.Precision == watchers.Day || d.Precision == watchers.Instant {
		if why, off := bizdays.For(loc).DayOff(d.Start.In(loc)); off {
			fmt.Fprintf(&b, "Note: the due date falls on %s\n", why)
		}
	}
	fmt.Fprintf(&b, "Status: %s\n", cur.Status)
	if loc.String() == c.zone.String() {
		fmt.Fprintf(&b, "Zone: %s\n", loc)
	} else {
		// The event's dates are its zone's; every time shown here is the
		// reader's, so the reply never mixes zones.
		fmt.Fprintf(&b, "Zone: %s (its dates); times here are %s\n", loc, c.zone)
	}
	if len(rec.Tags) > 0 {
		fmt.Fprintf(&b, "Tags: #%s\n", strings.Join(rec.Tags, " #"))
	}
	if len(rec.Match) > 0 {
		fmt.Fprintf(&b, "Names (match): %s\n", strings.Join(rec.Match, ", "))
	}
	sources := []string{}
	if rec.Source != "" {
		sources = append(sources, rec.Source)
	}
	for _, ch := range rec.Changes {
		if ch.Source != "" && !slices.Contains(sources, ch.Source) {
			sources = append(sources, ch.Source)
		}
	}
	if len(sources) > 0 {
		fmt.Fprintf(&b, "Sources: %s\n", strings.Join(sources, " , "))
	}
	leads := rec.LeadTimes
	if leads == nil {
		leads = r.config().LeadTimes
	}
	ls := make([]string, len(leads))
	for i, l := range leads {
		ls[i] = l.String()
	}
	fmt.Fprintf(&b, "Reminders: %s before\n", strings.Join(ls, ", "))
	switch {
	case rec.Origin == "config":
		fmt.Fprintf(&b, "Defined in the config file")
	case strings.HasPrefix(rec.Origin, "calendar:"):
		fmt.Fprintf(&b, "Imported by the %s watcher", strings.TrimPrefix(rec.Origin, "calendar:"))
	default:
		fmt.Fprintf(&b, "Created in chat")
	}
	fmt.Fprintf(&b, "; current state from %s, %s.\n", rec.UpdatedBy, c.fmtTime(rec.UpdatedAt))
	if len(rec.Changes) > 0 {
		b.WriteString("History:\n")
		for i, ch := range rec.Changes {
			what, ok := DescribeChange(&rec, i, loc)
			if !ok {
				continue
			}
			planned := ""
			if ch.At.After(c.now) {
				planned = " (planned)"
			}
			fmt.Fprintf(&b, "  %s%s — %s (by %s)\n", c.fmtTime(ch.At), planned, what, ch.By)
		}
	}
	if r.nextAlert != nil {
		if at, what, ok := r.nextAlert(&rec.Event, c.now); ok {
			fmt.Fprintf(&b, "Next alert: %s, %s (%s)\n", what, at.In(c.zone).Format("Mon 2 Jan 2006 15:04 MST"), Countdown(c.now, at, c.zone))
		} else {
			b.WriteString("Next alert: none planned\n")
		}
	}
	alerts, err := r.historyStore.AlertsForEvent(ctx, rec.ID, 5)
	if err != nil {
		return "", err
	}
	if len(alerts) > 0 {
		b.WriteString("Recent alerts:\n")
		for _, a := range alerts {
			state := ""
			if a.Skipped {
				state = " (skipped by catch-up)"
			}
			fmt.Fprintf(&b, "  %s %s%s\n", a.Alert.At.In(c.zone).Format("2006-01-02 15:04"), a.Alert.Kind, state)
		}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

func (r *Router) history(ctx context.Context, c *call) (string, error) {
	n := 10
	if len(c.args) == 1 {
		v, err := intArg(c, "n", c.args[0])
		if err != nil {
			return "", err
		}
		n = v
	}
	items, err := r.historyStore.ChannelHistory(ctx, c.req.Channel, n)
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return "No alerts were sent to this channel yet. Subscribe with /alerts subscribe <target>.", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Last %s in this channel:\n", Plural(len(items), "alert"))
	for _, it := range items {
		state := it.Delivery.State
		if state == DeliveryFailed && it.Delivery.LastError != "" {
			state += ": " + it.Delivery.LastError
		} else if state == DeliveryPending && it.Delivery.Attempts > 0 {
			state = fmt.Sprintf("retrying (attempt %d)", it.Delivery.Attempts+1)
		} else if state == DeliveryHeld {
			state = "held until " + c.fmtTime(it.Delivery.NextTry)
		} else if state == DeliveryBundled {
			state = "sent in a summary or digest"
		}
		fmt.Fprintf(&b, "• %s  %s  %s — %s\n", c.fmtTime(it.Alert.At), it.Alert.Kind, it.Alert.Title, state)
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

func (r *Router) watchers(ctx context.Context, c *call) (string, error) {
	ws, err := r.watcherStore.Watchers(ctx)
	if err != nil {
		return "", err
	}
	if len(ws) == 0 {
		return "No watchers. Admins add them with /alerts watcher add.", nil
	}
	var b strings.Builder
	b.WriteString("Watchers:\n")
	for _, w := range ws {
		state := "active"
		if w.Spec.Paused {
			state = "paused"
		} else if w.Failing {
			state = fmt.Sprintf("FAILING (%d in a row)", w.Failures)
		}
		fmt.Fprintf(&b, "• %s — %s, %q, %s\n", w.Spec.ID, w.Spec.Kind, w.Spec.Schedule, state)
		fmt.Fprintf(&b, "    last run %s, last success %s", c.fmtTime(w.LastRun), c.fmtTime(w.LastSuccess))
		if next, ok := r.schedules.NextRun(w.Spec.ID); ok && !w.Spec.Paused {
			fmt.Fprintf(&b, ", next run %s", c.fmtTime(next))
		}
		b.WriteString("\n")
		if w.LastError != "" {
			fmt.Fprintf(&b, "    last error: %s\n", w.LastError)
		}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// checkTarget normalises a target and checks that a named watcher or event
// exists.
func (r *Router) checkTarget(ctx context.Context, s string) (string, error) {
	t, err := NormalizeTarget(s)
	if err != nil {
		return "", userErr("%s.", strings.TrimSuffix(err.Error(), "."))
	}
	kind, id, _ := strings.Cut(t, ":")
	switch kind {
	case "event":
		if _, err := r.getEvent(ctx, id); err != nil {
			return "", err
		}
	case "watcher":
		if _, err := r.watcherStore.Watcher(ctx, id); errors.Is(err, ErrNotFound) {
			return "", userErr("No watcher %s. See /alerts watchers.", echo(id))
		} else if err != nil {
			return "", err
		}
	}
	return t, nil
}

func showTarget(t string) string {
	if strings.HasPrefix(t, "tag:") {
		return "#" + strings.TrimPrefix(t, "tag:")
	}
	if t == "all" {
		return "all alerts"
	}
	return t
}

func (r *Router) subscribe(ctx context.Context, c *call) (string, error) {
	t, err := r.checkTarget(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	added, err := r.channelStore.Subscribe(ctx, Subscription{Channel: c.req.Channel, Target: t, Origin: "chat", Created: c.now})
	if err != nil {
		return "", err
	}
	if !added {
		return fmt.Sprintf("This channel already receives %s (%s).", showTarget(t), r.subscriptionOrigin(ctx, c.req.Channel, t)), nil
	}
	r.audit(ctx, c, "subscribe", t, "", c.req.Channel)
	return fmt.Sprintf("This channel now receives %s (subscribed by %s).", showTarget(t), c.req.User), nil
}

func (r *Router) unsubscribe(ctx context.Context, c *call) (string, error) {
	t, err := NormalizeTarget(c.args[0])
	if err != nil {
		return "", userErr("%s.", strings.TrimSuffix(err.Error(), "."))
	}
	origin := r.subscriptionOrigin(ctx, c.req.Channel, t)
	removed, err := r.channelStore.Unsubscribe(ctx, c.req.Channel, t)
	if err != nil {
		return "", err
	}
	if !removed {
		return "", userErr("This channel is not subscribed to %s; see /alerts subscriptions.", showTarget(t))
	}
	r.audit(ctx, c, "unsubscribe", t, c.req.Channel, "")
	if origin == originConfigText {
		return fmt.Sprintf("This channel no longer receives %s (unsubscribed by %s). It came from the config file: it stays off after restarts until someone changes this channel's entry there.",
			showTarget(t), c.req.User), nil
	}
	return fmt.Sprintf("This channel no longer receives %s (unsubscribed by %s; it was %s).", showTarget(t), c.req.User, origin), nil
}

func (r *Router) subscriptions(ctx context.Context, c *call) (string, error) {
	subs, err := r.channelStore.Subscriptions(ctx)
	if err != nil {
		return "", err
	}
	mutes, err := r.channelStore.Mutes(ctx, c.now)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range subs {
		if s.Channel == c.req.Channel {
			if b.Len() == 0 {
				b.WriteString("This channel receives:\n")
			}
			fmt.Fprintf(&b, "• %s (%s)\n", showTarget(s.Target), s.Origin)
		}
	}
	if b.Len() == 0 {
		b.WriteString("This channel has no subscriptions. Try /alerts subscribe #budget or /alerts subscribe all.\n")
	}
	for _, m := range mutes {
		if m.Channel == c.req.Channel {
			fmt.Fprintf(&b, "Muted: %s until %s\n", showTarget(m.Target), c.fmtTime(m.Until))
		}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

func (r *Router) mute(ctx context.Context, c *call) (string, error) {
	t, err := r.checkTarget(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	d, err := watchers.ParseDuration(c.args[1])
	if err != nil || d <= 0 {
		return "", userErr("Bad duration %s for the mute: use e.g. 30m, 12h, 1d, 2w or 1h30m.", echo(c.args[1]))
	}
	if d > 366*24*time.Hour {
		return "", userErr("Mutes last at most a year; unsubscribe instead.")
	}
	until := c.now.Add(d)
	if err := r.channelStore.Mute(ctx, Mute{Channel: c.req.Channel, Target: t, Until: until, By: c.req.User}); err != nil {
		return "", err
	}
	r.audit(ctx, c, "mute", t, "", "until "+until.UTC().Format(time.RFC3339))
	return fmt.Sprintf("Muted %s in this channel until %s (by %s).", showTarget(t), c.fmtTime(until), c.req.User), nil
}

func (r *Router) unmute(ctx context.Context, c *call) (string, error) {
	t, err := NormalizeTarget(c.args[0])
	if err != nil {
		return "", userErr("%s.", strings.TrimSuffix(err.Error(), "."))
	}
	removed, err := r.channelStore.Unmute(ctx, c.req.Channel, t)
	if err != nil {
		return "", err
	}
	if !removed {
		return "", userErr("%s is not muted in this channel.", showTarget(t))
	}
	r.audit(ctx, c, "unmute", t, "muted", "")
	return fmt.Sprintf("Unmuted %s in this channel (by %s).", showTarget(t), c.req.User), nil
}

func eventJSON(rec EventRecord) string {
	// Lead times are in it so that an edit of them alone has a before
	// and an after that differ.
	var leads []string
	for _, l := range rec.LeadTimes {
		leads = append(leads, l.String())
	}
	data, _ := json.Marshal(struct {
		Title, Due, Status, Source string
		Tags                       []string
		LeadTimes                  []string `json:",omitempty"`
		Match                      []string `json:",omitempty"`
		Changes                    int
	}{rec.Current.Title, rec.Current.Due.Raw, string(rec.Current.Status), rec.Current.Source, rec.Tags, leads, rec.Match, len(rec.Changes)})
	return string(data)
}

func (r *Router) eventAdd(ctx context.Context, c *call) (string, error) {
	id, due := strings.ToLower(c.args[0]), c.args[1]
	if err := watchers.ValidID("event", id); err != nil {
		return "", userErr("%v.", err)
	}
	var title []string
	var tags []string
	for _, w := range c.args[2:] {
		if t, ok := hashTag(w); ok {
			if !watchers.TagPattern.MatchString(t) {
				return "", userErr("Bad tag %s: %s.", echo(w), watchers.TagRule)
			}
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
			continue
		}
		title = append(title, w)
	}
	if len(title) == 0 {
		return "", userErr("The event needs a title.")
	}
	d, err := watchers.ParseDue(due, r.loc())
	if err != nil {
		return "", userErr("%s.", capitalize(err.Error()))
	}
	if _, err := r.eventStore.Event(ctx, id); err == nil {
		return "", userErr("Event %q already exists; change it with /alerts event set.", id)
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	rec := EventRecord{Event: watchers.Event{
		ID: id, Title: strings.Join(title, " "), Due: d.Raw, Tags: tags,
		Origin: "chat", CreatedAt: c.now,
	}, UpdatedAt: c.now, UpdatedBy: c.req.User}
	if err := Materialize(&rec, c.now, r.loc()); err != nil {
		return "", userErr("%v.", err)
	}
	if err := r.eventStore.SaveEvent(ctx, rec); err != nil {
		return "", err
	}
	r.audit(ctx, c, "event add", id, "", eventJSON(rec))
	r.schedules.EventsChanged()
	return fmt.Sprintf("Created event %s: %s — %s [%s].%s", id, rec.Current.Title, DueText(dueIn(rec.Current, c.zone), c.now), rec.Current.Status,
		typedDue(due, d.Raw)), nil
}

func (r *Router) eventSet(ctx context.Context, c *call) (string, error) {
	if len(c.args) < 2 {
		return "", userErr("Give the event id and at least one key=value.")
	}
	rec, err := r.getEvent(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	kv, _, err := keyValues(c.args[1:], c.spec.fields())
	if err != nil {
		return "", err
	}
	loc, err := rec.Location(r.loc())
	if err != nil {
		return "", err
	}
	before := eventJSON(rec)
	confirmed := false
	if v, ok := kv["confirm"]; ok {
		if !strings.EqualFold(strings.TrimSpace(v), "yes") {
			return "", userErr("confirm takes only yes, e.g. confirm=yes; got %s.", echo(v))
		}
		confirmed = true
	}
	ch := watchers.Change{At: c.now, By: c.req.User, Note: kv["note"]}
	typed := ""
	if v, ok := kv["due"]; ok {
		d, err := watchers.ParseDue(v, loc)
		if err != nil {
			return "", userErr("%s.", capitalize(err.Error()))
		}
		ch.Due, typed = d.Raw, typedDue(v, d.Raw)
	}
	if v, ok := kv["status"]; ok {
		st, err := watchers.ParseStatus(v)
		if err != nil {
			return "", userErr("%v.", err)
		}
		ch.Status = st
	}
	if v, ok := kv["title"]; ok {
		if strings.TrimSpace(v) == "" {
			return "", userErr("The title cannot be empty.")
		}
		ch.Title = v
	}
	if v, ok := kv["source"]; ok {
		if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
			return "", userErr("The source must be an http(s) link, got %q.", v)
		}
		ch.Source = v
	}
	if v, ok := kv["tags"]; ok {
		var tags []string
		for _, t := range splitList(v) {
			if h, ok := hashTag(t); ok {
				t = h
			}
			t = strings.ToLower(t)
			if !watchers.TagPattern.MatchString(t) {
				return "", userErr("Bad tag %s: %s.", echo(t), watchers.TagRule)
			}
			tags = append(tags, t)
		}
		rec.Tags = tags
	}
	if v, ok := kv["match"]; ok {
		words := splitList(v)
		if _, err := watchers.CompileMatch(words); err != nil {
			return "", userErr("match: %v. Words or /regex/, separated by commas, e.g. match=参院選,\"Upper House election\",/upper[- ]house poll/i.", err)
		}
		rec.Match = words
	}
	if v, ok := kv["lead_times"]; ok {
		leads, err := watchers.ParseLeads(splitList(v))
		if err != nil {
			return "", userErr("lead_times: %v.", err)
		}
		rec.LeadTimes = leads
	}
	if ch.Due != "" || ch.Status != "" || ch.Title != "" || ch.Source != "" || ch.Note != "" {
		// Changes are kept in order of time; planned (future) changes of
		// the event stay after the one made now.
		i := sort.Search(len(rec.Changes), func(i int) bool { return rec.Changes[i].At.After(ch.At) })
		rec.Changes = slices.Insert(rec.Changes, i, ch)
	}
	rec.UpdatedAt, rec.UpdatedBy = c.now, c.req.User
	if err := Materialize(&rec, c.now, r.loc()); err != nil {
		return "", userErr("%v.", err)
	}
	if !confirmed {
		if err := surprising(rec, ch, c.now, c.zone); err != nil {
			return "", err
		}
	}
	if err := r.eventStore.SaveEvent(ctx, rec); err != nil {
		return "", err
	}
	r.audit(ctx, c, "event set", rec.ID, before, eventJSON(rec))
	r.schedules.EventsChanged()
	return fmt.Sprintf("Updated %s: %s — %s [%s].%s", rec.ID, rec.Current.Title, DueText(dueIn(rec.Current, c.zone), c.now), rec.Current.Status, typed), nil
}

func (r *Router) eventRemove(ctx context.Context, c *call) (string, error) {
	rec, err := r.getEvent(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	if err := r.eventStore.DeleteEvent(ctx, rec.ID); err != nil {
		return "", err
	}
	r.audit(ctx, c, "event remove", rec.ID, eventJSON(rec), "")
	note := ""
	if rec.Origin == "config" {
		note = " It is still in the config file, so it comes back when the bot restarts or reloads its config: remove it there too."
	}
	return fmt.Sprintf("Removed event %s; its alert history stays.%s", rec.ID, note), nil
}

// listFields are the Spec fields that take lists; in chat they are
// written comma-separated.
var listFields = []string{"tags", "lead_times", "match", "exclude", "ignore"}

func splitList(v string) []string {
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(v), "["), "]"))
	if v == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// configOnly are the watcher fields chat may not set: they widen what the
// bot will fetch, which is the operator's decision (DESIGN §7).
var configOnly = map[string]bool{"fetch.allow_private": true, "fetch.max_bytes": true}

// applySpec sets key=value pairs on spec by decoding them as the YAML the
// config file would hold, so chat and file accept exactly the same fields.
func applySpec(spec *watchers.Spec, kv map[string]string, order []string) error {
	root := &yaml.Node{Kind: yaml.MappingNode}
	fetch := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range order {
		if configOnly[k] {
			return userErr("%s can be set only in the config file: letting a watcher reach internal addresses or read larger pages is the operator's decision, not chat's. Ask the operator to set it under the watcher's fetch: in the config.", k)
		}
		v := kv[k]
		var val *yaml.Node
		if slices.Contains(listFields, k) {
			val = &yaml.Node{Kind: yaml.SequenceNode}
			for _, item := range splitList(v) {
				val.Content = append(val.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: item})
			}
		} else {
			val = &yaml.Node{Kind: yaml.ScalarNode, Value: v}
			if k == "paused" || k == "fail_after" || k == "fetch.allow_private" || k == "fetch.max_bytes" {
				val.Tag = "" // let YAML resolve bools and numbers
			} else {
				val.Tag = "!!str"
			}
		}
		if err := checkSpecValue(k, v, val); err != nil {
			return err
		}
		if sub, ok := strings.CutPrefix(k, "fetch."); ok {
			fetch.Content = append(fetch.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: sub}, val)
			continue
		}
		if k == "id" || k == "kind" {
			return userErr("The %s of a watcher cannot be changed; remove it and add a new one.", k)
		}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, val)
	}
	// Start from the current spec so unset fields keep their values.
	cur, err := yaml.Marshal(spec)
	if err != nil {
		return err
	}
	var base yaml.Node
	if err := yaml.Unmarshal(cur, &base); err != nil {
		return err
	}
	m := base.Content[0]
	set := func(into *yaml.Node, key string, val *yaml.Node) {
		for i := 0; i+1 < len(into.Content); i += 2 {
			if into.Content[i].Value == key {
				into.Content[i+1] = val
				return
			}
		}
		into.Content = append(into.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, val)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		set(m, root.Content[i].Value, root.Content[i+1])
	}
	if len(fetch.Content) > 0 {
		var fm *yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "fetch" {
				fm = m.Content[i+1]
			}
		}
		if fm == nil || fm.Kind != yaml.MappingNode {
			fm = &yaml.Node{Kind: yaml.MappingNode}
			set(m, "fetch", fm)
		}
		for i := 0; i+1 < len(fetch.Content); i += 2 {
			set(fm, fetch.Content[i].Value, fetch.Content[i+1])
		}
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	var next watchers.Spec
	if err := dec.Decode(&next); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "field "); i >= 0 {
			msg = msg[i:]
		}
		msg = strings.TrimPrefix(msg, "yaml: ")
		// "field x not found in type watchers.Spec" names a Go type the
		// user never sees: say it in the user's terms.
		if f, _, ok := strings.Cut(strings.TrimPrefix(msg, "field "), " not found in type "); ok {
			return userErr("Unknown watcher field %q. See /alerts help watcher for the fields, e.g. schedule=\"@every 30m\" match=Japan,Ishiba.", f)
		}
		return userErr("Bad watcher fields: %s.", strings.TrimSuffix(msg, "."))
	}
	*spec = next
	return nil
}

// specFieldType returns the type of the watcher field a chat key names:
// a field of watchers.Spec, or "fetch.x" for its fetch options.
func specFieldType(key string) (reflect.Type, bool) {
	t := reflect.TypeOf(watchers.Spec{})
	if sub, ok := strings.CutPrefix(key, "fetch."); ok {
		t, key = reflect.TypeOf(watchers.Fetch{}), sub
	}
	_, index := yamlFields(t)
	i, ok := index[key]
	if !ok || t.Field(i).Type.Kind() == reflect.Struct {
		return nil, false
	}
	return t.Field(i).Type, true
}

// checkSpecValue checks one key=value of a watcher command before it is
// applied: the key must name a field and the value must be of its kind.
// The errors name the field and show a value that works, never a Go type.
func checkSpecValue(key, raw string, val *yaml.Node) error {
	t, ok := specFieldType(key)
	if !ok {
		if _, fetchOpt := specFieldType("fetch." + key); fetchOpt {
			return userErr("Unknown watcher field %s; the fetch options are written fetch.%s=…, e.g. fetch.timeout=30s.", echo(key), key)
		}
		return userErr("Unknown watcher field %s. See /alerts help watcher for the fields, e.g. schedule=\"@every 30m\" match=Japan,Ishiba.", echo(key))
	}
	if err := val.Decode(reflect.New(t).Interface()); err != nil {
		example := map[reflect.Kind]string{reflect.Bool: "true", reflect.Int: "3", reflect.Int64: "1048576", reflect.Slice: "a,b"}[t.Kind()]
		return userErr("%s must be %s, got %s, e.g. %s=%s.", key, describeGoType(t), echo(raw), key, example)
	}
	return nil
}

// validateSpec checks a spec exactly as the config loader does.
func (r *Router) validateSpec(spec watchers.Spec) error {
	if err := watchers.ValidID("watcher", spec.ID); err != nil {
		return err
	}
	f, ok := r.factories[spec.Kind]
	if !ok {
		return fmt.Errorf("unknown kind %q (want %s)", spec.Kind, strings.Join(kinds(r.factories), ", "))
	}
	if spec.Schedule == "" {
		return errors.New("schedule is required, e.g. schedule=\"@every 30m\"")
	}
	if _, err := watchers.ParseSchedule(spec.Schedule); err != nil {
		return err
	}
	_, err := f(spec, watchers.Deps{Defaults: r.config().Defaults()})
	return err
}

func (r *Router) watcherAdd(ctx context.Context, c *call) (string, error) {
	kind, id := strings.ToLower(c.args[0]), strings.ToLower(c.args[1])
	kv, order, err := keyValues(c.args[2:], c.spec.fields())
	if err != nil {
		return "", err
	}
	if _, err := r.watcherStore.Watcher(ctx, id); err == nil {
		return "", userErr("Watcher %q already exists; change it with /alerts watcher set.", id)
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	spec := watchers.Spec{ID: id, Kind: kind}
	if err := applySpec(&spec, kv, order); err != nil {
		return "", err
	}
	spec.ID, spec.Kind = id, kind
	if err := r.validateSpec(spec); err != nil {
		return "", userErr("%v.", err)
	}
	rec := WatcherRecord{Spec: spec, Origin: "chat", UpdatedAt: c.now, UpdatedBy: c.req.User,
		Dated: Dated(r.factories, spec, r.config().Defaults())}
	if err := r.watcherStore.SaveWatcher(ctx, rec); err != nil {
		return "", err
	}
	if err := r.schedules.Schedule(id, spec.Schedule); err != nil {
		return "", err
	}
	r.audit(ctx, c, "watcher add", id, "", specJSON(spec))
	return fmt.Sprintf("Added %s watcher %s (%s). It runs on its schedule; /alerts watcher run %s checks now.", kind, id, spec.Schedule, id), nil
}

func (r *Router) getWatcher(ctx context.Context, id string) (WatcherRecord, error) {
	rec, err := r.watcherStore.Watcher(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return rec, userErr("No watcher %q. See /alerts watchers.", id)
	}
	return rec, err
}

func (r *Router) watcherSet(ctx context.Context, c *call) (string, error) {
	if len(c.args) < 2 {
		return "", userErr("Give the watcher id and at least one key=value.")
	}
	rec, err := r.getWatcher(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	kv, order, err := keyValues(c.args[1:], c.spec.fields())
	if err != nil {
		return "", err
	}
	before := specJSON(rec.Spec)
	spec := rec.Spec
	if err := applySpec(&spec, kv, order); err != nil {
		return "", err
	}
	if err := r.validateSpec(spec); err != nil {
		return "", userErr("%v.", err)
	}
	rec.Spec, rec.UpdatedAt, rec.UpdatedBy = spec, c.now, c.req.User
	rec.Dated = Dated(r.factories, spec, r.config().Defaults())
	if err := r.watcherStore.SaveWatcher(ctx, rec); err != nil {
		return "", err
	}
	if err := r.schedules.Schedule(spec.ID, spec.Schedule); err != nil {
		return "", err
	}
	r.audit(ctx, c, "watcher set", spec.ID, before, specJSON(spec))
	return fmt.Sprintf("Updated watcher %s.", spec.ID), nil
}

func (r *Router) watcherPause(pause bool) func(ctx context.Context, c *call) (string, error) {
	return func(ctx context.Context, c *call) (string, error) {
		rec, err := r.getWatcher(ctx, c.args[0])
		if err != nil {
			return "", err
		}
		verb := map[bool]string{true: "paused", false: "resumed"}[pause]
		if rec.Spec.Paused == pause {
			return fmt.Sprintf("Watcher %s is already %s.", rec.Spec.ID, map[bool]string{true: "paused", false: "running"}[pause]), nil
		}
		before := specJSON(rec.Spec)
		rec.Spec.Paused = pause
		rec.UpdatedAt, rec.UpdatedBy = c.now, c.req.User
		if err := r.watcherStore.SaveWatcher(ctx, rec); err != nil {
			return "", err
		}
		r.audit(ctx, c, "watcher "+map[bool]string{true: "pause", false: "resume"}[pause], rec.Spec.ID, before, specJSON(rec.Spec))
		return fmt.Sprintf("Watcher %s %s.", rec.Spec.ID, verb), nil
	}
}

func (r *Router) watcherRun(ctx context.Context, c *call) (string, error) {
	rec, err := r.getWatcher(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	if rec.Spec.Paused {
		return "", userErr("Watcher %s is paused; /alerts watcher resume %s first.", rec.Spec.ID, rec.Spec.ID)
	}
	r.audit(ctx, c, "watcher run", rec.Spec.ID, "", "")
	found, err := r.schedules.RunNow(ctx, rec.Spec.ID)
	if err != nil {
		if found == "" {
			found = err.Error()
		}
		return fmt.Sprintf("Watcher %s: %s", rec.Spec.ID, found), nil
	}
	return fmt.Sprintf("Watcher %s checked: %s", rec.Spec.ID, found), nil
}

func (r *Router) watcherRemove(ctx context.Context, c *call) (string, error) {
	rec, err := r.getWatcher(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	if err := r.watcherStore.DeleteWatcher(ctx, rec.Spec.ID); err != nil {
		return "", err
	}
	r.schedules.Unschedule(rec.Spec.ID)
	r.audit(ctx, c, "watcher remove", rec.Spec.ID, specJSON(rec.Spec), "")
	return fmt.Sprintf("Removed watcher %s; its alert history stays.", rec.Spec.ID), nil
}
