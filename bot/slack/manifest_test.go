package slack

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/policyteam/alertbot/bot"
)

// testCommands is the command table, with cmd/alertbot's watcher kinds.
var testCommands = bot.Commands([]string{"calendar", "countdown", "feed", "jsonapi", "page"})

func TestManifestHTTP(t *testing.T) {
	out, err := Manifest("https://alerts.example.org/", false, testCommands)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(out, &m); err != nil {
		t.Fatalf("manifest is not YAML: %v\n%s", err, out)
	}
	get := func(path ...string) any {
		var v any = m
		for _, p := range path {
			mm, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, p)
			}
			v = mm[p]
		}
		return v
	}
	if got := get("display_information", "name"); got != "alertbot" {
		t.Errorf("name %v", got)
	}
	if get("features", "bot_user") == nil {
		t.Error("no bot_user")
	}
	cmds, _ := get("features", "slash_commands").([]any)
	if len(cmds) != 1 {
		t.Fatalf("slash commands %v", cmds)
	}
	cmd := cmds[0].(map[string]any)
	want := map[string]any{"command": "/alerts", "url": "https://alerts.example.org/slack/commands", "should_escape": false}
	for k, v := range want {
		if cmd[k] != v {
			t.Errorf("command %s = %v, want %v", k, cmd[k], v)
		}
	}
	if cmd["description"] == "" || cmd["usage_hint"] == "" {
		t.Errorf("command without description or usage hint: %v", cmd)
	}
	if got := get("settings", "interactivity", "request_url"); got != "https://alerts.example.org/slack/interactions" {
		t.Errorf("interactivity url %v", got)
	}
	if got := get("settings", "socket_mode_enabled"); got != false {
		t.Errorf("socket_mode_enabled %v", got)
	}
	scopes, _ := get("oauth_config", "scopes", "bot").([]any)
	if diff := cmp.Diff([]any{"commands", "chat:write", "chat:write.public", "channels:history", "groups:history", "files:write", "channels:join", "im:write", "im:history"}, scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

func TestManifestSocketMode(t *testing.T) {
	out, err := Manifest("", true, testCommands)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "url") || strings.Contains(s, "https://") {
		t.Errorf("socket-mode manifest has URLs:\n%s", s)
	}
	var m struct {
		Settings struct {
			SocketMode    bool `yaml:"socket_mode_enabled"`
			Interactivity struct {
				IsEnabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if !m.Settings.SocketMode || !m.Settings.Interactivity.IsEnabled {
		t.Errorf("settings %+v", m.Settings)
	}
}

func TestManifestBadURL(t *testing.T) {
	for _, u := range []string{"", "http://alerts.example.org", "alerts.example.org", "https://x/?a=1", "https://u:p@x", "https://"} {
		if _, err := Manifest(u, false, testCommands); err == nil {
			t.Errorf("Manifest(%q) accepted", u)
		} else if !strings.HasPrefix(err.Error(), "slack manifest:") {
			t.Errorf("Manifest(%q): error %q lacks context", u, err)
		}
	}
}

// TestManifestCommandFromTable: the slash command's description and usage
// hint come from the command table: every command a member may use, and
// no admin command.
func TestManifestCommandFromTable(t *testing.T) {
	out, err := Manifest("", true, testCommands)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	cmd := m.Features.SlashCommands[0]
	if cmd.Description != bot.CommandDescription {
		t.Errorf("description %q, want %q", cmd.Description, bot.CommandDescription)
	}
	got := strings.Split(cmd.UsageHint, " | ")
	var want []string
	for _, c := range testCommands {
		if !c.Admin {
			want = append(want, c.Usage())
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("usage hint (-want +got):\n%s", diff)
	}
	if n := len([]rune(cmd.UsageHint)); n > maxUsageHint {
		t.Errorf("usage hint of %d characters, limit %d", n, maxUsageHint)
	}
	if _, err := Manifest("", true, nil); err == nil {
		t.Error("manifest without commands accepted")
	}
}
