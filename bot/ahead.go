package bot

import (
	"context"
	"sync"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// ahead is the event source date watchers are given: the run store's, and
// when that is a DueAfterSource, it reads a run's next batch of due events
// while the batch before is committed. A first pass over 100,000 events
// is 50 batches of reading, planning and writing one after the other; so
// the reading of one overlaps the writing of the other (SQLite's readers
// run beside its writer).
//
// The batch read ahead starts after the last event of the batch before,
// in their order (DueEventsAfter), because that batch's new plans are not
// committed yet. An event whose plan changes meanwhile (a chat edit
// making it due at once) and that sorts before that point is not in this
// run; the run's next look (NextLook) then comes at once, and the next
// run has it.
type ahead struct {
	src   watchers.EventSource
	after DueAfterSource // nil: the store reads only from the start

	mu    sync.Mutex
	last  map[string]watchers.PlannedEvent // by watcher: the last event of a full batch
	reads map[string]*aheadRead            // by watcher: the next batch, being read
}

// aheadRead is one batch read ahead: what it asked and, once done is
// closed, what it got.
type aheadRead struct {
	now   time.Time
	limit int
	done  chan struct{}
	evs   []watchers.PlannedEvent
	err   error
}

func newAhead(src watchers.EventSource) *ahead {
	a := &ahead{src: src, last: map[string]watchers.PlannedEvent{}, reads: map[string]*aheadRead{}}
	a.after, _ = src.(DueAfterSource)
	return a
}

// DueEvents implements watchers.EventSource: the batch read ahead for
// watcher when it is the one asked for (same now and limit), else a read
// from the start.
func (a *ahead) DueEvents(ctx context.Context, watcher string, now time.Time, limit int) ([]watchers.PlannedEvent, error) {
	limit = watchers.BatchLimit(limit)
	a.mu.Lock()
	r := a.reads[watcher]
	delete(a.reads, watcher)
	a.mu.Unlock()
	var (
		evs []watchers.PlannedEvent
		err error
	)
	if r != nil && r.now.Equal(now) && r.limit == limit {
		select {
		case <-r.done:
			evs, err = r.evs, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	} else {
		evs, err = a.src.DueEvents(ctx, watcher, now, limit)
	}
	a.mu.Lock()
	if err == nil && len(evs) >= limit {
		a.last[watcher] = evs[len(evs)-1] // a full batch: more may follow
	} else {
		delete(a.last, watcher)
	}
	a.mu.Unlock()
	return evs, err
}

// readAhead starts reading watcher's next batch, of limit events due at
// now, after the last event of the full batch it read last; nothing when
// that batch was not full or the store cannot read on.
func (a *ahead) readAhead(ctx context.Context, watcher string, now time.Time, limit int) {
	if a.after == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	last, ok := a.last[watcher]
	if !ok {
		return
	}
	delete(a.last, watcher)
	r := &aheadRead{now: now, limit: watchers.BatchLimit(limit), done: make(chan struct{})}
	a.reads[watcher] = r
	go func() {
		defer close(r.done)
		r.evs, r.err = a.after.DueEventsAfter(ctx, watcher, now, last, r.limit)
	}()
}

// drop forgets what was read and read ahead for watcher: its run ended.
// A read still going ends on its own and is not used.
func (a *ahead) drop(watcher string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.last, watcher)
	delete(a.reads, watcher)
}
