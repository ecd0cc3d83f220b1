package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store"
)

// Lease timing (DESIGN §5 "One owner", §12 "Scale-out").
const (
	// SQLite's owner lease: renewed every leaseRenew, so a killed owner's
	// lease is taken over within leaseTTL even from another host; on the
	// same host a dead pid is noticed at once.
	leaseTTL   = 15 * time.Second
	leaseRenew = 3 * time.Second
	// PostgreSQL's leader lease: renewed every leaderRenew with a
	// leaderTTL expiry, and followers try to take it as often, so a dead
	// leader is replaced within leaderTTL + leaderRenew (DESIGN §8:
	// failover ≤ 15 s).
	leaderTTL   = 10 * time.Second
	leaderRenew = 2 * time.Second
	// claimTTL is how long a replica's channel claims last unless it
	// extends them: a dead replica's channels are delivered by the others
	// after it.
	claimTTL = 10 * time.Second
)

// newProcessID names this process on the lease and on its delivery
// claims: random, new with each start.
func newProcessID() string {
	id := make([]byte, 8)
	_, _ = rand.Read(id) // never fails (crypto/rand docs)
	return hex.EncodeToString(id)
}

// ownership is this process's hold on a SQLite database.
type ownership struct {
	db    *store.DB
	lease store.Lease
	log   *slog.Logger
}

// acquireOwnership takes the owner lease of a SQLite database for holder
// or explains who holds it.
func acquireOwnership(ctx context.Context, db *store.DB, name, holder string, log *slog.Logger) (*ownership, error) {
	host, _ := os.Hostname()
	l, err := db.AcquireLease(ctx, store.LeaseClaim{
		Name: store.OwnerLease, Holder: holder, PID: os.Getpid(), Host: host, TTL: leaseTTL,
		Dead: func(l store.Lease) bool { return l.Host == host && !pidAlive(l.PID) },
	})
	if errors.Is(err, store.ErrLeaseHeld) {
		return nil, &exitError{1, fmt.Sprintf("alertbot: database %s is served by pid %d on host %s since %s; stop it first (several replicas need PostgreSQL)",
			store.Redact(name), l.PID, l.Host, l.Since.Local().Format("15:04:05"))}
	}
	if err != nil {
		return nil, &exitError{1, "alertbot: " + err.Error()}
	}
	log.Info("database owned", "epoch", l.Epoch, "pid", l.PID, "host", l.Host)
	return &ownership{db: db, lease: l, log: log}, nil
}

// fence is the owner's fence on its writes as leader.
func (o *ownership) fence() bot.Fence {
	return bot.Fence{Lease: store.OwnerLease, Holder: o.lease.Holder, Epoch: o.lease.Epoch}
}

// pidAlive reports whether a process with pid runs on this host.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// keep renews the lease until ctx ends. A failed write is reported to the
// bot's health and retried; a lease taken by another process ends the
// wait with lost, since two owners would post twice.
func (o *ownership) keep(ctx context.Context, b *bot.Bot, lost chan<- error) {
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := o.db.RenewLease(ctx, store.OwnerLease, o.lease.Holder, o.lease.Epoch, leaseTTL)
		if errors.Is(err, store.ErrLeaseLost) {
			cur, _, _ := o.db.CurrentLease(ctx, store.OwnerLease)
			lost <- fmt.Errorf("lost the database to pid %d on host %s; stopping so that only one process serves it", cur.PID, cur.Host)
			return
		}
		if ctx.Err() == nil {
			b.ReportWrite("lease", err)
			if err != nil {
				o.log.Error("lease not renewed", "err", err)
			}
		}
	}
}

// release gives the lease up at shutdown, so a restart need not wait.
func (o *ownership) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := o.db.ReleaseLease(ctx, store.OwnerLease, o.lease.Holder); err != nil {
		o.log.Warn("lease not released", "err", err)
	}
}

// gatewayRunner is an adapter with a connection that only the leader
// holds: Discord's gateway, which would hand every interaction to each
// session of the bot's one shard.
type gatewayRunner interface {
	RunGateway(ctx context.Context, h bot.Handler) error
}

// leaderWork runs what only the leader runs besides the watchers (the
// Discord gateway) for one term of leadership, until ctx ends.
type leaderWork struct {
	platforms []bot.Platform
	handler   bot.Handler
	log       *slog.Logger
	wg        sync.WaitGroup
}

// start starts the leader-only loops for a term ending with ctx.
func (w *leaderWork) start(ctx context.Context) {
	for _, p := range w.platforms {
		if g, ok := p.(gatewayRunner); ok {
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				w.log.Info("leader: opening the gateway", "platform", p.Name())
				if err := g.RunGateway(ctx, w.handler); err != nil {
					w.log.Error("gateway stopped", "platform", p.Name(), "err", err)
				}
			}()
		}
	}
}

// wait waits for the loops of ended terms to stop.
func (w *leaderWork) wait() { w.wg.Wait() }

// elector keeps a replica's side of the leader lease on PostgreSQL
// (DESIGN §12): it takes the lease when it is free or expired, renews it
// while it holds it, and tells the bot and the leader-only loops when a
// term of leadership starts and ends. Losing the lease does not stop the
// process, which goes on answering and delivering as a follower.
type elector struct {
	db    *store.DB
	bot   *bot.Bot
	log   *slog.Logger
	claim store.LeaseClaim
	work  *leaderWork
	now   func() time.Time

	lease   store.Lease        // held, while leading
	renewed time.Time          // start of the last successful acquire or renewal
	end     context.CancelFunc // ends the current term; nil while following
	seen    store.Lease        // the leader last seen while following
}

// newElector builds the elector of holder on db.
func newElector(db *store.DB, b *bot.Bot, holder string, work *leaderWork, log *slog.Logger, now func() time.Time) *elector {
	host, _ := os.Hostname()
	return &elector{db: db, bot: b, log: log, work: work, now: now,
		claim: store.LeaseClaim{Name: store.OwnerLease, Holder: holder, PID: os.Getpid(), Host: host, TTL: leaderTTL}}
}

// run campaigns every leaderRenew until ctx ends; then, if it leads, it
// hands the lease back so that another replica takes over at once.
func (e *elector) run(ctx context.Context) {
	t := time.NewTicker(leaderRenew)
	defer t.Stop()
	for {
		e.step(ctx)
		select {
		case <-ctx.Done():
			if e.end != nil {
				e.stepDown()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if err := e.db.ReleaseLease(ctx, store.OwnerLease, e.claim.Holder); err != nil {
					e.log.Warn("leader lease not released; another replica takes over when it expires", "err", err)
				} else {
					e.log.Info("leader: lease released at shutdown", "epoch", e.lease.Epoch)
				}
			}
			return
		case <-t.C:
		}
	}
}

// step renews the lease while leading, else tries to take it.
func (e *elector) step(ctx context.Context) {
	start := e.now()
	if e.end != nil {
		_, err := e.db.RenewLease(ctx, store.OwnerLease, e.claim.Holder, e.lease.Epoch, leaderTTL)
		switch {
		case err == nil:
			e.renewed = start
		case errors.Is(err, store.ErrLeaseLost):
			cur, _, _ := e.db.CurrentLease(ctx, store.OwnerLease)
			e.log.Warn("leader: lost the lease; following", "epoch", e.lease.Epoch,
				"leader_pid", cur.PID, "leader_host", cur.Host, "leader_epoch", cur.Epoch)
			e.stepDown()
			e.seen = cur
			err = nil
		case ctx.Err() != nil:
			return
		case start.Sub(e.renewed) >= leaderTTL:
			// Another replica may hold it by now: stop acting as leader
			// (fenced writes would be refused anyway).
			e.log.Error("leader: lease not renewed before it expired; following", "err", err)
			e.stepDown()
		default:
			e.log.Warn("leader: lease not renewed", "err", err)
		}
		e.bot.ReportWrite("lease", err)
		return
	}
	l, err := e.db.AcquireLease(ctx, e.claim)
	if errors.Is(err, store.ErrLeaseHeld) {
		if l.Holder != e.seen.Holder || l.Epoch != e.seen.Epoch {
			e.log.Info("follower: another replica leads", "leader_pid", l.PID, "leader_host", l.Host, "leader_epoch", l.Epoch)
			e.seen = l
		}
		e.bot.ReportWrite("lease", nil)
		return
	}
	if ctx.Err() != nil {
		return
	}
	e.bot.ReportWrite("lease", err)
	if err != nil {
		e.log.Warn("leader lease not read; trying again", "err", err)
		return
	}
	e.lease, e.renewed = l, start
	args := []any{"epoch", l.Epoch}
	if e.seen.Holder != "" {
		args = append(args, "previous_pid", e.seen.PID, "previous_host", e.seen.Host, "previous_epoch", e.seen.Epoch)
	}
	e.log.Info("leader: took the lease", args...)
	// The previous term's gateway has closed before this one opens.
	e.work.wait()
	var termCtx context.Context
	termCtx, e.end = context.WithCancel(ctx)
	e.bot.Lead(termCtx, bot.Fence{Lease: store.OwnerLease, Holder: l.Holder, Epoch: l.Epoch})
	e.work.start(termCtx)
}

// stepDown ends the current term: the bot follows, the leader-only loops
// stop.
func (e *elector) stepDown() {
	e.bot.Follow()
	e.end()
	e.end = nil
}

// role names this process's role for /healthz.
func role(b *bot.Bot) string {
	if _, leading := b.Leading(); leading {
		return "leader"
	}
	return "follower"
}

// healthHandler answers GET /healthz: 200 "ok schema=N role=…" once the
// database answers and the bot's writes work (with "loading=done/total"
// while the config's events are still being stored), 503 with the reason
// otherwise.
func healthHandler(db *store.DB, b *bot.Bot) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := db.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		if err := b.Health(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if done, total, loading := b.Loading(); loading {
			// Serving already: commands are answered, with a note.
			fmt.Fprintf(w, "ok schema=%d role=%s loading=%d/%d\n", db.Version(), role(b), done, total)
			return
		}
		fmt.Fprintf(w, "ok schema=%d role=%s\n", db.Version(), role(b))
	}
}
