package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLease(t *testing.T) { eachBackend(t, testLease) }

func testLease(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	db := openAt(t, fresh(t), testNow)
	clk := testNow
	db.Now = func() time.Time { return clk }
	claim := func(holder string, pid int, dead func(Lease) bool) LeaseClaim {
		return LeaseClaim{Name: OwnerLease, Holder: holder, PID: pid, Host: "h1", TTL: 15 * time.Second, Dead: dead}
	}

	a, err := db.AcquireLease(ctx, claim("a", 100, nil))
	if err != nil || a.Epoch != 1 || !a.Since.Equal(clk) {
		t.Fatalf("first acquire = %+v, %v; want epoch 1 since now", a, err)
	}
	// A second process is refused and told who holds it.
	got, err := db.AcquireLease(ctx, claim("b", 200, nil))
	if !errors.Is(err, ErrLeaseHeld) || got.Holder != "a" || got.PID != 100 || got.Host != "h1" {
		t.Fatalf("second acquire = %+v, %v; want ErrLeaseHeld naming a", got, err)
	}
	// The holder renews; the other cannot.
	clk = clk.Add(10 * time.Second)
	if _, err := db.RenewLease(ctx, OwnerLease, "a", 1, 15*time.Second); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if _, err := db.RenewLease(ctx, OwnerLease, "b", 1, 15*time.Second); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renew by b: %v, want ErrLeaseLost", err)
	}
	// Still within the renewed expiry: refused; a dead holder is replaced at once.
	clk = clk.Add(14 * time.Second)
	if _, err := db.AcquireLease(ctx, claim("b", 200, nil)); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("acquire before expiry: %v, want ErrLeaseHeld", err)
	}
	b, err := db.AcquireLease(ctx, claim("b", 200, func(l Lease) bool { return l.PID == 100 }))
	if err != nil || b.Holder != "b" || b.Epoch != 2 {
		t.Fatalf("acquire from a dead holder = %+v, %v; want b at epoch 2", b, err)
	}
	// The old holder has lost it.
	if _, err := db.RenewLease(ctx, OwnerLease, "a", 1, 15*time.Second); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renew by the old holder: %v, want ErrLeaseLost", err)
	}
	// Expiry hands it over without a liveness check.
	clk = clk.Add(16 * time.Second)
	c, err := db.AcquireLease(ctx, claim("c", 300, nil))
	if err != nil || c.Epoch != 3 {
		t.Fatalf("acquire after expiry = %+v, %v; want epoch 3", c, err)
	}
	// Release leaves the row so the next epoch still rises.
	if err := db.ReleaseLease(ctx, OwnerLease, "c"); err != nil {
		t.Fatal(err)
	}
	d, err := db.AcquireLease(ctx, claim("d", 400, nil))
	if err != nil || d.Epoch != 4 {
		t.Fatalf("acquire after release = %+v, %v; want epoch 4", d, err)
	}
}

// TestLeaseConcurrentAcquire: processes racing for a free lease (each its
// own handle on the database) end with exactly one holder, the one the
// lease row names. It needs the write transaction's lock: two readers of
// "free" must not both write themselves in.
func TestLeaseConcurrentAcquire(t *testing.T) { eachBackend(t, testLeaseConcurrentAcquire) }

func testLeaseConcurrentAcquire(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	name := fresh(t)
	const procs = 4
	dbs := make([]*DB, procs)
	for i := range dbs {
		dbs[i] = openAt(t, name, testNow)
	}
	for round := range 10 {
		lease := fmt.Sprintf("race-%d", round)
		won := make([]bool, procs)
		errs := make([]error, procs)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Go(func() {
				<-start
				_, err := db.AcquireLease(ctx, LeaseClaim{Name: lease, Holder: fmt.Sprint("p", i), PID: 100 + i, Host: "h", TTL: time.Minute})
				won[i] = err == nil
				if err != nil && !errors.Is(err, ErrLeaseHeld) {
					errs[i] = err
				}
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var winners []string
		for i, w := range won {
			if w {
				winners = append(winners, fmt.Sprint("p", i))
			}
		}
		cur, found, err := dbs[0].CurrentLease(ctx, lease)
		if err != nil || !found {
			t.Fatalf("round %d: CurrentLease = %v, %v", round, found, err)
		}
		if len(winners) != 1 || winners[0] != cur.Holder || cur.Epoch != 1 {
			t.Fatalf("round %d: acquired by %v, lease row names %s at epoch %d; want exactly that one holder at epoch 1", round, winners, cur.Holder, cur.Epoch)
		}
	}
}
