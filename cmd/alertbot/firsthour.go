package main

// This file holds what a new user's first hour needs of the command line
// (issue 11): `alertbot init`, refusing a database that is not there,
// `exec` taking the text as the console does, quieter logs while someone
// types at the console, and a word at start about each chat platform.

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/console"
)

//go:embed init.yaml
var initConfig []byte

// initCmd writes the commented starting config of `alertbot init [F]`,
// refusing to overwrite a file that exists.
func (m *Main) initCmd(args []string) error {
	fs := newFlagSet("init", m.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: alertbot init [FILE]   (default alertbot.yaml; an existing file is never overwritten)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return &exitError{2, "alertbot init: give at most one file name, e.g. alertbot init alertbot.yaml"}
	}
	path := "alertbot.yaml"
	if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return &exitError{1, fmt.Sprintf("alertbot init: %s exists; not overwritten (remove it, or give another name)", path)}
	}
	if err != nil {
		return &exitError{1, "alertbot init: " + err.Error()}
	}
	if _, err := f.Write(initConfig); err != nil {
		f.Close()
		return &exitError{1, "alertbot init: " + err.Error()}
	}
	if err := f.Close(); err != nil {
		return &exitError{1, "alertbot init: " + err.Error()}
	}
	fmt.Fprintf(m.Stdout, "wrote %s: edit it, then run alertbot check --config %s and alertbot serve --config %s\n", path, path, path)
	return nil
}

// requireDB refuses a SQLite file that does not exist (DESIGN §2): only
// serve creates a database, so a mistyped --db cannot seed a fresh one and
// report success. Database URLs are left to the store.
func requireDB(cmd, path string) error {
	if strings.Contains(path, "://") {
		return nil
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &exitError{1, fmt.Sprintf("alertbot %s: no database at %s; `alertbot serve` creates one (check --db or ALERTBOT_DB)", cmd, path)}
	case err != nil:
		return &exitError{1, fmt.Sprintf("alertbot %s: %v", cmd, err)}
	case st.IsDir():
		return &exitError{1, fmt.Sprintf("alertbot %s: %s is a directory, not a database file", cmd, path)}
	case st.Size() == 0:
		return &exitError{1, fmt.Sprintf("alertbot %s: %s is empty, not an alertbot database; `alertbot serve` creates one", cmd, path)}
	}
	return nil
}

// execText is the command of `alertbot exec -- TEXT`, with the /alerts
// prefix the console also accepts ("/alerts upcoming").
func execText(args []string) string {
	text := strings.TrimSpace(strings.Join(args, " "))
	if t, ok := console.Command(text); ok {
		return t
	}
	return text
}

// execExit is the exit status of an exec reply: 0 success, 2 a command
// not understood (usage), 1 one refused or failed.
func execExit(r bot.Reply) error {
	switch {
	case !r.Error:
		return nil
	case r.Usage:
		return &exitError{2, ""}
	}
	return &exitError{1, ""}
}

// logLevelSet reports whether the user chose the log level, with the flag
// or the environment.
func logLevelSet(fs *flag.FlagSet, getenv func(string) string) bool {
	set := getenv("ALERTBOT_LOG_LEVEL") != ""
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "log-level" })
	return set
}

// stdinIsTerminal reports whether r is a terminal; tests replace it. A
// character device is not enough: under systemd stdin is /dev/null.
var stdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// consoleLogLevel raises the default log level to warn when the console
// platform will read commands from a terminal, so log lines on stderr do
// not run through what the user types. A level set with --log-level or
// ALERTBOT_LOG_LEVEL is kept.
func (m *Main) consoleLogLevel(c *common, explicit bool) {
	if explicit || m.Getenv("SLACK_BOT_TOKEN") != "" || m.Getenv("DISCORD_BOT_TOKEN") != "" || !stdinIsTerminal(m.Stdin) {
		return
	}
	var lvl slog.Level
	if lvl.UnmarshalText([]byte(c.logLevel)) == nil && lvl < slog.LevelWarn {
		c.logLevel = "warn"
	}
}

// connectionChecker is a platform that can say how it is connected and
// whether its token is accepted (Slack's auth.test, Discord's GET
// /users/@me).
type connectionChecker interface {
	CheckConnection(ctx context.Context) (string, error)
}

// checkTimeout bounds the start-up check of each platform.
const checkTimeout = 10 * time.Second

// checkPlatforms asks every platform that can whether its token works and
// logs what it is connected as, or clearly what is wrong. It runs beside
// the start: a platform that is down must not hold up the bot.
func checkPlatforms(ctx context.Context, platforms []bot.Platform, log *slog.Logger) {
	var wg sync.WaitGroup
	for _, p := range platforms {
		c, ok := p.(connectionChecker)
		if !ok {
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			what, err := c.CheckConnection(cctx)
			if err != nil {
				if ctx.Err() == nil {
					log.Error("platform check failed", "platform", p.Name(), "err", err)
				}
				return
			}
			log.Info("platform ready", "platform", p.Name(), "as", what)
		})
	}
	wg.Wait()
}

// platformsLine says which chat platforms serve runs, for the banner.
func (m *Main) platformsLine() string {
	if m.Getenv("SLACK_BOT_TOKEN") == "" && m.Getenv("DISCORD_BOT_TOKEN") == "" {
		return "Platforms: console only (set SLACK_BOT_TOKEN or DISCORD_BOT_TOKEN to post to Slack or Discord)."
	}
	return "Platforms: " + strings.Join(m.platformNames(), "; ") + "."
}

// platformNames describes each configured platform and how it takes
// commands.
func (m *Main) platformNames() []string {
	var out []string
	if m.Getenv("SLACK_BOT_TOKEN") != "" {
		switch {
		case m.Getenv("SLACK_APP_TOKEN") != "":
			out = append(out, "Slack over Socket Mode")
		case m.Getenv("SLACK_SIGNING_SECRET") != "":
			out = append(out, "Slack over HTTP (POST /slack/commands, /slack/interactions)")
		default:
			out = append(out, "Slack, posting only (no commands: set SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)")
		}
	}
	if m.Getenv("DISCORD_BOT_TOKEN") != "" {
		d := "Discord over the gateway"
		if m.Getenv("DISCORD_PUBLIC_KEY") != "" {
			d += " and HTTP (POST /discord/interactions)"
		}
		out = append(out, d)
	}
	return out
}
