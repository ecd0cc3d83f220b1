package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSlowConnectionsCapped: 1,500 connections from one address that
// send half a request header and stop are not all held: past the
// per-address cap the server closes them at once, and a client from
// another address is still served meanwhile.
func TestSlowConnectionsCapped(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, faultConfig)
	srv := startServe(t, cfg, filepath.Join(dir, "a.db"), nil, &e2eClock{})
	attacker := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	const n = 1500
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := attacker.Dial("tcp", srv.addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRNOTAVAIL) {
				t.Skipf("cannot dial from 127.0.0.2: %v", err)
			}
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
			// Already closed by the server: that is the cap at work.
			c.Close()
			continue
		}
		conns = append(conns, c)
	}
	// Count the connections the server closed; it closes those past the
	// cap as it accepts them.
	closed := make([]bool, len(conns))
	open := func() int {
		held := 0
		buf := make([]byte, 1)
		for i, c := range conns {
			if closed[i] {
				continue
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, err := c.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				closed[i] = true
				continue
			}
			held++
		}
		return held
	}
	// The server's header timeout (10 s) would close them all in the end;
	// only the cap closes the excess within half of it.
	held := open()
	for deadline := time.Now().Add(5 * time.Second); held > maxConnsPerIP && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		held = open()
	}
	if held > maxConnsPerIP {
		t.Fatalf("%d slow connections from one address held open after 5 s, want at most %d", held, maxConnsPerIP)
	}
	t.Logf("%d of %d slow connections held (cap %d per address)", held, n, maxConnsPerIP)
	// Someone else is served while the slow ones wait for their header
	// timeout.
	resp, err := e2eHTTP.Get("http://" + srv.addr + "/healthz")
	if err != nil {
		t.Fatalf("healthz from another address during the flood: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "ok") {
		t.Errorf("healthz during the flood: %d %q", resp.StatusCode, body)
	}
}
