package store

import (
	"errors"
	"testing"
	"time"
)

func TestLease(t *testing.T) {
	ctx := testCtx(t)
	db := openTest(t, testNow)
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
