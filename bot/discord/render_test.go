package discord

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

func marshalIndent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		msg  bot.Message
	}{
		{"reminder", alertMessage()},
		{"window_open_tentative", bot.Message{
			Kind: watchers.KindWindowOpen, Severity: watchers.Info,
			Title:  "Ishiba–Trump summit",
			Text:   "Expected in February 2025 — exact date not set.",
			Fields: []watchers.Field{{Name: "Due", Value: "February 2025 (month, tentative)"}, {Name: "Status", Value: "tentative"}},
			Tags:   []string{"japan", "us", "summit"},
			Footer: "deadlines · window_open",
			Buttons: []bot.Button{
				{Label: "Mute 1 day", Command: "mute event:ishiba-trump-summit 1d"},
				{Label: "Pause watcher", Command: "watcher pause deadlines", AdminOnly: true},
			},
		}},
		{"feed_item_hostile", bot.Message{
			Kind: watchers.KindFeedItem, Severity: watchers.Notice,
			Title:  "**Breaking** @everyone <@123> `code` # not a heading",
			Text:   "# Heading\n> quote\n- list\n[masked](https://evil.example) ||spoiler|| ~~gone~~ _it_",
			Link:   "javascript:alert(1)",
			Footer: "crs-japan · feed_item",
		}},
		{"watcher_failing", bot.Message{
			Kind: watchers.KindWatcherFailing, Severity: watchers.Warning,
			Title:  "Watcher crs-japan is failing",
			Text:   "3 checks in a row failed: HTTP 503.",
			Fields: []watchers.Field{{Name: "Last success", Value: "2025-07-12 09:00 JST", Time: time.Unix(1752278400, 0)}, {Name: "", Value: ""}},
			Footer: "crs-japan · watcher_failing",
		}},
		{"text_only", bot.Message{Text: "Delivery to discord:1 failed: Unknown Channel."}},
		// A proposal's Confirm and Dismiss show though admin-only.
		{"date_proposal", bot.MessageFor(watchers.Alert{
			Key: "proposals/upper-house-election-2025/date_proposal@2025-07-20", Kind: watchers.KindDateProposal,
			Watcher: "nhk-politics", Event: "upper-house-election-2025", Severity: watchers.Notice,
			Title: "Date proposal: House of Councillors (Upper House) election",
			Text:  "July 2025 → Sun 20 July 2025\n“政府は参院選を7月20日投開票とする日程を決めた。”",
			Link:  "https://news.example/politics/1",
			Fields: []watchers.Field{{Name: "Event", Value: "upper-house-election-2025"}, {Name: "Due now", Value: "2025-07"},
				{Name: "Proposed", Value: "2025-07-20"}, {Name: "Proposal", Value: "p26871459"}},
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Render(tt.msg)
			checkLimits(t, got)
			sharedtest.Golden(t, filepath.Join("testdata", "render_"+tt.name+".json"), marshalIndent(t, got))
		})
	}
}

// checkLimits asserts every Discord limit on a rendered message.
func checkLimits(t *testing.T, m *discordgo.MessageSend) {
	t.Helper()
	n := utf8.RuneCountInString
	if n(m.Content) > MaxContent {
		t.Errorf("content %d runes", n(m.Content))
	}
	if len(m.Embeds) > MaxEmbeds {
		t.Errorf("%d embeds", len(m.Embeds))
	}
	if m.AllowedMentions == nil || m.AllowedMentions.Parse == nil || len(m.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed mentions %+v, want parse: []", m.AllowedMentions)
	}
	total := 0
	for _, e := range m.Embeds {
		if n(e.Title) > MaxEmbedTitle || n(e.Description) > MaxEmbedDesc || len(e.Fields) > MaxEmbedFields {
			t.Errorf("embed title %d, description %d, fields %d", n(e.Title), n(e.Description), len(e.Fields))
		}
		total += n(e.Title) + n(e.Description)
		for _, f := range e.Fields {
			if n(f.Name) > MaxFieldName || n(f.Value) > MaxFieldValue || f.Name == "" || f.Value == "" {
				t.Errorf("field name %d value %d", n(f.Name), n(f.Value))
			}
			total += n(f.Name) + n(f.Value)
		}
		if e.Footer != nil {
			if n(e.Footer.Text) > MaxFooter {
				t.Errorf("footer %d", n(e.Footer.Text))
			}
			total += n(e.Footer.Text)
		}
		for _, s := range []string{e.Title, e.Description} {
			if !utf8.ValidString(s) {
				t.Errorf("invalid UTF-8 after a cut: %q", s)
			}
		}
	}
	if total > MaxEmbedTotal {
		t.Errorf("embeds total %d characters, limit %d", total, MaxEmbedTotal)
	}
	if len(m.Components) > MaxActionRows {
		t.Errorf("%d action rows", len(m.Components))
	}
	for _, c := range m.Components {
		row := c.(discordgo.ActionsRow)
		if len(row.Components) > MaxButtonsPerRow {
			t.Errorf("%d buttons in a row", len(row.Components))
		}
		for _, b := range row.Components {
			if id := b.(discordgo.Button).CustomID; len(id) > MaxCustomID {
				t.Errorf("custom_id of %d", len(id))
			}
		}
	}
}

// long is n runes of a three-byte character, so byte-based cuts would
// split it.
func long(n int) string { return strings.Repeat("日", n) }

func TestRenderLimits(t *testing.T) {
	cutTo := func(t *testing.T, what, s string, n int) {
		t.Helper()
		if got := utf8.RuneCountInString(s); got != n || !strings.HasSuffix(s, "…") || !utf8.ValidString(s) {
			t.Errorf("%s: %d runes ending %q, want %d ending in …", what, got, s[max(0, len(s)-6):], n)
		}
	}
	t.Run("title", func(t *testing.T) {
		e := Render(bot.Message{Title: long(300)}).Embeds[0]
		cutTo(t, "title", e.Title, MaxEmbedTitle)
	})
	t.Run("description", func(t *testing.T) {
		e := Render(bot.Message{Title: "t", Text: long(5000)}).Embeds[0]
		cutTo(t, "description", e.Description, MaxEmbedDesc)
	})
	t.Run("field name and value", func(t *testing.T) {
		e := Render(bot.Message{Fields: []watchers.Field{{Name: long(300), Value: long(2000)}}}).Embeds[0]
		cutTo(t, "name", e.Fields[0].Name, MaxFieldName)
		cutTo(t, "value", e.Fields[0].Value, MaxFieldValue)
	})
	t.Run("footer", func(t *testing.T) {
		e := Render(bot.Message{Footer: long(3000)}).Embeds[0]
		cutTo(t, "footer", e.Footer.Text, MaxFooter)
	})
	t.Run("25 fields", func(t *testing.T) {
		var fs []watchers.Field
		for i := range 30 {
			fs = append(fs, watchers.Field{Name: fmt.Sprint("f", i), Value: "v"})
		}
		m := Render(bot.Message{Title: "t", Fields: fs, Tags: []string{"japan"}})
		checkLimits(t, m)
		e := m.Embeds[0]
		if len(e.Fields) != MaxEmbedFields {
			t.Fatalf("%d fields, want %d", len(e.Fields), MaxEmbedFields)
		}
		if last := e.Fields[MaxEmbedFields-1]; last.Name != "Tags" || last.Value != "#japan" {
			t.Errorf("last field %+v, want the tags", last)
		}
	})
	t.Run("content", func(t *testing.T) {
		m := Render(bot.Message{Text: long(3000)})
		if len(m.Embeds) != 0 {
			t.Fatalf("text-only message rendered %d embeds", len(m.Embeds))
		}
		cutTo(t, "content", m.Content, MaxContent)
	})
	t.Run("6000 total", func(t *testing.T) {
		var fs []watchers.Field
		for i := range 10 {
			fs = append(fs, watchers.Field{Name: fmt.Sprint("field ", i), Value: long(1000)})
		}
		msg := bot.Message{Title: long(300), Text: long(5000), Fields: fs, Footer: long(3000), Tags: []string{"japan"}}
		m := Render(msg)
		checkLimits(t, m)
		e := m.Embeds[0]
		total := runes(e.Title) + runes(e.Description)
		for _, f := range e.Fields {
			total += runes(f.Name) + runes(f.Value)
		}
		if e.Footer != nil {
			total += runes(e.Footer.Text)
		}
		if total > MaxEmbedTotal || total < MaxEmbedTotal-10 {
			t.Errorf("total %d, want close to and at most %d", total, MaxEmbedTotal)
		}
		if runes(e.Description) < minDescriptionKept {
			t.Errorf("description kept %d runes, want ≥ %d", runes(e.Description), minDescriptionKept)
		}
		if len(e.Fields) == 0 || len(e.Fields) >= 11 {
			t.Errorf("%d fields kept", len(e.Fields))
		}
	})
	t.Run("buttons", func(t *testing.T) {
		var bs []bot.Button
		for i := range 7 {
			bs = append(bs, bot.Button{Label: fmt.Sprint("b", i), Command: fmt.Sprint("mute event:e", i, " 1d")})
		}
		bs = append(bs, bot.Button{Label: "too long", Command: "mute event:" + strings.Repeat("x", 100) + " 1d"})
		bs = append(bs, bot.Button{Label: long(100), Command: "help"})
		m := Render(bot.Message{Title: "t", Buttons: bs})
		checkLimits(t, m)
		if len(m.Components) != 2 {
			t.Fatalf("%d rows, want 2", len(m.Components))
		}
		second := m.Components[1].(discordgo.ActionsRow).Components
		if len(second) != 3 {
			t.Fatalf("second row holds %d buttons, want 3 (the too-long one dropped)", len(second))
		}
		if lb := second[2].(discordgo.Button).Label; runes(lb) != MaxButtonLabel {
			t.Errorf("label of %d runes", runes(lb))
		}
	})
}

func TestEscape(t *testing.T) {
	tests := map[string]string{
		"plain text":          "plain text",
		"*a* _b_ ~c~ `d` |e|": `\*a\* \_b\_ \~c\~ \` + "`d\\`" + ` \|e\|`,
		"<@123> [x](y)":       `\<@123> \[x\](y)`,
		"# h\n> q\n- l\n-x":   "\\# h\n\\> q\n\\- l\n-x",
		"  # indented":        `  \# indented`,
		"-# subtext":          `\-# subtext`,
		`back\slash`:          `back\\slash`,
	}
	for in, want := range tests {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommandsGolden(t *testing.T) {
	sharedtest.Golden(t, filepath.Join("testdata", "commands.json"), marshalIndent(t, Commands(testSpecs)))
}

var nameRE = regexp.MustCompile(`^[-_a-z0-9]{1,32}$`)

// TestCommandsRules holds Commands() to Discord's registration rules.
func TestCommandsRules(t *testing.T) {
	cmds := Commands(testSpecs)
	if len(cmds) != 2 {
		t.Fatalf("%d commands, want 2", len(cmds))
	}
	var check func(path string, opts []*discordgo.ApplicationCommandOption)
	check = func(path string, opts []*discordgo.ApplicationCommandOption) {
		if len(opts) > 25 {
			t.Errorf("%s: %d options, limit 25", path, len(opts))
		}
		seen := map[string]bool{}
		optional := false
		for _, o := range opts {
			p := path + " " + o.Name
			if !nameRE.MatchString(o.Name) {
				t.Errorf("%s: bad name", p)
			}
			if seen[o.Name] {
				t.Errorf("%s: duplicate", p)
			}
			seen[o.Name] = true
			if d := utf8.RuneCountInString(o.Description); d < 1 || d > 100 {
				t.Errorf("%s: description of %d characters", p, d)
			}
			if o.Required && optional {
				t.Errorf("%s: required after an optional option", p)
			}
			optional = optional || !o.Required
			if o.Autocomplete && (o.Type != discordgo.ApplicationCommandOptionString || len(o.Choices) > 0) {
				t.Errorf("%s: autocomplete only on string options without choices", p)
			}
			if len(o.Choices) > 25 {
				t.Errorf("%s: %d choices", p, len(o.Choices))
			}
			check(p, o.Options)
		}
	}
	for _, c := range cmds {
		if !nameRE.MatchString(c.Name) {
			t.Errorf("command %q: bad name", c.Name)
		}
		if d := utf8.RuneCountInString(c.Description); d < 1 || d > 100 {
			t.Errorf("%s: description of %d characters", c.Name, d)
		}
		check("/"+c.Name, c.Options)
	}
	b, err := json.Marshal(cmds)
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw[1]["name"] != "alerts-admin" || raw[1]["default_member_permissions"] != "0" {
		t.Errorf("admin command %v, want default_member_permissions \"0\"", raw[1])
	}
	if _, ok := raw[0]["default_member_permissions"]; ok {
		t.Errorf("/alerts is restricted: %v", raw[0]["default_member_permissions"])
	}
}

// TestArgs maps every subcommand to the words of DESIGN §6.
func TestArgs(t *testing.T) {
	o := func(name string, v any) *discordgo.ApplicationCommandInteractionDataOption {
		return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionString, Value: v}
	}
	data := func(cmd, sub string, opts ...*discordgo.ApplicationCommandInteractionDataOption) discordgo.ApplicationCommandInteractionData {
		return discordgo.ApplicationCommandInteractionData{Name: cmd, CommandType: discordgo.ChatApplicationCommand,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}}}
	}
	tests := []struct {
		name string
		in   discordgo.ApplicationCommandInteractionData
		want []string
	}{
		{"help", data("alerts", "help"), []string{"help"}},
		{"help command", data("alerts", "help", o("command", "mute")), []string{"help", "mute"}},
		{"upcoming", data("alerts", "upcoming"), []string{"upcoming"}},
		{"upcoming tag within", data("alerts", "upcoming", o("within", "30d"), o("tag", "japan")), []string{"upcoming", "#japan", "30d"}},
		{"event", data("alerts", "event", o("id", "jp-fy2025-budget")), []string{"event", "jp-fy2025-budget"}},
		{"history n", data("alerts", "history", o("n", 5.0)), []string{"history", "5"}},
		{"watchers", data("alerts", "watchers"), []string{"watchers"}},
		{"subscribe", data("alerts", "subscribe", o("target", "watcher:crs-japan")), []string{"subscribe", "watcher:crs-japan"}},
		{"unsubscribe", data("alerts", "unsubscribe", o("target", "all")), []string{"unsubscribe", "all"}},
		{"subscriptions", data("alerts", "subscriptions"), []string{"subscriptions"}},
		{"mute", data("alerts", "mute", o("target", "#budget"), o("duration", "1d")), []string{"mute", "#budget", "1d"}},
		{"unmute", data("alerts", "unmute", o("target", "#budget")), []string{"unmute", "#budget"}},
		{"event-add", data("alerts-admin", "event-add", o("id", "g7"), o("due", "2025-06"), o("title", "G7 summit in Kananaskis"), o("tags", "#g7, japan  us")),
			[]string{"event", "add", "g7", "2025-06", "G7 summit in Kananaskis", "#g7", "#japan", "#us"}},
		{"event-set", data("alerts-admin", "event-set", o("id", "g7"), o("source", "https://g7.example"), o("status", "scheduled"), o("due", "2025-06-15"),
			o("lead_times", "7d 1d"), o("tags", "g7,summit"), o("title", "G7 summit"), o("note", "dates announced")),
			[]string{"event", "set", "g7", "due=2025-06-15", "status=scheduled", "title=G7 summit", "tags=g7,summit", "lead_times=7d,1d",
				"source=https://g7.example", "note=dates announced"}},
		{"event-set only status", data("alerts-admin", "event-set", o("id", "g7"), o("status", "postponed")), []string{"event", "set", "g7", "status=postponed"}},
		{"event-remove", data("alerts-admin", "event-remove", o("id", "g7")), []string{"event", "remove", "g7"}},
		{"watcher-add", data("alerts-admin", "watcher-add", o("kind", "feed"), o("id", "mofa"), o("url", "https://mofa.example/rss"),
			o("schedule", "*/30 * * * *"), o("options", `match="Japan,Prime Minister"  fail_after=3`)),
			[]string{"watcher", "add", "feed", "mofa", "schedule=*/30 * * * *", "url=https://mofa.example/rss", "match=Japan,Prime Minister", "fail_after=3"}},
		{"watcher-set", data("alerts-admin", "watcher-set", o("id", "mofa"), o("options", "timeout=20s")), []string{"watcher", "set", "mofa", "timeout=20s"}},
		{"watcher-pause", data("alerts-admin", "watcher-pause", o("id", "mofa")), []string{"watcher", "pause", "mofa"}},
		{"watcher-resume", data("alerts-admin", "watcher-resume", o("id", "mofa")), []string{"watcher", "resume", "mofa"}},
		{"watcher-run", data("alerts-admin", "watcher-run", o("id", "mofa")), []string{"watcher", "run", "mofa"}},
		{"watcher-remove", data("alerts-admin", "watcher-remove", o("id", "mofa")), []string{"watcher", "remove", "mofa"}},
		{"blank optional dropped", data("alerts", "upcoming", o("tag", "  ")), []string{"upcoming"}},
		{"events", data("alerts", "events", o("words", "upper house"), o("scope", "past"), o("tag", "参院選"), o("page", "2")),
			[]string{"events", "#参院選", "past", "upper house", "page=2"}},
		{"tz", data("alerts", "tz", o("zone", "America/New_York")), []string{"tz", "America/New_York"}},
		{"timeline", data("alerts", "timeline", o("within", "730d"), o("tag", "election")), []string{"timeline", "#election", "730d"}},
		{"settings", data("alerts", "settings", o("what", "quiet"), o("value", "22:00-07:00 Asia/Tokyo")), []string{"settings", "quiet", "22:00-07:00 Asia/Tokyo"}},
		{"preview", data("alerts", "preview", o("within", "30d")), []string{"preview", "30d"}},
		{"audit", data("alerts-admin", "audit", o("n", 5.0), o("words", "subscribe budget")), []string{"audit", "5", "subscribe budget"}},
		{"remind-me", data("alerts", "remind-me", o("target", "event:g7"), o("leads", "3d 1d")), []string{"remind", "me", "event:g7", "3d 1d"}},
		{"reminders", data("alerts", "reminders"), []string{"reminders"}},
		{"forget", data("alerts", "forget", o("target", "#g7")), []string{"forget", "#g7"}},
		{"again", data("alerts", "again", o("delivery", "42"), o("when", "tomorrow")), []string{"again", "42", "tomorrow"}},
		{"proposals", data("alerts", "proposals"), []string{"proposals"}},
		{"proposal-confirm", data("alerts-admin", "proposal-confirm", o("id", "p1a2b3c4d")), []string{"proposal", "confirm", "p1a2b3c4d"}},
		{"proposal-dismiss", data("alerts-admin", "proposal-dismiss", o("id", "p1a2b3c4d")), []string{"proposal", "dismiss", "p1a2b3c4d"}},
		{"event-set match", data("alerts-admin", "event-set", o("id", "g7"), o("match", "G7 summit, /サミット/")),
			[]string{"event", "set", "g7", "match=G7 summit, /サミット/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := args(testTable, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
	bad := []struct {
		name string
		in   discordgo.ApplicationCommandInteractionData
		want string
	}{
		{"unknown command", data("blep", "x"), "unknown command"},
		{"unknown subcommand", data("alerts", "nope"), "unknown command"},
		{"missing required", data("alerts", "mute", o("target", "all")), "option duration is required"},
		{"fractional integer", data("alerts", "history", o("n", 2.5)), "not a whole number"},
		{"integer as bad text", data("alerts", "history", o("n", "many")), "not a whole number"},
		{"unclosed quote", data("alerts-admin", "watcher-set", o("id", "x"), o("options", `match="Prime`)), "not closed"},
		{"odd value type", data("alerts", "event", o("id", map[string]any{})), "unsupported value"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := args(testTable, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("args error %v, want %q", err, tt.want)
			}
		})
	}
	// Every subcommand in the table is covered above.
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.in.Name+" "+tt.in.Options[0].Name] = true
	}
	for _, c := range testTable {
		for _, s := range c.subs {
			if !covered[c.name+" "+s.name] {
				t.Errorf("no mapping test for /%s %s", c.name, s.name)
			}
		}
	}
}

func TestColor(t *testing.T) {
	tests := []struct {
		kind watchers.Kind
		sev  watchers.Severity
		want int
	}{
		{watchers.KindReminder, watchers.Info, colorInfo},
		{watchers.KindReminder, watchers.Notice, colorNotice},
		{watchers.KindReminder, watchers.Warning, colorWarning},
		{watchers.KindReminder, watchers.Critical, colorCritical},
		{watchers.KindOverdue, watchers.Notice, colorCritical},
		{watchers.KindWatcherFailing, watchers.Warning, colorCritical},
		{watchers.KindDeliveryFailed, watchers.Info, colorCritical},
		{watchers.KindWatcherRecovered, watchers.Notice, colorRecovered},
		{watchers.KindChanged, watchers.Notice, colorChanged},
		{watchers.KindCalendarChanged, watchers.Info, colorChanged},
		{watchers.KindChanged, watchers.Critical, colorCritical},
	}
	for _, tt := range tests {
		if got := color(tt.kind, tt.sev); got != tt.want {
			t.Errorf("color(%s, %d) = %#x, want %#x", tt.kind, tt.sev, got, tt.want)
		}
	}
}
