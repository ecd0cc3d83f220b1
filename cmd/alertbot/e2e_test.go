package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// TestMain lets the test binary stand in for the alertbot binary: run with
// ALERTBOT_TEST_MAIN=1 it is main(), so subprocess tests exercise the real
// program (signals, exit codes, stdin) without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("ALERTBOT_TEST_MAIN") == "1" {
		// ALERTBOT_TEST_CPUPROFILE profiles the subprocess (the start-up
		// benchmarks' alertbot), until it exits.
		func() {
			if path := os.Getenv("ALERTBOT_TEST_CPUPROFILE"); path != "" {
				if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
					defer f.Close()
					defer pprof.StopCPUProfile()
				}
			}
			main()
		}()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// proc is a running alertbot subprocess.
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	out   bytes.Buffer
	errb  bytes.Buffer
	done  chan struct{}
}

func startProc(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ALERTBOT_TEST_MAIN=1")
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DISCORD_BOT_TOKEN", "DISCORD_PUBLIC_KEY", "ALERTBOT_CONFIG", "ALERTBOT_DB", "ALERTBOT_HTTP"} {
		cmd.Env = append(cmd.Env, k+"=")
	}
	cmd.Env = append(cmd.Env, env...)
	p := &proc{cmd: cmd, done: make(chan struct{})}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{p: p, w: &p.errb}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		_ = cmd.Wait()
	})
	return p
}

type lockedWriter struct {
	p *proc
	w *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return l.w.Write(b)
}

func (p *proc) stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errb.String()
}

// waitFor waits until stdout holds want, failing after a generous bound.
func (p *proc) waitFor(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(p.stdout(), want) {
			return
		}
		select {
		case <-p.done:
			if strings.Contains(p.stdout(), want) {
				return
			}
			t.Fatalf("process ended without printing %q\nstdout:\n%s\nstderr:\n%s", want, p.stdout(), p.stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %q on stdout\nstdout:\n%s\nstderr:\n%s", want, p.stdout(), p.stderr())
}

// wait waits for the process to end and returns its error.
func (p *proc) wait(t testing.TB) error {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("process did not end\nstderr:\n%s", p.stderr())
	}
	return p.cmd.Wait()
}

// TestConsoleEndToEnd runs the program as a user would: `alertbot` with no
// config shows the banner and answers commands typed on stdin.
func TestConsoleEndToEnd(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, nil, "--db", filepath.Join(dir, "a.db"), "--http", "127.0.0.1:0")
	p.waitFor(t, "Type /alerts help")
	if !strings.Contains(p.stdout(), "10 events, 1 watcher,") || !strings.Contains(p.stdout(), "next alert:") || !strings.Contains(p.stdout(), "Platforms: console only") {
		t.Errorf("banner lacks counts or next alert:\n%s", p.stdout())
	}
	fmt.Fprintln(p.stdin, "/alerts help")
	p.waitFor(t, "alertbot commands:")
	p.waitFor(t, "event add <id> <due> <title…> [#tag…]") // the console user is the local admin
	fmt.Fprintln(p.stdin, "/alerts upcoming 400d")
	p.waitFor(t, "Diet passes the FY2027 budget")
	fmt.Fprintln(p.stdin, "/alerts event upper-house-election-2025")
	p.waitFor(t, "election officially announced")
	// A first start leaves the lists' indexes to build after the
	// countdown's first planning pass; then they are.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.stderr(), `msg="indexes built" indexes=`); {
		if time.Now().After(deadline) {
			t.Fatalf("no indexes built after the first pass:\n%s", p.stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("exit after SIGINT: %v\nstderr:\n%s", err, p.stderr())
	}
	if !strings.Contains(p.stderr(), "stopped") {
		t.Errorf("no clean shutdown in the log:\n%s", p.stderr())
	}
}

// TestConsoleStdinClosed: with stdin closed the bot keeps running and
// prints alerts.
func TestConsoleStdinClosed(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	due := time.Now().Add(30 * time.Minute).UTC().Format("2006-01-02T15:04:05Z")
	writeFile(t, cfg, soonConfig(due))
	p := startProc(t, nil, "--config", cfg, "--db", filepath.Join(dir, "a.db"), "--http", "127.0.0.1:0")
	p.stdin.Close()
	p.waitFor(t, "] Soon event")
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

// soonConfig has one event whose 1h reminder is already due, so the first
// check (after a second) creates one alert for the console.
func soonConfig(due string) string {
	return `timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: soon
    title: Soon event
    due: ` + due + `
    lead_times: [1h]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1s"
subscriptions:
  - channel: console:local
    to: [all]
`
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCrashBetweenCommitAndSend kills the process with SIGKILL right after
// a check committed an alert and its delivery, before sending. After a
// restart the alert is delivered, exactly once.
func TestCrashBetweenCommitAndSend(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	db := filepath.Join(dir, "a.db")
	due := time.Now().Add(30 * time.Minute).UTC().Format("2006-01-02T15:04:05Z")
	writeFile(t, cfg, soonConfig(due))

	p := startProc(t, []string{"ALERTBOT_TEST_CRASH=after-commit"}, "--config", cfg, "--db", db, "--http", "127.0.0.1:0")
	err := p.wait(t)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("first run ended with %v, want SIGKILL\nstderr:\n%s", err, p.stderr())
	}
	if strings.Contains(p.stdout(), "] Soon event") {
		t.Fatalf("alert printed before the crash point:\n%s", p.stdout())
	}

	p2 := startProc(t, nil, "--config", cfg, "--db", db, "--http", "127.0.0.1:0")
	p2.waitFor(t, "] Soon event")
	_ = p2.cmd.Process.Signal(syscall.SIGINT)
	if err := p2.wait(t); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if n := strings.Count(p2.stdout(), "] Soon event"); n != 1 {
		t.Errorf("alert printed %d times after restart, want 1:\n%s", n, p2.stdout())
	}

	// More checks, now and later, on the same database repeat nothing:
	// the store holds the one alert and its one delivery, sent, and no
	// delivery is left to send.
	now := time.Now()
	tb := openTestBot(t, db, soonConfig(due), now)
	for _, at := range []time.Time{now, now.Add(time.Second), now.Add(10 * time.Minute)} {
		tb.clock.Set(at)
		tb.tick(t, "deadlines")
	}
	tb.drain(t, tb.plat)
	if sent := tb.plat.Sent(); len(sent) != 0 {
		t.Errorf("checks after the restart sent %d more messages: %+v", len(sent), sent)
	}
	ctx := context.Background()
	alerts, err := tb.db.AlertsForEvent(ctx, "soon", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Skipped || alerts[0].Alert.Kind != watchers.KindReminder {
		t.Fatalf("alerts of the event: %+v, want the one 1h reminder", alerts)
	}
	hist, err := tb.db.ChannelHistory(ctx, "console:local", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Alert.Key != alerts[0].Alert.Key || hist[0].Delivery.State != bot.DeliverySent || hist[0].Delivery.Attempts != 1 {
		t.Errorf("deliveries to the console: %+v, want the reminder's one, sent on the first attempt", hist)
	}
}

// runMain runs the program in-process.
func runMain(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Args: args, Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err = m.Run(context.Background())
	return out.String(), errb.String(), err
}

func TestExec(t *testing.T) {
	db := newDBFile(t, filepath.Join(t.TempDir(), "a.db"))
	// As a separate process, the way an operator runs it.
	p := startProc(t, nil, "exec", "--db", db, "--", "upcoming", "#budget", "400d")
	if err := p.wait(t); err != nil {
		t.Fatalf("exec process: %v\n%s", err, p.stderr())
	}
	if out := p.stdout(); !strings.Contains(out, "Diet passes the FY2027 budget") || strings.Contains(out, "defense") {
		t.Fatalf("exec upcoming #budget:\n%s", out)
	}
	out, _, err := runMain(t, "exec", "--db", db, "--", "upcoming", "400d")
	if err != nil || !strings.Contains(out, "Diet passes the FY2027 budget") {
		t.Fatalf("exec upcoming: %v\n%s", err, out)
	}
	out, _, err = runMain(t, "exec", "--db", db, "--as", "slack:U0NOBODY", "--", "event", "remove", "jp-fy2027-budget")
	var ex *exitError
	if !errors.As(err, &ex) || ex.code != 1 || !strings.Contains(out, "Only admins") {
		t.Fatalf("exec as non-admin: %v\n%s", err, out)
	}
	out, _, err = runMain(t, "exec", "--db", db, "--", "event", "set", "jp-fy2027-budget", "status=postponed")
	if err != nil || !strings.Contains(out, "[postponed]") {
		t.Fatalf("exec event set: %v\n%s", err, out)
	}
	// The change persisted: a second process sees it (and exec does not
	// re-seed the example over it).
	out, _, err = runMain(t, "exec", "--db", db, "--", "event", "jp-fy2027-budget")
	if err != nil || !strings.Contains(out, "status scheduled → postponed") || !strings.Contains(out, "(by console:local)") {
		t.Fatalf("exec event: %v\n%s", err, out)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runMain(t, "check")
	if err != nil || !strings.Contains(out, "ok: 10 events, 1 watcher, 1 subscription") {
		t.Fatalf("check of the example: %v %q", err, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, `timezone: Asia/Tokio
events:
  - id: a
    title: A
    due: 2025-13
  - id: a
    title: Again
    due: 2025
    colour: red
watchers:
  - id: w
    kind: rss
    schedule: "@every 1m"
  - id: c
    kind: countdown
    schedule: "every minute"
subscriptions:
  - channel: slack:#general
    to: [event:nope]
`)
	db := filepath.Join(dir, "never.db")
	_, _, err = runMain(t, "check", "--config", bad, "--db", db)
	var ex *exitError
	if !errors.As(err, &ex) || ex.code != 1 {
		t.Fatalf("check of a bad file: %v", err)
	}
	for _, want := range []string{bad + ":1:", bad + ":5:", bad + ":6:", bad + ":9:", bad + ":12:", bad + ":16:", bad + ":18:", bad + ":19:"} {
		if !strings.Contains(ex.msg, want) {
			t.Errorf("check output lacks %q:\n%s", want, ex.msg)
		}
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("check touched the database: %v", err)
	}
}

// TestReplayGolden replays the embedded example over the seed's season.
// The golden file was checked by hand against DESIGN §4 (see README).
func TestReplayGolden(t *testing.T) {
	out, _, err := runMain(t, "replay", "--from", "2024-12-01", "--to", "2025-09-01", "--json")
	if err != nil {
		t.Fatal(err)
	}
	sharedtest.Golden(t, filepath.Join("testdata", "replay_example.golden"), []byte(out))
	// The replay touched no database file.
	if _, err := os.Stat("alertbot.db"); err == nil {
		t.Error("replay created alertbot.db")
	}
}

func TestVersionAndUsage(t *testing.T) {
	out, _, err := runMain(t, "version")
	if err != nil || !strings.HasPrefix(out, "alertbot ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %v %q", err, out)
	}
	_, _, err = runMain(t, "frobnicate")
	var ex *exitError
	if !errors.As(err, &ex) || ex.code != 2 || !strings.Contains(ex.msg, "Usage:") {
		t.Errorf("unknown command: %v", err)
	}
	_, _, err = runMain(t, "replay", "--from", "2025-01-01")
	if !errors.As(err, &ex) || !strings.Contains(ex.msg, "--from and --to are required") {
		t.Errorf("replay without --to: %v", err)
	}
	_, _, err = runMain(t, "replay", "--from", "yesterday", "--to", "2025-01-01")
	if !errors.As(err, &ex) || !strings.Contains(ex.msg, "bad time") {
		t.Errorf("replay bad time: %v", err)
	}
}

func TestBackup(t *testing.T) {
	dir := t.TempDir()
	db := newDBFile(t, filepath.Join(dir, "a.db"))
	if _, _, err := runMain(t, "exec", "--db", db, "--", "subscribe", "#budget"); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, "copy.db")
	if out, _, err := runMain(t, "backup", "--db", db, copyPath); err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %v %s", err, out)
	}
	out, _, err := runMain(t, "exec", "--db", copyPath, "--", "subscriptions")
	if err != nil || !strings.Contains(out, "#budget") {
		t.Fatalf("backup lacks the subscription: %v\n%s", err, out)
	}
	if _, _, err := runMain(t, "backup", "--db", db, copyPath); err == nil {
		t.Error("backup over an existing file succeeded")
	}
}

// TestSIGHUPReloadsConfig: an edited config file is seeded on SIGHUP; a
// broken one is refused and the running config stays.
func TestSIGHUPReloadsConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	due := time.Now().AddDate(0, 2, 0).Format("2006-01-02")
	writeFile(t, cfg, soonConfig(due))
	p := startProc(t, nil, "--config", cfg, "--db", filepath.Join(dir, "a.db"), "--http", "127.0.0.1:0")
	p.waitFor(t, "Type /alerts help")

	writeFile(t, cfg, "timezone: [broken\n")
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.stderr(), "config reload refused") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(p.stderr(), "config reload refused") {
		t.Fatalf("no refusal logged:\n%s", p.stderr())
	}

	added := strings.Replace(soonConfig(due), "watchers:", `  - id: added-on-reload
    title: Added on reload
    due: 2030-01
watchers:`, 1)
	writeFile(t, cfg, added)
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	for !strings.Contains(p.stderr(), "config reloaded") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintln(p.stdin, "/alerts event added-on-reload")
	p.waitFor(t, "Added on reload (added-on-reload)")
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

// TestReplayCatchUpAndFiscalYears replays a config built to exercise what
// the seed season does not: catch-up at --from (the latest missed
// milestone only, if within catch_up), quarters and fiscal years in two
// zones, and overdue for a tentative window. Expected instants worked out
// by hand from DESIGN §4.
func TestReplayCatchUpAndFiscalYears(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "fy.yaml")
	writeFile(t, cfg, `timezone: Asia/Tokyo
alert_time: "09:00"
lead_times: [7d, 0d]
catch_up: 7d
events:
  - id: jfy
    title: Defense plan year
    due: JFY2027
  - id: usfy
    title: U.S. fiscal year 2028
    due: USFY2028
    timezone: America/New_York
  - id: q2
    title: Second quarter
    due: 2027-Q2
  - id: missed
    title: Missed while down
    due: 2027-03-04
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: console:local
    to: [all]
  - channel: slack:C0US
    to: [event:usfy]
`)
	out, _, err := runMain(t, "replay", "--config", cfg, "--from", "2027-03-05", "--to", "2027-10-02", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r replayLine
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %v", r.At, r.Kind, r.Event, r.Channels))
	}
	want := []string{
		// At --from: the 0d reminder of 03-04 09:00 is caught up; the 7d
		// reminder of 02-25 is older than catch_up and skipped.
		"2027-03-05T00:00:00+09:00 reminder missed [console:local]",
		"2027-03-05T09:00:00+09:00 overdue missed [console:local]",
		"2027-03-25T09:00:00+09:00 reminder jfy [console:local]",
		"2027-03-25T09:00:00+09:00 reminder q2 [console:local]",
		"2027-04-01T09:00:00+09:00 window_open jfy [console:local]",
		"2027-04-01T09:00:00+09:00 window_open q2 [console:local]",
		"2027-07-01T09:00:00+09:00 overdue q2 [console:local]",
		// USFY2028 opens 2027-10-01 in New York: 09:00 EDT is 22:00 JST.
		"2027-09-24T22:00:00+09:00 reminder usfy [console:local slack:C0US]",
		"2027-10-01T22:00:00+09:00 window_open usfy [console:local slack:C0US]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replay (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, "Missed while down") {
		t.Errorf("no titles in replay output:\n%s", out)
	}
}
