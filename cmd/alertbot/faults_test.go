package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/watchers"
)

// Fault tests (DESIGN §5 "Exactly once, also under faults"): the real
// program in a subprocess, on a real SQLite file, posting to the fake
// platforms, while the disk fills or the process is killed.

// needCI skips a test that needs what only CI is sure to have (root, to
// mount a file system), or fails it when ALERTBOT_CI is set: in CI a
// missing part is a failure, not a skip.
func needCI(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("ALERTBOT_CI") != "" {
		t.Fatalf("%s (ALERTBOT_CI is set, so this is a failure)", msg)
	}
	t.Skipf("%s; skipped outside CI", msg)
}

// mountTmpfs mounts a tmpfs of size bytes under t.TempDir(), so a test
// can fill a real disk without touching the machine's own.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		needCI(t, "mount a tmpfs at %s: %v (needs root)", dir, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fillDisk writes a file into dir until the file system is full.
func fillDisk(t *testing.T, dir string) string {
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Errorf("fill disk: %v", err)
		return path
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("fill disk: %v, want ENOSPC", err)
			}
			break
		}
	}
	// Smaller writes take the last pages too.
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
	return path
}

// faultConfig has the countdown watcher the prefilled alerts belong to
// and nothing that would create more.
const faultConfig = `timezone: Asia/Tokyo
admins: [console:local]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1h"
`

// prefill stores n alerts titled "<prefix> NNNN" in db, the i-th with one
// delivery to channel(i), as a check would have committed them: the
// program's delivery workers find them pending when it starts.
func prefill(t *testing.T, db, prefix string, n int, channel func(i int) string) map[string]string {
	t.Helper()
	tb := openTestBot(t, db, faultConfig, time.Now())
	want := map[string]string{} // title → channel address
	var alerts []bot.NewAlert
	for i := range n {
		title := fmt.Sprintf("%s %04d", prefix, i)
		ch := channel(i)
		want[title] = ch
		alerts = append(alerts, bot.NewAlert{
			Alert:    watchers.Alert{Key: "fault/" + title, Kind: watchers.KindReminder, Watcher: "deadlines", Title: title, At: time.Now()},
			Channels: []string{ch},
		})
	}
	if _, err := tb.db.CommitRun(context.Background(), bot.RunRecord{Watcher: "deadlines", At: time.Now(), Alerts: alerts}); err != nil {
		t.Fatal(err)
	}
	if err := tb.db.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

var listenAddr = regexp.MustCompile(`"http listening" addr=([0-9.]+:[0-9]+)`)

// httpAddr waits for the process to log the address it listens on.
func (p *proc) httpAddr(t testing.TB) string {
	t.Helper()
	deadline := time.Now().Add(e2eBound)
	for time.Now().Before(deadline) {
		if m := listenAddr.FindStringSubmatch(p.stderr()); m != nil {
			return m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("process ended before listening\nstderr:\n%s", p.stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("process never said where it listens\nstderr:\n%s", p.stderr())
	return ""
}

// healthz returns the status and body of GET /healthz.
func healthz(addr string) (int, string) {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// waitHealth polls /healthz until it answers status.
func waitHealth(t *testing.T, p *proc, addr string, status int) string {
	t.Helper()
	deadline := time.Now().Add(e2eBound)
	var code int
	var body string
	for time.Now().Before(deadline) {
		if code, body = healthz(addr); code == status {
			return body
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("/healthz answered %d %q, want %d\nstderr:\n%s", code, body, status, p.stderr())
	return ""
}

// countPosts counts the fake's posts by channel and title.
func countPosts(fake *slacktest.Server) map[string]int {
	n := map[string]int{}
	for _, post := range fake.Posts() {
		n["slack:"+post.Channel+"|"+slackPostTitle(post)]++
	}
	return n
}

// checkOnce fails the test unless every wanted alert was posted to its
// channel exactly once and nothing else was posted.
func checkOnce(t *testing.T, want map[string]string, got map[string]int) {
	t.Helper()
	missing, dups := 0, 0
	for title, ch := range want {
		switch n := got[ch+"|"+title]; {
		case n == 0:
			missing++
		case n > 1:
			dups += n - 1
			if dups <= 5 {
				t.Errorf("%q posted %d times in %s", title, n, ch)
			}
		}
	}
	total := 0
	for _, n := range got {
		total += n
	}
	if missing != 0 || dups != 0 || total != len(want) {
		t.Errorf("%d posts for %d alerts: %d lost, %d duplicates; want each exactly once", total, len(want), missing, dups)
	}
}

// TestDiskFullWhileSending fills the disk the database lives on while
// alerts are being posted to Slack. The send whose record cannot be
// written is held, not repeated; nothing else is posted while writes
// fail; /healthz says 503 with the reason, and 200 again once space is
// back; in the end every alert was posted exactly once and is recorded.
func TestDiskFullWhileSending(t *testing.T) {
	t.Parallel()
	disk := mountTmpfs(t, 8<<20)
	db := filepath.Join(disk, "a.db")
	const n, fullAt = 300, 100
	want := prefill(t, db, "Disk test alert", n, func(i int) string { return fmt.Sprintf("slack:C0FULL%03d", i) })
	release := pinSnapshot(t, db)

	fake := slacktest.NewServer()
	fake.Token = e2eSlackToken
	defer fake.Close()
	target, err := url.Parse(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	// In front of the fake Slack: the disk fills just as the fullAt-th
	// post arrives, so Slack confirms a send the bot cannot record.
	var posts atomic.Int32
	filled := make(chan string, 1)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chat.postMessage") && posts.Add(1) == fullAt {
			filled <- fillDisk(t, disk)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	p := startProc(t, []string{"SLACK_BOT_TOKEN=" + e2eSlackToken, "SLACK_API_URL=" + front.URL + "/"},
		"--config", writeTemp(t, faultConfig), "--db", db, "--http", "127.0.0.1:0")
	addr := p.httpAddr(t)
	var filler string
	select {
	case filler = <-filled:
	case <-time.After(e2eBound):
		t.Fatalf("only %d posts arrived\nstderr:\n%s", posts.Load(), p.stderr())
	}
	body := waitHealth(t, p, addr, http.StatusServiceUnavailable)
	if !strings.Contains(body, "full") {
		t.Errorf("/healthz while the disk is full said %q; want the reason (disk full)", body)
	}
	// Nothing more is posted while the confirmation waits for its record.
	time.Sleep(200 * time.Millisecond)
	during := len(fake.Posts())
	time.Sleep(2 * time.Second)
	if after := len(fake.Posts()); after != during {
		t.Errorf("%d posts while the disk was full; want none until the held send is recorded\nstderr:\n%s", after-during, p.stderr())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	release()
	waitHealth(t, p, addr, http.StatusOK)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
	defer cancel()
	if _, err := fake.WaitPosts(ctx, n); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, p.stderr())
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	if err := p.wait(t); err != nil {
		t.Fatalf("serve: %v\nstderr:\n%s", err, p.stderr())
	}
	if !strings.Contains(p.stderr(), "sent but not recorded") {
		t.Errorf("the disk filled but no send went unrecorded; the test did not reach its fault\nstderr:\n%s", p.stderr())
	}
	checkOnce(t, want, countPosts(fake))
	checkStoreSent(t, db, want)
}

// pinSnapshot holds a read transaction open on the SQLite database at
// path, from the test's own process, until release is called (or the test
// ends). A full disk alone does not stop SQLite's writes: once a
// checkpoint has copied the whole write-ahead log into the database file,
// the next commit starts the log over at its first page, in space the file
// already has, and commits then succeed until they pass the log's old end.
// The bot rightly sends again while its records are written, but whether
// the disk's fault shows then depends on the checkpoints' timing. A reader
// keeps the log from starting over (and, reading the database file alone,
// keeps checkpoints from copying the log into it), so every commit after
// the disk fills needs new space and fails until space is back.
func pinSnapshot(t *testing.T, path string) (release func()) {
	t.Helper()
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	var n int
	// SQLite takes a snapshot at a transaction's first read.
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM deliveries").Scan(&n); err != nil {
		tx.Rollback()
		conn.Close()
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if err := tx.Rollback(); err != nil {
				t.Errorf("release snapshot: %v", err)
			}
			if err := conn.Close(); err != nil {
				t.Errorf("release snapshot: %v", err)
			}
		})
	}
	t.Cleanup(release)
	return release
}

// checkStoreSent checks that the database records every wanted alert's
// delivery as sent, with the platform's message id.
func checkStoreSent(t *testing.T, db string, want map[string]string) {
	t.Helper()
	tb := openTestBot(t, db, faultConfig, time.Now())
	counts, err := tb.db.DeliveryCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts[bot.DeliverySent] != len(want) || counts[bot.DeliveryPending] != 0 || counts[bot.DeliveryFailed] != 0 {
		t.Errorf("deliveries in the store: %v, want %d sent", counts, len(want))
	}
}

// writeTemp writes text to a new file under t.TempDir() and returns its
// path.
func writeTemp(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, text)
	return path
}
