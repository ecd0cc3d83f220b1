package bot

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// health records which of the bot's writes currently fail, so /healthz can
// answer 503 with the reason while the database takes no writes (a full
// disk) and 200 again once it does.
type health struct {
	mu   sync.Mutex
	errs map[string]error // by what was being written
}

func (h *health) set(what string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		delete(h.errs, what)
		return
	}
	if h.errs == nil {
		h.errs = map[string]error{}
	}
	h.errs[what] = err
}

func (h *health) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == 0 {
		return nil
	}
	var parts []string
	for what, err := range h.errs {
		parts = append(parts, fmt.Sprintf("%s: %v", what, err))
	}
	sort.Strings(parts)
	return fmt.Errorf("writes failing: %s", strings.Join(parts, "; "))
}

// Health returns nil while the bot's writes work, else why they do not.
// Callers (the /healthz handler) add their own checks, such as the lease.
func (b *Bot) Health() error { return b.health.err() }

// ReportWrite records the outcome of a write made outside the bot (the
// lease renewal, say) under what, so Health reflects it.
func (b *Bot) ReportWrite(what string, err error) { b.health.set(what, err) }
