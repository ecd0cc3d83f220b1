package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/console"
	"github.com/policyteam/alertbot/store"
)

// runner is an adapter with a background loop (Socket Mode, gateway)
// that answers commands with h.
type runner interface {
	Run(ctx context.Context, h bot.Handler) error
}

// router is an adapter with HTTP endpoints that answer commands with h.
type router interface {
	Routes(mux *http.ServeMux, h bot.Handler)
}

// startMemoryLimit is the collector's soft memory limit while serve
// loads and seeds its config (DESIGN §8: a first start over 100,000
// events peaks at most at 100 MB). The events parsed from such a file are
// about 35 MB live, and the collector's default pacing let the heap grow
// to twice that; with the limit it works harder near 64 MiB instead, only
// while the start needs it.
const startMemoryLimit = 64 << 20

// testOptions, when set (by a _test.go file only), adjusts the bot's
// options; crash tests use it to kill the process at a chosen point, and
// the production binary does not carry that code.
var testOptions func(m *Main, o *bot.Options)

// server is a running `alertbot serve`: opened piece by piece by
// openServer and closed in reverse by Close, so a failed start closes
// what it had opened and a shutdown stops taking requests before the bot
// stops.
type server struct {
	log     *slog.Logger
	app     *app
	console *console.Console
	srv     *http.Server
	ln      net.Listener
	cancel  context.CancelFunc // ends the bot's and the platforms' loops
	started bool               // the bot was started: Close stops it
	bg      sync.WaitGroup     // platform loops and the console
	owner   *ownership         // the SQLite database's owner lease
	lost    chan error         // the lease passed to another process
	work    *leaderWork        // what runs only while this process leads
}

func (m *Main) serve(ctx context.Context, args []string) error {
	var c common
	fs := m.flags("serve", &c, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{2, fmt.Sprintf("alertbot serve: unexpected argument %q", fs.Arg(0))}
	}
	m.consoleLogLevel(&c, logLevelSet(fs, m.Getenv))
	// Until the start's seed is done the collector keeps the heap near
	// startMemoryLimit. A GOMEMLIMIT or GOGC set by the operator is left
	// alone.
	restoreGC := func() {}
	if m.Getenv("GOMEMLIMIT") == "" && m.Getenv("GOGC") == "" {
		old := debug.SetMemoryLimit(startMemoryLimit)
		restoreGC = sync.OnceFunc(func() { debug.SetMemoryLimit(old) })
	}
	defer restoreGC() // on the early returns; done after openServer otherwise
	cfg, err := m.loadConfig(c.config)
	if err != nil {
		return err
	}
	log, err := m.logger(c)
	if err != nil {
		return err
	}
	// SIGHUP re-reads the config file and seeds what changed. It is
	// caught from before the banner, so an operator (or a test) who sends
	// it once the banner shows does not kill the process instead; one
	// that arrives during start-up waits for the loop below.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s := &server{log: log, lost: make(chan error, 1)}
	err = m.openServer(ctx, s, c, cfg)
	restoreGC()
	if err != nil {
		s.Close()
		return err
	}
	defer s.Close()
	if m.Ready != nil {
		m.Ready <- s.ln.Addr().String()
	}
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down")
			return nil
		case err := <-s.lost:
			log.Error("shutting down", "err", err)
			return &exitError{1, "alertbot: " + err.Error()}
		case <-hup:
			m.reload(ctx, c, s.app, log)
		}
	}
}

// openServer opens the database, seeds it, listens, and starts the bot and
// the platforms, recording each piece in s as it goes so that Close can
// undo whatever was opened.
func (m *Main) openServer(ctx context.Context, s *server, c common, cfg *bot.Config) error {
	log := s.log
	// The platforms are built first, without the command handler: the bot
	// sends through them, and the router that answers their commands is
	// built from the bot. They get the router when started below.
	platforms, err := m.platforms(cfg, log)
	if err != nil {
		return &exitError{1, "alertbot: " + err.Error()}
	}
	if len(platforms) == 0 {
		s.console = console.New(m.Stdout, cfg.Location)
		platforms = append(platforms, s.console)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := bot.NewMetrics(reg)
	// On PostgreSQL several replicas share the database (DESIGN §12):
	// channel claims expire, and changes are announced to the others.
	replicas := store.IsPostgres(c.db)
	id := newProcessID()
	s.app, err = m.openBot(ctx, c, cfg, platforms, func(o *bot.Options) {
		o.Metrics = metrics
		o.Owner = id
		// The config's events are dropped once the seed has read them,
		// and the memory they held given back before the store's last
		// work (the indexes of a first start), so the two do not add up.
		o.AfterSeedRead = func() {
			s.app.bot.ForgetConfigEvents()
			debug.FreeOSMemory()
		}
		// A first start over many events leaves the lists' indexes to
		// build once the planning pass is done (store.LoadEvents).
		o.AfterFirstPass = func(ctx context.Context) { buildIndexes(ctx, s.app.db, log) }
		if replicas {
			o.ClaimTTL = claimTTL
			// Called only once s.app is set: after the start's seed.
			o.Announce = func(ctx context.Context, topic string) error { return s.app.db.Notify(ctx, topic) }
		}
		if testOptions != nil {
			testOptions(m, o)
		}
	})
	if err != nil {
		return err
	}
	a := s.app
	s.work = &leaderWork{platforms: platforms, handler: a.router, log: log}
	if replicas {
		// The elector decides, once started; until then, follow.
		a.bot.Follow()
	} else {
		// One owner per database (DESIGN §5): taken before the first
		// write; it leads for as long as it runs.
		if s.owner, err = acquireOwnership(ctx, a.db, c.db, id, log); err != nil {
			return err
		}
		a.bot.Lead(ctx, s.owner.fence())
	}
	// Listening starts before the seed: a first start over many events
	// answers /healthz and commands while they are stored (commands say
	// the bot is still loading; those that change something wait).
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthHandler(a.db, a.bot))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	for _, p := range platforms {
		if r, ok := p.(router); ok {
			r.Routes(mux, a.router)
		}
	}
	ln, err := net.Listen("tcp", c.http)
	if err != nil {
		return &exitError{1, fmt.Sprintf("alertbot: listen on %s: %v (set --http or ALERTBOT_HTTP)", c.http, err)}
	}
	s.ln = newLimitListener(ln, maxConns, maxConnsPerIP, log)
	page, err := m.statusPage(mux, a, s.ln, log)
	if err != nil {
		return &exitError{1, "alertbot: " + err.Error()}
	}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: time.Minute, MaxHeaderBytes: 64 << 10}
	go func() {
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	log.Info("http listening", "addr", s.ln.Addr().String())

	// The lists' indexes of a first start are built after the first
	// planning pass (AfterFirstPass above).
	a.db.DeferListIndexes()
	rep, err := a.bot.Seed(ctx)
	if err != nil {
		return &exitError{1, "alertbot: seed: " + err.Error()}
	}
	a.bot.ForgetConfigEvents()
	log.Info("config loaded", "config", cfgName(c.config), "events_created", rep.EventsCreated, "events_updated", rep.EventsUpdated,
		"watchers_created", rep.WatchersCreated, "watchers_updated", rep.WatchersUpdated)
	if replicas && rep.WatchersCreated+rep.WatchersUpdated+rep.EventsCreated+rep.EventsUpdated > 0 {
		// The leader schedules what this config changed.
		for _, topic := range []string{bot.TopicWatchers, bot.TopicEvents} {
			if err := a.db.Notify(ctx, topic); err != nil {
				log.Warn("other replicas not told of the config; they read it within a minute", "err", err)
			}
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	if err := a.bot.Start(runCtx); err != nil {
		return &exitError{1, "alertbot: " + err.Error()}
	}
	s.started = true
	if replicas {
		e := newElector(a.db, a.bot, id, s.work, log, m.now)
		s.bg.Add(2)
		go func() {
			defer s.bg.Done()
			e.run(runCtx)
		}()
		go func() {
			defer s.bg.Done()
			a.db.Listen(runCtx, func(topic string) { a.bot.Notified(runCtx, topic) }, func(err error) {
				if err == nil {
					log.Debug("listening for other replicas")
				}
			})
		}()
	} else {
		s.work.start(runCtx)
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.owner.keep(runCtx, a.bot, s.lost)
		}()
	}
	s.bg.Go(func() { checkPlatforms(runCtx, platforms, log) })
	for _, p := range platforms {
		if r, ok := p.(runner); ok {
			s.bg.Add(1)
			go func() {
				defer s.bg.Done()
				if err := r.Run(runCtx, a.router); err != nil {
					log.Error("platform stopped", "platform", p.Name(), "err", err)
				}
			}()
		}
	}
	if s.console != nil {
		s.console.Println(m.banner(runCtx, a.bot, a.db, cfg) + "\n" + page)
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			if err := s.console.Serve(runCtx, m.Stdin, a.router); err != nil {
				log.Warn("console input ended", "err", err)
			}
		}()
	}
	return nil
}

// Close stops what openServer started, in reverse: the HTTP listener
// first, so no request arrives at a stopping bot; then the bot (in-flight
// sends finish, bounded); then the platform loops; then the database.
func (s *server) Close() {
	if s.srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.srv.Shutdown(sctx)
		scancel()
	}
	if s.cancel != nil {
		s.cancel()
	}
	if s.started {
		s.app.bot.Stop()
	}
	s.bg.Wait()
	if s.work != nil {
		s.work.wait()
	}
	if s.owner != nil {
		s.owner.release()
	}
	if s.app != nil {
		s.app.db.Close()
	}
	if s.srv != nil {
		s.log.Info("stopped")
	}
}

func cfgName(path string) string {
	if path == "" {
		return exampleName
	}
	return path
}

// buildIndexes builds the indexes a load left for later
// (store.BuildIndexes) and logs what it did.
func buildIndexes(ctx context.Context, db *store.DB, log *slog.Logger) {
	start := time.Now()
	n, err := db.BuildIndexes(ctx)
	switch {
	case err != nil:
		log.Warn("indexes not built; the next start builds them", "err", err)
	case n > 0:
		log.Info("indexes built", "indexes", n, "took", time.Since(start).Round(time.Millisecond))
	}
}

// reload re-reads the config; on any error nothing changes.
func (m *Main) reload(ctx context.Context, c common, a *app, log *slog.Logger) {
	b := a.bot
	cfg, err := m.loadConfig(c.config)
	if err != nil {
		log.Error("config reload refused; keeping the running config", "err", err)
		return
	}
	rep, err := b.Reseed(ctx, cfg)
	if err != nil {
		log.Error("config reload failed", "err", err)
		return
	}
	b.ForgetConfigEvents()
	// Events loaded into a store that had none leave the lists' indexes
	// to build (DeferListIndexes); the first pass is long done.
	buildIndexes(ctx, a.db, log)
	log.Info("config reloaded", "events_created", rep.EventsCreated, "events_updated", rep.EventsUpdated,
		"watchers_created", rep.WatchersCreated, "watchers_updated", rep.WatchersUpdated)
}

// banner is what the console shows at start.
func (m *Main) banner(ctx context.Context, b *bot.Bot, db *store.DB, cfg *bot.Config) string {
	now := m.now()
	n, _ := db.CountEvents(ctx)
	ws, _ := db.Watchers(ctx)
	next := "no alert planned"
	evs, err := db.Events(ctx, bot.EventFilter{From: now, To: now.AddDate(10, 0, 0), Active: true, Limit: 500})
	if err == nil {
		na := nextAlert(cfg)
		var best time.Time
		var what, title string
		for i := range evs {
			if at, w, ok := na(&evs[i].Event, now); ok && (best.IsZero() || at.Before(best)) {
				best, what, title = at, w, evs[i].Current.Title
			}
		}
		if !best.IsZero() {
			next = fmt.Sprintf("next alert: %s — %s, %s (%s)", title, what,
				best.In(cfg.Location).Format("Mon 2 Jan 2006 15:04 MST"), bot.Countdown(now, best, cfg.Location))
		}
	}
	return fmt.Sprintf("alertbot %s — %s, %s, zone %s\n%s\n%s\nAlerts print here. Type /alerts help (or /alerts events).",
		Version, bot.Plural(n, "event"), bot.Plural(len(ws), "watcher"), cfg.Location, next, m.platformsLine())
}
