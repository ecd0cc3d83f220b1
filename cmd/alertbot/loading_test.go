package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestHealthzWhileLoading: a first start over many events answers
// /healthz while the config's events are still being stored, with
// "loading=done/total" counting up to the config's events, and without it
// once they are all stored.
func TestHealthzWhileLoading(t *testing.T) {
	const n = 30_000
	dir := t.TempDir()
	path := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(path, []byte(firstStartConfig(n, time.Now())), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, nil, "--config", path, "--db", filepath.Join(dir, "a.db"), "--http", "127.0.0.1:0")
	defer func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		_ = p.wait(t)
	}()
	addr := p.httpAddr(t)
	loading := regexp.MustCompile(`^ok schema=\d+ role=\w+ loading=(\d+)/(\d+)$`)
	loaded := regexp.MustCompile(`^ok schema=\d+ role=\w+$`)
	var seen []int // the done counts /healthz gave
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, body := healthz(addr)
		if code == 200 {
			if loaded.MatchString(body) {
				break
			}
			m := loading.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("/healthz = %q, want ok with loading=done/%d or without it", body, n)
			}
			done, _ := strconv.Atoi(m[1])
			total, _ := strconv.Atoi(m[2])
			if total != n || done > total {
				t.Fatalf("/healthz = %q, want loading=done/%d with done ≤ %d", body, n, n)
			}
			if len(seen) > 0 && done < seen[len(seen)-1] {
				t.Fatalf("/healthz said loading=%d/%d after loading=%d/%d: the count went back", done, n, seen[len(seen)-1], n)
			}
			seen = append(seen, done)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d %q after two minutes\nstderr:\n%s", code, body, p.stderr())
		}
		time.Sleep(time.Millisecond)
	}
	if len(seen) == 0 {
		t.Fatalf("/healthz never said loading= while %d events were stored: it answered only once they all were\nstderr:\n%s", n, p.stderr())
	}
	if seen[len(seen)-1] == seen[0] {
		t.Errorf("/healthz said loading=%d/%d each of the %d times it was asked: no progress shown", seen[0], n, len(seen))
	}
	t.Logf("/healthz answered %d times while loading, from %d to %d of %d", len(seen), seen[0], seen[len(seen)-1], n)
}
