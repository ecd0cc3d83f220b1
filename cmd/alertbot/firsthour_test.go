package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// newDBFile creates an empty alertbot database at path, as a first
// `serve` would, and returns path.
func newDBFile(t *testing.T, path string) string {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// exitCode is the status main would exit with for err.
func exitCode(err error) int {
	var ex *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ex):
		return ex.code
	}
	return 1
}

// TestMissingDatabaseRefused: exec and backup do not create and seed a
// database a typo named; they say so and exit 1, and leave no file.
func TestMissingDatabaseRefused(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.db")
	empty := filepath.Join(dir, "empty.db")
	writeFile(t, empty, "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"exec", "--db", typo, "--", "upcoming"}, "alertbot exec: no database at " + typo + "; `alertbot serve` creates one"},
		{[]string{"backup", "--db", typo, filepath.Join(dir, "copy.db")}, "alertbot backup: no database at " + typo},
		{[]string{"backup", "--db", empty, filepath.Join(dir, "copy.db")}, "is empty, not an alertbot database"},
		{[]string{"exec", "--db", dir, "--", "upcoming"}, "is a directory"},
	} {
		out, _, err := runMain(t, tt.args...)
		var ex *exitError
		if !errors.As(err, &ex) || ex.code != 1 || !strings.Contains(ex.msg, tt.want) || strings.Contains(out, "backed up") {
			t.Errorf("%q: %v, out %q; want exit 1 with %q", tt.args, err, out, tt.want)
		}
	}
	for _, f := range []string{typo, filepath.Join(dir, "copy.db")} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was created", f)
		}
	}
}

// TestExecPrefixAndExitCodes: exec takes "/alerts …" as the console does,
// and exits 0 on success, 2 on a command it did not understand, 1 on one
// refused or failed.
func TestExecPrefixAndExitCodes(t *testing.T) {
	db := newDBFile(t, filepath.Join(t.TempDir(), "a.db"))
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"/alerts upcoming 400d"}, 0, "Diet passes the FY2027 budget"},
		{[]string{"/alerts", "events", "#budget", "past"}, 0, "Past events #budget"},
		{[]string{"alerts upcoming #budget 400d"}, 0, "Upcoming events #budget"},
		{[]string{"frobnicate"}, 2, "Unknown command"},
		{[]string{"/alerts watcher"}, 2, "/alerts watcher needs one of"},
		{[]string{"event"}, 2, "Missing arguments."},
		{[]string{"event", "nope"}, 1, `No event "nope"`},
		{[]string{"event", "set", "jp-fy2027-budget", "status=maybe"}, 1, `unknown status "maybe"`},
	} {
		out, _, err := runMain(t, append([]string{"exec", "--db", db, "--"}, tt.args...)...)
		if got := exitCode(err); got != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("exec %q: exit %d (%v), want %d; output:\n%s", tt.args, got, err, tt.code, out)
		}
	}
	out, _, err := runMain(t, "exec", "--db", db, "--as", "slack:U0NOBODY", "--", "event", "remove", "jp-fy2027-budget")
	if exitCode(err) != 1 || !strings.Contains(out, "Only admins") {
		t.Errorf("refused: exit %d\n%s", exitCode(err), out)
	}
	if _, _, err := runMain(t, "exec", "--db", db, "--"); exitCode(err) != 2 {
		t.Errorf("exec without a command: exit %d, want 2", exitCode(err))
	}
}

// TestHelpListsCommands: -h, --help and help list the subcommands, not
// serve's flags.
func TestHelpListsCommands(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		out, errOut, err := runMain(t, arg)
		if err != nil {
			t.Errorf("%s: %v", arg, err)
		}
		for _, want := range []string{"alertbot check --config F", "alertbot exec", "alertbot backup", "alertbot init [FILE]", "alertbot version"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s%s", arg, want, out, errOut)
			}
		}
	}
	// A command's own flags stay under its -h.
	_, errOut, err := runMain(t, "serve", "-h")
	if exitCode(err) != 0 || !strings.Contains(errOut, "-http") {
		t.Errorf("serve -h: %v\n%s", err, errOut)
	}
}

// TestInit: init writes the commented starting config, which check
// accepts; it never overwrites.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alertbot.yaml")
	out, _, err := runMain(t, "init", path)
	if err != nil || !strings.Contains(out, "wrote "+path) {
		t.Fatalf("init: %v\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(data, initConfig) || !bytes.Contains(data, []byte("# Who may add and change events")) {
		t.Fatalf("written config: %v, %d bytes", err, len(data))
	}
	out, _, err = runMain(t, "check", "--config", path)
	if err != nil || !strings.Contains(out, "ok: 3 events, 1 watcher, 1 subscription, zone Asia/Tokyo") {
		t.Errorf("check of the written config: %v %q", err, out)
	}
	writeFile(t, path, "# mine\n")
	_, _, err = runMain(t, "init", path)
	var ex *exitError
	if !errors.As(err, &ex) || ex.code != 1 || !strings.Contains(ex.msg, "exists; not overwritten") {
		t.Errorf("init over a file: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "# mine\n" {
		t.Errorf("init overwrote the file: %q", data)
	}
	if _, _, err := runMain(t, "init", "a.yaml", "b.yaml"); exitCode(err) != 2 {
		t.Errorf("init with two names: exit %d, want 2", exitCode(err))
	}
	// Without a name it writes alertbot.yaml in the working directory.
	t.Chdir(dir)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runMain(t, "init"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("init without a name: %v", err)
	}
}

// TestConsoleLogsQuietAtATerminal: while the console reads a terminal,
// serve logs only warnings and errors (on stderr), unless the user chose
// a level.
func TestConsoleLogsQuietAtATerminal(t *testing.T) {
	old := stdinIsTerminal
	t.Cleanup(func() { stdinIsTerminal = old })
	stdinIsTerminal = func(io.Reader) bool { return true }
	for _, tt := range []struct {
		name     string
		args     []string
		env      map[string]string
		wantInfo bool
	}{
		{"terminal", nil, nil, false},
		{"flag wins", []string{"--log-level", "info"}, nil, true},
		{"environment wins", nil, map[string]string{"ALERTBOT_LOG_LEVEL": "debug"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan string, 1)
			var stdout, stderr sharedtest.Buffer
			m := &Main{Args: append([]string{"serve", "--db", filepath.Join(dir, "a.db"), "--http", "127.0.0.1:0"}, tt.args...),
				Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: e2eEnv(tt.env), Ready: ready}
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx) }()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("serve ended: %v\n%s", err, stderr.String())
			case <-time.After(e2eBound):
				t.Fatal("serve did not start")
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(stderr.String(), "level=INFO"); got != tt.wantInfo {
				t.Errorf("info lines on stderr: %v, want %v:\n%s", got, tt.wantInfo, stderr.String())
			}
			if !strings.Contains(stdout.String(), "Platforms: console only (set SLACK_BOT_TOKEN or DISCORD_BOT_TOKEN") {
				t.Errorf("banner does not say which platforms run:\n%s", stdout.String())
			}
		})
	}
}

// TestStartupPlatformCheck: serve checks each chat platform's token at
// start and logs what it is connected as, or clearly that the token was
// refused — and keeps running either way.
func TestStartupPlatformCheck(t *testing.T) {
	for _, tt := range []struct {
		name, token, want string
	}{
		{"good token", e2eSlackToken, `msg="platform ready" platform=slack as="@alertbot in slacktest, commands over HTTP"`},
		{"wrong token", "xoxb-wrong-token", "SLACK_BOT_TOKEN was refused by auth.test (invalid_auth)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := slacktest.NewServer()
			t.Cleanup(fake.Close)
			fake.Token = e2eSlackToken
			dir := t.TempDir()
			cfg := filepath.Join(dir, "alertbot.yaml")
			clk := &e2eClock{}
			writeFile(t, cfg, e2eConfig(clk.Now()))
			env := slackEnv(fake)
			env["SLACK_BOT_TOKEN"] = tt.token
			srv := startServe(t, cfg, filepath.Join(dir, "a.db"), env, clk, tt.token, e2eSlackSecret)
			ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
			defer cancel()
			e2ePoll(t, ctx, "the platform check in the log", func() bool { return strings.Contains(srv.log.String(), tt.want) })
		})
	}
}

// TestReplayTakesDueForms: replay's bounds take the forms a due date
// does, Japanese ones included, as their start.
func TestReplayTakesDueForms(t *testing.T) {
	want, _, err := runMain(t, "replay", "--from", "2024-12-01", "--to", "2025-09-01", "--json")
	if err != nil {
		t.Fatal(err)
	}
	for _, bounds := range [][2]string{{"2024-12", "2025-09"}, {"令和6年12月1日", "令和7年9月"}, {"２０２４－１２－０１", "2025-09-01T00:00:00+09:00"}} {
		got, _, err := runMain(t, "replay", "--from", bounds[0], "--to", bounds[1], "--json")
		if err != nil || got != want {
			t.Errorf("replay from %s to %s: %v; output differs: %t", bounds[0], bounds[1], err, got != want)
		}
	}
	_, _, err = runMain(t, "replay", "--from", "来月", "--to", "2025-09")
	var ex *exitError
	if !errors.As(err, &ex) || ex.code != 2 || !strings.Contains(ex.msg, "or a due form such as 2025-07 or 令和7年4月1日") {
		t.Errorf("replay from a bad form: %v", err)
	}
}
