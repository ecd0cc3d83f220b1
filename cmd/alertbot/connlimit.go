package main

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// Connection caps of the HTTP listener (DESIGN §7). Slack, Discord and
// health checks need a handful of connections at once; a client that opens
// hundreds and sends nothing (slow headers) must not hold the server's
// memory or its file descriptors, nor shut out everyone else.
const (
	maxConns      = 512 // open at once, from everyone
	maxConnsPerIP = 128 // open at once from one address (a proxy in front counts as one)
)

// limitListener closes connections past its caps at once, rather than
// queueing them: a client that waits for a slot would still hold one in
// the kernel's backlog, and a closed connection tells it plainly.
type limitListener struct {
	net.Listener
	total, perIP int
	log          *slog.Logger

	mu      sync.Mutex
	open    int
	byIP    map[string]int
	dropped int       // refused since the last log line
	logged  time.Time // when refusals were last logged
}

func newLimitListener(l net.Listener, total, perIP int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: l, total: total, perIP: perIP, log: log, byIP: map[string]int{}}
}

// Accept returns the next connection within the caps.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		l.mu.Lock()
		if l.open >= l.total || l.byIP[ip] >= l.perIP {
			l.dropped++
			report := time.Since(l.logged) >= time.Minute
			n := l.dropped
			if report {
				l.dropped, l.logged = 0, time.Now()
			}
			l.mu.Unlock()
			_ = c.Close()
			if report {
				// Once a minute at most: a flood must not flood the log.
				l.log.Warn("http connections refused: too many open", "refused", n, "limit", l.total, "limit_per_address", l.perIP)
			}
			continue
		}
		l.open++
		l.byIP[ip]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l, ip: ip}, nil
	}
}

// release gives a connection's slot back.
func (l *limitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

// limitedConn releases its slot once, when closed.
type limitedConn struct {
	net.Conn
	l    *limitListener
	ip   string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

// remoteIP is the connection's peer address without its port.
func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}
