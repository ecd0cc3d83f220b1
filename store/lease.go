package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// OwnerLease names the lease that makes one process the owner of a
// database: on SQLite the only serving process (DESIGN §5).
const OwnerLease = "owner"

// ErrLeaseHeld is returned by AcquireLease when another live holder has
// the lease; the returned Lease says who.
var ErrLeaseHeld = errors.New("lease held by another process")

// ErrLeaseLost is returned by RenewLease when the lease has passed to
// another holder (or was released): the caller is no longer the owner.
var ErrLeaseLost = errors.New("lease lost")

// Lease is one lease row: who holds it, since when, until when.
type Lease struct {
	Name    string
	Holder  string // a random id per process
	PID     int
	Host    string
	Epoch   int64 // rises each time the lease changes hands
	Since   time.Time
	Expires time.Time
}

// LeaseClaim is a request for a lease.
type LeaseClaim struct {
	Name   string
	Holder string
	PID    int
	Host   string
	TTL    time.Duration
	// Dead, when set, reports that the current holder is gone although
	// its lease has not expired (same host, its pid no longer runs), so
	// the lease is taken at once rather than after the expiry.
	Dead func(Lease) bool
}

// AcquireLease takes the lease for c.Holder when it is free, expired,
// already c.Holder's, or its holder is dead. Otherwise it returns the
// current lease and ErrLeaseHeld.
func (db *DB) AcquireLease(ctx context.Context, c LeaseClaim) (Lease, error) {
	var out Lease
	err := db.inTx(ctx, func(t *tx) error {
		cur, found, err := readLease(ctx, t, c.Name)
		if err != nil {
			return err
		}
		now := t.now
		if found && cur.Holder != c.Holder && now.Before(cur.Expires) && (c.Dead == nil || !c.Dead(cur)) {
			out = cur
			return ErrLeaseHeld
		}
		out = Lease{Name: c.Name, Holder: c.Holder, PID: c.PID, Host: c.Host, Epoch: cur.Epoch, Since: cur.Since, Expires: now.Add(c.TTL)}
		if !found || cur.Holder != c.Holder {
			out.Epoch++
			out.Since = now
		}
		_, err = t.ExecContext(ctx, `INSERT INTO leases (name, holder, pid, host, epoch, since, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host,
			epoch = excluded.epoch, since = excluded.since, expires_at = excluded.expires_at`,
			out.Name, out.Holder, out.PID, out.Host, out.Epoch, ms(out.Since), ms(out.Expires))
		return err
	})
	if err != nil && !errors.Is(err, ErrLeaseHeld) {
		return out, fmt.Errorf("acquire lease %s: %w", c.Name, err)
	}
	return out, err
}

// RenewLease extends holder's lease by ttl from now. It fails with
// ErrLeaseLost when the lease is no longer holder's at epoch.
func (db *DB) RenewLease(ctx context.Context, name, holder string, epoch int64, ttl time.Duration) (time.Time, error) {
	var expires time.Time
	err := db.inTx(ctx, func(t *tx) error {
		expires = t.now.Add(ttl)
		res, err := t.ExecContext(ctx, `UPDATE leases SET expires_at = $1 WHERE name = $2 AND holder = $3 AND epoch = $4`,
			ms(expires), name, holder, epoch)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrLeaseLost
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		return expires, fmt.Errorf("renew lease %s: %w", name, err)
	}
	return expires, err
}

// ReleaseLease gives up holder's lease, so the next process need not wait
// for it to expire. The row stays (expired) so epochs keep rising.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// CurrentLease returns the lease row, and false when there is none.
func (db *DB) CurrentLease(ctx context.Context, name string) (Lease, bool, error) {
	l, found, err := readLease(ctx, db.read, name)
	if err != nil {
		return l, false, fmt.Errorf("read lease %s: %w", name, err)
	}
	return l, found, nil
}

func readLease(ctx context.Context, q querier, name string) (Lease, bool, error) {
	l := Lease{Name: name}
	var since, expires int64
	err := q.QueryRowContext(ctx, `SELECT holder, pid, host, epoch, since, expires_at FROM leases WHERE name = $1`, name).
		Scan(&l.Holder, &l.PID, &l.Host, &l.Epoch, &since, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	l.Since, l.Expires = fromMS(since), fromMS(expires)
	return l, true, nil
}
