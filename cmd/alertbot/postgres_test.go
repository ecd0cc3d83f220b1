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

// TestServePostgres runs the program on PostgreSQL (DESIGN §12, first
// step): `serve --db postgres://…` migrates, answers /healthz and
// delivers; a second serve is refused with the URL shown without its
// password; a killed owner is replaced without a resend; exec reads the
// same database and backup says to use pg_dump. The password in the URL
// (ignored by the test server's trust authentication) must never reach
// the output.
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
	addr := p1.httpAddr(t)
	p1.waitFor(t, "Type /alerts help")
	if code, body := healthz(addr); code != http.StatusOK || !strings.Contains(body, "schema=") {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	p1.waitFor(t, "] Soon event")

	p2 := startProc(t, nil, "--config", cfg, "--db", u, "--http", "127.0.0.1:0")
	err := p2.wait(t)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second serve ended with %v, want exit status 1\nstderr:\n%s", err, p2.stderr())
	}
	want := "database postgres://alertbot:xxxxx@/postgres?host="
	if msg := p2.stderr(); !strings.Contains(msg, want) || !strings.Contains(msg, fmt.Sprintf("is served by pid %d on host ", p1.cmd.Process.Pid)) {
		t.Errorf("second serve said:\n%s\nwant it to name the redacted URL (%q…) and the first process", msg, want)
	}
	noSecret("second serve", p2.stderr()+p2.stdout())

	_ = p1.cmd.Process.Signal(syscall.SIGKILL)
	_ = p1.wait(t)
	noSecret("first serve", p1.stderr()+p1.stdout())
	p3 := startProc(t, nil, "--config", cfg, "--db", u, "--http", "127.0.0.1:0", "--log-level", "debug")
	p3.waitFor(t, "Type /alerts help")
	if n := strings.Count(p3.stdout(), "] Soon event"); n != 0 {
		t.Errorf("reminder posted again after takeover (%d times):\n%s", n, p3.stdout())
	}
	noSecret("third serve", p3.stderr()+p3.stdout())

	ex := startProc(t, nil, "exec", "--db", u, "--", "history")
	if err := ex.wait(t); err != nil {
		t.Fatalf("exec history: %v\nstderr:\n%s", err, ex.stderr())
	}
	if !strings.Contains(ex.stdout(), "Soon event") {
		t.Errorf("exec history on PostgreSQL:\n%s\nwant the delivered reminder", ex.stdout())
	}

	bk := startProc(t, nil, "backup", "--db", u, filepath.Join(dir, "b.db"))
	if err := bk.wait(t); !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(bk.stderr(), "pg_dump") {
		t.Errorf("backup of PostgreSQL: %v, stderr %q; want exit 1 naming pg_dump", err, bk.stderr())
	}
	noSecret("backup", bk.stderr()+bk.stdout())
}
