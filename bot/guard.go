package bot

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/policyteam/alertbot/watchers"
)

// Limits on what one chat user can make the bot do and store (DESIGN §7:
// inputs from outside are hostile, and a signed request only proves the
// sender is in the workspace).
const (
	// MaxCommandBytes bounds the text of one command; real commands are a
	// few hundred bytes.
	MaxCommandBytes = 8 << 10
	// DefaultCommandRate and DefaultCommandBurst are each chat user's
	// token bucket: a burst for a few quick commands or button presses,
	// then one a second.
	DefaultCommandRate  rate.Limit = 1
	DefaultCommandBurst int        = 20
	// auditTargetMax and auditRecordMax cut what one audit entry stores:
	// the arguments of a command, and the before/after records.
	auditTargetMax = 512
	auditRecordMax = 64 << 10
	// refusalWindow collapses repeated refusals of one user and command
	// into one audit entry per window.
	refusalWindow = 10 * time.Minute
	// guardEntries bounds the per-user state kept in memory; past it, the
	// oldest state is dropped (at worst a flooder gets a fresh bucket).
	guardEntries = 10_000
)

// guard keeps the per-user command buckets and the refusals not yet
// written to the audit log.
type guard struct {
	rate  rate.Limit
	burst int

	mu       sync.Mutex
	buckets  map[string]*rate.Limiter
	refusals map[string]*refusal // by user + "\x00" + command
}

// refusal counts the refusals of one user and command since the last one
// written.
type refusal struct {
	written time.Time // when the last entry was written
	more    int       // refusals since, not written
}

func newGuard(r rate.Limit, burst int) *guard {
	switch {
	case r == 0:
		r = DefaultCommandRate
	case r < 0:
		r = rate.Inf
	}
	if burst <= 0 {
		burst = DefaultCommandBurst
	}
	return &guard{rate: r, burst: burst, buckets: map[string]*rate.Limiter{}, refusals: map[string]*refusal{}}
}

// allow takes a token from user's bucket at now, or says how long until
// the next one.
func (g *guard) allow(user string, now time.Time) (bool, time.Duration) {
	if g.rate == rate.Inf {
		return true, 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	lim := g.buckets[user]
	if lim == nil {
		if len(g.buckets) >= guardEntries {
			clear(g.buckets)
		}
		lim = rate.NewLimiter(g.rate, g.burst)
		g.buckets[user] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// refused records a refusal of command for user at now and reports
// whether to write it to the audit log, with the number of refusals since
// the last one written that were not.
func (g *guard) refused(user, command string, now time.Time) (write bool, skipped int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := user + "\x00" + command
	r := g.refusals[key]
	if r != nil && now.Sub(r.written) < refusalWindow {
		r.more++
		return false, 0
	}
	if r == nil {
		if len(g.refusals) >= guardEntries {
			clear(g.refusals)
		}
		r = &refusal{}
		g.refusals[key] = r
	}
	skipped = r.more
	r.written, r.more = now, 0
	return true, skipped
}

// cutStored cuts s to max runes for the audit log and says so in the text,
// with the size it had.
func cutStored(s string, max int) string {
	out, cut := watchers.Truncate(s, max)
	if !cut {
		return s
	}
	return fmt.Sprintf("%s [cut from %d bytes]", out, len(s))
}

// waitText says how long to wait, in whole seconds, at least 1.
func waitText(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s <= 1 {
		return "a second"
	}
	return fmt.Sprintf("%d seconds", s)
}
