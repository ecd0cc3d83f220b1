package bot

import (
	"context"
	"sync"
)

// firstPass calls Options.AfterFirstPass once the date watchers woken at
// Start have each finished a run.
type firstPass struct {
	fn func(context.Context) // nil: nothing to call

	mu      sync.Mutex
	waiting map[string]bool
	call    func(func(context.Context)) // runs fn; set by begin
	done    bool
}

// expect adds watcher id to those to wait for; called before it is woken,
// so a run that ends at once is not missed.
func (f *firstPass) expect(id string) {
	if f.fn == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.waiting == nil {
		f.waiting = map[string]bool{}
	}
	f.waiting[id] = true
}

// begin says every watcher to wait for is known, and how to call fn; with
// none left, fn is called at once.
func (f *firstPass) begin(call func(func(context.Context))) {
	if f.fn == nil {
		return
	}
	f.mu.Lock()
	f.call = call
	f.mu.Unlock()
	f.check()
}

// ran notes that watcher id finished a run.
func (f *firstPass) ran(id string) {
	if f.fn == nil {
		return
	}
	f.mu.Lock()
	delete(f.waiting, id)
	f.mu.Unlock()
	f.check()
}

// check calls fn, once, when begin was called and nothing is left to wait
// for.
func (f *firstPass) check() {
	f.mu.Lock()
	fire := f.call != nil && !f.done && len(f.waiting) == 0
	if fire {
		f.done = true
	}
	call := f.call
	f.mu.Unlock()
	if fire {
		call(f.fn)
	}
}
