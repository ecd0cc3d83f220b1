package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
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

// TestFencedWrites: a write whose context carries the leader's fence
// commits while that lease is still the holder's at its epoch, and is
// refused with bot.ErrNotLeader, writing nothing, once another holder took
// the lease, however late the old leader's write comes; unfenced writes
// are not affected.
func TestFencedWrites(t *testing.T) { eachBackend(t, testFencedWrites) }

func testFencedWrites(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	db := openAt(t, fresh(t), testNow)
	clk := testNow
	db.Now = func() time.Time { return clk }
	if err := db.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	a, err := db.AcquireLease(ctx, LeaseClaim{Name: OwnerLease, Holder: "a", PID: 1, Host: "h", TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	asA := bot.WithFence(ctx, bot.Fence{Lease: OwnerLease, Holder: "a", Epoch: a.Epoch})
	if created, err := db.CommitRun(asA, runWithKeys("deadlines", 0, 1)); err != nil || len(created) != 1 {
		t.Fatalf("fenced CommitRun while leading = %d created, %v", len(created), err)
	}
	// a's lease lapses (a is paused) and b takes it over.
	clk = clk.Add(11 * time.Second)
	b, err := db.AcquireLease(ctx, LeaseClaim{Name: OwnerLease, Holder: "b", PID: 2, Host: "h", TTL: 10 * time.Second})
	if err != nil || b.Epoch != a.Epoch+1 {
		t.Fatalf("takeover = %+v, %v", b, err)
	}
	alerts, deliveries := countRows(t, db, "alerts"), countRows(t, db, "deliveries")
	_, err = db.CommitRun(asA, runWithKeys("deadlines", 1, 3))
	if !errors.Is(err, bot.ErrNotLeader) {
		t.Errorf("fenced CommitRun after losing the lease: %v, want ErrNotLeader", err)
	} else if !strings.Contains(err.Error(), fmt.Sprintf("epoch %d", b.Epoch)) {
		t.Errorf("error %q does not say which epoch holds the lease", err)
	}
	if err := db.SaveEvent(asA, mkEvent(t, "late", "2025-05-01")); !errors.Is(err, bot.ErrNotLeader) {
		t.Errorf("fenced SaveEvent after losing the lease: %v, want ErrNotLeader", err)
	}
	if n, m := countRows(t, db, "alerts"), countRows(t, db, "deliveries"); n != alerts || m != deliveries {
		t.Errorf("refused writes left %d alerts, %d deliveries; want %d, %d", n, m, alerts, deliveries)
	}
	if _, err := db.Event(ctx, "late"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("event of a refused SaveEvent: %v, want not found", err)
	}
	// The new leader writes under its own fence; unfenced writes go on.
	asB := bot.WithFence(ctx, bot.Fence{Lease: OwnerLease, Holder: "b", Epoch: b.Epoch})
	if created, err := db.CommitRun(asB, runWithKeys("deadlines", 1, 3)); err != nil || len(created) != 2 {
		t.Errorf("CommitRun by the new leader = %d created, %v; want 2", len(created), err)
	}
	if _, err := db.CommitRun(ctx, runWithKeys("deadlines", 3, 4)); err != nil {
		t.Errorf("unfenced CommitRun: %v", err)
	}
	// A fence names its lease: one that was never taken refuses too.
	other := bot.WithFence(ctx, bot.Fence{Lease: "nobody", Holder: "b", Epoch: 1})
	if _, err := db.CommitRun(other, runWithKeys("deadlines", 4, 5)); !errors.Is(err, bot.ErrNotLeader) {
		t.Errorf("CommitRun fenced by a lease nobody holds: %v, want ErrNotLeader", err)
	}
}
