package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/calendar"
	"github.com/policyteam/alertbot/watchers/countdown"
	"github.com/policyteam/alertbot/watchers/feed"
	"github.com/policyteam/alertbot/watchers/jsonapi"
	"github.com/policyteam/alertbot/watchers/page"
)

//go:embed example.yaml
var exampleConfig []byte

// exampleName is how errors and `/alerts event` name the embedded config.
const exampleName = "example.yaml (embedded)"

// Version and Commit are set at build time with -ldflags "-X main.Version=…".
var (
	Version = "dev"
	Commit  = ""
)

// factories is the one wiring table of watcher kinds.
var factories = map[string]watchers.Factory{
	"countdown": countdown.New,
	"feed":      feed.New,
	"page":      page.New,
	"calendar":  calendar.New,
	"jsonapi":   jsonapi.New,
}

// commandSpecs is the command table with the wiring table's kinds: what
// the Discord commands and the Slack manifest are built from, as the
// router builds its own from the same factories.
func commandSpecs() []bot.CommandSpec {
	return bot.Commands(slices.Sorted(maps.Keys(factories)))
}

// Main is the whole program, testable: tests run it with their own
// arguments, streams, environment and a temp database.
type Main struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string

	// Ready, when set, receives the HTTP address once serve is listening.
	Ready chan<- string
	// Now, when set, replaces the clock (tests).
	Now func() time.Time
}

const usage = `alertbot — alerts about dated events and sources, for Slack, Discord and the console

Usage:
  alertbot [serve] [flags]                 run the bot (console when no chat platform is configured)
  alertbot check --config F                validate a config file
  alertbot replay [--config F] --from T --to T [--json]
                                           show the alerts of a period on a virtual clock
  alertbot exec [--db F] [--as ADDR] -- TEXT
                                           run one /alerts command against the database
  alertbot backup [--db F] FILE            consistent copy of a SQLite database
  alertbot slack manifest --url URL [--socket-mode]
                                           print a Slack app manifest
  alertbot discord register [--guild ID]   register the Discord application commands
  alertbot dates [--json] [--ref DATE] [FILE|-]
                                           print the date expressions in a text
  alertbot init [FILE]                     write a commented starting config (default alertbot.yaml)
  alertbot version                         print the version
  alertbot help                            this list

--db is a SQLite file (default alertbot.db) or a postgres:// URL (PostgreSQL).
Flags read environment variables: --config ALERTBOT_CONFIG, --db ALERTBOT_DB,
--http ALERTBOT_HTTP, --log-level ALERTBOT_LOG_LEVEL, --log-format ALERTBOT_LOG_FORMAT.
Secrets come only from the environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
SLACK_APP_TOKEN, DISCORD_BOT_TOKEN, DISCORD_APP_ID, DISCORD_PUBLIC_KEY.
Run 'alertbot <command> -h' for a command's flags.`

// Run runs the command in m.Args.
func (m *Main) Run(ctx context.Context) error {
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	if m.Stdin == nil {
		m.Stdin = strings.NewReader("")
	}
	args := m.Args
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		// The program's help lists its commands; serve's flags are under
		// alertbot serve -h.
		cmd, args = "help", args[1:]
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && cmd == "serve" {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return m.serve(ctx, args)
	case "check":
		return m.check(args)
	case "replay":
		return m.replay(ctx, args)
	case "exec":
		return m.exec(ctx, args)
	case "backup":
		return m.backup(ctx, args)
	case "slack":
		return m.slackCmd(args)
	case "discord":
		return m.discordCmd(ctx, args)
	case "dates":
		return m.dates(args)
	case "init":
		return m.initCmd(args)
	case "version":
		fmt.Fprintln(m.Stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(m.Stdout, usage)
		return nil
	}
	return &exitError{2, fmt.Sprintf("alertbot: unknown command %q\n\n%s", cmd, usage)}
}

func versionString() string {
	v, c := Version, Commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("alertbot %s (commit %s, %s)", v, c, goVersion())
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "go"
}

// common are the flags most commands share.
type common struct {
	config, db, http, logLevel, logFormat string
}

func (m *Main) env(key, def string) string {
	if v := m.Getenv(key); v != "" {
		return v
	}
	return def
}

func newFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("alertbot "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

func (m *Main) flags(name string, c *common, withHTTP bool) *flag.FlagSet {
	fs := newFlagSet(name, m.Stderr)
	fs.StringVar(&c.config, "config", m.env("ALERTBOT_CONFIG", ""), "config file (default: the embedded example) [ALERTBOT_CONFIG]")
	fs.StringVar(&c.db, "db", m.env("ALERTBOT_DB", "alertbot.db"), "SQLite database file, or a postgres://user:password@host:port/db URL [ALERTBOT_DB]")
	if withHTTP {
		fs.StringVar(&c.http, "http", m.env("ALERTBOT_HTTP", "127.0.0.1:8080"), "HTTP listen address for webhooks, /healthz and /metrics [ALERTBOT_HTTP]")
	}
	fs.StringVar(&c.logLevel, "log-level", m.env("ALERTBOT_LOG_LEVEL", "info"), "debug, info, warn or error [ALERTBOT_LOG_LEVEL]")
	fs.StringVar(&c.logFormat, "log-format", m.env("ALERTBOT_LOG_FORMAT", "text"), "text or json [ALERTBOT_LOG_FORMAT]")
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{0, ""}
		}
		return &exitError{2, ""}
	}
	return nil
}

func (m *Main) logger(c common) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, &exitError{2, fmt.Sprintf("alertbot: bad --log-level %q (want debug, info, warn or error)", c.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(m.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(m.Stderr, opts)), nil
	}
	return nil, &exitError{2, fmt.Sprintf("alertbot: bad --log-format %q (want text or json)", c.logFormat)}
}

// loadConfig reads the config file, or the embedded example when path is
// empty. Errors come back as an exitError listing every mistake.
func (m *Main) loadConfig(path string) (*bot.Config, error) {
	var cfg *bot.Config
	var err error
	if path == "" {
		cfg, err = bot.ParseConfig(exampleName, exampleConfig, factories)
	} else {
		cfg, err = bot.LoadConfig(path, factories)
	}
	if err != nil {
		var ce bot.ConfigErrors
		if errors.As(err, &ce) {
			return nil, &exitError{1, err.Error()}
		}
		return nil, &exitError{1, "alertbot: " + err.Error()}
	}
	return cfg, nil
}

func (m *Main) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Main) check(args []string) error {
	var c common
	fs := m.flags("check", &c, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.config == "" && fs.NArg() == 1 {
		c.config = fs.Arg(0)
	}
	name := c.config
	if name == "" {
		name = exampleName
	}
	cfg, err := m.loadConfig(c.config)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s: ok: %s, %s, %s, zone %s\n", name, bot.Plural(len(cfg.Events), "event"),
		bot.Plural(len(cfg.Watchers), "watcher"), bot.Plural(len(cfg.Subscriptions), "subscription"), cfg.Location)
	return nil
}

// parseWhen reads a replay bound: YYYY-MM-DD (midnight in loc) or RFC 3339.
func parseWhen(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	if d, err := watchers.ParseDue(s, loc); err == nil {
		return d.Start, nil // any due form: its start (2025-07, JFY2025, 令和7年4月1日)
	}
	return time.Time{}, fmt.Errorf("bad time %q (want YYYY-MM-DD, RFC 3339 like 2025-01-20T12:00:00-05:00, or a due form such as 2025-07 or 令和7年4月1日)", s)
}
