package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Background tracks work that outlives the request that started it, such
// as an answer posted after the platform's acknowledgement, so that an
// adapter's shutdown can wait for it. Unlike a sync.WaitGroup, Go may be
// called while Wait is waiting. The zero value is ready to use.
type Background struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
}

// Go runs f in a new goroutine, counted until f returns.
func (b *Background) Go(f func()) {
	b.mu.Lock()
	if b.n == 0 {
		b.idle = make(chan struct{})
	}
	b.n++
	b.mu.Unlock()
	go func() {
		defer b.done()
		f()
	}()
}

func (b *Background) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n--
	if b.n == 0 {
		close(b.idle)
	}
}

// Wait waits until no work is running, or until ctx ends, which bounds
// a shutdown; then it returns ctx's error.
func (b *Background) Wait(ctx context.Context) error {
	b.mu.Lock()
	if b.n == 0 {
		b.mu.Unlock()
		return nil
	}
	idle := b.idle
	b.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Drain waits up to d for the work still running, as an adapter's Run does
// when its context ends, and logs a warning when some is left: shutdown
// must not hang on an answer that never finishes.
func (b *Background) Drain(log *slog.Logger, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := b.Wait(ctx); err != nil {
		b.mu.Lock()
		n := b.n
		b.mu.Unlock()
		log.Warn("background work still running at shutdown", "running", n, "waited", d)
	}
}
