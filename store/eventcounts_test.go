package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// TestEventsCountsAcrossHandles: two handles on one database stand for
// two processes (replicas). Each keeps its own counts; a write through one
// must show in the other's next events list, for every write path.
func TestEventsCountsAcrossHandles(t *testing.T) { eachBackend(t, testEventsCountsAcrossHandles) }

func testEventsCountsAcrossHandles(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	name := fresh(t)
	reader, writer := openAt(t, name, testNow), openAt(t, name, testNow)
	if err := writer.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 2, 15, 12, 0, 0, 0, jst)
	counts := func(tag string) (open, past int) {
		t.Helper()
		// Twice: the second read is served by the reader's kept counts.
		for range 2 {
			pg, err := reader.EventsPage(ctx, bot.EventsQuery{Tag: tag, Scope: "all", Now: now, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(pg.Events) != min(pg.Open+pg.Past, 10) {
				t.Fatalf("tag %q: %d events on the page of %d+%d", tag, len(pg.Events), pg.Open, pg.Past)
			}
			open, past = pg.Open, pg.Past
		}
		return open, past
	}
	want := func(step, tag string, open, past int) {
		t.Helper()
		if o, p := counts(tag); o != open || p != past {
			t.Errorf("after %s, the other handle's list of %q: %d open, %d past; want %d, %d", step, tag, o, p, open, past)
		}
	}
	want("nothing", "", 0, 0)
	if err := writer.SaveEvent(ctx, mkEvent(t, "a", "2025-03-01", "japan")); err != nil {
		t.Fatal(err)
	}
	want("SaveEvent", "", 1, 0)
	want("SaveEvent", "japan", 1, 0)
	if err := writer.SaveEvents(ctx, []bot.EventRecord{mkEvent(t, "b", "2025-02-01", "japan"), mkEvent(t, "c", "2025-04", "us")}); err != nil {
		t.Fatal(err)
	}
	want("SaveEvents", "", 2, 1)
	want("SaveEvents", "japan", 1, 1)
	run := bot.RunRecord{Watcher: "deadlines", At: testNow, Events: []bot.EventRecord{mkEventStatus(t, "a", "2025-03-01", watchers.Cancelled, "japan")}}
	if _, err := writer.CommitRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	want("CommitRun", "", 1, 2)
	want("CommitRun", "japan", 0, 2)
	if err := writer.DeleteEvent(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	want("DeleteEvent", "", 1, 1)
	want("DeleteEvent", "japan", 0, 1)
	want("DeleteEvent", "us", 1, 0)
}

// TestCountCache: counts are kept for the newest version read only; a
// late reader's older counts never replace them.
func TestCountCache(t *testing.T) {
	var c countCache
	all := &listCounts{total: 3, ends: []int64{10, 20, 30}}
	c.put(5, "", all)
	if got := c.get(5, ""); got != all {
		t.Fatalf("get(5) = %v, want the counts put", got)
	}
	if got := c.get(6, ""); got != nil {
		t.Errorf("get(6) = %v, want none: a newer version", got)
	}
	c.put(4, "japan", &listCounts{total: 1})
	if got := c.get(5, "japan"); got != nil {
		t.Errorf("counts of version 4 kept at version 5: %v", got)
	}
	c.put(6, "us", &listCounts{total: 1, ends: []int64{5}})
	if got := c.get(6, ""); got != nil {
		t.Errorf("version 5's counts still kept at version 6: %v", got)
	}
	for now, want := range map[int64]int{0: 3, 10: 2, 19: 2, 20: 1, 30: 0, 31: 0} {
		if got := all.open(now); got != want {
			t.Errorf("open(%d) = %d, want %d (ends after now)", now, got, want)
		}
	}
	big := &listCounts{ends: make([]int64, maxCachedEnds)}
	c.put(6, "big", big)
	if c.get(6, "us") != nil || c.get(6, "big") != big || c.ends != maxCachedEnds {
		t.Errorf("over the bound: others kept or the new one lost (%d ends held)", c.ends)
	}
}

// TestClosedStatuses: the statuses the events list's SQL (and migration
// 0012's partial indexes) write as literals are the watchers' own.
func TestClosedStatuses(t *testing.T) {
	if want := fmt.Sprintf("('%s', '%s')", watchers.Happened, watchers.Cancelled); closedStatuses != want {
		t.Errorf("closedStatuses = %s, want %s", closedStatuses, want)
	}
}

// TestEventsCountsConcurrent: lists read while events are written (race
// detector on the kept counts), and once the writes end, the counts are
// the final ones.
func TestEventsCountsConcurrent(t *testing.T) {
	ctx := testCtx(t)
	db := openTest(t, testNow)
	now := time.Date(2025, 2, 15, 12, 0, 0, 0, jst)
	done := make(chan struct{})
	errs := make(chan error, 4)
	for r := range 4 {
		go func() {
			tag := []string{"", "japan"}[r%2]
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if _, err := db.EventsPage(ctx, bot.EventsQuery{Tag: tag, Scope: "all", Now: now, Limit: 10}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	const n = 30
	for i := range n {
		if err := db.SaveEvent(ctx, mkEvent(t, fmt.Sprintf("e%02d", i), "2025-03-01", "japan")); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, tag := range []string{"", "japan"} {
		pg, err := db.EventsPage(ctx, bot.EventsQuery{Tag: tag, Scope: "all", Now: now, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if pg.Open != n || pg.Past != 0 {
			t.Errorf("list %q after the writes: %d open, %d past; want %d, 0", tag, pg.Open, pg.Past, n)
		}
	}
}
