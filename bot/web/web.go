// Package web serves alertbot's read-only status page (GET /), one page
// per event (GET /events/{id}) and the events as an iCalendar feed
// (GET /calendar.ics), DESIGN §11. Pages are rendered on the server with
// html/template and need no script; the data comes through the small
// reader interfaces below, which the store implements and cmd/alertbot
// wires in.
//
// Access: on a loopback listen address everything is open; on any other
// address every route needs the token (Authorization: Bearer or
// ?token=), and without a token the routes refuse to serve.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/policyteam/alertbot/bot"
)

// EventReader reads events; Events with a zero filter lists them all.
// Event returns bot.ErrNotFound (wrapped) for an unknown id.
type EventReader interface {
	Events(ctx context.Context, f bot.EventFilter) ([]bot.EventRecord, error)
	Event(ctx context.Context, id string) (bot.EventRecord, error)
}

// WatcherReader lists watchers with their run status.
type WatcherReader interface {
	Watchers(ctx context.Context) ([]bot.WatcherRecord, error)
}

// NextRuns tells when a watcher runs next; *bot.Bot implements it.
type NextRuns interface {
	NextRun(id string) (time.Time, bool)
}

// DeliveryReader lists the last n deliveries to any channel, newest first.
type DeliveryReader interface {
	RecentDeliveries(ctx context.Context, n int) ([]bot.DeliveryRecord, error)
}

// AlertReader lists the last n alerts about an event, newest first.
type AlertReader interface {
	AlertsForEvent(ctx context.Context, event string, n int) ([]bot.AlertRecord, error)
}

// ChannelReader lists subscriptions, the mutes in force at now and the
// channels' settings.
type ChannelReader interface {
	Subscriptions(ctx context.Context) ([]bot.Subscription, error)
	// ChannelSettings returns every channel's quiet hours, digest and
	// zone (DESIGN §9).
	ChannelSettings(ctx context.Context) ([]bot.ChannelSettings, error)
	Mutes(ctx context.Context, now time.Time) ([]bot.Mute, error)
}

// Options wire a Server. Every reader is required; Runs may be nil (no
// next runs shown).
type Options struct {
	Events     EventReader
	Watchers   WatcherReader
	Runs       NextRuns
	Deliveries DeliveryReader
	Alerts     AlertReader
	Channels   ChannelReader
	// Location returns the display zone (the config's; it may change on
	// reload).
	Location func() *time.Location
	Now      func() time.Time
	Logger   *slog.Logger
	// Public is true when the listen address is not loopback: then every
	// route needs Token, and with no Token every route refuses.
	Public bool
	// Token is ALERTBOT_WEB_TOKEN. It is never logged.
	Token string
}

// Server answers the status page, event pages and the calendar.
type Server struct {
	o       Options
	log     *slog.Logger
	tokenH  [32]byte // sha256 of the token: compared in constant time
	hasTok  bool
	csp     string
	pages   *pageTemplates
	maxRows int
}

// Access modes, as Access reports them.
const (
	AccessOpen  = "open"  // loopback: no token needed
	AccessToken = "token" // public address: token required
	AccessOff   = "off"   // public address without a token: refused
)

// New builds a Server.
func New(o Options) (*Server, error) {
	if o.Events == nil || o.Watchers == nil || o.Deliveries == nil || o.Alerts == nil || o.Channels == nil || o.Location == nil {
		return nil, errors.New("web: every reader and the location are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, log: o.Logger, maxRows: 50}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if o.Token != "" {
		s.tokenH, s.hasTok = sha256.Sum256([]byte(o.Token)), true
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.csp = contentSecurityPolicy(s.pages.styleHash)
	return s, nil
}

// Access reports how the routes are guarded: AccessOpen, AccessToken or
// AccessOff.
func (s *Server) Access() string {
	switch {
	case !s.o.Public:
		return AccessOpen
	case s.hasTok:
		return AccessToken
	}
	return AccessOff
}

// Routes registers the page, event pages and calendar on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.guard(s.statusPage))
	mux.HandleFunc("GET /events/{id}", s.guard(s.eventPage))
	mux.HandleFunc("GET /calendar.ics", s.guard(s.calendarFeed))
	// The icon shows nothing of the bot's data, so it needs no token;
	// linking it from the page also saves browsers a 404 on /favicon.ico.
	mux.HandleFunc("GET /favicon.svg", s.headers(favicon))
}

// favicon is a bar, a point and a line at now: the timeline in little.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">` +
	`<rect x="1" y="5" width="8" height="5" rx="1" fill="#E69F00"/><circle cx="12.5" cy="7.5" r="2.5" fill="#0072B2"/>` +
	`<rect x="5.2" y="1" width="1.6" height="14" fill="#cf222e"/></svg>`

func favicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = io.WriteString(w, faviconSVG)
}

// Loopback reports whether a listen address takes connections only from
// this machine; anything else (0.0.0.0, a LAN address) is public.
func Loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// PageURL is the status page's address for a listen address, for the
// banner: an unspecified address (0.0.0.0, ::) is shown as loopback,
// where it can be opened on this machine.
func PageURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String() + "/"
	}
	ip := tcp.IP
	switch {
	case ip.IsUnspecified() && ip.To4() != nil:
		ip = net.IPv4(127, 0, 0, 1)
	case ip.IsUnspecified():
		ip = net.IPv6loopback
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port)) + "/"
}

// contentSecurityPolicy allows nothing but the page's own style sheet
// (by hash) and links to itself: no script, no frames, no outside fetch,
// so even text that slipped past escaping could not run or phone home.
func contentSecurityPolicy(styleHash string) string {
	return "default-src 'none'; style-src '" + styleHash + "'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

type ctxKey struct{}

// access is what a request proved: the query to carry in links when the
// token came in the URL (a browser has no other way to send it on).
type access struct{ query string }

func accessOf(r *http.Request) access {
	a, _ := r.Context().Value(ctxKey{}).(access)
	return a
}

// headers sets the security headers of every response.
func (s *Server) headers(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", s.csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer") // a ?token= URL must not leak through links
		hd.Set("X-Frame-Options", "DENY")
		h(w, r)
	}
}

// guard applies the security headers and the access rule to h.
func (s *Server) guard(h http.HandlerFunc) http.HandlerFunc {
	return s.headers(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		if !s.o.Public {
			h(w, r)
			return
		}
		if !s.hasTok {
			http.Error(w, "The status page and calendar are off: alertbot listens on a public address and ALERTBOT_WEB_TOKEN is not set.", http.StatusForbidden)
			return
		}
		var a access
		tok, ok := bearer(r)
		if !ok {
			if tok = r.URL.Query().Get("token"); tok != "" {
				a.query = "token=" + url.QueryEscape(tok)
			}
		}
		if !s.tokenOK(tok) {
			hd.Set("WWW-Authenticate", `Bearer realm="alertbot"`)
			http.Error(w, "Unauthorized: send the token as Authorization: Bearer <token> or ?token=<token>.", http.StatusUnauthorized)
			return
		}
		hd.Set("Cache-Control", "private")
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, a)))
	})
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// tokenOK compares hashes, so neither the content nor the length of the
// token shows in the time taken.
func (s *Server) tokenOK(tok string) bool {
	if tok == "" {
		return false
	}
	h := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(h[:], s.tokenH[:]) == 1
}

// link returns path with the request's token query, if it came in one,
// and the extra query.
func link(a access, path string, q url.Values) string {
	qs := q.Encode()
	if a.query != "" {
		if qs != "" {
			qs = a.query + "&" + qs
		} else {
			qs = a.query
		}
	}
	if qs == "" {
		return path
	}
	return path + "?" + qs
}

// internalError logs err and answers a short message: details stay in
// the log.
func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	s.log.Error("web: "+what, "err", err)
	http.Error(w, "Internal error.", http.StatusInternalServerError)
}
