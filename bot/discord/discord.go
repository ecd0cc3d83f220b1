// Package discord is alertbot's Discord adapter: it posts alerts as embeds
// (bot.Platform), answers /alerts and /alerts-admin interactions over the
// HTTP interactions endpoint or the gateway, and registers the commands.
//
// REST goes through discordgo v0.29.0 with ShouldRetryOnRateLimit off and
// WithContext on every call, but for Send's create-message, which is posted
// directly (create.go); retries belong to the caller (the dispatcher),
// which gets bot.Transient or bot.Permanent errors from Send.
package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"golang.org/x/time/rate"

	"github.com/policyteam/alertbot/bot"
)

// DefaultAPIURL is where Discord's REST API lives.
const DefaultAPIURL = "https://discord.com"

// DefaultGlobalRate is Discord's global limit of 50 requests per second per
// bot (https://discord.com/developers/docs/topics/rate-limits#global-rate-limit).
const DefaultGlobalRate rate.Limit = 50

// NoLimit disables the global limiter (benchmarks against a fake).
const NoLimit = rate.Inf

// shutdownWait bounds how long Run waits for deferred interaction answers
// still running when its context ends.
const shutdownWait = 10 * time.Second

// clientTimeout bounds a REST call that would otherwise hang.
const clientTimeout = 30 * time.Second

// Config configures an Adapter. Secrets come from the environment (DESIGN §2)
// and are never logged.
type Config struct {
	BotToken  string // DISCORD_BOT_TOKEN, with or without the "Bot " prefix
	AppID     string // DISCORD_APP_ID
	PublicKey string // DISCORD_PUBLIC_KEY, hex Ed25519; enables POST /discord/interactions
	// APIURL is the REST base (default https://discord.com). Requests keep
	// their /api/v9/… paths; only scheme and host are rewritten.
	APIURL string
	Logger *slog.Logger
	Now    func() time.Time
	// Gateway opens the gateway session in Run to receive INTERACTION_CREATE.
	// A process that opens it only while it leads (several replicas,
	// DESIGN §12) leaves it off and calls RunGateway instead.
	Gateway bool
	// GatewayURL overrides the websocket URL that discordgo would otherwise
	// get from GET /api/v9/gateway: discordgo keeps that URL unexported, so
	// the adapter's transport answers the lookup itself when this is set.
	GatewayURL string
	// GlobalRate is the request rate waited on before each REST call
	// (default DefaultGlobalRate; NoLimit for none).
	GlobalRate rate.Limit
	// Commands is the command table (bot.Commands with the wiring table's
	// watcher kinds): what Register registers and what interactions map
	// back to. Required to answer interactions or to register.
	Commands []bot.CommandSpec
}

// Adapter is the Discord platform.
type Adapter struct {
	session *discordgo.Session
	appID   string
	pub     ed25519.PublicKey // nil: the HTTP endpoint is off
	log     *slog.Logger
	now     func() time.Time
	gateway bool
	global  *rate.Limiter
	limits  *buckets
	bg      bot.Background // deferred interaction answers still being written

	// commands is Config.Commands as Discord sees it.
	commands []command

	// token and client build the sessions of RunGateway, a new one for
	// each call: a reopened session would try to resume the closed one.
	token  string
	client *http.Client
	// sendClient is client without its timeout (createMessage).
	sendClient *http.Client
	// auth and userAgent are the headers of the requests made without
	// discordgo (createMessage): the session's own, so Discord sees one
	// client.
	auth      string
	userAgent string
	// api is the REST base's scheme and host ("https://discord.com"), to
	// which createMessage's paths are appended.
	api string

	// self is the bot's own user id, learned once by Resolve (resolve.go).
	self selfUser
	// dms are the direct-message channels opened so far (dm.go).
	dms dmCache
}

var _ bot.Platform = (*Adapter)(nil)

// New checks cfg and builds an Adapter; it opens no connection.
func New(cfg Config) (*Adapter, error) {
	token := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cfg.BotToken), "Bot "))
	if token == "" {
		return nil, errors.New("discord: bot token is empty (set DISCORD_BOT_TOKEN)")
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, errors.New("discord: bot token contains whitespace")
	}
	a := &Adapter{
		appID:   strings.TrimSpace(cfg.AppID),
		log:     cfg.Logger,
		now:     cfg.Now,
		gateway: cfg.Gateway,
		limits:  newBuckets(),
	}
	a.commands = build(cfg.Commands)
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("platform", "discord")
	if a.now == nil {
		a.now = time.Now
	}
	if cfg.PublicKey != "" {
		key, err := ParsePublicKey(cfg.PublicKey)
		if err != nil {
			return nil, err
		}
		a.pub = key
	}
	base := cfg.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discord: api url %q: want http(s)://host", base)
	}
	if cfg.GatewayURL != "" {
		g, err := url.Parse(cfg.GatewayURL)
		if err != nil || (g.Scheme != "ws" && g.Scheme != "wss") || g.Host == "" {
			return nil, fmt.Errorf("discord: gateway url %q: want ws(s)://host", cfg.GatewayURL)
		}
	}
	if (a.pub != nil || cfg.Gateway) && len(cfg.Commands) == 0 {
		return nil, errors.New("discord: the command table (Config.Commands) is needed to answer interactions")
	}
	limit := cfg.GlobalRate
	if limit == 0 {
		limit = DefaultGlobalRate
	}
	// A small burst keeps short bursts quick while staying far below what a
	// one-second window at 50/s allows.
	a.global = rate.NewLimiter(limit, 5)

	a.token = token
	a.api = u.Scheme + "://" + u.Host
	a.client = &http.Client{
		Transport: &transport{
			base:    bot.APITransport(parallelSends),
			scheme:  u.Scheme,
			host:    u.Host,
			rewrite: base != DefaultAPIURL,
			gateway: cfg.GatewayURL,
			limits:  a.limits,
		},
		// A bound on a hang; every call also carries its own context.
		Timeout: clientTimeout,
	}
	// The same transport without the client's timeout, for createMessage,
	// whose context always has a deadline: with a wrapped transport,
	// net/http enforces a client timeout by a timer and two goroutines
	// per request.
	a.sendClient = &http.Client{Transport: a.client.Transport}
	if a.session, err = a.newSession(); err != nil {
		return nil, err
	}
	a.auth, a.userAgent = a.session.Token, a.session.UserAgent
	return a, nil
}

// newSession returns a discordgo session set up as the adapter needs it.
func (a *Adapter) newSession() (*discordgo.Session, error) {
	s, err := discordgo.New("Bot " + a.token)
	if err != nil {
		return nil, fmt.Errorf("discord: new session: %w", err)
	}
	// Retrying on 429 inside discordgo sleeps without a context, forever.
	s.ShouldRetryOnRateLimit = false
	// The dispatcher retries 5xx with backoff; a silent retry here would
	// only hide the failure from it.
	s.MaxRestRetries = 0
	s.Client = a.client
	s.StateEnabled = false
	s.Identify.Intents = discordgo.IntentsGuilds
	// discordgo logs through the standard logger; we log its connection
	// events ourselves instead.
	s.LogLevel = -1
	return s, nil
}

// ParsePublicKey decodes the application's hex Ed25519 public key.
func ParsePublicKey(h string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(h))
	if err != nil {
		return nil, fmt.Errorf("discord: public key: not hex: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("discord: public key: %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// Name returns "discord", the address prefix of Discord channels.
func (a *Adapter) Name() string { return "discord" }

// errNoHandler is what Run returns, and Routes panics with, when given no
// handler for the interactions they would answer.
var errNoHandler = errors.New("discord: a handler is needed to answer interactions")

// Run serves the gateway when Config.Gateway is set, answering interactions
// with h, else waits for ctx. The handler comes here rather than through
// Config because the router is built after the platforms it sends through.
// Run returns nil when ctx ends, after deferred interaction answers in
// flight (from the gateway or the HTTP endpoint) finished (bounded).
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	defer a.bg.Drain(a.log, shutdownWait)
	if !a.gateway {
		<-ctx.Done()
		return nil
	}
	return a.RunGateway(ctx, h)
}

// RunGateway opens the gateway session and answers the interactions it
// receives with h until ctx ends, then closes it; it may be called again
// afterwards. Run calls it when Config.Gateway is set. With several
// replicas, only the leader holds the session (DESIGN §12): a second
// session of the same shard would receive the same interactions. Answers
// still being written when it returns are waited for by Run.
func (a *Adapter) RunGateway(ctx context.Context, h bot.Handler) error {
	if h == nil {
		return errNoHandler
	}
	gw, err := a.newSession()
	if err != nil {
		return err
	}
	remove := gw.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
		if ic.Interaction == nil {
			return
		}
		a.bg.Go(func() { a.gatewayInteraction(ctx, h, ic.Interaction) })
	})
	defer remove()
	removeConn := gw.AddHandler(func(_ *discordgo.Session, _ *discordgo.Connect) {
		a.log.Info("gateway connected")
	})
	defer removeConn()
	removeDisc := gw.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		a.log.Warn("gateway disconnected")
	})
	defer removeDisc()
	// Open does its gateway lookup without a context; the transport bounds
	// it with the client timeout.
	if err := gw.Open(); err != nil {
		return fmt.Errorf("discord: open gateway: %w", err)
	}
	<-ctx.Done()
	if err := gw.Close(); err != nil {
		a.log.Warn("close gateway", "err", err)
	}
	return nil
}

// Register bulk-overwrites the application's commands with Commands of
// Config.Commands: globally, or in one guild when guildID is set (instant;
// for testing).
func (a *Adapter) Register(ctx context.Context, guildID string) error {
	if a.appID == "" {
		return errors.New("discord: register: application id is empty (set DISCORD_APP_ID)")
	}
	if len(a.commands[0].subs)+len(a.commands[1].subs) == 0 {
		return errors.New("discord: register: the command table (Config.Commands) is empty")
	}
	if err := a.global.Wait(ctx); err != nil {
		return fmt.Errorf("discord: register: %w", err)
	}
	cmds, err := a.session.ApplicationCommandBulkOverwrite(a.appID, guildID, schema(a.commands), discordgo.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("discord: register commands: %w", err)
	}
	a.log.Info("registered commands", "count", len(cmds), "guild", guildID)
	return nil
}
