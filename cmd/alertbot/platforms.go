package main

import (
	"context"
	"fmt"
	"golang.org/x/time/rate"
	"log/slog"
	"strings"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/discord"
	"github.com/policyteam/alertbot/bot/slack"
)

// limit converts a rate of the config's limits: 0 keeps the adapter's
// default, bot.NoLimit turns its limiter off.
func limit(perSecond float64) rate.Limit {
	if perSecond == bot.NoLimit {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}

// platforms builds every chat platform whose credentials are set in the
// environment.
func (m *Main) platforms(cfg *bot.Config, log *slog.Logger) ([]bot.Platform, error) {
	var out []bot.Platform
	if tok := m.Getenv("SLACK_BOT_TOKEN"); tok != "" {
		a, err := slack.New(slack.Config{
			BotToken:      tok,
			SigningSecret: m.Getenv("SLACK_SIGNING_SECRET"),
			AppToken:      m.Getenv("SLACK_APP_TOKEN"),
			APIURL:        m.Getenv("SLACK_API_URL"),
			ChannelRate:   limit(cfg.Limits.SlackPerChannel),
			Logger:        log.With("platform", "slack"),
			Now:           m.now,
		})
		if err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
		if m.Getenv("SLACK_SIGNING_SECRET") == "" && m.Getenv("SLACK_APP_TOKEN") == "" {
			log.Warn("slack posts alerts but takes no commands: set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)")
		}
		out = append(out, a)
	} else if m.Getenv("SLACK_SIGNING_SECRET") != "" || m.Getenv("SLACK_APP_TOKEN") != "" {
		return nil, fmt.Errorf("slack: SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not")
	}
	d, err := m.discordPlatform(cfg, log)
	if err != nil {
		return nil, err
	}
	if d != nil {
		out = append(out, d)
	}
	return out, nil
}

func (m *Main) slackCmd(args []string) error {
	if len(args) == 0 || args[0] != "manifest" {
		return &exitError{2, "usage: alertbot slack manifest --url https://HOST [--socket-mode]"}
	}
	fs := newFlagSet("slack manifest", m.Stderr)
	url := fs.String("url", "", "public base URL of this bot, e.g. https://alertbot.example.org")
	socket := fs.Bool("socket-mode", false, "Socket Mode app: no public URL needed")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *url == "" && !*socket {
		return &exitError{2, "alertbot slack manifest: give --url https://HOST, or --socket-mode"}
	}
	if *url != "" && !strings.HasPrefix(*url, "https://") {
		return &exitError{2, "alertbot slack manifest: --url must start with https:// (Slack calls only https URLs)"}
	}
	data, err := slack.Manifest(strings.TrimRight(*url, "/"), *socket, commandSpecs())
	if err != nil {
		return err
	}
	_, err = m.Stdout.Write(data)
	return err
}

func (m *Main) discordPlatform(cfg *bot.Config, log *slog.Logger) (bot.Platform, error) {
	tok := m.Getenv("DISCORD_BOT_TOKEN")
	if tok == "" {
		if m.Getenv("DISCORD_PUBLIC_KEY") != "" {
			return nil, fmt.Errorf("discord: DISCORD_PUBLIC_KEY is set but DISCORD_BOT_TOKEN is not")
		}
		return nil, nil
	}
	a, err := discord.New(discord.Config{
		BotToken:   tok,
		AppID:      m.Getenv("DISCORD_APP_ID"),
		PublicKey:  m.Getenv("DISCORD_PUBLIC_KEY"),
		APIURL:     m.Getenv("DISCORD_API_URL"),
		GlobalRate: limit(cfg.Limits.DiscordGlobal),
		Commands:   commandSpecs(),
		Logger:     log.With("platform", "discord"),
		Now:        m.now,
		// Interactions arrive over the gateway unless the application has
		// an HTTP endpoint URL. The leader opens it (RunGateway, for each
		// term of leadership; DESIGN §12): every session of the bot's one
		// shard would get each interaction.
		GatewayURL: m.Getenv("DISCORD_GATEWAY_URL"),
	})
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	return a, nil
}

func (m *Main) discordCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "register" {
		return &exitError{2, "usage: alertbot discord register [--guild ID]"}
	}
	fs := newFlagSet("discord register", m.Stderr)
	guild := fs.String("guild", "", "register in one server only (instant; for testing); default: global")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	tok, app := m.Getenv("DISCORD_BOT_TOKEN"), m.Getenv("DISCORD_APP_ID")
	if tok == "" || app == "" {
		return &exitError{2, "alertbot discord register: set DISCORD_BOT_TOKEN and DISCORD_APP_ID in the environment"}
	}
	a, err := discord.New(discord.Config{BotToken: tok, AppID: app, APIURL: m.Getenv("DISCORD_API_URL"), Now: m.now,
		Commands: commandSpecs()})
	if err != nil {
		return &exitError{1, "alertbot: discord: " + err.Error()}
	}
	if err := a.Register(ctx, *guild); err != nil {
		return &exitError{1, "alertbot: discord register: " + err.Error()}
	}
	where := "globally (may take up to an hour to appear)"
	if *guild != "" {
		where = "in server " + *guild
	}
	fmt.Fprintf(m.Stdout, "registered /alerts and /alerts-admin %s\n", where)
	return nil
}
