package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store"
)

// Lease timing (DESIGN §5 "One owner"): renewed every leaseRenew, so a
// killed owner's lease is taken over within leaseTTL even from another
// host; on the same host a dead pid is noticed at once.
const (
	leaseTTL   = 15 * time.Second
	leaseRenew = 3 * time.Second
)

// ownership is this process's hold on the database.
type ownership struct {
	db    *store.DB
	lease store.Lease
	log   *slog.Logger
}

// acquireOwnership takes the owner lease of db or explains who holds it.
func acquireOwnership(ctx context.Context, db *store.DB, name string, log *slog.Logger) (*ownership, error) {
	host, _ := os.Hostname()
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	l, err := db.AcquireLease(ctx, store.LeaseClaim{
		Name: store.OwnerLease, Holder: hex.EncodeToString(id), PID: os.Getpid(), Host: host, TTL: leaseTTL,
		Dead: func(l store.Lease) bool { return l.Host == host && !pidAlive(l.PID) },
	})
	if errors.Is(err, store.ErrLeaseHeld) {
		// Replicas sharing a PostgreSQL database are a later step of
		// DESIGN §12; until then PostgreSQL has one owner too.
		hint := "several replicas need PostgreSQL"
		if db.Postgres() {
			hint = "one process serves a database for now"
		}
		return nil, &exitError{1, fmt.Sprintf("alertbot: database %s is served by pid %d on host %s since %s; stop it first (%s)",
			store.Redact(name), l.PID, l.Host, l.Since.Local().Format("15:04:05"), hint)}
	}
	if err != nil {
		return nil, &exitError{1, "alertbot: " + err.Error()}
	}
	log.Info("database owned", "epoch", l.Epoch, "pid", l.PID, "host", l.Host)
	return &ownership{db: db, lease: l, log: log}, nil
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
