package main

import (
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/policyteam/alertbot/store/pgtest"
)

// TestServePostgres runs the program on PostgreSQL (DESIGN §12): `serve
// --db postgres://…` migrates, leads, answers /healthz and delivers; a
// second serve on the same database joins as a follower and takes over
// when the first is killed, without posting the reminder again; exec
// reads the same database and backup says to use pg_dump. The password
// in the URL (ignored by the test server's trust authentication) must
// never reach the output.
func TestServePostgres(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-Pa55"
	u := strings.Replace(pgtest.URL(t), "postgres://alertbot@", "postgres://alertbot:"+secret+"@", 1)
	if !strings.Contains(u, secret) {
		t.Fatalf("could not put a password into %s", pgtest.Env)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	due := time.Now().Add(time.Hour + 4*time.Second).UTC().Format("2006-01-02T15:04:05Z")
	writeFile(t, cfg, soonConfig(due))
	noSecret := func(what, text string) {
		t.Helper()
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the database password:\n%s", what, text)
		}
	}

	// The URL comes from the environment here, the flag below.
	p1 := startProc(t, []string{"ALERTBOT_DB=" + u}, "--config", cfg, "--http", "127.0.0.1:0")
	addr1 := p1.httpAddr(t)
	p1.waitFor(t, "Type /alerts help")
	if body := waitRole(t, p1, addr1, "leader", e2eBound); !strings.Contains(body, "schema=") {
		t.Errorf("/healthz = %q, want ok with the schema", body)
	}
	p1.waitFor(t, "] Soon event")

	p2 := startProc(t, nil, "--config", cfg, "--db", u, "--http", "127.0.0.1:0", "--log-level", "debug")
	addr2 := p2.httpAddr(t)
	p2.waitFor(t, "Type /alerts help")
	// It follows, naming the leader.
	p2.waitForLog(t, fmt.Sprintf("another replica leads\" leader_pid=%d", p1.cmd.Process.Pid))
	waitRole(t, p2, addr2, "follower", e2eBound)
	if code, body := healthz(addr1); code != http.StatusOK || !strings.Contains(body, "role=leader") {
		t.Errorf("first serve's /healthz with a follower beside it = %d %q, want role=leader", code, body)
	}
	noSecret("second serve", p2.stderr()+p2.stdout())

	_ = p1.cmd.Process.Signal(syscall.SIGKILL)
	_ = p1.wait(t)
	noSecret("first serve", p1.stderr()+p1.stdout())
	waitRole(t, p2, addr2, "leader", 15*time.Second+leaderRenew)
	if msg := p2.stderr(); !strings.Contains(msg, fmt.Sprintf("leader: took the lease\" epoch=2 previous_pid=%d", p1.cmd.Process.Pid)) {
		t.Errorf("second serve's log does not show the takeover from pid %d:\n%s", p1.cmd.Process.Pid, msg)
	}
	// A check has run since the takeover: the reminder would show by now.
	p2.waitForLog(t, `msg="watcher checked" watcher=deadlines`)
	if n := strings.Count(p2.stdout(), "] Soon event"); n != 0 {
		t.Errorf("reminder posted again after takeover (%d times):\n%s", n, p2.stdout())
	}
	noSecret("second serve", p2.stderr()+p2.stdout())

	ex := startProc(t, nil, "exec", "--db", u, "--", "history")
	if err := ex.wait(t); err != nil {
		t.Fatalf("exec history: %v\nstderr:\n%s", err, ex.stderr())
	}
	if !strings.Contains(ex.stdout(), "Soon event") {
		t.Errorf("exec history on PostgreSQL:\n%s\nwant the delivered reminder", ex.stdout())
	}

	bk := startProc(t, nil, "backup", "--db", u, filepath.Join(dir, "b.db"))
	var ee *exec.ExitError
	if err := bk.wait(t); !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(bk.stderr(), "pg_dump") {
		t.Errorf("backup of PostgreSQL: %v, stderr %q; want exit 1 naming pg_dump", err, bk.stderr())
	}
	noSecret("backup", bk.stderr()+bk.stdout())
}
