package main

import (
	"strings"
	"testing"
	"time"
)

// The commands themselves are tested in package bot (bot/commands_test.go)
// against the real store; this file checks only what cmd wires into the
// router.

// TestWireRouter: the router built by wire() knows every watcher kind of
// the factories table and plans "Next alert" with the countdown planner.
func TestWireRouter(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)
	tb := newTestBot(t, "", now)
	r := tb.run(t, admin, channel, `watcher add rss x schedule="@every 5m"`)
	if want := `unknown kind "rss" (want calendar, countdown, feed, jsonapi, page)`; !r.Error || !strings.Contains(r.Text, want) {
		t.Errorf("watcher add rss: %q, want an error with %q", r.Text, want)
	}
	r = tb.run(t, member, channel, "event jp-fy2027-budget")
	if want := "Next alert: 30d reminder, Mon 1 Mar 2027 09:00 JST (in 96 days)"; r.Error || !strings.Contains(r.Text, want) {
		t.Errorf("event jp-fy2027-budget:\n%s\nlacks %q", r.Text, want)
	}
}
