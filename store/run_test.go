package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// runWithKeys builds a run raising alerts with keys k/lo … k/hi-1, each to
// two channels.
func runWithKeys(watcher string, lo, hi int) bot.RunRecord {
	run := bot.RunRecord{Watcher: watcher, At: testNow}
	for i := lo; i < hi; i++ {
		run.Alerts = append(run.Alerts, bot.NewAlert{
			Alert:    mkAlert(fmt.Sprintf("k/%03d", i), "ev"),
			Channels: []string{"slack:C1", "discord:9"},
		})
	}
	return run
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.read.QueryRowContext(testCtx(t), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCommitRunIdempotentAcrossRestart(t *testing.T) {
	eachBackend(t, testCommitRunIdempotentAcrossRestart)
}

func testCommitRunIdempotentAcrossRestart(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	path := fresh(t)
	db := openAt(t, path, testNow)
	if err := db.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	run := runWithKeys("deadlines", 0, 10)
	got, err := db.CommitRun(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("first CommitRun created %d alerts, want 10", len(got))
	}
	if again, err := db.CommitRun(ctx, run); err != nil || len(again) != 0 {
		t.Fatalf("second tick: %d created, err %v; want none", len(again), err)
	}
	db.Close()

	db2 := openAt(t, path, testNow.Add(time.Minute))
	// After a restart the same run, plus one new key.
	again, err := db2.CommitRun(ctx, runWithKeys("deadlines", 0, 11))
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].Alert.Key != "k/010" {
		t.Errorf("CommitRun after reopen created %+v, want only k/010", again)
	}
	if n := countRows(t, db2, "alerts"); n != 11 {
		t.Errorf("alerts = %d, want 11", n)
	}
	if n := countRows(t, db2, "deliveries"); n != 22 {
		t.Errorf("deliveries = %d, want 22", n)
	}
}

func TestCommitRunConcurrentHandles(t *testing.T) { eachBackend(t, testCommitRunConcurrentHandles) }

func testCommitRunConcurrentHandles(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	path := fresh(t)
	db1 := openAt(t, path, testNow)
	db2 := openAt(t, path, testNow)
	if err := db1.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	// Several rounds of two processes' overlapping runs: keys 0-29 and 15-44, …
	const rounds = 5
	var all []string
	for r := range rounds {
		base := r * 100
		runs := []bot.RunRecord{runWithKeys("deadlines", base, base+30), runWithKeys("deadlines", base+15, base+45)}
		results := make([][]bot.AlertRecord, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, db := range []*DB{db1, db2} {
			wg.Go(func() {
				<-start
				results[i], errs[i] = db.CommitRun(ctx, runs[i])
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d handle %d: %v", r, i+1, err)
			}
		}
		for _, rs := range results {
			for _, a := range rs {
				all = append(all, a.Alert.Key)
			}
		}
	}
	sort.Strings(all)
	var want []string
	for r := range rounds {
		for i := range 45 {
			want = append(want, fmt.Sprintf("k/%03d", r*100+i))
		}
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("keys created across both handles, each exactly once (-want +got):\n%s", diff)
	}
	if n := countRows(t, db1, "alerts"); n != rounds*45 {
		t.Errorf("alerts = %d, want %d", n, rounds*45)
	}
	counts, err := db2.DeliveryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[bot.DeliveryPending] != rounds*45*2 {
		t.Errorf("pending deliveries = %d, want %d (one per channel per alert)", counts[bot.DeliveryPending], rounds*45*2)
	}
}

func TestSaveEventKeepsCreatedAtAndResetsSchedule(t *testing.T) {
	eachBackend(t, testSaveEventKeepsCreatedAtAndResetsSchedule)
}

func testSaveEventKeepsCreatedAtAndResetsSchedule(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	clock := testNow
	db := openAt(t, fresh(t), testNow)
	db.Now = func() time.Time { return clock }
	for _, w := range []bot.WatcherRecord{mkWatcher("deadlines", "dates"), mkWatcher("other-dates", "dates"), mkWatcher("feeds", "feed")} {
		if err := db.SaveWatcher(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	ev := mkEvent(t, "jp-budget", "2025-03-31")
	ev.CreatedAt, ev.UpdatedAt = time.Time{}, time.Time{} // the store fills them in
	if err := db.SaveEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	first, err := db.Event(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !first.CreatedAt.Equal(testNow) || !first.UpdatedAt.Equal(testNow) {
		t.Errorf("new event: CreatedAt %v, UpdatedAt %v; want both %v", first.CreatedAt, first.UpdatedAt, testNow)
	}
	for _, w := range []string{"deadlines", "other-dates"} {
		if _, err := db.CommitRun(ctx, bot.RunRecord{Watcher: w, At: testNow, Next: []watchers.NextPlan{{Event: ev.ID, At: testNow.Add(time.Hour)}}}); err != nil {
			t.Fatal(err)
		}
	}

	clock = testNow.Add(24 * time.Hour)
	ev.Due = "2025-03-28"
	if err := db.SaveEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got, err := db.Event(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(testNow) || !got.UpdatedAt.Equal(clock) || got.Due != "2025-03-28" {
		t.Errorf("updated event: CreatedAt %v (want %v), UpdatedAt %v (want %v), Due %q", got.CreatedAt, testNow, got.UpdatedAt, clock, got.Due)
	}
	rows, err := db.read.QueryContext(ctx, "SELECT watcher_id, next_at FROM schedule WHERE event_id = $1 ORDER BY watcher_id", ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sched []string
	for rows.Next() {
		var (
			w    string
			next int64
		)
		if err := rows.Scan(&w, &next); err != nil {
			t.Fatal(err)
		}
		sched = append(sched, fmt.Sprintf("%s=%d", w, next))
	}
	if diff := cmp.Diff([]string{"deadlines=0", "other-dates=0"}, sched); diff != "" {
		t.Errorf("schedule after SaveEvent: every countdown watcher looks again (-want +got):\n%s", diff)
	}
}

func TestDeleteWatcherKeepsHistory(t *testing.T) { eachBackend(t, testDeleteWatcherKeepsHistory) }

func testDeleteWatcherKeepsHistory(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	db := openAt(t, fresh(t), testNow)
	seedSmall(t, db)
	if n := countRows(t, db, "schedule"); n != 2 {
		t.Fatalf("schedule rows before = %d, want 2", n)
	}
	beforeHist, err := db.ChannelHistory(ctx, "slack:C1", 0)
	if err != nil || len(beforeHist) != 1 {
		t.Fatalf("ChannelHistory before = %+v, %v", beforeHist, err)
	}
	beforeAlerts, _ := db.AlertsForEvent(ctx, "jp-budget", 0)

	if err := db.DeleteWatcher(ctx, "deadlines"); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "schedule"); n != 0 {
		t.Errorf("schedule rows after = %d, want 0", n)
	}
	afterAlerts, err := db.AlertsForEvent(ctx, "jp-budget", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(beforeAlerts, afterAlerts); diff != "" || len(afterAlerts) != 1 {
		t.Errorf("alerts after DeleteWatcher (-before +after):\n%s", diff)
	}
	afterHist, err := db.ChannelHistory(ctx, "slack:C1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(beforeHist, afterHist); diff != "" {
		t.Errorf("history after DeleteWatcher (-before +after):\n%s", diff)
	}
	if ds, _ := db.PendingDeliveries(ctx, "discord", testNow, 0); len(ds) != 1 {
		t.Errorf("pending discord deliveries after DeleteWatcher = %d, want 1 (still owed)", len(ds))
	}
	// Events removed later do not take their alerts with them either.
	if err := db.DeleteEvent(ctx, "jp-budget"); err != nil {
		t.Fatal(err)
	}
	if a, _ := db.AlertsForEvent(ctx, "jp-budget", 0); len(a) != 1 {
		t.Errorf("alerts after DeleteEvent = %d, want 1", len(a))
	}
}

// TestQueriesUseIndexes checks the plans of the hot queries, which must
// stay proportional to the rows returned, not to the table. SQLite's
// plans only: PostgreSQL's planner picks by table statistics, so a small
// test table is read whole whatever the indexes.
func TestQueriesUseIndexes(t *testing.T) {
	ctx := testCtx(t)
	db := openTest(t, testNow)
	seedSmall(t, db)
	upcoming := eventsQueries(bot.EventFilter{From: testNow, To: testNow.AddDate(0, 0, 90), Active: true, Tag: "japan", Limit: 20})
	untagged := eventsQueries(bot.EventFilter{From: testNow, To: testNow.AddDate(0, 0, 90), Active: true, Limit: 20})
	if len(upcoming) != 2 || len(untagged) != 2 {
		t.Fatalf("eventsQueries with a From = %d and %d queries, want 2", len(upcoming), len(untagged))
	}
	now := ms(testNow)
	page := func(p listPart, tag string) (string, []any) {
		q, args := p.query("page", tag, now, 40)
		return q, append(args, 10, 30)
	}
	openBefore, openBeforeArgs := page(openParts[0], "")
	openBeforeTag, openBeforeTagArgs := page(openParts[0], "japan")
	openFrom, openFromArgs := page(openParts[1], "")
	openFromTag, openFromTagArgs := page(openParts[1], "japan")
	closedAfter, closedAfterArgs := page(pastParts[0], "")
	closedAfterTag, closedAfterTagArgs := page(pastParts[0], "japan")
	pastUpTo, pastUpToArgs := page(pastParts[1], "")
	pastUpToTag, pastUpToTagArgs := page(pastParts[1], "japan")
	countPart, countPartArgs := openParts[0].query("count", "", now, 30)
	countAll, _ := countsQuery("")
	countTag, countTagArgs := countsQuery("japan")
	changing := "SELECT " + eventCols + " FROM events e WHERE e.next_change > 0 AND e.next_change <= $1 ORDER BY e.next_change, e.id"
	tests := []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"upcoming open", untagged[0].sql, untagged[0].args, "events_open"},
		// events_listed (the events list's) serves the same cur_start range.
		{"upcoming starting", untagged[1].sql, untagged[1].args, "events_listed"},
		{"upcoming open, tag", upcoming[0].sql, upcoming[0].args, "event_tags_open"},
		{"upcoming starting, tag", upcoming[1].sql, upcoming[1].args, "event_tags_listed"},
		{"events list, open before now", openBefore, openBeforeArgs, "COVERING INDEX events_open (cur_precision=? AND cur_start>? AND cur_start<?)"},
		{"events list, open before now, tag", openBeforeTag, openBeforeTagArgs, "COVERING INDEX event_tags_open (tag=? AND cur_precision=? AND cur_start>? AND cur_start<?)"},
		{"events list, open from now", openFrom, openFromArgs, "COVERING INDEX events_listed (cur_start>?)"},
		{"events list, open from now, tag", openFromTag, openFromTagArgs, "COVERING INDEX event_tags_listed (tag=? AND cur_start>?)"},
		{"events list, closed after now", closedAfter, closedAfterArgs, "COVERING INDEX events_closed (cur_start>?)"},
		{"events list, closed after now, tag", closedAfterTag, closedAfterTagArgs, "COVERING INDEX event_tags_closed (tag=? AND cur_start>?)"},
		{"events list, past up to now", pastUpTo, pastUpToArgs, "COVERING INDEX events_listed (cur_start<?)"},
		{"events list, past up to now, tag", pastUpToTag, pastUpToTagArgs, "COVERING INDEX event_tags_listed (tag=? AND cur_start<?)"},
		{"events list, count of a part", countPart, countPartArgs, "COVERING INDEX events_open (cur_precision=? AND cur_start>? AND cur_start<?)"},
		{"events list counts", countAll, nil, "COVERING INDEX events_listed"},
		{"events list counts, tag", countTag, countTagArgs, "COVERING INDEX event_tags_listed (tag=?)"},
		{"due events", dueEventsQuery(watchers.DueBatch), []any{"deadlines", ms(testNow)}, "schedule_due"},
		{"due events after", dueAfterQuery(watchers.DueBatch), []any{"deadlines", ms(testNow), int64(0), "jp-budget"}, "schedule_due (watcher_id=? AND (next_at,event_id)>(?,?) AND next_at<?)"},
		{"pending deliveries", pendingQuery, []any{"slack", ms(testNow)}, "deliveries_pending"},
		{"sole claim channels", soleChannelsQuery, []any{"slack", ms(testNow)}, "deliveries_pending"},
		{"held due", "SELECT d.id FROM deliveries d WHERE " + heldDueWhere, []any{ms(testNow)}, "deliveries_held"},
		{"changing by", changing, []any{ms(testNow)}, "events_next_change"},
		{"mark sent", markSentSQL[true][4], []any{1, "m1", now, 2, "m2", now, 3, "m3", now, 4, "m4", now}, "SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)"},
		{"alerts by id", alertsByIDSQL[8], []any{1, 2, 3, 4, 5, 6, 7, 8}, "SEARCH a USING INTEGER PRIMARY KEY (rowid=?)"},
		{"subscriptions of targets", subscriptionsForSQL[true][8], []any{"all", "tag:japan", "event:jp-budget", "watcher:deadlines", "x", "y", "z", "w"}, "SEARCH subscriptions USING COVERING INDEX subscriptions_target (target=?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var (
					id, parent, unused int
					detail             string
				)
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			text := strings.Join(plan, "\n")
			t.Logf("plan:\n%s", text)
			if !strings.Contains(text, tt.want) {
				t.Errorf("plan does not use index %s:\n%s", tt.want, text)
			}
			if (strings.HasPrefix(tt.name, "events list") || strings.HasPrefix(tt.name, "due events")) && strings.Contains(text, "USE TEMP B-TREE FOR ORDER BY") {
				// A page (a batch) is read in index order and stops at
				// its end.
				t.Errorf("plan sorts the rows it reads:\n%s", text)
			}
			if strings.Contains(text, "SCAN e\n") || strings.HasSuffix(text, "SCAN e") || strings.Contains(text, "SCAN s") {
				t.Errorf("plan scans a whole table:\n%s", text)
			}
		})
	}
}

// TestEventsMatchesBruteForce compares Events with a plain filter over
// every event, for many random filters over densely packed windows of
// every precision.
func TestEventsMatchesBruteForce(t *testing.T) { eachBackend(t, testEventsMatchesBruteForce) }

func testEventsMatchesBruteForce(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	db := openAt(t, fresh(t), testNow)
	evs, err := genEvents(800)
	if err != nil {
		t.Fatal(err)
	}
	statuses := []watchers.Status{watchers.Tentative, watchers.Scheduled, watchers.Happened, watchers.Postponed, watchers.Cancelled}
	for i := range evs {
		evs[i].Current.Status = statuses[i%len(statuses)]
	}
	if err := seedEvents(ctx, db, evs); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2023, 10, 1, 0, 0, 0, 0, time.UTC)
	for i := range 200 {
		f := bot.EventFilter{Active: rng.IntN(2) == 0}
		if rng.IntN(8) > 0 {
			f.From = base.Add(time.Duration(rng.Int64N(int64(4 * 365 * 24 * time.Hour))))
		}
		if rng.IntN(8) > 0 {
			f.To = f.From.Add(time.Duration(rng.Int64N(int64(120 * 24 * time.Hour))))
			if f.From.IsZero() {
				f.To = base.Add(time.Duration(rng.Int64N(int64(4 * 365 * 24 * time.Hour))))
			}
		}
		if rng.IntN(3) == 0 {
			f.Tag = []string{"japan", "us", "budget", "yen", "nope"}[rng.IntN(5)]
		}
		if rng.IntN(4) > 0 {
			f.Limit = 1 + rng.IntN(30)
		}
		if rng.IntN(10) == 0 {
			// exactly on a window boundary
			f.From = evs[rng.IntN(len(evs))].Current.Due.Start
		}
		f.From, f.To = f.From.Truncate(time.Millisecond), f.To.Truncate(time.Millisecond)

		var want []bot.EventRecord
		for _, e := range evs {
			d := e.Current.Due
			if !f.From.IsZero() && !(d.End.After(f.From) || d.End.Equal(d.Start) && !d.Start.Before(f.From)) {
				continue
			}
			if !f.To.IsZero() && !d.Start.Before(f.To) {
				continue
			}
			if f.Active && !slices.Contains(activeStatuses, e.Current.Status) {
				continue
			}
			if f.Tag != "" && !e.HasTag(f.Tag) {
				continue
			}
			want = append(want, e)
		}
		sort.SliceStable(want, func(a, b int) bool {
			da, db := want[a].Current.Due.Start, want[b].Current.Due.Start
			if !da.Equal(db) {
				return da.Before(db)
			}
			return want[a].ID < want[b].ID
		})
		if f.Limit > 0 && len(want) > f.Limit {
			want = want[:f.Limit]
		}
		got, err := db.Events(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(eventIDs(want), eventIDs(got)); diff != "" {
			t.Fatalf("case %d: Events(%+v) (-brute force +got):\n%s", i, f, diff)
		}
	}
}

// TestQueueStates: the outbox's queries write the states "pending" and
// "held" out in SQL, for the partial indexes of migration 0011; they must
// be the states package bot stores.
func TestQueueStates(t *testing.T) {
	if bot.DeliveryPending != "pending" || bot.DeliveryHeld != "held" {
		t.Fatalf("delivery states are %q and %q; the SQL in outbox.go, settings.go and migration 0011 says 'pending' and 'held'",
			bot.DeliveryPending, bot.DeliveryHeld)
	}
}
