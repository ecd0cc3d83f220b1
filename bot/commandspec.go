package bot

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/policyteam/alertbot/watchers"
)

// CommandDescription describes /alerts where a platform lists slash
// commands (Slack's manifest, Discord's command picker).
const CommandDescription = "Dated-event alerts: upcoming events, history, subscriptions and mutes"

// CommandSpec is one row of the command table (DESIGN §6). The one table
// generates help and usage lines, the router's dispatch, Discord's
// application commands and Slack's usage hint, so they cannot disagree.
type CommandSpec struct {
	Name     string   // one or two words, as typed after /alerts: "upcoming", "event add"
	Summary  string   // one line for help, and Discord's description (≤ 100 characters)
	Examples []string // as typed after /alerts
	Admin    bool     // only admins may run it; Discord lists it under /alerts-admin
	Public   bool     // the reply changes the channel, so it is shown there
	Slow     bool     // may exceed a platform's acknowledgement deadline
	Options  []Option // in typed order: required ones first
}

// Option is one argument of a command: a typed option on Discord, one or
// more words after the command name elsewhere.
type Option struct {
	Name     string // Discord's option name; also the key of key=value forms
	Desc     string
	Type     OptionType
	Required bool
	Form     Form
	Complete string   // what autocomplete suggests: a Complete* constant, or ""
	Choices  []string // the only values allowed, shown as a pick list
	Min, Max int      // bounds of an integer option, checked when Max > 0
	// Literal marks a word option typed as one of its Choices: the usage
	// shows them ("[past|all]") rather than the option's name.
	Literal bool
}

// OptionType is the type of an option's value.
type OptionType int

// Option types: what a form-based platform asks the user for.
const (
	StringOption OptionType = iota
	IntegerOption
)

// Form says how an option's value is written in the typed command: it
// drives the usage line, the router's word counts, and how Discord turns
// an option back into router words.
type Form int

// Forms of an option in typed text.
const (
	FormWord     Form = iota // one word: <id>
	FormTag                  // one word "#value": [#tag]
	FormTags                 // one "#tag" word per tag of a space- or comma-separated list: [#tag…]
	FormText                 // one Discord value; typed, the rest of the words: <title…>
	FormKeyValue             // name=value: part of key=value…
	FormList                 // name=a,b from a space- or comma-separated list: part of key=value…
	FormFields               // free key=value text split into words, quotes keep spaces: key=value…
)

// What autocomplete suggests for an option; the first three are also the
// what of Handler.Complete.
const (
	CompleteEvent   = "event"   // event ids
	CompleteWatcher = "watcher" // watcher ids
	CompleteTag     = "tag"     // tags
	CompleteTarget  = "target"  // all, #tag, event:<id>, watcher:<id>
)

// stringOpt is a string option typed as one word; as changes its form and
// auto adds autocomplete.
func stringOpt(name, desc string, required bool) Option {
	return Option{Name: name, Desc: desc, Required: required}
}

func (o Option) as(f Form) Option        { o.Form = f; return o }
func (o Option) auto(what string) Option { o.Complete = what; return o }

// Commands returns the command table. kinds are the watcher kinds of the
// wiring table, offered as the choices of "watcher add"; with none, any
// kind may be typed and the router checks it.
func Commands(kinds []string) []CommandSpec {
	var (
		eventID   = stringOpt("id", "Event id", true).auto(CompleteEvent)
		watcherID = stringOpt("id", "Watcher id", true).auto(CompleteWatcher)
		target    = stringOpt("target", "all, #tag, event:<id>, watcher:<id> or proposals", true).auto(CompleteTarget)
	)
	statuses := make([]string, len(watchers.Statuses))
	for i, s := range watchers.Statuses {
		statuses[i] = string(s)
	}
	return []CommandSpec{
		{Name: "help", Summary: "How to use the commands you may use, or one in detail",
			Examples: []string{"help", "help mute"},
			Options:  []Option{stringOpt("command", "Command to explain, e.g. upcoming", false).as(FormText)}},
		{Name: "upcoming", Summary: "Next events with due dates and countdowns (default within 90d)",
			Examples: []string{"upcoming", "upcoming #budget", "upcoming #election 400d"},
			Options: []Option{
				stringOpt("tag", "Only events with this tag", false).as(FormTag).auto(CompleteTag),
				stringOpt("within", "How far ahead, e.g. 30d, 12w or 2w3d (default 90d)", false),
			}},
		{Name: "timeline", Summary: "Picture of the open events on a timeline, as on the status page (default within 365d)",
			Examples: []string{"timeline", "timeline #election", "timeline #budget 730d"},
			Options: []Option{
				stringOpt("tag", "Only events with this tag", false).as(FormTag).auto(CompleteTag),
				stringOpt("within", "Windows starting within this time from now, e.g. 90d, 26w or 730d (default 365d)", false),
			}},
		{Name: "events", Summary: "Every event, past ones too, by #tag and words in the id or title; paged",
			Examples: []string{"events", "events #budget past", "events all election", "events 参院選"},
			Options: []Option{
				stringOpt("tag", "Only events with this tag", false).as(FormTag).auto(CompleteTag),
				{Name: "scope", Desc: "past: happened, cancelled or over; all: open and past (default: open)",
					Choices: []string{"past", "all"}, Literal: true},
				stringOpt("words", "Words to find in the id or title, any language", false).as(FormText),
				stringOpt("page", "Page of the list, e.g. 2", false).as(FormKeyValue),
			}},
		{Name: "event", Summary: "Details, sources, history and next reminder of an event",
			Examples: []string{"event upper-house-election-2025"},
			Options:  []Option{eventID}},
		{Name: "history", Summary: "This channel's last n alerts (default 10) with delivery state",
			Examples: []string{"history", "history 25"},
			Options:  []Option{{Name: "n", Desc: "How many (default 10)", Type: IntegerOption, Min: 1, Max: 100}}},
		{Name: "watchers", Summary: "Every watcher: kind, schedule, last run, last error, next run"},
		{Name: "subscribe", Summary: "Send this channel the target's alerts", Public: true,
			Examples: []string{"subscribe #budget", "subscribe event:ishiba-trump-summit", "subscribe all"},
			Options:  []Option{target}},
		{Name: "unsubscribe", Summary: "Stop sending this channel the target's alerts", Public: true,
			Examples: []string{"unsubscribe #budget"},
			Options:  []Option{target}},
		{Name: "subscriptions", Summary: "This channel's subscriptions and mutes"},
		{Name: "mute", Summary: "Silence the target's alerts in this channel for a while", Public: true,
			Examples: []string{"mute #budget 1d", "mute all 2h", "mute #budget 1h30m"},
			Options:  []Option{target, stringOpt("duration", "For how long, e.g. 1d, 12h, 2w or 1h30m", true)}},
		{Name: "unmute", Summary: "End a mute in this channel", Public: true,
			Examples: []string{"unmute #budget"},
			Options:  []Option{target}},
		{Name: "settings", Summary: "This channel's quiet hours, digest and zone; alone, the ones in force", Public: true,
			Examples: []string{"settings", "settings quiet 22:00-07:00 Asia/Tokyo", "settings digest weekly mon 08:00", "settings digest off", "settings zone Asia/Tokyo"},
			Options: []Option{
				{Name: "what", Desc: "What to set", Choices: []string{"quiet", "digest", "zone"}, Literal: true},
				stringOpt("value", "22:00-07:00, daily 08:00, weekly mon 08:00, an IANA zone, or off; a zone may follow", false).as(FormText),
			}},
		{Name: "preview", Summary: "What this channel will receive within a period (default 7d), and what is held or muted", Slow: true,
			Examples: []string{"preview", "preview 30d"},
			Options:  []Option{stringOpt("within", "Period, e.g. 7d, 2w or 30d", false)}},
		{Name: "tz", Summary: "Your own time zone for the times in your replies; alone, the one in force",
			Examples: []string{"tz", "tz America/New_York", "tz off"},
			Options:  []Option{stringOpt("zone", "IANA zone, e.g. Asia/Tokyo or America/New_York; off for the bot's", false)}},
		{Name: "remind me", Summary: "Get the target's alerts by direct message; with leads, an event's reminders at your own times too",
			Examples: []string{"remind me #election", "remind me event:upper-house-election-2028 3d 1d"},
			Options: []Option{target,
				stringOpt("leads", "Your own extra lead times for one event, e.g. 3d 1d or 2h", false).as(FormText)}},
		{Name: "reminders", Summary: "Your personal reminders by direct message"},
		{Name: "forget", Summary: "Stop one of your personal reminders",
			Examples: []string{"forget #election", "forget event:upper-house-election-2028"},
			Options:  []Option{target}},
		{Name: "again", Summary: "Post an alert here again later, as its Remind again buttons do",
			Examples: []string{"again 42 1h", "again 42 tomorrow"},
			Options: []Option{
				stringOpt("delivery", "The alert's delivery number, as its buttons carry it", true),
				stringOpt("when", "tomorrow (at the alert time) or a time from now, e.g. 1h or 2h30m", true),
			}},
		{Name: "event add", Summary: "Create an event", Admin: true,
			Examples: []string{`event add diet-session-2026 2026-01 Ordinary Diet session convenes #japan #diet`},
			Options: []Option{
				stringOpt("id", "New event id: a-z, 0-9 and -", true),
				stringOpt("due", "Due date: 2025-07-20, 2025-07, 2025-Q3, JFY2025, 2025-02-07T10:30 or 令和9年3月31日", true),
				stringOpt("title", "Title of the event", true).as(FormText),
				stringOpt("tags", "Tags, separated by spaces or commas", false).as(FormTags),
			}},
		{Name: "event set", Summary: "Change an event's due date, status, title, tags, lead times, source or names; alerts changed", Admin: true,
			Examples: []string{`event set upper-house-election-2028 due=2028-07-23 status=scheduled note="announced"`, "event set ishiba-trump-summit status=postponed"},
			Options: []Option{
				eventID,
				stringOpt("due", "New due date", false).as(FormKeyValue),
				{Name: "status", Desc: "New status", Form: FormKeyValue, Choices: statuses},
				stringOpt("title", "New title", false).as(FormKeyValue),
				stringOpt("tags", "New tags, separated by commas", false).as(FormList),
				stringOpt("lead_times", "Reminder offsets, e.g. 30d,7d,1d,0d or 1h30m", false).as(FormList),
				stringOpt("source", "Source URL", false).as(FormKeyValue),
				stringOpt("match", "Names that sources use, words or /regex/, by commas: 参院選,Upper House election", false).as(FormKeyValue),
				stringOpt("note", "Why it changed (shown in the changed alert)", false).as(FormKeyValue),
				{Name: "confirm", Desc: "yes: make a surprising change (happened before its date, a past due date)",
					Form: FormKeyValue, Choices: []string{"yes"}},
			}},
		{Name: "event remove", Summary: "Delete an event (its alert history stays)", Admin: true,
			Options: []Option{eventID}},
		{Name: "watcher add", Summary: "Create a watcher (same fields as the config file)", Admin: true, Slow: true,
			Examples: []string{`watcher add feed crs-japan url=https://example.org/crs.rss schedule="*/30 * * * *" match=Japan,Ishiba`},
			Options: []Option{
				{Name: "kind", Desc: "Kind of watcher", Required: true, Choices: slices.Clone(kinds)},
				stringOpt("id", "New watcher id: a-z, 0-9 and -", true),
				stringOpt("schedule", "Cron spec, e.g. */30 * * * * or @every 1h", false).as(FormKeyValue),
				stringOpt("url", "Source URL, for the kinds that fetch one", false).as(FormKeyValue),
				stringOpt("options", "More fields: key=value key=value, lists with commas: match=Japan,Ishiba", false).as(FormFields),
			}},
		{Name: "watcher set", Summary: "Change a watcher's fields", Admin: true,
			Examples: []string{`watcher set crs-japan schedule="@every 15m"`},
			Options: []Option{
				watcherID,
				stringOpt("schedule", "New cron spec", false).as(FormKeyValue),
				stringOpt("url", "New source URL", false).as(FormKeyValue),
				stringOpt("options", "Fields as key=value key=value", false).as(FormFields),
			}},
		{Name: "watcher pause", Summary: "Stop running a watcher", Admin: true, Options: []Option{watcherID}},
		{Name: "watcher resume", Summary: "Run a paused watcher again", Admin: true, Options: []Option{watcherID}},
		{Name: "watcher run", Summary: "Check a watcher now and report what it found", Admin: true, Slow: true, Options: []Option{watcherID}},
		{Name: "watcher remove", Summary: "Delete a watcher (its alert history stays)", Admin: true, Options: []Option{watcherID}},
		{Name: "proposals", Summary: "Open date proposals from sources: event, old due → proposed due, sentence, link",
			Examples: []string{"proposals"}},
		{Name: "proposal confirm", Summary: "Set an event's due to a proposed date; alerts changed", Admin: true,
			Examples: []string{"proposal confirm p1a2b3c4d"},
			Options:  []Option{stringOpt("id", "Proposal id from /alerts proposals, e.g. p1a2b3c4d", true)}},
		{Name: "proposal dismiss", Summary: "Dismiss a date proposal; the date is not proposed again", Admin: true,
			Examples: []string{"proposal dismiss p1a2b3c4d"},
			Options:  []Option{stringOpt("id", "Proposal id from /alerts proposals, e.g. p1a2b3c4d", true)}},
		{Name: "audit", Summary: "The last n audit entries (default 20), or the last n with all the words", Admin: true,
			Examples: []string{"audit", "audit 50", "audit subscribe #budget", "audit denied"},
			Options: []Option{
				{Name: "n", Desc: "How many (default 20)", Type: IntegerOption, Min: 1, Max: 100},
				stringOpt("words", "Words to find in who, where, what and the values", false).as(FormText),
			}},
	}
}

// Usage is the command as typed after /alerts, with its arguments:
// "event add <id> <due> <title…> [#tag…]". It is derived from the options,
// so help cannot describe arguments the command does not take.
func (s CommandSpec) Usage() string {
	parts := []string{s.Name}
	fields := false
	keyed := 0
	for _, o := range s.Options {
		if o.keyed() {
			keyed++
		}
	}
	for _, o := range s.Options {
		if o.keyed() && keyed > 1 {
			// Several key=value options read as one "key=value…", once.
			if !fields {
				parts = append(parts, "key=value…")
				fields = true
			}
			continue
		}
		if o.Required {
			parts = append(parts, "<"+o.token()+">")
		} else {
			parts = append(parts, "["+o.token()+"]")
		}
	}
	return strings.Join(parts, " ")
}

// token is how the option reads in a usage line or in help.
func (o Option) token() string {
	if o.Literal {
		return strings.Join(o.Choices, "|")
	}
	switch o.Form {
	case FormTag:
		return "#" + o.Name
	case FormTags:
		return "#" + strings.TrimSuffix(o.Name, "s") + "…"
	case FormText:
		return o.Name + "…"
	case FormKeyValue:
		return o.Name + "=…"
	case FormList:
		return o.Name + "=a,b"
	case FormFields:
		return "key=value…"
	}
	return o.Name
}

// keyed reports whether the option is typed as key=value words.
func (o Option) keyed() bool {
	return o.Form == FormKeyValue || o.Form == FormList || o.Form == FormFields
}

// variadic reports whether the option may take any number of typed words.
func (o Option) variadic() bool { return o.keyed() || o.Form == FormText || o.Form == FormTags }

// arity is how many words may follow the command name: hi < 0 means no
// limit.
func (s CommandSpec) arity() (lo, hi int) {
	for _, o := range s.Options {
		if o.Required {
			lo++
		}
		if o.variadic() {
			hi = -1
		} else if hi >= 0 {
			hi++
		}
	}
	return lo, hi
}

// fields are the keys the command's key=value words may use; nil when free
// fields (FormFields) accept any key, to be checked later.
func (s CommandSpec) fields() []string {
	var keys []string
	for _, o := range s.Options {
		switch o.Form {
		case FormFields:
			return nil
		case FormKeyValue, FormList:
			keys = append(keys, o.Name)
		}
	}
	return keys
}

// option returns the option called name.
func (s CommandSpec) option(name string) (Option, bool) {
	for _, o := range s.Options {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// FindCommand returns the command that words name, as the router reads
// them: a two-word name before a one-word one, case-insensitively; rest
// are the words after the name.
func FindCommand(specs []CommandSpec, words []string) (spec CommandSpec, rest []string, ok bool) {
	if len(words) == 0 {
		return CommandSpec{}, nil, false
	}
	first := strings.ToLower(words[0])
	if len(words) >= 2 {
		two := first + " " + strings.ToLower(words[1])
		for _, s := range specs {
			if s.Name == two {
				return s, words[2:], true
			}
		}
	}
	for _, s := range specs {
		if s.Name == first {
			return s, words[1:], true
		}
	}
	return CommandSpec{}, nil, false
}

var (
	commandNameRE = regexp.MustCompile(`^[a-z]+( [a-z]+)?$`)
	optionNameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// checkCommands reports every mistake in a command table, so a bad row
// stops the router at construction instead of confusing users.
func checkCommands(specs []CommandSpec) error {
	var errs []error
	bad := func(s CommandSpec, format string, args ...any) {
		errs = append(errs, fmt.Errorf("command %q: %s", s.Name, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if !commandNameRE.MatchString(s.Name) {
			bad(s, "name must be one or two lowercase words")
		}
		if seen[s.Name] {
			bad(s, "listed twice")
		}
		seen[s.Name] = true
		if strings.TrimSpace(s.Summary) == "" {
			bad(s, "no summary")
		}
		names := map[string]bool{}
		optional := false
		for _, o := range s.Options {
			if !optionNameRE.MatchString(o.Name) || names[o.Name] {
				bad(s, "option %q: bad or repeated name", o.Name)
			}
			names[o.Name] = true
			if strings.TrimSpace(o.Desc) == "" {
				bad(s, "option %q: no description", o.Name)
			}
			// Typed words fill options in order, so an optional one
			// cannot come before a required one.
			if o.Required && optional {
				bad(s, "option %q: required after an optional option", o.Name)
			}
			optional = optional || !o.Required
			if o.Type != StringOption && (o.Form != FormWord || o.Complete != "") {
				bad(s, "option %q: only string options have forms or autocomplete", o.Name)
			}
			if o.Type != IntegerOption && (o.Min != 0 || o.Max != 0) {
				bad(s, "option %q: bounds on a non-integer option", o.Name)
			}
			if o.Max > 0 && o.Min > o.Max {
				bad(s, "option %q: min %d above max %d", o.Name, o.Min, o.Max)
			}
			if o.Complete != "" && len(o.Choices) > 0 {
				bad(s, "option %q: both autocomplete and choices", o.Name)
			}
			if o.Literal && (len(o.Choices) == 0 || o.Form != FormWord) {
				bad(s, "option %q: literal without choices, or not one word", o.Name)
			}
			switch o.Complete {
			case "", CompleteEvent, CompleteWatcher, CompleteTag, CompleteTarget:
			default:
				bad(s, "option %q: unknown autocomplete %q", o.Name, o.Complete)
			}
		}
	}
	return errors.Join(errs...)
}
