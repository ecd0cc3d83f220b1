package discord

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
)

// Command names registered with Discord.
const (
	CommandAlerts = "alerts"
	CommandAdmin  = "alerts-admin"
)

// adminDescription describes /alerts-admin: Discord sets permissions per
// command, so the admin commands of the table form a command of their own.
const adminDescription = "alertbot administration: events and watchers (admins only)"

// what autocomplete suggests for an option.
const (
	completeEvent   = bot.CompleteEvent
	completeWatcher = bot.CompleteWatcher
	completeTag     = bot.CompleteTag
	completeTarget  = bot.CompleteTarget
)

// option, subcommand and command are the table (bot.CommandSpec) as
// Discord sees it; build derives them, and both the registration and the
// mapping of interactions back to router words read them.
type option struct {
	name     string
	desc     string
	kind     discordgo.ApplicationCommandOptionType
	required bool
	form     bot.Form
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

// SubcommandName is the Discord subcommand of a command of the table:
// "event add" is /alerts-admin event-add.
func SubcommandName(spec bot.CommandSpec) string { return strings.ReplaceAll(spec.Name, " ", "-") }

// CommandName is the Discord command a command of the table is listed
// under: CommandAdmin for admin commands, else CommandAlerts.
func CommandName(spec bot.CommandSpec) string {
	if spec.Admin {
		return CommandAdmin
	}
	return CommandAlerts
}

// build groups the table into /alerts and /alerts-admin.
func build(specs []bot.CommandSpec) []command {
	out := []command{
		{name: CommandAlerts, desc: bot.CommandDescription},
		{name: CommandAdmin, desc: adminDescription, admin: true},
	}
	for _, s := range specs {
		sub := subcommand{name: SubcommandName(s), desc: s.Summary, words: strings.Fields(s.Name)}
		for _, o := range s.Options {
			opt := option{name: o.Name, desc: o.Desc, kind: discordgo.ApplicationCommandOptionString, required: o.Required,
				form: o.Form, complete: o.Complete, choices: o.Choices}
			if o.Type == bot.IntegerOption {
				opt.kind = discordgo.ApplicationCommandOptionInteger
				opt.min, opt.max = float64(o.Min), float64(o.Max)
			}
			sub.options = append(sub.options, opt)
		}
		i := 0
		if s.Admin {
			i = 1
		}
		out[i].subs = append(out[i].subs, sub)
	}
	return out
}

// Commands returns the definitions of /alerts and /alerts-admin for a bulk
// overwrite, built from the command table. /alerts-admin has
// default_member_permissions "0", so Discord shows it only to server
// administrators; the router still checks its own admin list.
func Commands(specs []bot.CommandSpec) []*discordgo.ApplicationCommand {
	return schema(build(specs))
}

// schema renders commands as Discord's application commands.
func schema(commands []command) []*discordgo.ApplicationCommand {
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

// findCommand returns the command of commands called name.
func findCommand(commands []command, name string) *command {
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
func args(commands []command, data discordgo.ApplicationCommandInteractionData) ([]string, error) {
	c := findCommand(commands, data.Name)
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
		case bot.FormWord, bot.FormText:
			// A Discord value is one router word even with spaces
			// inside: the router joins a title's words anyway.
			words = append(words, v)
		case bot.FormTag:
			words = append(words, "#"+strings.TrimPrefix(v, "#"))
		case bot.FormTags:
			for _, t := range splitList(v) {
				words = append(words, "#"+t)
			}
		case bot.FormKeyValue:
			words = append(words, o.name+"="+v)
		case bot.FormList:
			words = append(words, o.name+"="+strings.Join(splitList(v), ","))
		case bot.FormFields:
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
