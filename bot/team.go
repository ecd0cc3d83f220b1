package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// This file holds the team commands of DESIGN §9 that part 1 of issue 11
// delivers (events, tz, audit) and the small helpers replies share.

// maxEcho is how much of what a user typed a reply quotes back: enough to
// recognise it, never a wall of pasted text.
const maxEcho = 60

// echo quotes user input for a reply, cut to maxEcho runes.
func echo(s string) string {
	cut, _ := Truncate(s, maxEcho)
	return strconv.Quote(cut)
}

// Plural writes a count with its noun, singular for one: "1 alert",
// "3 alerts", "2 entries". It knows the regular English plurals, which
// are all the nouns alertbot counts.
func Plural(n int, noun string) string { return watchers.Plural(n, noun) }

// zones caches loaded zones by name: a reply looks its reader's up on
// every command, and time.LoadLocation reads a file each time.
var zones sync.Map // name → *time.Location

// loadUserZone loads an IANA zone as a user may type it: "Asia/Tokyo", or in
// any case ("asia/tokyo", "america/new_york"), which it spells right.
// "Local" is refused: it would mean the server's zone, not the user's.
func loadUserZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location), nil
	}
	bad := fmt.Errorf("unknown time zone %s: use an IANA name such as Asia/Tokyo, America/New_York or Europe/London", echo(name))
	if name == "" || strings.EqualFold(name, "local") {
		return nil, bad
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc, err = time.LoadLocation(zoneCase(name))
	}
	if err != nil {
		return nil, bad
	}
	zones.Store(name, loc)
	return loc, nil
}

// zoneCase spells a zone name as the IANA database does for most zones:
// each word capitalised ("america/new_york" → "America/New_York"), and
// UTC in capitals.
func zoneCase(name string) string {
	if strings.EqualFold(name, "utc") {
		return "UTC"
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		words := strings.Split(p, "_")
		for j, w := range words {
			if w != "" {
				words[j] = strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
			}
		}
		parts[i] = strings.Join(words, "_")
	}
	return strings.Join(parts, "/")
}

// readerZone is the zone of the times in user's replies: theirs when they
// chose one, else the config's. A store failure falls back to the
// config's zone: a reply in the wrong zone beats no reply.
func (r *Router) readerZone(ctx context.Context, user string) *time.Location {
	if r.users == nil || user == "" {
		return r.loc()
	}
	name, err := r.users.UserZone(ctx, user)
	if err != nil {
		r.log.Warn("user zone not read; using the config's", "user", user, "err", err)
		return r.loc()
	}
	if name == "" {
		return r.loc()
	}
	loc, err := loadUserZone(name)
	if err != nil {
		r.log.Warn("stored user zone unknown; using the config's", "user", user, "zone", name)
		return r.loc()
	}
	return loc
}

// group returns word when it names a group of commands ("watcher" of
// "watcher add"…) that is not a command itself; "" otherwise.
func (r *Router) group(word string) string {
	w := strings.ToLower(word)
	for _, s := range r.specs {
		if s.Name == w {
			return ""
		}
	}
	if len(r.subcommands(w)) > 0 {
		return w
	}
	return ""
}

// subcommands lists the second words of the commands of a group.
func (r *Router) subcommands(group string) []string {
	var out []string
	for _, s := range r.specs {
		if sub, ok := strings.CutPrefix(s.Name, group+" "); ok {
			out = append(out, sub)
		}
	}
	return out
}

// dueIn shows an instant due in the reader's zone; windows of days and
// longer stay in the event's zone, since their dates are that zone's.
func dueIn(st watchers.State, loc *time.Location) watchers.State {
	if st.Due.Precision == watchers.Instant && loc != nil {
		st.Due.Start, st.Due.End = st.Due.Start.In(loc), st.Due.End.In(loc)
	}
	return st
}

// eventsPage is how many events one page of /alerts events lists: ten
// lines stay within Discord's 2000 characters with long titles cut.
const eventsPage = 10

// maxListedTitle cuts titles in lists, so one long title cannot push the
// rest of a page past a platform's limit.
const maxListedTitle = 100

// eventsQuery is what /alerts events was asked.
type eventsQuery struct {
	tag   string
	scope string   // "open" (default), "past" or "all"
	words []string // lowercase; each must be in the id or title
	page  int      // from 1
}

// unquote blanks the quote marks and backslashes of sought words: they
// only grouped words, and would break the More command's tokenizing.
var unquote = strings.NewReplacer(`"`, " ", "“", " ", "”", " ", `\`, " ")

// parseEventsQuery reads the words of /alerts events: a #tag, past or all
// (the first such word), page=N, and words to find.
func parseEventsQuery(args []string) (eventsQuery, error) {
	q := eventsQuery{scope: "open", page: 1}
	scoped, paged := false, false
	for _, a := range args {
		low := strings.ToLower(strings.TrimSpace(a))
		switch {
		case strings.HasPrefix(low, "#") || strings.HasPrefix(low, "＃") || strings.HasPrefix(low, "tag:"):
			t, err := NormalizeTarget(a)
			if err != nil || !strings.HasPrefix(t, "tag:") {
				return q, userErr("Bad tag %s: %s.", echo(a), watchers.TagRule)
			}
			if q.tag != "" {
				return q, userErr("One #tag at a time, got #%s and %s.", q.tag, echo(a))
			}
			q.tag = strings.TrimPrefix(t, "tag:")
		case strings.HasPrefix(low, "page="):
			n, err := strconv.Atoi(strings.TrimPrefix(low, "page="))
			if err != nil || n < 1 || n > 100000 {
				return q, userErr("page must be a number from 1, e.g. page=2; got %s.", echo(a))
			}
			if paged {
				return q, userErr("page given twice.")
			}
			q.page, paged = n, true
		case !scoped && (low == "past" || low == "all" || low == "open"):
			q.scope, scoped = low, true
		default:
			// Quotes only group words; they are not part of what is sought.
			q.words = append(q.words, strings.Fields(unquote.Replace(low))...)
		}
	}
	return q, nil
}

// command writes the query back as the command for one of its pages, in
// the order parseEventsQuery reads it back the same.
func (q eventsQuery) command(page int) string {
	parts := []string{"events"}
	if q.tag != "" {
		parts = append(parts, "#"+q.tag)
	}
	// A word that reads as a scope would take its place unless the scope
	// is written first.
	keyword := slices.ContainsFunc(q.words, func(w string) bool { return w == "past" || w == "all" || w == "open" })
	if q.scope != "open" || keyword {
		parts = append(parts, q.scope)
	}
	parts = append(parts, q.words...)
	return strings.Join(append(parts, "page="+strconv.Itoa(page)), " ")
}

// matches reports whether every word is in the event's id or title.
func (q eventsQuery) matches(e EventRecord) bool {
	if len(q.words) == 0 {
		return true
	}
	hay := strings.ToLower(e.ID + " " + e.Current.Title + " " + e.Title)
	for _, w := range q.words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// describe is the query for a heading or an apology: "#budget matching
// "election"".
func (q eventsQuery) describe() string {
	var parts []string
	if q.tag != "" {
		parts = append(parts, "#"+q.tag)
	}
	if len(q.words) > 0 {
		parts = append(parts, "matching "+echo(strings.Join(q.words, " ")))
	}
	return strings.Join(parts, " ")
}

// events answers /alerts events: every event, open ones by window start,
// past ones newest first, filtered and paged (in the database), with a
// More button.
func (r *Router) events(ctx context.Context, c *call) (string, error) {
	q, err := parseEventsQuery(c.args)
	if err != nil {
		return "", err
	}
	if err := refreshEvents(ctx, r.eventStore, c.now, r.loc(), r.log); err != nil {
		return "", err
	}
	eq := EventsQuery{Tag: q.tag, Scope: q.scope, Now: c.now, Offset: (q.page - 1) * eventsPage, Limit: eventsPage}
	if len(q.words) > 0 {
		eq.Match = q.matches
	}
	pg, err := r.eventStore.EventsPage(ctx, eq)
	if err != nil {
		return "", err
	}
	total := pg.Total(q.scope)
	// In "all", the open events come first, then the past ones.
	pastFrom := -1
	if q.scope == "all" {
		pastFrom = pg.Open
	}
	label := map[string]string{"open": "Open events", "past": "Past events", "all": "Events"}[q.scope]
	what := strings.TrimSpace(label + " " + q.describe())
	if total == 0 {
		hint := "/alerts events all"
		if q.scope == "all" {
			hint = "/alerts events all with fewer words or another tag"
		}
		return fmt.Sprintf("No %s. Try %s.", strings.ToLower(what[:1])+what[1:], hint), nil
	}
	pages := (total + eventsPage - 1) / eventsPage
	if q.page > pages {
		return "", userErr("Page %d is past the end: %s match, on %s.", q.page, Plural(total, "event"), Plural(pages, "page"))
	}
	from := (q.page - 1) * eventsPage
	to := min(from+eventsPage, total)
	if len(pg.Events) != to-from {
		// The events changed between the count and the page.
		to = from + len(pg.Events)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d–%d of %d):\n", what, from+1, to, total)
	for i := from; i < to; i++ {
		if pastFrom > 0 && i >= pastFrom && (i == pastFrom || i == from) {
			// "all" lists the open events, then the past ones.
			b.WriteString("Past:\n")
		}
		e := pg.Events[i-from]
		localize(&e, r.loc())
		st := dueIn(e.Current, c.zone)
		title, _ := Truncate(st.Title, maxListedTitle)
		fmt.Fprintf(&b, "• %s — %s [%s] (%s)\n", title, DueText(st, c.now), st.Status, e.ID)
	}
	if to < total {
		next := q.command(q.page + 1)
		fmt.Fprintf(&b, "More: /alerts %s", next)
		c.buttons = []Button{{Label: "More", Command: next}}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// tz answers /alerts tz: the caller's zone for the times in their
// replies, shown, set, or forgotten ("off").
func (r *Router) tz(ctx context.Context, c *call) (string, error) {
	def := r.loc()
	if len(c.args) == 0 {
		mine := ""
		if r.users != nil {
			var err error
			if mine, err = r.users.UserZone(ctx, c.req.User); err != nil {
				return "", err
			}
		}
		if mine == "" {
			return fmt.Sprintf("Times in your replies are in %s, the bot's zone (now %s). Choose your own with /alerts tz America/New_York.",
				def, c.now.In(def).Format("Mon 15:04 MST")), nil
		}
		return fmt.Sprintf("Times in your replies are in %s (now %s). /alerts tz off goes back to the bot's zone, %s.",
			c.zone, c.now.In(c.zone).Format("Mon 15:04 MST"), def), nil
	}
	if r.users == nil {
		return "", userErr("This bot keeps no personal settings, so replies stay in %s.", def)
	}
	switch strings.ToLower(c.args[0]) {
	case "off", "reset", "default", "none":
		if err := r.users.SetUserZone(ctx, c.req.User, "", c.now); err != nil {
			return "", err
		}
		return fmt.Sprintf("Times in your replies are back in the bot's zone, %s.", def), nil
	}
	loc, err := loadUserZone(c.args[0])
	if err != nil {
		return "", userErr("%s, e.g. /alerts tz America/New_York.", capitalize(err.Error()))
	}
	if err := r.users.SetUserZone(ctx, c.req.User, loc.String(), c.now); err != nil {
		return "", err
	}
	return fmt.Sprintf("Times in your replies are now in %s (now %s). Alerts already show each reader's own zone on Slack and Discord.",
		loc, c.now.In(loc).Format("Mon 15:04 MST")), nil
}

// capitalize upper-cases the first letter of an error made into a
// sentence.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// maxAuditValue cuts each before and after value in /alerts audit.
const maxAuditValue = 160

// auditCmd answers /alerts audit: the last n entries, or the last n that
// contain every word.
func (r *Router) auditCmd(ctx context.Context, c *call) (string, error) {
	n, words := 20, c.args
	if len(words) > 0 && words[0] != "" && strings.Trim(words[0], "0123456789") == "" {
		v, err := intArg(c, "n", words[0])
		if err != nil {
			return "", err
		}
		n, words = v, words[1:]
	}
	var terms []string
	for _, w := range words {
		terms = append(terms, strings.Fields(strings.ToLower(w))...)
	}
	match := func(e AuditEntry) bool {
		hay := strings.ToLower(strings.Join([]string{e.Who, e.Channel, e.Action, e.Target, e.Before, e.After}, "\n"))
		for _, t := range terms {
			if !strings.Contains(hay, t) {
				return false
			}
		}
		return true
	}
	entries, err := r.auditLog.SearchAudit(ctx, n, match)
	if err != nil {
		return "", err
	}
	matching := ""
	if len(terms) > 0 {
		matching = " matching " + echo(strings.Join(terms, " "))
	}
	if len(entries) == 0 {
		return fmt.Sprintf("No audit entries%s.", matching), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Last %s%s, newest first:\n", Plural(len(entries), "audit entry"), matching)
	for _, e := range entries {
		where := ""
		if e.Channel != "" {
			where = " in " + e.Channel
		}
		fmt.Fprintf(&b, "• %s  %s%s — %s %s\n", c.fmtTime(e.At), e.Who, where, e.Action, e.Target)
		if e.Before != "" || e.After != "" {
			before, _ := Truncate(e.Before, maxAuditValue)
			after, _ := Truncate(e.After, maxAuditValue)
			fmt.Fprintf(&b, "    %s → %s\n", orDash(before), orDash(after))
		}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// orDash stands in for an empty before or after value.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Where a subscription came from, as replies say it.
const (
	originConfigText = "from the config file"
	originChatText   = "added in chat"
)

// subscriptionOrigin says where a channel's subscription to target came
// from: the config file or chat.
func (r *Router) subscriptionOrigin(ctx context.Context, channel, target string) string {
	subs, err := r.channelStore.Subscriptions(ctx)
	if err != nil {
		r.log.Warn("subscriptions not read for their origin", "err", err)
		return originChatText
	}
	for _, s := range subs {
		if s.Channel == channel && s.Target == target && s.Origin == "config" {
			return originConfigText
		}
	}
	return originChatText
}

// hashTag reads a "#tag" word, with the full-width ＃ a Japanese keyboard
// types, as a lowercase tag; ok is false for other words.
func hashTag(w string) (tag string, ok bool) {
	for _, p := range []string{"#", "＃"} {
		if t, found := strings.CutPrefix(w, p); found && t != "" && !strings.ContainsAny(t, " \t") {
			return strings.ToLower(t), true
		}
	}
	return "", false
}

// typedDue tells, after a reply, how a due date typed in another form is
// stored ("" when it was typed in its canonical form), so the admin sees
// both what they wrote and what the bot will show.
func typedDue(typed, canonical string) string {
	typed = strings.TrimSpace(typed)
	if typed == canonical {
		return ""
	}
	return fmt.Sprintf(" Due %s is stored as %s.", echo(typed), canonical)
}

// surprising refuses, unless confirmed, an event change that is more
// likely a slip than the truth: marking happened an event whose window
// has not begun, or moving an open event to a due date already past.
func surprising(rec EventRecord, ch watchers.Change, now time.Time, zone *time.Location) error {
	st := rec.Current
	if ch.Status == watchers.Happened && st.Due.Start.After(now) {
		return userErr("%s is due %s, so it cannot have happened yet. If it did, add confirm=yes: /alerts event set %s status=happened confirm=yes.",
			rec.ID, DueText(dueIn(st, zone), now), rec.ID)
	}
	if ch.Due != "" && st.Status.Active() && !st.Due.End.After(now) {
		return userErr("The new due date %s is already past. Give a date ahead, set status=happened too, or add confirm=yes.", ch.Due)
	}
	return nil
}
