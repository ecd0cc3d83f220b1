// Package slack is alertbot's Slack adapter: it posts alerts as Block Kit
// messages through the Web API (paced per channel), and turns /alerts slash
// commands and button presses, over signed HTTP requests or Socket Mode,
// into bot.Requests for the router.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/policyteam/alertbot/bot"
)

// DefaultAPIURL is Slack's Web API base.
const DefaultAPIURL = "https://slack.com/api/"

// Defaults of Config.
const (
	// DefaultChannelRate is Slack's chat.postMessage allowance per channel.
	// https://docs.slack.dev/reference/methods/chat.postMessage#rate_limiting
	DefaultChannelRate rate.Limit = 1
	// DefaultChannelBurst lets a few alerts that fall due together go at once.
	DefaultChannelBurst = 3
	// MaxBodyBytes is the largest request body the HTTP endpoints read.
	MaxBodyBytes = 1 << 20
)

// NoLimit disables the per-channel limiter when given as ChannelRate
// (benchmarks, tests against a fake).
const NoLimit rate.Limit = -1

// Timing of replies. Slack wants an answer within 3 s.
// https://docs.slack.dev/interactivity/implementing-slash-commands#responding_to_commands
const (
	// ackDeadline is how long a command may run before the adapter
	// acknowledges with "Working on it…" and answers through response_url.
	ackDeadline = 2500 * time.Millisecond
	// lateTimeout bounds a command answered through response_url (Slack
	// accepts posts there for 30 minutes).
	lateTimeout = 5 * time.Minute
	// workingText is the acknowledgement of a slow command.
	workingText = "Working on it…"
	// shutdownWait bounds how long Run waits for answers still running
	// when its context ends.
	shutdownWait = 10 * time.Second
)

// Config configures the Slack adapter. Secrets are never logged.
type Config struct {
	BotToken      string // xoxb-…: required
	SigningSecret string // enables the HTTP endpoints
	AppToken      string // xapp-…: Socket Mode
	APIURL        string // default DefaultAPIURL; a trailing "/" is added
	// Admin reports whether a user address ("slack:U123") is an admin. It is
	// optional and currently unused: a channel message looks the same to
	// every reader, so admin-only buttons are rendered for all and the
	// router checks the presser.
	Admin  func(user string) bool
	Logger *slog.Logger
	// Now is the clock of the signature check; default time.Now.
	Now func() time.Time
	// ChannelRate is the per-channel message rate; 0 means
	// DefaultChannelRate, NoLimit (or any negative value, or rate.Inf)
	// disables the limiter.
	ChannelRate  rate.Limit
	ChannelBurst int          // default DefaultChannelBurst
	HTTPClient   *http.Client // optional; default has a 30 s timeout
}

// Adapter is the Slack platform: bot.Platform for sending, HTTP routes and
// a Socket Mode loop for commands.
type Adapter struct {
	api        *slack.Client
	apiURL     string
	apiBase    *url.URL
	botToken   string
	appToken   string
	secret     string
	log        *slog.Logger
	now        func() time.Time
	httpClient *http.Client
	// respClient posts to response_url and never follows redirects, so an
	// allowed host cannot bounce the request elsewhere.
	respClient *http.Client

	limit rate.Limit // 0: no limit
	burst int

	// Unexported knobs so tests can pace without a wall clock.
	clock    func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	ackAfter time.Duration

	mu       sync.Mutex
	channels map[string]*channelState
	dms      map[string]string // user id → the IM channel conversations.open gave

	bg bot.Background // answers still running after their acknowledgement
}

var _ bot.Platform = (*Adapter)(nil)

// New checks cfg and returns an adapter. It does no I/O.
func New(cfg Config) (*Adapter, error) {
	if cfg.BotToken == "" {
		return nil, errors.New("slack: bot token is required (SLACK_BOT_TOKEN)")
	}
	if strings.HasPrefix(cfg.BotToken, "xapp-") {
		return nil, errors.New("slack: the bot token is an app-level token (xapp-…); use the xoxb-… bot token, and give the app token as SLACK_APP_TOKEN")
	}
	if cfg.AppToken != "" && !strings.HasPrefix(cfg.AppToken, "xapp-") {
		return nil, errors.New("slack: the app token must be an app-level token (xapp-…)")
	}
	apiURL := cfg.APIURL
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	base, err := url.Parse(apiURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("slack: API URL %q: want an absolute http or https URL", cfg.APIURL)
	}
	a := &Adapter{
		apiURL:   apiURL,
		apiBase:  base,
		botToken: cfg.BotToken,
		appToken: cfg.AppToken,
		secret:   cfg.SigningSecret,
		log:      cfg.Logger,
		now:      cfg.Now,
		clock:    time.Now,
		sleep:    sleepCtx,
		ackAfter: ackDeadline,
		channels: make(map[string]*channelState),
		dms:      make(map[string]string),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("platform", "slack")
	if a.now == nil {
		a.now = time.Now
	}
	a.httpClient = cfg.HTTPClient
	if a.httpClient == nil {
		a.httpClient = &http.Client{Timeout: 30 * time.Second, Transport: bot.APITransport(parallelSends)}
	}
	rc := *a.httpClient
	rc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	a.respClient = &rc

	switch {
	case cfg.ChannelRate == 0:
		a.limit = DefaultChannelRate
	case cfg.ChannelRate < 0 || cfg.ChannelRate == rate.Inf:
		a.limit = 0
	default:
		a.limit = cfg.ChannelRate
	}
	a.burst = cfg.ChannelBurst
	if a.burst <= 0 {
		a.burst = DefaultChannelBurst
	}
	a.api = slack.New(a.botToken,
		slack.OptionAPIURL(a.apiURL),
		slack.OptionHTTPClient(a.httpClient),
		slack.OptionLog(slogWriter{a.log}),
	)
	return a, nil
}

// Name returns "slack", the address prefix of Slack channels.
func (a *Adapter) Name() string { return "slack" }

// errNoHandler is what Run returns, and Routes panics with, when given no
// handler for the commands they would answer.
var errNoHandler = errors.New("slack: a handler is required to answer commands")

// Routes registers POST /slack/commands and POST /slack/interactions on mux,
// answered by h, only when a signing secret is configured (HTTP mode). The
// handler comes here rather than through Config because the router is
// built after the platforms it sends through. Routes panics if it would
// register the routes with a nil h, as mux.Handle does.
func (a *Adapter) Routes(mux *http.ServeMux, h bot.Handler) {
	if a.secret == "" {
		return
	}
	if h == nil {
		panic(errNoHandler)
	}
	mux.HandleFunc("POST /slack/commands", func(w http.ResponseWriter, r *http.Request) { a.serveCommand(w, r, h) })
	mux.HandleFunc("POST /slack/interactions", func(w http.ResponseWriter, r *http.Request) { a.serveInteraction(w, r, h) })
}

// Run runs Socket Mode when an app token is set, answering commands with
// h and reconnecting as needed; otherwise it waits for ctx. It returns nil
// once ctx is cancelled, after the answers still running (from Socket Mode
// or the HTTP routes) have finished (bounded).
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	var err error
	switch {
	case a.appToken != "" && h == nil:
		err = errNoHandler
	case a.appToken != "":
		err = a.runSocketMode(ctx, h)
	default:
		<-ctx.Done()
	}
	a.bg.Drain(a.log, shutdownWait)
	return err
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// slogWriter adapts slog to slack-go's logger interface. slack-go logs
// only in debug mode, which alertbot never enables (its dumps could hold
// message content); what does arrive goes to debug level.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Output(_ int, s string) error {
	w.l.Debug("slack-go: " + strings.TrimSpace(s))
	return nil
}
