// Package fetch is the one HTTP fetcher shared by the source watchers. It
// applies the rules of DESIGN §7: http and https only (also for every
// redirect), connect and total timeouts, a body cap that fails loudly, at
// most five redirects, conditional GET, a User-Agent naming alertbot,
// per-host pacing, and refusal of link-local, cloud-metadata and (unless
// allowed) private and loopback addresses, checked on the resolved address
// at dial time so that DNS rebinding cannot get around it.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/policyteam/alertbot/watchers"
)

// Defaults applied by New to zero fields of Options.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultConnectTimeout  = 10 * time.Second
	DefaultMaxBytes        = 5 << 20 // 5 MiB
	DefaultMaxRedirects    = 5
	DefaultPerHostInterval = time.Second
)

// Errors that callers (and tests) may look for with errors.Is.
var (
	// ErrScheme is returned for a URL or redirect target that is not http or https.
	ErrScheme = errors.New("only http and https URLs may be fetched")
	// ErrTooManyRedirects is returned when a fetch is redirected more than MaxRedirects times.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrTooLarge is returned when a body is larger than the cap.
	ErrTooLarge = errors.New("body too large")
	// ErrForbiddenAddress is returned for link-local, cloud-metadata, and
	// (unless allowed) private, loopback and unspecified addresses.
	ErrForbiddenAddress = errors.New("address not allowed")
	// ErrTimeout is returned when the total timeout of a fetch expires.
	ErrTimeout = errors.New("timed out")
)

// StatusError is a response status that is neither 2xx nor 304.
type StatusError struct {
	Code   int
	Status string // e.g. "500 Internal Server Error"
}

// Error names the HTTP status.
func (e *StatusError) Error() string { return "http status " + e.Status }

// Options configure a Client. Zero fields take the defaults above, except
// PerHostInterval, where zero disables pacing (DefaultOptions sets it).
type Options struct {
	// UserAgent defaults to UserAgent(<module version>).
	UserAgent string
	// Timeout bounds a whole fetch: pacing, connect, redirects and body.
	Timeout time.Duration
	// ConnectTimeout bounds each TCP connect.
	ConnectTimeout time.Duration
	// MaxBytes caps a body; FetchRequest.Options.MaxBytes overrides it.
	MaxBytes int64
	// MaxRedirects is how many redirects a fetch follows; at most 5.
	MaxRedirects int
	// PerHostInterval is the least time between two requests to one host;
	// zero disables pacing.
	PerHostInterval time.Duration
	// Logger receives debug lines per fetch; nil discards them.
	Logger *slog.Logger
	// DialContext, if set, replaces the network dial (after the address
	// checks, which still run on the address it is asked for). For tests.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DefaultOptions returns Options with every default filled in, including
// the 1 s per-host pacing that a zero Options leaves off.
func DefaultOptions() Options {
	return Options{
		UserAgent:       UserAgent(""),
		Timeout:         DefaultTimeout,
		ConnectTimeout:  DefaultConnectTimeout,
		MaxBytes:        DefaultMaxBytes,
		MaxRedirects:    DefaultMaxRedirects,
		PerHostInterval: DefaultPerHostInterval,
	}
}

// UserAgent returns alertbot's User-Agent for version; "" means the
// version recorded in the build, or "dev".
func UserAgent(version string) string {
	if version == "" {
		version = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	return "alertbot/" + version + " (+https://github.com/policyteam/alertbot)"
}

// Client fetches sources; it implements watchers.Fetcher and is safe for
// concurrent use.
type Client struct {
	opts Options
	log  *slog.Logger
	// Two clients, so that a connection dialled for a request that allows
	// private addresses is never reused by one that does not.
	strict, private *http.Client

	mu    sync.Mutex
	hosts map[string]*rate.Limiter
}

var _ watchers.Fetcher = (*Client)(nil)

// New returns a Client with opts, zero fields defaulted.
func New(opts Options) *Client {
	if opts.UserAgent == "" {
		opts.UserAgent = UserAgent("")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxRedirects <= 0 || opts.MaxRedirects > DefaultMaxRedirects {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	if opts.PerHostInterval < 0 {
		opts.PerHostInterval = 0
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, log: log, hosts: map[string]*rate.Limiter{}}
	c.strict = c.newHTTPClient(false)
	c.private = c.newHTTPClient(true)
	return c
}

func (c *Client) newHTTPClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{
		Timeout:   c.opts.ConnectTimeout,
		KeepAlive: 30 * time.Second,
		// Control sees the address actually being connected to, after DNS,
		// so a name that resolves to a forbidden address is refused here.
		Control: func(network, address string, _ syscall.RawConn) error {
			return checkDialAddr(address, allowPrivate)
		},
	}
	dial := d.DialContext
	if c.opts.DialContext != nil {
		custom := c.opts.DialContext
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if err := checkDialAddr(addr, allowPrivate); err != nil {
				return nil, &net.OpError{Op: "dial", Net: network, Err: err}
			}
			return custom(ctx, network, addr)
		}
	}
	tr := &http.Transport{
		// No proxy: a proxy would connect on our behalf and bypass the
		// address checks.
		Proxy:                 nil,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   c.opts.ConnectTimeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: &pacer{c: c, next: tr},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > c.opts.MaxRedirects {
				return fmt.Errorf("%w: stopped after %d", ErrTooManyRedirects, c.opts.MaxRedirects)
			}
			if err := checkURL(req.URL, allowPrivate); err != nil {
				return fmt.Errorf("redirect to %s: %w", redactURL(req.URL), err)
			}
			return nil
		},
	}
}

// Fetch gets req.URL, conditionally on req.ETag and req.LastModified.
// A 304 gives NotModified with the validators kept; any other non-2xx
// status is a *StatusError.
func (c *Client) Fetch(ctx context.Context, req watchers.FetchRequest) (watchers.FetchResponse, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return watchers.FetchResponse{}, fmt.Errorf("fetch %s: bad url", Redact(req.URL))
	}
	name := redactURL(u)
	resp, err := c.fetch(ctx, u, req)
	if err != nil {
		return watchers.FetchResponse{}, fmt.Errorf("fetch %s: %w", name, err)
	}
	return resp, nil
}

func (c *Client) fetch(ctx context.Context, u *url.URL, req watchers.FetchRequest) (watchers.FetchResponse, error) {
	if err := checkURL(u, req.Options.AllowPrivate); err != nil {
		return watchers.FetchResponse{}, err
	}
	timeout := c.opts.Timeout
	if req.Options.Timeout != "" {
		d, err := time.ParseDuration(req.Options.Timeout)
		if err != nil || d <= 0 {
			return watchers.FetchResponse{}, fmt.Errorf("bad timeout %q", req.Options.Timeout)
		}
		timeout = d
	}
	maxBytes := c.opts.MaxBytes
	if req.Options.MaxBytes > 0 {
		maxBytes = req.Options.MaxBytes
	}

	tctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
	defer cancel()
	// timedOut turns our own deadline into a clear error, and leaves the
	// caller's cancellation as it is.
	timedOut := func(err error) error {
		if ctx.Err() == nil && errors.Is(context.Cause(tctx), ErrTimeout) {
			return fmt.Errorf("%w after %s", ErrTimeout, timeout)
		}
		return err
	}

	hreq, err := http.NewRequestWithContext(tctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return watchers.FetchResponse{}, fmt.Errorf("new request: %w", err)
	}
	hreq.Header.Set("User-Agent", c.opts.UserAgent)
	hreq.Header.Set("Accept", "*/*")
	if req.ETag != "" {
		hreq.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		hreq.Header.Set("If-Modified-Since", req.LastModified)
	}

	client := c.strict
	if req.Options.AllowPrivate {
		client = c.private
	}
	start := time.Now()
	resp, err := client.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the full URL, query included
		}
		return watchers.FetchResponse{}, timedOut(err)
	}
	defer resp.Body.Close()
	final := resp.Request.URL

	out := watchers.FetchResponse{
		ContentType:  resp.Header.Get("Content-Type"),
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		FinalURL:     final.String(),
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		out.NotModified = true
		if out.ETag == "" {
			out.ETag = req.ETag
		}
		if out.LastModified == "" {
			out.LastModified = req.LastModified
		}
		c.log.DebugContext(ctx, "fetch not modified", "url", redactURL(final), "took", time.Since(start))
		return out, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return watchers.FetchResponse{}, &StatusError{Code: resp.StatusCode, Status: resp.Status}
	}
	if resp.ContentLength > maxBytes {
		return watchers.FetchResponse{}, fmt.Errorf("%w: body exceeds %s cap (Content-Length %d)", ErrTooLarge, formatBytes(maxBytes), resp.ContentLength)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return watchers.FetchResponse{}, timedOut(fmt.Errorf("read body: %w", err))
	}
	if int64(len(body)) > maxBytes {
		return watchers.FetchResponse{}, fmt.Errorf("%w: body exceeds %s cap", ErrTooLarge, formatBytes(maxBytes))
	}
	out.Body = body
	c.log.DebugContext(ctx, "fetched", "url", redactURL(final), "status", resp.StatusCode, "bytes", len(body), "took", time.Since(start))
	return out, nil
}

// pacer waits for the host's limiter before every request, redirects
// included.
type pacer struct {
	c    *Client
	next http.RoundTripper
}

func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	if lim := p.c.limiter(req.URL.Host); lim != nil {
		if err := lim.Wait(req.Context()); err != nil {
			return nil, fmt.Errorf("per-host pacing: %w", err)
		}
	}
	return p.next.RoundTrip(req)
}

func (c *Client) limiter(host string) *rate.Limiter {
	if c.opts.PerHostInterval <= 0 {
		return nil
	}
	host = strings.ToLower(host)
	c.mu.Lock()
	defer c.mu.Unlock()
	lim, ok := c.hosts[host]
	if !ok {
		lim = rate.NewLimiter(rate.Every(c.opts.PerHostInterval), 1)
		c.hosts[host] = lim
	}
	return lim
}

// Redact returns raw without user info and with any query replaced by
// "?…", for logs and errors: queries and user info often hold API keys.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable url>"
	}
	return redactURL(u)
}

func redactURL(u *url.URL) string {
	v := *u
	v.User = nil
	v.Fragment, v.RawFragment = "", ""
	q := v.RawQuery != "" || v.ForceQuery
	v.RawQuery, v.ForceQuery = "", false
	s := v.String()
	if q {
		s += "?…"
	}
	return s
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
