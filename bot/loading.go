package bot

import (
	"fmt"
	"sync/atomic"
)

// loading is the progress of Seed. A first start over many events serves
// commands while the file's events are still being stored: reads are
// answered with a note saying so, and commands that change something wait
// (they could otherwise miss, or be overwritten by, an event not stored
// yet), so no answer is silently wrong.
type loading struct {
	active      atomic.Bool
	done, total atomic.Int64
}

// Loading reports whether Seed is storing the config's events, with how
// many of them are stored so far (unchanged ones count as stored).
func (b *Bot) Loading() (done, total int, active bool) {
	if !b.loading.active.Load() {
		return 0, 0, false
	}
	return int(b.loading.done.Load()), int(b.loading.total.Load()), true
}

// loadingNote is what a command answered while Seed runs starts with;
// "" when it does not run.
func (r *Router) loadingNote(spec CommandSpec) (note string, refuse bool) {
	if r.loading == nil {
		return "", false
	}
	done, total, active := r.loading()
	if !active {
		return "", false
	}
	progress := fmt.Sprintf("%d of %d events stored", done, total)
	if spec.Admin || spec.Public {
		return fmt.Sprintf("The bot is still loading its config (%s); /alerts %s changes things, so it waits until loading is done. Try again in a few seconds.",
			progress, spec.Name), true
	}
	return fmt.Sprintf("(Still loading the config, %s: this answer may be incomplete.)\n", progress), false
}

// ForgetConfigEvents drops the file's events from the config in force once
// Seed has stored them: nothing reads them again (a reload reads the file
// anew), and 100,000 of them are 40 MB of a process otherwise around
// 40 MB. The Config itself is changed (its Events emptied), since the
// caller's and the planners' references would keep the events otherwise;
// Seed after it stores no event of the file. serve calls it after each
// seed.
func (b *Bot) ForgetConfigEvents() {
	b.cfgMu.Lock()
	defer b.cfgMu.Unlock()
	b.cfg.Events = nil
}
