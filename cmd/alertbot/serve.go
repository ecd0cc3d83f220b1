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

// handlerProxy lets platform adapters be built before the router they
// call exists.
type handlerProxy struct{ h bot.Handler }

func (p *handlerProxy) Handle(ctx context.Context, r bot.Request) bot.Reply {
	return p.h.Handle(ctx, r)
}
func (p *handlerProxy) Slow(r bot.Request) bool { return p.h.Slow(r) }
func (p *handlerProxy) Complete(ctx context.Context, what, prefix string) []string {
	return p.h.Complete(ctx, what, prefix)
}

// runner is an adapter with a background loop (Socket Mode, gateway).
type runner interface {
	Run(ctx context.Context) error
}

// router is an adapter with HTTP endpoints.
type router interface {
	Routes(mux *http.ServeMux)
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
	cfg, err := m.loadConfig(c.config)
	if err != nil {
		return err
	}
	log, err := m.logger(c)
	if err != nil {
		return err
	}
	proxy := &handlerProxy{}
	platforms, err := m.platforms(cfg, log, proxy)
	if err != nil {
		return &exitError{1, "alertbot: " + err.Error()}
	}
	var con *console.Console
	if len(platforms) == 0 {
		con = console.New(m.Stdout, cfg.Location)
		platforms = append(platforms, con)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := bot.NewMetrics(reg)
	a, err := m.openBot(ctx, c, cfg, platforms, func(o *bot.Options) {
		o.Metrics = metrics
		if m.Getenv("ALERTBOT_TEST_CRASH") == "after-commit" {
			// Test hook for crash-safety tests: die the hard way right
			// after a check committed alerts and their deliveries, before
			// any is sent.
			o.AfterCommit = func(int) { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
		}
	})
	if err != nil {
		return err
	}
	defer a.db.Close()
	b, db := a.bot, a.db
	proxy.h = a.router
	rep, err := b.Seed(ctx)
	if err != nil {
		return &exitError{1, "alertbot: seed: " + err.Error()}
	}
	log.Info("config loaded", "config", cfgName(c.config), "events_created", rep.EventsCreated, "events_updated", rep.EventsUpdated,
		"watchers_created", rep.WatchersCreated, "watchers_updated", rep.WatchersUpdated)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "ok schema=%d\n", db.Version())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	for _, p := range platforms {
		if r, ok := p.(router); ok {
			r.Routes(mux)
		}
	}
	ln, err := net.Listen("tcp", c.http)
	if err != nil {
		return &exitError{1, fmt.Sprintf("alertbot: listen on %s: %v (set --http or ALERTBOT_HTTP)", c.http, err)}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	log.Info("http listening", "addr", ln.Addr().String())

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := b.Start(runCtx); err != nil {
		return &exitError{1, "alertbot: " + err.Error()}
	}
	var bg sync.WaitGroup
	for _, p := range platforms {
		if r, ok := p.(runner); ok {
			bg.Add(1)
			go func() {
				defer bg.Done()
				if err := r.Run(runCtx); err != nil {
					log.Error("platform stopped", "platform", p.Name(), "err", err)
				}
			}()
		}
	}
	if con != nil {
		con.Println(m.banner(runCtx, b, db, cfg))
		bg.Add(1)
		go func() {
			defer bg.Done()
			if err := con.Serve(runCtx, m.Stdin, proxy); err != nil {
				log.Warn("console input ended", "err", err)
			}
		}()
	}
	// SIGHUP re-reads the config file and seeds what changed.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if m.Ready != nil {
		m.Ready <- ln.Addr().String()
	}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			m.reload(ctx, c, b, log)
		}
	}
	log.Info("shutting down")
	cancel()
	b.Stop()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	bg.Wait()
	log.Info("stopped")
	return nil
}

func cfgName(path string) string {
	if path == "" {
		return exampleName
	}
	return path
}

// reload re-reads the config; on any error nothing changes.
func (m *Main) reload(ctx context.Context, c common, b *bot.Bot, log *slog.Logger) {
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
	return fmt.Sprintf("alertbot %s — %d events, %d watchers, zone %s\n%s\nAlerts print here. Type /alerts help (or /alerts upcoming 400d).",
		Version, n, len(ws), cfg.Location, next)
}
