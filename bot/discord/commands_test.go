package discord

import (
	"context"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
)

// testKinds are the watcher kinds of cmd/alertbot's wiring table, sorted.
var testKinds = []string{"calendar", "countdown", "feed", "jsonapi", "page"}

// testSpecs is the command table the tests' adapters get.
var testSpecs = bot.Commands(testKinds)

// testTable is testSpecs as Discord sees it.
var testTable = build(testSpecs)

// TestCommandsFromTable: every command of the table is a subcommand of the
// right Discord command with the table's options, and every subcommand
// maps back to the router command it came from.
func TestCommandsFromTable(t *testing.T) {
	cmds := Commands(testSpecs)
	subs := map[string]*discordgo.ApplicationCommandOption{} // "alerts-admin event-add" → subcommand
	for _, c := range cmds {
		for _, s := range c.Options {
			subs[c.Name+" "+s.Name] = s
		}
	}
	if len(subs) != len(testSpecs) {
		t.Errorf("%d subcommands for %d commands", len(subs), len(testSpecs))
	}
	for _, spec := range testSpecs {
		key := CommandName(spec) + " " + SubcommandName(spec)
		s := subs[key]
		if s == nil {
			t.Errorf("%q: no Discord subcommand /%s", spec.Name, key)
			continue
		}
		if s.Description != spec.Summary {
			t.Errorf("/%s: description %q, want the summary %q", key, s.Description, spec.Summary)
		}
		type opt struct {
			Name     string
			Required bool
			Auto     bool
			Choices  []string
			Integer  bool
		}
		var want, got []opt
		for _, o := range spec.Options {
			want = append(want, opt{o.Name, o.Required, o.Complete != "", o.Choices, o.Type == bot.IntegerOption})
		}
		for _, o := range s.Options {
			var choices []string
			for _, c := range o.Choices {
				choices = append(choices, c.Value.(string))
			}
			got = append(got, opt{o.Name, o.Required, o.Autocomplete, choices, o.Type == discordgo.ApplicationCommandOptionInteger})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("/%s options (-want +got):\n%s", key, diff)
		}
	}
	// Back: an interaction with every required option set runs the
	// router command the subcommand was built from.
	for _, c := range cmds {
		for _, s := range c.Options {
			var given []*discordgo.ApplicationCommandInteractionDataOption
			for _, o := range s.Options {
				if !o.Required {
					continue
				}
				var v any = "x"
				switch {
				case len(o.Choices) > 0:
					v = o.Choices[0].Value
				case o.Type == discordgo.ApplicationCommandOptionInteger:
					v = 1.0
				}
				given = append(given, &discordgo.ApplicationCommandInteractionDataOption{Name: o.Name, Type: o.Type, Value: v})
			}
			data := discordgo.ApplicationCommandInteractionData{Name: c.Name, CommandType: discordgo.ChatApplicationCommand,
				Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: s.Name, Type: discordgo.ApplicationCommandOptionSubCommand, Options: given}}}
			words, err := args(testTable, data)
			if err != nil {
				t.Errorf("/%s %s: %v", c.Name, s.Name, err)
				continue
			}
			spec, _, ok := bot.FindCommand(testSpecs, words)
			if !ok || CommandName(spec) != c.Name || SubcommandName(spec) != s.Name {
				t.Errorf("/%s %s maps to %q, which the router reads as %q", c.Name, s.Name, strings.Join(words, " "), spec.Name)
			}
		}
	}
}

// TestWatcherKindChoices: the kinds offered are the wiring table's, not a
// list of our own.
func TestWatcherKindChoices(t *testing.T) {
	for _, kinds := range [][]string{testKinds, {"feed"}} {
		var got []string
		for _, s := range Commands(bot.Commands(kinds))[1].Options {
			if s.Name != "watcher-add" {
				continue
			}
			for _, c := range s.Options[0].Choices {
				got = append(got, c.Name)
			}
		}
		if diff := cmp.Diff(kinds, got); diff != "" {
			t.Errorf("watcher-add kind choices (-want +got):\n%s", diff)
		}
	}
}

// TestCommandTableRequired: an adapter that answers interactions or
// registers commands refuses to start without the table.
func TestCommandTableRequired(t *testing.T) {
	for _, cfg := range []Config{
		{BotToken: "t", PublicKey: strings.Repeat("ab", 32)},
		{BotToken: "t", Gateway: true},
	} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "command table") {
			t.Errorf("New without commands: error %v, want one about the command table", err)
		}
	}
	a, err := New(Config{BotToken: "t", AppID: "1000", APIURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Register(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "command table") {
		t.Errorf("Register without commands: error %v, want one about the command table", err)
	}
}
