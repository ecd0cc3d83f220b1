package slack

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/policyteam/alertbot/bot"
)

// manifest is the part of Slack's app manifest alertbot fills in.
// https://docs.slack.dev/reference/app-manifest
type manifest struct {
	DisplayInformation struct {
		Name            string `yaml:"name"`
		Description     string `yaml:"description"`
		LongDescription string `yaml:"long_description,omitempty"`
	} `yaml:"display_information"`
	Features struct {
		BotUser struct {
			DisplayName  string `yaml:"display_name"`
			AlwaysOnline bool   `yaml:"always_online"`
		} `yaml:"bot_user"`
		SlashCommands []slashCommand `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url,omitempty"`
		} `yaml:"interactivity"`
		OrgDeployEnabled     bool `yaml:"org_deploy_enabled"`
		SocketModeEnabled    bool `yaml:"socket_mode_enabled"`
		TokenRotationEnabled bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

type slashCommand struct {
	Command      string `yaml:"command"`
	URL          string `yaml:"url,omitempty"`
	Description  string `yaml:"description"`
	UsageHint    string `yaml:"usage_hint"`
	ShouldEscape bool   `yaml:"should_escape"`
}

// maxUsageHint is the longest usage_hint a manifest may carry
// (https://github.com/slackapi/manifest-schema, features.slash_commands).
const maxUsageHint = 1000

// BotScopes are the OAuth scopes alertbot needs: the slash command, posting,
// posting to public channels it was not invited to, reading the history
// of public and private channels, where Resolve looks for a post whose
// answer was lost before posting it again (DESIGN §5), sharing the
// picture of /alerts timeline (DESIGN §11), which needs membership even
// in a public channel: the bot joins one where it was asked for it; and
// for personal reminders by direct message (DESIGN §9), opening a direct
// message (im:write) and reading its history for the same lookup
// (im:history).
var BotScopes = []string{"commands", "chat:write", "chat:write.public", "channels:history", "groups:history", "files:write", "channels:join", "im:write", "im:history"}

// Manifest returns a Slack app manifest (YAML) for alertbot. In HTTP mode
// the slash command and interactivity point at baseURL + "/slack/commands"
// and "/slack/interactions"; with socketMode the manifest has no URLs and
// baseURL may be empty. The command's usage hint comes from the command
// table cmds (bot.Commands).
func Manifest(baseURL string, socketMode bool, cmds []bot.CommandSpec) ([]byte, error) {
	hint, err := usageHint(cmds)
	if err != nil {
		return nil, err
	}
	var m manifest
	m.DisplayInformation.Name = "alertbot"
	m.DisplayInformation.Description = "Dated-event alerts for the U.S.–Japan policy team"
	m.DisplayInformation.LongDescription = "alertbot reminds channels of budget deadlines, elections, summits and other dated events, " +
		"and of changes on the pages and feeds it watches. Channels subscribe with /alerts subscribe #tag; " +
		"anyone can ask /alerts upcoming."
	m.Features.BotUser.DisplayName = "alertbot"
	m.Features.BotUser.AlwaysOnline = true
	cmd := slashCommand{
		Command:      "/alerts",
		Description:  bot.CommandDescription,
		UsageHint:    hint,
		ShouldEscape: false,
	}
	m.OAuthConfig.Scopes.Bot = append([]string(nil), BotScopes...)
	m.Settings.Interactivity.IsEnabled = true
	m.Settings.SocketModeEnabled = socketMode
	if !socketMode {
		base, err := manifestBase(baseURL)
		if err != nil {
			return nil, err
		}
		cmd.URL = base + "/slack/commands"
		m.Settings.Interactivity.RequestURL = base + "/slack/interactions"
	}
	m.Features.SlashCommands = []slashCommand{cmd}
	out, err := yaml.Marshal(&m)
	if err != nil {
		return nil, fmt.Errorf("slack manifest: %w", err)
	}
	return out, nil
}

// usageHint lists the commands everyone may use, as Slack shows them under
// /alerts while typing; admins find theirs with /alerts help.
func usageHint(cmds []bot.CommandSpec) (string, error) {
	var parts []string
	for _, c := range cmds {
		if !c.Admin {
			parts = append(parts, c.Usage())
		}
	}
	hint := strings.Join(parts, " | ")
	switch n := utf8.RuneCountInString(hint); {
	case n == 0:
		return "", fmt.Errorf("slack manifest: no commands for the usage hint")
	case n > maxUsageHint:
		return "", fmt.Errorf("slack manifest: usage hint of %d characters, limit %d", n, maxUsageHint)
	}
	return hint, nil
}

// manifestBase checks the public base URL Slack will call.
func manifestBase(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("slack manifest: --url is required unless --socket-mode is set")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("slack manifest: url %q: %w", raw, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("slack manifest: url %q: Slack calls only public https URLs (e.g. https://alerts.example.org)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("slack manifest: url %q: want a base URL without query, fragment or user info", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
