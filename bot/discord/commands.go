package discord

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Command names registered with Discord.
const (
	CommandAlerts = "alerts"
	CommandAdmin  = "alerts-admin"
)

// form says how an option becomes words of the router's request.
type form int

const (
	positional form = iota // the value as one word
	hashTag                // "#"+value (upcoming's tag)
	tagWords               // tags split on spaces/commas, each "#"+tag
	keyValue               // name=value
	tagList                // name=t1,t2 (tags and lead_times of event set)
	freeText               // "key=value key=value", split into words (quotes keep spaces)
)

// what autocomplete suggests for an option.
const (
	completeEvent   = "event"
	completeWatcher = "watcher"
	completeTag     = "tag"
	completeTarget  = "target"
)

type option struct {
	name     string
	desc     string
	kind     discordgo.ApplicationCommandOptionType
	required bool
	form     form
	complete string   // "", or one of the complete* names
	choices  []string // fixed choices (not with complete)
	min, max float64  // integer bounds when max > 0
}

type subcommand struct {
	name    string
	desc    string
	words   []string // the router words the subcommand stands for
	options []option
}

type command struct {
	name  string
	desc  string
	admin bool
	subs  []subcommand
}

func str(name, desc string, required bool) option {
	return option{name: name, desc: desc, kind: discordgo.ApplicationCommandOptionString, required: required}
}

func (o option) as(f form) option        { o.form = f; return o }
func (o option) auto(what string) option { o.complete = what; return o }

var (
	eventID   = str("id", "Event id", true).auto(completeEvent)
	watcherID = str("id", "Watcher id", true).auto(completeWatcher)
	target    = str("target", "all, #tag, event:<id> or watcher:<id>", true).auto(completeTarget)
)

// commands is the declarative table behind Commands() and the mapping of
// interactions to router words (DESIGN §6).
var commands = []command{
	{
		name: CommandAlerts,
		desc: "U.S.–Japan alert bot: upcoming events, history, subscriptions",
		subs: []subcommand{
			{name: "help", desc: "How to use the commands you may use", words: []string{"help"},
				options: []option{str("command", "Command to explain, e.g. upcoming", false)}},
			{name: "upcoming", desc: "Next events with due dates and countdowns", words: []string{"upcoming"},
				options: []option{
					str("tag", "Only events with this tag", false).as(hashTag).auto(completeTag),
					str("within", "How far ahead, e.g. 30d or 12w (default 90d)", false),
				}},
			{name: "event", desc: "Details and history of one event", words: []string{"event"},
				options: []option{eventID}},
			{name: "history", desc: "This channel's latest alerts", words: []string{"history"},
				options: []option{{name: "n", desc: "How many (default 10)", kind: discordgo.ApplicationCommandOptionInteger, min: 1, max: 100}}},
			{name: "watchers", desc: "Every watcher: kind, schedule, last and next run", words: []string{"watchers"}},
			{name: "subscribe", desc: "Send this channel alerts for a target", words: []string{"subscribe"},
				options: []option{target}},
			{name: "unsubscribe", desc: "Stop this channel's alerts for a target", words: []string{"unsubscribe"},
				options: []option{target}},
			{name: "subscriptions", desc: "What this channel is subscribed to", words: []string{"subscriptions"}},
			{name: "mute", desc: "Mute this channel's alerts for a target for a while", words: []string{"mute"},
				options: []option{target, str("duration", "For how long, e.g. 1d, 12h or 2w", true)}},
			{name: "unmute", desc: "Unmute a target in this channel", words: []string{"unmute"},
				options: []option{target}},
		},
	},
	{
		name:  CommandAdmin,
		desc:  "alertbot administration: events and watchers (admins only)",
		admin: true,
		subs: []subcommand{
			{name: "event-add", desc: "Create an event", words: []string{"event", "add"},
				options: []option{
					str("id", "New event id: a-z, 0-9 and -", true),
					str("due", "Due date: 2025-07-20, 2025-07, 2025-Q3, JFY2025 or 2025-02-07T10:30", true),
					str("title", "Title of the event", true),
					str("tags", "Tags, separated by spaces or commas", false).as(tagWords),
				}},
			{name: "event-set", desc: "Change an event (fires a changed alert)", words: []string{"event", "set"},
				options: []option{
					eventID,
					str("due", "New due date", false).as(keyValue),
					{name: "status", desc: "New status", kind: discordgo.ApplicationCommandOptionString, form: keyValue,
						choices: []string{"tentative", "scheduled", "happened", "postponed", "cancelled"}},
					str("title", "New title", false).as(keyValue),
					str("tags", "New tags, separated by spaces or commas", false).as(tagList),
					str("lead_times", "Reminder offsets, e.g. 30d 7d 1d 0d", false).as(tagList),
					str("source", "Source URL", false).as(keyValue),
					str("note", "Why it changed (shown in the changed alert)", false).as(keyValue),
				}},
			{name: "event-remove", desc: "Remove an event", words: []string{"event", "remove"},
				options: []option{eventID}},
			{name: "watcher-add", desc: "Create a watcher", words: []string{"watcher", "add"},
				options: []option{
					{name: "kind", desc: "Kind of watcher", kind: discordgo.ApplicationCommandOptionString, required: true,
						choices: []string{"countdown", "feed", "page", "calendar", "jsonapi"}},
					str("id", "New watcher id: a-z, 0-9 and -", true),
					str("schedule", "Cron spec, e.g. */30 * * * * or @every 1h", false).as(keyValue),
					str("url", "Source URL (feed, page, calendar, jsonapi)", false).as(keyValue),
					str("options", "More fields: key=value key=value, lists with commas: match=Japan,Ishiba", false).as(freeText),
				}},
			{name: "watcher-set", desc: "Change a watcher", words: []string{"watcher", "set"},
				options: []option{
					watcherID,
					str("schedule", "New cron spec", false).as(keyValue),
					str("url", "New source URL", false).as(keyValue),
					str("options", "Fields as key=value key=value", false).as(freeText),
				}},
			{name: "watcher-pause", desc: "Pause a watcher", words: []string{"watcher", "pause"}, options: []option{watcherID}},
			{name: "watcher-resume", desc: "Resume a paused watcher", words: []string{"watcher", "resume"}, options: []option{watcherID}},
			{name: "watcher-run", desc: "Run a watcher now and report what it found", words: []string{"watcher", "run"}, options: []option{watcherID}},
			{name: "watcher-remove", desc: "Remove a watcher", words: []string{"watcher", "remove"}, options: []option{watcherID}},
		},
	},
}

// Commands returns the definitions of /alerts and /alerts-admin for a bulk
// overwrite. /alerts-admin has default_member_permissions "0", so Discord
// shows it only to server administrators; the router still checks its own
// admin list.
func Commands() []*discordgo.ApplicationCommand {
	out := make([]*discordgo.ApplicationCommand, 0, len(commands))
	for _, c := range commands {
		ac := &discordgo.ApplicationCommand{
			Type:        discordgo.ChatApplicationCommand,
			Name:        c.name,
			Description: c.desc,
			Options:     []*discordgo.ApplicationCommandOption{},
		}
		ctxs := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
		if c.admin {
			perm := int64(0)
			ac.DefaultMemberPermissions = &perm
		} else {
			ctxs = append(ctxs, discordgo.InteractionContextBotDM)
		}
		ac.Contexts = &ctxs
		for _, s := range c.subs {
			so := &discordgo.ApplicationCommandOption{
				Type:        discordgo.ApplicationCommandOptionSubCommand,
				Name:        s.name,
				Description: s.desc,
			}
			for _, o := range s.options {
				opt := &discordgo.ApplicationCommandOption{
					Type:         o.kind,
					Name:         o.name,
					Description:  o.desc,
					Required:     o.required,
					Autocomplete: o.complete != "",
				}
				for _, ch := range o.choices {
					opt.Choices = append(opt.Choices, &discordgo.ApplicationCommandOptionChoice{Name: ch, Value: ch})
				}
				if o.max > 0 {
					lo := o.min
					opt.MinValue = &lo
					opt.MaxValue = o.max
				}
				so.Options = append(so.Options, opt)
			}
			ac.Options = append(ac.Options, so)
		}
		out = append(out, ac)
	}
	return out
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func (c *command) sub(name string) *subcommand {
	for i := range c.subs {
		if c.subs[i].name == name {
			return &c.subs[i]
		}
	}
	return nil
}

// errUnknown means the interaction names a command this bot does not have
// (an old registration, a context-menu command); the router's help answers.
var errUnknown = errors.New("unknown command")

// args maps an application command interaction to the words a Slack user
// would type after /alerts.
func args(data discordgo.ApplicationCommandInteractionData) ([]string, error) {
	c := findCommand(data.Name)
	if c == nil || data.CommandType > discordgo.ChatApplicationCommand || len(data.Options) != 1 {
		return nil, errUnknown
	}
	so := data.Options[0]
	if so == nil || so.Type != discordgo.ApplicationCommandOptionSubCommand {
		return nil, errUnknown
	}
	s := c.sub(so.Name)
	if s == nil {
		return nil, errUnknown
	}
	given := make(map[string]*discordgo.ApplicationCommandInteractionDataOption, len(so.Options))
	for _, o := range so.Options {
		if o != nil {
			given[o.Name] = o
		}
	}
	words := append([]string(nil), s.words...)
	for _, o := range s.options {
		g := given[o.name]
		if g == nil {
			if o.required {
				return nil, fmt.Errorf("option %s is required", o.name)
			}
			continue
		}
		v, err := optionValue(o, g.Value)
		if err != nil {
			return nil, err
		}
		v = strings.TrimSpace(v)
		if v == "" {
			if o.required {
				return nil, fmt.Errorf("option %s is required", o.name)
			}
			continue
		}
		switch o.form {
		case positional:
			words = append(words, v)
		case hashTag:
			words = append(words, "#"+strings.TrimPrefix(v, "#"))
		case tagWords:
			for _, t := range splitList(v) {
				words = append(words, "#"+t)
			}
		case keyValue:
			words = append(words, o.name+"="+v)
		case tagList:
			words = append(words, o.name+"="+strings.Join(splitList(v), ","))
		case freeText:
			w, err := splitWords(v)
			if err != nil {
				return nil, fmt.Errorf("option %s: %w", o.name, err)
			}
			words = append(words, w...)
		}
	}
	return words, nil
}

// optionValue renders an option's JSON value as text.
func optionValue(o option, v any) (string, error) {
	switch x := v.(type) {
	case string:
		if o.kind == discordgo.ApplicationCommandOptionInteger {
			if _, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err != nil {
				return "", fmt.Errorf("option %s: %q is not a whole number", o.name, x)
			}
		}
		return x, nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return "", fmt.Errorf("option %s: %v is not a whole number", o.name, x)
		}
		return strconv.FormatInt(int64(x), 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("option %s: unsupported value", o.name)
}

// splitList splits "a, b c" into [a b c], dropping leading '#'.
func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	out := f[:0]
	for _, t := range f {
		if t = strings.TrimLeft(t, "#"); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// splitWords splits free text on spaces; double quotes keep spaces inside
// one word (match="Prime Minister").
func splitWords(s string) ([]string, error) {
	var words []string
	var b strings.Builder
	inQuote, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			inWord = true
		case !inQuote && (r == ' ' || r == '\t' || r == '\n'):
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if inQuote {
		return nil, errors.New("a double quote is not closed")
	}
	if inWord {
		words = append(words, b.String())
	}
	return words, nil
}
