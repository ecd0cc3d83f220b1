package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store/pgtest"
	"github.com/policyteam/alertbot/watchers"
)

// jst stands in for Asia/Tokyo without needing the zone database.
var jst = time.FixedZone("JST", 9*3600)

// mkEvent builds an event record as the config loader would: its state
// materialized as of testNow.
func mkEvent(t testing.TB, id, due string, tags ...string) bot.EventRecord {
	return mkEventStatus(t, id, due, "", tags...)
}

func mkEventStatus(t testing.TB, id, due string, status watchers.Status, tags ...string) bot.EventRecord {
	t.Helper()
	ev := watchers.Event{
		ID: id, Title: "Title of " + id, Due: due, Zone: "Asia/Tokyo", Status: status, Tags: tags,
		Source: "https://example.org/" + id, Origin: "config", CreatedAt: testNow.Add(-24 * time.Hour),
	}
	return materialize(t, ev)
}

func materialize(t testing.TB, ev watchers.Event) bot.EventRecord {
	t.Helper()
	st, err := ev.StateAt(testNow, jst)
	if err != nil {
		t.Fatalf("state of %s: %v", ev.ID, err)
	}
	rec := bot.EventRecord{Event: ev, Hash: "h-" + ev.ID, Current: st, UpdatedAt: testNow.Add(-time.Hour), UpdatedBy: "config"}
	for _, c := range ev.Changes {
		if c.At.After(testNow) {
			rec.NextChange = c.At
			break
		}
	}
	return rec
}

// mkWatcher makes a watcher record; kind "dates" stands for a date watcher
// (Dated), any other for a source watcher.
func mkWatcher(id, kind string) bot.WatcherRecord {
	return bot.WatcherRecord{
		Dated: kind == "dates",
		Spec: watchers.Spec{ID: id, Kind: kind, Schedule: "@every 1m", Tags: []string{"japan"},
			URL: "https://example.org/" + id + ".rss", Match: []string{"Japan", "Ishiba"},
			Fetch: watchers.Fetch{MaxBytes: 1 << 20, Timeout: "10s"}},
		Origin: "config", Hash: "wh-" + id, State: []byte(`{"seen":["a"]}`),
		LastRun: testNow.Add(-2 * time.Minute), LastSuccess: testNow.Add(-3 * time.Minute), LastError: "earlier",
		Failures: 1, Failing: false, UpdatedAt: testNow.Add(-time.Hour), UpdatedBy: "config",
	}
}

func mkAlert(key, event string) watchers.Alert {
	return watchers.Alert{
		Key: key, Kind: watchers.KindReminder, Watcher: "deadlines", Event: event, Tags: []string{"japan", "budget"},
		At: testNow.Add(-time.Minute), Title: "Reminder: " + event, Text: "in 30 days", Link: "https://example.org/" + event,
		Fields: []watchers.Field{
			{Name: "Due", Value: "31 March 2025", Time: time.Date(2025, 3, 31, 0, 0, 0, 0, jst)},
			{Name: "Status", Value: "scheduled"},
		},
		Severity: watchers.Notice,
	}
}

// backend is every store interface of package bot together: what a
// storage backend implements, and what the contract suite checks.
type backend interface {
	bot.EventStore
	bot.WatcherStore
	bot.RunStore
	bot.Outbox
	bot.ChannelStore
	bot.AuditLog
	bot.HistoryStore
	bot.LaterStore
	bot.ProposalStore
	bot.ChannelSettingsStore
	bot.EventLoader
	bot.DueAfterSource
	bot.HoldStore
	bot.HeldPlanner
	CountEvents(ctx context.Context) (int, error)
	EventSummaries(ctx context.Context, tag string) ([]bot.EventRecord, error)
	DeliveryCounts(ctx context.Context) (map[string]int, error)
	PendingDeliveries(ctx context.Context, platform string, now time.Time, limit int) ([]bot.DeliveryRecord, error)
	ClaimDeliveries(ctx context.Context, owner string, now time.Time, ids []int64) error
}

func TestContractSQLite(t *testing.T) {
	runStoreContract(t, func(t *testing.T, now time.Time) backend { return openTest(t, now) })
}

// TestContractPostgres runs the contract on PostgreSQL, each subtest in a
// schema of its own (see pgtest for how the tests find a server).
func TestContractPostgres(t *testing.T) {
	pgtest.Require(t)
	runStoreContract(t, func(t *testing.T, now time.Time) backend { return openAt(t, pgtest.URL(t), now) })
}

// runStoreContract checks the behaviour every backend must have. open
// returns an empty store whose clock reads now.
func runStoreContract(t *testing.T, open func(t *testing.T, now time.Time) backend) {
	t.Run("EventRoundTrip", func(t *testing.T) { contractEvents(t, open(t, testNow)) })
	t.Run("EventsFilter", func(t *testing.T) { contractEventsFilter(t, open(t, testNow)) })
	t.Run("EventsPage", func(t *testing.T) { contractEventsPage(t, open(t, testNow)) })
	t.Run("EventsPageWrites", func(t *testing.T) { contractEventsPageWrites(t, open(t, testNow)) })
	t.Run("Watchers", func(t *testing.T) { contractWatchers(t, open(t, testNow)) })
	t.Run("CommitRun", func(t *testing.T) { contractCommitRun(t, open(t, testNow)) })
	t.Run("CommitRunMany", func(t *testing.T) { contractCommitRunMany(t, open(t, testNow)) })
	t.Run("RecordSent", func(t *testing.T) { contractRecordSent(t, open(t, testNow)) })
	t.Run("DueEvents", func(t *testing.T) { contractDueEvents(t, open(t, testNow)) })
	t.Run("Deliveries", func(t *testing.T) { contractDeliveries(t, open(t, testNow)) })
	t.Run("Claims", func(t *testing.T) { contractClaims(t, open(t, testNow)) })
	t.Run("ClaimDue", func(t *testing.T) { contractClaimDue(t, open(t, testNow)) })
	t.Run("ClaimDueSole", func(t *testing.T) { contractClaimDueSole(t, open(t, testNow)) })
	t.Run("ClaimDueDeliveries", func(t *testing.T) { contractClaimDueDeliveries(t, open(t, testNow)) })
	t.Run("EventBatch", func(t *testing.T) { contractEventBatch(t, open(t, testNow)) })
	t.Run("EventBatchRows", func(t *testing.T) { contractEventBatchRows(t, open(t, testNow)) })
	t.Run("LoadEvents", func(t *testing.T) { contractLoadEvents(t, open(t, testNow)) })
	t.Run("Subscriptions", func(t *testing.T) { contractSubscriptions(t, open(t, testNow)) })
	t.Run("Mutes", func(t *testing.T) { contractMutes(t, open(t, testNow)) })
	t.Run("Audit", func(t *testing.T) { contractAudit(t, open(t, testNow)) })
	t.Run("TextOrder", func(t *testing.T) { contractTextOrder(t, open(t, testNow)) })
	t.Run("ScheduledPosts", func(t *testing.T) { contractScheduledPosts(t, open(t, testNow)) })
	t.Run("Proposals", func(t *testing.T) { contractProposals(t, open(t, testNow)) })
	t.Run("ChannelSettings", func(t *testing.T) { contractChannelSettings(t, open(t, testNow)) })
	t.Run("Held", func(t *testing.T) { contractHeld(t, open(t, testNow)) })
	t.Run("Replan", func(t *testing.T) { contractReplan(t, open(t, testNow)) })
}

// contractTextOrder checks that "sorted" means byte order (Go's sort),
// whatever the database's collation: a PostgreSQL database whose default
// sorts by language rules (en-US puts "japan" before "Japan" and "éa"
// before "eb") must not change what the commands list.
func contractTextOrder(t *testing.T, s backend) {
	ctx := testCtx(t)
	tags := []string{"eb", "éa", "Japan", "japan", "a-b", "ab", "aa", "日本", "Zeta"}
	ev := mkEvent(t, "ev", "2025-03-31", tags...)
	if err := s.SaveEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if _, err := s.Subscribe(ctx, bot.Subscription{Channel: "slack:C1", Target: "tag:" + tag}); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Clone(tags)
	slices.Sort(want)
	got, err := s.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Tags, in byte order (-want +got):\n%s", diff)
	}
	subs, err := s.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, sub := range subs {
		targets = append(targets, strings.TrimPrefix(sub.Target, "tag:"))
	}
	if diff := cmp.Diff(want, targets); diff != "" {
		t.Errorf("Subscriptions, in byte order of target (-want +got):\n%s", diff)
	}
	// Equality is byte equality too: a tag differing only in case is
	// another tag.
	if evs, err := s.Events(ctx, bot.EventFilter{Tag: "JAPAN"}); err != nil || len(evs) != 0 {
		t.Errorf("Events(tag JAPAN) = %d events, %v; want none", len(evs), err)
	}
	if evs, err := s.Events(ctx, bot.EventFilter{Tag: "Japan"}); err != nil || len(evs) != 1 {
		t.Errorf("Events(tag Japan) = %d events, %v; want 1", len(evs), err)
	}
}

func wantNotFound(t *testing.T, what string, err error, mention string) {
	t.Helper()
	if !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	} else if !strings.Contains(err.Error(), mention) {
		t.Errorf("%s: err = %q, want it to mention %s", what, err, mention)
	}
}

// contractEventBatch: SaveEvents saves all of a batch or none of it;
// EventHashes lists every event's hash.
func contractEventBatch(t *testing.T, s backend) {
	ctx := testCtx(t)
	a, b, bad := mkEvent(t, "a", "2025-03-31"), mkEvent(t, "b", "2025-04"), mkEvent(t, "bad", "2025-05")
	a.Hash, b.Hash = "ha", "hb"
	bad.ID = "" // refused by the store
	if err := s.SaveEvents(ctx, []bot.EventRecord{a, bad}); err == nil {
		t.Fatal("SaveEvents with a bad event: no error")
	}
	if _, err := s.Event(ctx, "a"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("after a failed batch, event a: %v; want not found (all or none)", err)
	}
	if err := s.SaveEvents(ctx, []bot.EventRecord{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveEvents(ctx, nil); err != nil {
		t.Errorf("SaveEvents(nil): %v", err)
	}
	hashes, err := s.EventHashes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a": "ha", "b": "hb"}, hashes); diff != "" {
		t.Errorf("EventHashes (-want +got):\n%s", diff)
	}
	if got, err := s.Event(ctx, "b"); err != nil || got.Current.Due.Raw != "2025-04" {
		t.Errorf("event b after the batch: %+v, %v", got.Current, err)
	}
}

// batches returns a LoadEvents next that hands out bs one at a time, then
// none; fail, when set, is returned instead of batch number failAt (from 1).
func batches(bs [][]bot.EventRecord, failAt int, fail error) func() ([]bot.EventRecord, error) {
	i := 0
	return func() ([]bot.EventRecord, error) {
		if i++; i == failAt {
			return nil, fail
		}
		if i > len(bs) {
			return nil, nil
		}
		return bs[i-1], nil
	}
}

// contractLoadEvents: LoadEvents stores every batch next returns, with
// their tags and a schedule row for each date watcher, into an empty store
// (SQLite builds its indexes after the rows then) and into one with
// events; a failing next keeps none of the load and returns its error as
// it is.
func contractLoadEvents(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	var first [][]bot.EventRecord
	var ids []string
	for b := range 3 {
		var batch []bot.EventRecord
		for i := range 3 {
			id := fmt.Sprintf("e%d%d", b, i)
			ids = append(ids, id)
			batch = append(batch, mkEvent(t, id, fmt.Sprintf("2025-%02d", 3*b+i+1), "japan", fmt.Sprintf("t%d", i)))
		}
		first = append(first, batch)
	}
	killed := errors.New("killed")
	if err := s.LoadEvents(ctx, batches(first, 3, killed)); !errors.Is(err, killed) || err.Error() != "killed" {
		t.Fatalf("LoadEvents with a failing next = %v, want its error as it is", err)
	}
	if got, err := s.AllEventIDs(ctx); err != nil || len(got) != 0 {
		t.Fatalf("after a failed load: events %v (%v), want none", got, err)
	}
	if err := s.LoadEvents(ctx, batches(first, 0, nil)); err != nil {
		t.Fatal(err)
	}
	check := func(want []string) {
		t.Helper()
		same := func(what string, got []string, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", what, diff)
			}
		}
		all, err := s.AllEventIDs(ctx)
		same("events after the load", all, err)
		tagged, err := s.Events(ctx, bot.EventFilter{Tag: "japan"})
		same("events tagged japan", eventIDs(tagged), err)
		due, err := s.DueEvents(ctx, "deadlines", testNow, 0)
		same("events the date watcher is to look at", plannedIDs(due), err)
	}
	check(ids)
	// Into a store with events: one changed, one new.
	changed := mkEvent(t, "e00", "2026-01", "japan")
	changed.Title = "Changed"
	if err := s.LoadEvents(ctx, batches([][]bot.EventRecord{{changed, mkEvent(t, "f1", "2026-02", "japan")}}, 0, nil)); err != nil {
		t.Fatal(err)
	}
	check(append(slices.Clone(ids), "f1"))
	if ev, err := s.Event(ctx, "e00"); err != nil || ev.Title != "Changed" || ev.Current.Due.Raw != "2026-01" {
		t.Errorf("e00 after the second load: %q %q, %v", ev.Title, ev.Current.Due.Raw, err)
	}
	if err := s.LoadEvents(ctx, batches(nil, 0, nil)); err != nil {
		t.Errorf("LoadEvents of nothing: %v", err)
	}
}

// contractEventBatchRows: a batch large enough for several multi-row
// statements of each kind stores what saving each event alone does: the
// fields, changes and tags of events that existed are replaced, not added
// to; date watchers look at every event again; a batch naming an id twice
// keeps the last record. A run's plans for them (more than one statement
// holds) are recorded, the last plan of an event winning.
func contractEventBatchRows(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("dates", "dates")); err != nil {
		t.Fatal(err)
	}
	const n = 620
	tagSets := [][]string{nil, {"japan"}, {"japan", "budget"}, {"us", "summit", "japan"}}
	evs := make([]bot.EventRecord, n)
	for i := range evs {
		ev := watchers.Event{
			ID: fmt.Sprintf("ev-%03d", i), Title: fmt.Sprintf("Event %d", i), Due: fmt.Sprintf("2025-%02d", i%12+1),
			Zone: "Asia/Tokyo", Tags: tagSets[i%len(tagSets)], Origin: "config", CreatedAt: testNow.Add(-24 * time.Hour),
		}
		switch i % 5 {
		case 1:
			ev.LeadTimes = []watchers.Lead{}
		case 2:
			ev.LeadTimes = []watchers.Lead{{N: 7, Unit: 'd'}}
			ev.Match = []string{"予算", "budget bill"}
		}
		for j := range i % 3 {
			ev.Changes = append(ev.Changes, watchers.Change{At: testNow.Add(time.Duration(j-1) * 24 * time.Hour), Note: fmt.Sprintf("note %d", j), By: "config"})
		}
		evs[i] = materialize(t, ev)
	}
	// A third existed before, with other tags and changes.
	for i := 0; i < n; i += 3 {
		old := evs[i].Event
		old.Title, old.Tags = "old title", []string{"old-tag"}
		old.Changes = []watchers.Change{{At: testNow.Add(-72 * time.Hour), Note: "old", By: "chat"}, {At: testNow.Add(-70 * time.Hour), Note: "old 2", By: "chat"}}
		if err := s.SaveEvent(ctx, materialize(t, old)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for _, want := range evs {
		got, err := s.Event(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Event(%s) after the batch (-want +got):\n%s", want.ID, diff)
		}
	}
	tags, err := s.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"budget", "japan", "summit", "us"}, tags); diff != "" {
		t.Errorf("Tags (-want +got):\n%s", diff)
	}
	tagged, err := s.Events(ctx, bot.EventFilter{Tag: "budget"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tagged) != n/4 {
		t.Errorf("%d events tagged budget, want %d", len(tagged), n/4)
	}
	due, err := s.DueEvents(ctx, "dates", testNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != n {
		t.Errorf("the date watcher has %d events to look at, want all %d", len(due), n)
	}
	// Plans: every event in an hour, except the first three: ev-000 is
	// planned twice (the second, never, wins), ev-001 not at all, and
	// ev-002 for now.
	next := testNow.Add(time.Hour)
	plans := []watchers.NextPlan{{Event: evs[0].ID, At: next}}
	for _, ev := range evs[3:] {
		plans = append(plans, watchers.NextPlan{Event: ev.ID, At: next})
	}
	plans = append(plans, watchers.NextPlan{Event: evs[0].ID}, watchers.NextPlan{Event: evs[2].ID, At: testNow}, watchers.NextPlan{Event: "deleted-meanwhile", At: next})
	if _, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "dates", At: testNow, Next: plans}); err != nil {
		t.Fatal(err)
	}
	if due, err = s.DueEvents(ctx, "dates", testNow, 0); err != nil {
		t.Fatal(err)
	}
	if ids := plannedIDs(due); !cmp.Equal(ids, []string{evs[1].ID, evs[2].ID}) {
		t.Errorf("DueEvents after planning = %v, want [%s %s]", ids, evs[1].ID, evs[2].ID)
	}
	if due, err = s.DueEvents(ctx, "dates", testNow.AddDate(50, 0, 0), 0); err != nil {
		t.Fatal(err)
	}
	if len(due) != n-1 {
		t.Errorf("DueEvents far ahead: %d events, want %d (all but the one planned never)", len(due), n-1)
	}
	first, last := evs[0], evs[1]
	last.ID = first.ID
	last.Hash = "last"
	if err := s.SaveEvents(ctx, []bot.EventRecord{first, last}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Event(ctx, first.ID); err != nil || got.Hash != "last" || len(got.Changes) != len(last.Changes) {
		t.Errorf("an id twice in a batch: %+v, %v; want the last record", got, err)
	}
}

func contractEvents(t *testing.T, s backend) {
	ctx := testCtx(t)
	withChanges := watchers.Event{
		ID: "upper-house", Title: "House of Councillors election", Due: "2025-07", Zone: "Asia/Tokyo",
		Tags: []string{"japan", "election"}, Source: "https://example.org/uh",
		LeadTimes: []watchers.Lead{{N: 90, Unit: 'd'}, {N: 2, Unit: 'w'}, {N: 0, Unit: 'd'}},
		Changes: []watchers.Change{
			{At: testNow.Add(-48 * time.Hour), Status: watchers.Tentative, Note: "rumoured", By: "config"},
			{At: time.Date(2025, 7, 3, 0, 0, 0, 0, jst), Due: "2025-07-20", Status: watchers.Scheduled,
				Title: "Upper House election", Note: "announced", Source: "https://example.org/uh2", By: "calendar:kantei", Quiet: true},
		},
		Origin: "config", CreatedAt: testNow.Add(-72 * time.Hour),
	}
	evs := []bot.EventRecord{
		materialize(t, withChanges),
		mkEvent(t, "jp-budget", "2025-03-31", "japan", "budget"),
		mkEvent(t, "summit", "2025-02-07T10:30", "japan", "us", "summit"),
	}
	evs[1].LeadTimes = []watchers.Lead{} // no reminders at all, unlike nil (the defaults)
	evs[2].Hash, evs[2].Origin, evs[2].UpdatedBy = "", "chat", "slack:U1"
	if evs[0].NextChange.IsZero() {
		t.Fatal("fixture: the election should have a pending change")
	}
	for _, ev := range evs {
		if err := s.SaveEvent(ctx, ev); err != nil {
			t.Fatalf("SaveEvent(%s): %v", ev.ID, err)
		}
	}
	for _, want := range evs {
		got, err := s.Event(ctx, want.ID)
		if err != nil {
			t.Fatalf("Event(%s): %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Event(%s) (-want +got):\n%s", want.ID, diff)
		}
		for _, tm := range []time.Time{got.Current.Due.Start, got.CreatedAt, got.UpdatedAt} {
			if tm.Location() != time.UTC {
				t.Errorf("Event(%s): time %v not in UTC", want.ID, tm)
			}
		}
	}
	_, err := s.Event(ctx, "missing")
	wantNotFound(t, "Event(missing)", err, `event "missing"`)

	ids, err := s.AllEventIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"jp-budget", "summit", "upper-house"}, ids); diff != "" {
		t.Errorf("AllEventIDs (-want +got):\n%s", diff)
	}
	if n, err := s.CountEvents(ctx); err != nil || n != 3 {
		t.Errorf("CountEvents = %d, %v; want 3", n, err)
	}
	tags, err := s.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"budget", "election", "japan", "summit", "us"}, tags); diff != "" {
		t.Errorf("Tags (-want +got):\n%s", diff)
	}

	// Changing by: only the election has a pending change, on 3 July.
	for _, tc := range []struct {
		by   time.Time
		want []string
	}{
		{evs[0].NextChange.Add(-time.Millisecond), nil},
		{evs[0].NextChange, []string{"upper-house"}},
	} {
		got, err := s.EventsChangingBy(ctx, tc.by)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, eventIDs(got)); diff != "" {
			t.Errorf("EventsChangingBy(%v) (-want +got):\n%s", tc.by, diff)
		}
		if len(got) == 1 && len(got[0].Changes) != 2 {
			t.Errorf("EventsChangingBy: event without its changes: %+v", got[0].Changes)
		}
	}

	// An update replaces fields and changes but keeps the first entry time.
	upd := evs[0]
	upd.Title = "Renamed"
	upd.Tags = []string{"election"}
	upd.Changes = upd.Changes[:1]
	upd.NextChange = time.Time{}
	upd.CreatedAt = testNow
	upd.UpdatedAt, upd.UpdatedBy = testNow, "slack:U2"
	if err := s.SaveEvent(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, err := s.Event(ctx, upd.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := upd
	want.CreatedAt = evs[0].CreatedAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Event after update (-want +got):\n%s", diff)
	}
	if byT, _ := s.EventsChangingBy(ctx, testNow.AddDate(10, 0, 0)); len(byT) != 0 {
		t.Errorf("EventsChangingBy after clearing NextChange = %v, want none", eventIDs(byT))
	}

	if err := s.DeleteEvent(ctx, "summit"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Event(ctx, "summit")
	wantNotFound(t, "Event after DeleteEvent", err, `event "summit"`)
	wantNotFound(t, "DeleteEvent twice", s.DeleteEvent(ctx, "summit"), `event "summit"`)
	tags, _ = s.Tags(ctx)
	if diff := cmp.Diff([]string{"budget", "election", "japan"}, tags); diff != "" {
		t.Errorf("Tags after update and delete (-want +got):\n%s", diff)
	}

	// Records the queries could not serve are refused with a reason.
	long := mkEvent(t, "long", "2025")
	long.Current.Due.End = long.Current.Due.Start.AddDate(2, 0, 0)
	backwards := mkEvent(t, "backwards", "2025-02")
	backwards.Current.Due.End = backwards.Current.Due.Start.Add(-time.Hour)
	unordered := materialize(t, withChanges)
	unordered.ID = "unordered"
	unordered.Changes = []watchers.Change{unordered.Changes[1], unordered.Changes[0]}
	badLead := mkEvent(t, "bad-lead", "2025-02")
	badLead.LeadTimes = []watchers.Lead{{N: 3, Unit: 'x'}}
	for _, tc := range []struct {
		ev   bot.EventRecord
		want string
	}{
		{bot.EventRecord{}, "empty event id"},
		{badLead, `bad duration "3x"`},
		{long, "longer than a year can be"},
		{backwards, "before it starts"},
		{unordered, "in order of At"},
	} {
		err := s.SaveEvent(ctx, tc.ev)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SaveEvent(%q): err = %v, want it to contain %q", tc.ev.ID, err, tc.want)
		}
	}
	if n, _ := s.CountEvents(ctx); n != 2 {
		t.Errorf("CountEvents after refused saves = %d, want 2", n)
	}
}

func eventIDs(evs []bot.EventRecord) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func contractEventsFilter(t *testing.T, s backend) {
	ctx := testCtx(t)
	for _, ev := range []bot.EventRecord{
		mkEventStatus(t, "a-day", "2025-02-01", "", "japan"),
		mkEventStatus(t, "b-month", "2025-02", "", "us"),
		mkEventStatus(t, "c-instant", "2025-03-01T10:00", "", "japan"),
		mkEventStatus(t, "d-year", "2024", "", "japan"),
		mkEventStatus(t, "e-happened", "2025-02-10", watchers.Happened, "japan"),
		mkEventStatus(t, "f-jfy", "JFY2024", "", "budget"),
		mkEventStatus(t, "g-postponed", "2025-02-20", watchers.Postponed, "us"),
		mkEventStatus(t, "h-later", "2026-05", "", "japan"),
	} {
		if err := s.SaveEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	feb1 := time.Date(2025, 2, 1, 0, 0, 0, 0, jst)
	mar1 := time.Date(2025, 3, 1, 0, 0, 0, 0, jst)
	inst := time.Date(2025, 3, 1, 10, 0, 0, 0, jst)
	tests := []struct {
		name string
		f    bot.EventFilter
		want []string
	}{
		{"february", bot.EventFilter{From: feb1, To: mar1}, []string{"f-jfy", "a-day", "b-month", "e-happened", "g-postponed"}},
		{"active", bot.EventFilter{From: feb1, To: mar1, Active: true}, []string{"f-jfy", "a-day", "b-month", "g-postponed"}},
		{"tag", bot.EventFilter{From: feb1, To: mar1, Tag: "japan"}, []string{"a-day", "e-happened"}},
		{"tag and active", bot.EventFilter{From: feb1, To: mar1, Tag: "japan", Active: true}, []string{"a-day"}},
		{"unknown tag", bot.EventFilter{From: feb1, To: mar1, Tag: "nope"}, nil},
		{"limit", bot.EventFilter{From: feb1, To: mar1, Limit: 2}, []string{"f-jfy", "a-day"}},
		{"instant excluded at To", bot.EventFilter{From: feb1, To: inst}, []string{"f-jfy", "a-day", "b-month", "e-happened", "g-postponed"}},
		{"instant included before To", bot.EventFilter{From: mar1, To: inst.Add(time.Millisecond)}, []string{"f-jfy", "c-instant"}},
		{"instant at From", bot.EventFilter{From: inst, To: inst.Add(time.Hour)}, []string{"f-jfy", "c-instant"}},
		{"instant before From", bot.EventFilter{From: inst.Add(time.Millisecond), To: inst.Add(time.Hour)}, []string{"f-jfy"}},
		{"window ends at From", bot.EventFilter{From: time.Date(2025, 1, 1, 0, 0, 0, 0, jst), To: time.Date(2025, 1, 2, 0, 0, 0, 0, jst)}, []string{"f-jfy"}},
		{"year overlapping From", bot.EventFilter{From: time.Date(2024, 12, 31, 0, 0, 0, 0, jst), To: time.Date(2025, 1, 2, 0, 0, 0, 0, jst)}, []string{"d-year", "f-jfy"}},
		{"open windows, limit 2", bot.EventFilter{From: feb1.AddDate(0, 0, 14), To: mar1, Limit: 2}, []string{"f-jfy", "b-month"}},
		{"open windows, limit 1", bot.EventFilter{From: feb1.AddDate(0, 0, 14), To: mar1, Limit: 1}, []string{"f-jfy"}},
		{"open windows and starting", bot.EventFilter{From: feb1.AddDate(0, 0, 14), To: mar1}, []string{"f-jfy", "b-month", "g-postponed"}},
		{"open ends", bot.EventFilter{}, []string{"d-year", "f-jfy", "a-day", "b-month", "e-happened", "g-postponed", "c-instant", "h-later"}},
		{"open end", bot.EventFilter{From: time.Date(2025, 4, 1, 0, 0, 0, 0, jst)}, []string{"h-later"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Events(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, eventIDs(got)); diff != "" {
				t.Errorf("Events(%+v) (-want +got):\n%s", tt.f, diff)
			}
			// A brief list: the same events, with what a list shows.
			bf := tt.f
			bf.Brief = true
			brief, err := s.Events(ctx, bf)
			if err != nil {
				t.Fatal(err)
			}
			shown := func(e bot.EventRecord) [6]any {
				return [6]any{e.ID, e.Title, e.Zone, e.Current.Title, e.Current.Due, e.Current.Status}
			}
			var want, gotBrief [][6]any
			for _, e := range got {
				want = append(want, shown(e))
			}
			for _, e := range brief {
				gotBrief = append(gotBrief, shown(e))
			}
			if diff := cmp.Diff(want, gotBrief); diff != "" {
				t.Errorf("Events(%+v) brief (-full +brief):\n%s", bf, diff)
			}
		})
	}
}

// wantEventsPage is q's page as /alerts events listed it before it paged
// in the database: EventSummaries split into open and past, sorted and
// paged in Go.
func wantEventsPage(t *testing.T, s backend, q bot.EventsQuery) (ids []string, open, past int) {
	t.Helper()
	all, err := s.EventSummaries(testCtx(t), q.Tag)
	if err != nil {
		t.Fatal(err)
	}
	var opens, pasts []bot.EventRecord
	for _, e := range all {
		if q.Match != nil && !q.Match(e) {
			continue
		}
		st := e.Current
		if st.Status == watchers.Happened || st.Status == watchers.Cancelled || !st.Due.End.After(q.Now) {
			pasts = append(pasts, e)
		} else {
			opens = append(opens, e)
		}
	}
	slices.SortStableFunc(pasts, func(a, b bot.EventRecord) int { return b.Current.Due.Start.Compare(a.Current.Due.Start) })
	list := map[string][]bot.EventRecord{"open": opens, "past": pasts, "all": append(opens, pasts...)}[q.Scope]
	for _, e := range list[min(q.Offset, len(list)):min(q.Offset+q.Limit, len(list))] {
		ids = append(ids, e.ID)
	}
	return ids, len(opens), len(pasts)
}

// unrefreshed is an event saved without a current state (as before
// materialized states existed): stored, but not listed.
func unrefreshed(id string, tags ...string) bot.EventRecord {
	return bot.EventRecord{Event: watchers.Event{ID: id, Title: "Title of " + id, Due: "2025-02-03", Tags: tags, Origin: "chat"}}
}

// contractEventsPage: the events list paged by the store is the list
// wantEventsPage computes, at several times: the counts the store keeps
// must follow the clock (windows ending) without any write.
func contractEventsPage(t *testing.T, s backend) {
	ctx := testCtx(t)
	for _, ev := range []bot.EventRecord{
		mkEventStatus(t, "a-day", "2025-02-01", "", "japan"),
		mkEventStatus(t, "b-month", "2025-02", "", "us"),
		mkEventStatus(t, "c-instant", "2025-03-01T10:00", "", "japan"),
		mkEventStatus(t, "d-year", "2024", "", "japan"),
		mkEventStatus(t, "e-happened", "2025-02-10", watchers.Happened, "japan"),
		mkEventStatus(t, "f-jfy", "JFY2024", "", "budget"),
		mkEventStatus(t, "g-postponed", "2025-02-20", watchers.Postponed, "us"),
		mkEventStatus(t, "h-later", "2026-05", "", "japan"),
		mkEventStatus(t, "i-cancelled", "2026-06", watchers.Cancelled, "japan"),
		mkEventStatus(t, "j-same-day", "2025-02-01", "", "japan"),
		mkEventStatus(t, "k-Élysée", "2025-02-01", "", "us"),
		mkEventStatus(t, "l-quarter", "2025-Q1", "", "us"),
		mkEventStatus(t, "m-half", "2025-H1", watchers.Cancelled, "japan"),
		unrefreshed("n-unrefreshed", "japan"),
	} {
		if err := s.SaveEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2025, 2, 15, 12, 0, 0, 0, jst)
	words := func(w string) func(bot.EventRecord) bool {
		return func(e bot.EventRecord) bool {
			return strings.Contains(strings.ToLower(e.ID+" "+e.Current.Title+" "+e.Title), w)
		}
	}
	var checked int
	for _, at := range []time.Time{
		now,
		time.Date(2024, 6, 1, 0, 0, 0, 0, jst),    // the year and fiscal year open, started before
		time.Date(2025, 2, 1, 12, 0, 0, 0, jst),   // the day windows open, started before
		time.Date(2025, 3, 1, 0, 0, 0, 0, jst),    // February's window ends exactly now
		time.Date(2025, 3, 1, 10, 0, 0, 0, jst),   // the instant is now: past
		time.Date(2027, 1, 1, 0, 0, 0, 0, jst),    // everything past
		time.Date(2025, 2, 15, 11, 59, 0, 0, jst), // back in time, same events version
	} {
		for _, tag := range []string{"", "japan", "us", "none"} {
			for _, scope := range []string{"open", "past", "all"} {
				for _, match := range []string{"", "day", "élysée"} {
					for _, page := range []struct{ off, lim int }{{0, 3}, {3, 3}, {6, 3}, {0, 20}, {20, 5}} {
						q := bot.EventsQuery{Tag: tag, Scope: scope, Now: at, Offset: page.off, Limit: page.lim}
						if match != "" {
							q.Match = words(match)
						}
						got, err := s.EventsPage(ctx, q)
						if err != nil {
							t.Fatal(err)
						}
						ids, open, past := wantEventsPage(t, s, q)
						checked += len(ids)
						if diff := cmp.Diff(ids, eventIDs(got.Events)); diff != "" || got.Open != open || got.Past != past {
							t.Errorf("at %s, tag %q, %s, match %q, offset %d, limit %d: open %d past %d, want %d %d; ids (-want +got):\n%s",
								at.Format(time.RFC3339), tag, scope, match, page.off, page.lim, got.Open, got.Past, open, past, diff)
						}
					}
				}
			}
		}
	}
	if checked < 500 {
		t.Errorf("only %d events compared: the cases list too little", checked)
	}
	// One case by hand: the past, newest first, ties by id.
	got, err := s.EventsPage(ctx, bot.EventsQuery{Scope: "past", Now: now, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"i-cancelled", "e-happened", "a-day", "j-same-day", "k-Élysée", "m-half", "d-year"}, eventIDs(got.Events)); diff != "" {
		t.Errorf("past events (-want +got):\n%s", diff)
	}
	if got.Events[0].Current.Title != "Title of i-cancelled" || got.Events[0].Current.Due.Raw != "2026-06" || got.Events[0].Zone != "Asia/Tokyo" {
		t.Errorf("page event %+v in %q: want its current state and zone", got.Events[0].Current, got.Events[0].Zone)
	}
}

// contractEventsPageWrites: every write path of events (SaveEvent,
// SaveEvents, CommitRun's events, DeleteEvent) changes the counts and
// pages a later EventsPage shows, though the store keeps counts between
// writes. Each step is checked for all events and two tags after a read
// that filled the kept counts, and must change what some list shows.
func contractEventsPageWrites(t *testing.T, s backend) {
	ctx := testCtx(t)
	now := time.Date(2025, 2, 15, 12, 0, 0, 0, jst)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	type shown struct {
		ids        []string
		open, past int
	}
	var last map[string]shown
	check := func(step string) {
		t.Helper()
		cur := map[string]shown{}
		for _, tag := range []string{"", "japan", "us"} {
			for range 2 { // the second read is served by the kept counts
				q := bot.EventsQuery{Tag: tag, Scope: "all", Now: now, Limit: 50}
				got, err := s.EventsPage(ctx, q)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				ids, open, past := wantEventsPage(t, s, q)
				if diff := cmp.Diff(ids, eventIDs(got.Events)); diff != "" || got.Open != open || got.Past != past {
					t.Errorf("after %s, tag %q: open %d past %d, want %d %d; ids (-want +got):\n%s", step, tag, got.Open, got.Past, open, past, diff)
				}
				cur[tag] = shown{ids, open, past}
			}
		}
		if last != nil && cmp.Equal(last, cur, cmp.AllowUnexported(shown{})) {
			t.Errorf("%s changed nothing the lists show: the step tests nothing", step)
		}
		last = cur
	}
	save := func(ev bot.EventRecord) {
		t.Helper()
		if err := s.SaveEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	check("nothing")
	save(mkEvent(t, "a", "2025-03-01", "japan"))
	check("SaveEvent of a new event")
	save(mkEvent(t, "a", "2025-02-01", "japan"))
	check("SaveEvent of a due date moving the window before now")
	save(mkEvent(t, "a", "2025-02-01", "us"))
	check("SaveEvent of the tags")
	if err := s.SaveEvents(ctx, []bot.EventRecord{mkEvent(t, "b", "2025-04", "japan", "us"), mkEvent(t, "c", "2024", "us")}); err != nil {
		t.Fatal(err)
	}
	check("SaveEvents")
	run := bot.RunRecord{Watcher: "deadlines", At: testNow, Events: []bot.EventRecord{
		mkEventStatus(t, "b", "2025-04", watchers.Cancelled, "japan", "us"), mkEvent(t, "d", "2025-02-20", "japan"),
	}}
	if _, err := s.CommitRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	check("CommitRun with events")
	save(mkEventStatus(t, "d", "2025-02-20", watchers.Happened, "japan"))
	check("SaveEvent of a status")
	// The current state alone changing, as a refresh does when a dated
	// change comes due: c's window is 2025 now.
	refreshed := mkEvent(t, "c", "2024", "us")
	refreshed.Current = mkEvent(t, "c", "2025", "us").Current
	save(refreshed)
	check("SaveEvent of the current state alone")
	if err := s.DeleteEvent(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	check("DeleteEvent")
	save(unrefreshed("c"))
	check("SaveEvent taking an event's current state away")
}

func contractWatchers(t *testing.T, s backend) {
	ctx := testCtx(t)
	ws := []bot.WatcherRecord{mkWatcher("feeds", "feed"), mkWatcher("deadlines", "dates")}
	ws[1].State = nil
	for _, w := range ws {
		if err := s.SaveWatcher(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Watchers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.WatcherRecord{ws[1], ws[0]}, got); diff != "" {
		t.Errorf("Watchers (-want +got):\n%s", diff)
	}
	upd := ws[0]
	upd.Spec.Paused = true
	upd.Spec.Match = []string{"Trump"}
	upd.Origin, upd.UpdatedBy = "chat", "slack:U1"
	if err := s.SaveWatcher(ctx, upd); err != nil {
		t.Fatal(err)
	}
	one, err := s.Watcher(ctx, "feeds")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(upd, one); diff != "" {
		t.Errorf("Watcher after update (-want +got):\n%s", diff)
	}
	_, err = s.Watcher(ctx, "missing")
	wantNotFound(t, "Watcher(missing)", err, `watcher "missing"`)
	wantNotFound(t, "DeleteWatcher(missing)", s.DeleteWatcher(ctx, "missing"), `watcher "missing"`)
	if err := s.SaveWatcher(ctx, bot.WatcherRecord{}); err == nil || !strings.Contains(err.Error(), "empty watcher id") {
		t.Errorf("SaveWatcher without id: err = %v", err)
	}
	if err := s.DeleteWatcher(ctx, "feeds"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Watchers(ctx); len(got) != 1 || got[0].Spec.ID != "deadlines" {
		t.Errorf("Watchers after delete = %+v", got)
	}
}

func contractCommitRun(t *testing.T, s backend) {
	ctx := testCtx(t)
	w := mkWatcher("feeds", "feed")
	if err := s.SaveWatcher(ctx, w); err != nil {
		t.Fatal(err)
	}
	at := testNow.Add(-30 * time.Second)
	a := mkAlert("feeds/item/1", "jp-budget")
	b := mkAlert("feeds/item/old", "jp-budget")
	b.At = a.At.Add(-time.Hour)
	c := mkAlert("feeds/item/2", "")
	run := bot.RunRecord{
		Watcher: "feeds", At: at, State: []byte("s1"), UpdateState: true,
		Alerts: []bot.NewAlert{
			{Alert: a, Channels: []string{"slack:C1", "discord:42", "slack:C1"}},
			{Alert: b, Skipped: true, Channels: []string{"slack:C1"}},
			{Alert: c},
		},
	}
	got, err := s.CommitRun(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID <= 0 || got[1].ID <= got[0].ID {
		t.Fatalf("CommitRun returned %+v, want two new records with increasing ids", got)
	}
	want := []bot.AlertRecord{{ID: got[0].ID, Alert: a, Created: testNow}, {ID: got[1].ID, Alert: c, Created: testNow}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CommitRun records (-want +got):\n%s", diff)
	}
	gw, err := s.Watcher(ctx, "feeds")
	if err != nil {
		t.Fatal(err)
	}
	ww := w
	ww.LastRun, ww.LastSuccess, ww.LastError, ww.State, ww.Failures = at, at, "", []byte("s1"), 0
	if diff := cmp.Diff(ww, gw); diff != "" {
		t.Errorf("watcher after a successful run (-want +got):\n%s", diff)
	}
	counts, err := s.DeliveryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{bot.DeliveryPending: 2}, counts); diff != "" {
		t.Errorf("DeliveryCounts: one per distinct channel of the unskipped alert (-want +got):\n%s", diff)
	}
	hist, err := s.AlertsForEvent(ctx, "jp-budget", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Alert.Key != a.Key || hist[1].Alert.Key != b.Key || !hist[1].Skipped || hist[0].Skipped {
		t.Errorf("AlertsForEvent = %+v, want a then the skipped b", hist)
	}
	if h1, _ := s.AlertsForEvent(ctx, "jp-budget", 1); len(h1) != 1 || h1[0].ID != got[0].ID {
		t.Errorf("AlertsForEvent(n=1) = %+v, want only the newest", h1)
	}

	// The same alerts again (a second tick, an overlapping run): nothing new.
	again, err := s.CommitRun(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("second CommitRun created %+v, want nothing", again)
	}
	if c2, _ := s.DeliveryCounts(ctx); !cmp.Equal(counts, c2) {
		t.Errorf("DeliveryCounts after a repeated run = %v, want %v", c2, counts)
	}

	// A failure keeps the state and the last success.
	at2 := at.Add(time.Minute)
	if _, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "feeds", At: at2, Err: "fetch: 503", State: []byte("ignored"), Failures: 2, Failing: true}); err != nil {
		t.Fatal(err)
	}
	gw, _ = s.Watcher(ctx, "feeds")
	ww.LastRun, ww.LastError, ww.Failures, ww.Failing = at2, "fetch: 503", 2, true
	if diff := cmp.Diff(ww, gw); diff != "" {
		t.Errorf("watcher after a failed run (-want +got):\n%s", diff)
	}
	// A success without new state clears the error and keeps the state.
	at3 := at2.Add(time.Minute)
	if _, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "feeds", At: at3, State: []byte("ignored")}); err != nil {
		t.Fatal(err)
	}
	gw, _ = s.Watcher(ctx, "feeds")
	ww.LastRun, ww.LastSuccess, ww.LastError, ww.Failures, ww.Failing = at3, at3, "", 0, false
	if diff := cmp.Diff(ww, gw); diff != "" {
		t.Errorf("watcher after a success without state (-want +got):\n%s", diff)
	}

	// Errors leave nothing behind.
	fresh := mkAlert("feeds/item/3", "jp-budget")
	_, err = s.CommitRun(ctx, bot.RunRecord{Watcher: "gone", At: at3, Alerts: []bot.NewAlert{{Alert: fresh}}})
	wantNotFound(t, "CommitRun of a missing watcher", err, `watcher "gone"`)
	_, err = s.CommitRun(ctx, bot.RunRecord{Watcher: "feeds", At: at3.Add(time.Minute), Alerts: []bot.NewAlert{
		{Alert: fresh, Channels: []string{"slack:C1"}},
		{Alert: mkAlert("feeds/item/4", ""), Channels: []string{"irc:#x"}},
	}})
	if err == nil || !strings.Contains(err.Error(), `unknown platform "irc"`) {
		t.Errorf("CommitRun with a bad channel: err = %v, want unknown platform", err)
	}
	_, err = s.CommitRun(ctx, bot.RunRecord{Watcher: "feeds", At: at3, Alerts: []bot.NewAlert{{Alert: watchers.Alert{Title: "keyless"}}}})
	if err == nil || !strings.Contains(err.Error(), "empty key") {
		t.Errorf("CommitRun with a keyless alert: err = %v, want empty key", err)
	}
	if h, _ := s.AlertsForEvent(ctx, "jp-budget", 0); len(h) != 2 {
		t.Errorf("failed commits left alerts behind: %d alerts, want 2", len(h))
	}
	if gw, _ = s.Watcher(ctx, "feeds"); !gw.LastRun.Equal(at3) {
		t.Errorf("failed commit updated the watcher: LastRun = %v, want %v", gw.LastRun, at3)
	}
}

// contractCommitRunMany: a run of many alerts, written several to a
// statement, keeps the order and the once-only rule of one at a time:
// each new alert once, in run order, its deliveries in the same order; a
// key seen earlier in the run or stored before is not new.
func contractCommitRunMany(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	key := func(i int) string { return fmt.Sprintf("deadlines/ev%02d/reminder@x", i) }
	channel := func(i int) string { return fmt.Sprintf("slack:C%07d", i) }
	if _, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow,
		Alerts: []bot.NewAlert{{Alert: mkAlert(key(20), "ev20"), Channels: []string{channel(20)}}}}); err != nil {
		t.Fatal(err)
	}
	const n = 45 // statements of 32, 8, 2, 2 and 1 rows
	run := bot.RunRecord{Watcher: "deadlines", At: testNow}
	var want []string             // keys of the alerts created, in order
	chanOf := map[string]string{} // their channels by key
	for i := range n {
		a := mkAlert(key(i), fmt.Sprintf("ev%02d", i))
		na := bot.NewAlert{Alert: a, Channels: []string{channel(i)}}
		switch i {
		case 5:
			na.Alert.Key, na.Alert.Title = key(2), "a second alert under ev02's key"
		case 33:
			na.Skipped = true
		}
		run.Alerts = append(run.Alerts, na)
		if i != 5 && i != 20 && i != 33 {
			want = append(want, a.Key)
			chanOf[a.Key] = channel(i)
		}
	}
	created, err := s.CommitRun(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, rec := range created {
		got = append(got, rec.Alert.Key)
		if i > 0 && rec.ID <= created[i-1].ID {
			t.Errorf("alert %s has id %d after %d: ids do not rise in run order", rec.Alert.Key, rec.ID, created[i-1].ID)
		}
		if rec.Alert.Title != "Reminder: "+rec.Alert.Event {
			t.Errorf("alert %s came back as %q", rec.Alert.Key, rec.Alert.Title)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alerts created (-want +got):\n%s", diff)
	}
	ds, err := s.PendingDeliveries(ctx, "slack", testNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sent []string // alert keys of the pending deliveries, in sending order
	for _, d := range ds {
		if d.Alert.Key == key(20) {
			continue // from the run before
		}
		sent = append(sent, d.Alert.Key)
		if d.Channel != chanOf[d.Alert.Key] {
			t.Errorf("delivery of %s goes to %s", d.Alert.Key, d.Channel)
		}
	}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("deliveries, in id order (-want +got):\n%s", diff)
	}
	if again, err := s.CommitRun(ctx, run); err != nil || len(again) != 0 {
		t.Errorf("the same run again created %d alerts (err %v), want none", len(again), err)
	}
}

// contractRecordSent: a batch of confirmed sends, written several to a
// statement, records each one's message id and time; a batch naming a
// delivery that does not exist records none of them.
func contractRecordSent(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	const n = 70 // statements of 64, 4, 1 and 1 rows
	var channels []string
	for i := range n {
		channels = append(channels, fmt.Sprintf("slack:C%07d", i))
	}
	if _, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow,
		Alerts: []bot.NewAlert{{Alert: mkAlert("deadlines/ev/reminder@x", "ev"), Channels: channels}}}); err != nil {
		t.Fatal(err)
	}
	ds := mustPending(t, s, testNow)
	if len(ds) != n {
		t.Fatalf("%d deliveries pending, want %d", len(ds), n)
	}
	// Claims of many, several to a statement: those whose channel the
	// owner does not hold are refused, the rest claimed.
	ids := deliveryIDs(ds)
	if err := s.ClaimDeliveries(ctx, "p2", testNow, ids[:n/2]); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimDeliveries(ctx, "p1", testNow, ids[n/2:]); err != nil {
		t.Fatal(err)
	}
	refused, err := s.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "p1", At: testNow.Add(time.Second), Claims: ids})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids[:n/2], refused); diff != "" {
		t.Errorf("claims refused (-want +got):\n%s", diff)
	}
	for _, d := range mustPending(t, s, testNow) {
		if want := map[bool]string{true: "p2", false: "p1"}[d.ID < ids[n/2]]; d.ClaimOwner != want {
			t.Errorf("delivery %d claimed by %q, want %q", d.ID, d.ClaimOwner, want)
		}
	}
	var sent []bot.SentDelivery
	for i, d := range ds {
		sent = append(sent, bot.SentDelivery{ID: d.ID, MessageID: fmt.Sprintf("m%d", i), At: testNow.Add(time.Duration(i) * time.Millisecond)})
	}
	missing := ds[n-1].ID + 1000
	_, err = s.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "p1", At: testNow,
		Sent: append(slices.Clone(sent[:n-1]), bot.SentDelivery{ID: missing, MessageID: "gone", At: testNow})})
	wantNotFound(t, "RecordDeliveries naming a missing delivery", err, fmt.Sprintf("delivery %d", missing))
	if left := mustPending(t, s, testNow); len(left) != n {
		t.Fatalf("%d deliveries pending after the failed batch, want all %d: it wrote some", len(left), n)
	}
	// In any order (the store sorts them), one of them twice (marked once).
	slices.Reverse(sent)
	if _, err := s.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "p1", At: testNow, Sent: append(slices.Clone(sent), sent[3])}); err != nil {
		t.Fatal(err)
	}
	if left := mustPending(t, s, testNow); len(left) != 0 {
		t.Errorf("%d deliveries still pending after their sends were recorded", len(left))
	}
	for _, sd := range sent {
		d, err := s.Delivery(ctx, sd.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != bot.DeliverySent || d.MessageID != sd.MessageID || !d.SentAt.Equal(sd.At) || d.Attempts != 1 {
			t.Errorf("delivery %d = %s, message %q, sent %v, %d attempts; want sent, %q, %v, 1",
				d.ID, d.State, d.MessageID, d.SentAt, d.Attempts, sd.MessageID, sd.At)
		}
	}
}

func plannedIDs(ps []watchers.PlannedEvent) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Event.ID)
	}
	return out
}

func contractDueEvents(t *testing.T, s backend) {
	ctx := testCtx(t)
	e1 := mkEvent(t, "e1", "2025-03-31", "japan")
	e1.Changes = []watchers.Change{{At: testNow.Add(-time.Hour), Note: "confirmed", By: "config"}}
	e2 := mkEvent(t, "e2", "2025-07", "us")
	for _, ev := range []bot.EventRecord{e1, e2} {
		if err := s.SaveEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveWatcher(ctx, mkWatcher("feeds", "feed")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	due := func(w string, now time.Time) []watchers.PlannedEvent {
		t.Helper()
		ps, err := s.DueEvents(ctx, w, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	// A smaller batch takes the first of them (a burst's first check).
	if ps, err := s.DueEvents(ctx, "deadlines", testNow, 1); err != nil || len(ps) != 1 || ps[0].Event.ID != e1.Event.ID {
		t.Errorf("DueEvents(limit 1) = %v, %v; want %s only", plannedIDs(ps), err, e1.Event.ID)
	}
	// The next batch of a run reads on from the last event of the one
	// before, and ends after the last.
	after := func(last watchers.PlannedEvent, now time.Time, limit int) []watchers.PlannedEvent {
		t.Helper()
		ps, err := s.DueEventsAfter(ctx, "deadlines", now, last, limit)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	if diff := cmp.Diff([]watchers.PlannedEvent{{Event: e2.Event}}, after(watchers.PlannedEvent{Event: e1.Event}, testNow, 1)); diff != "" {
		t.Errorf("DueEventsAfter(e1) (-want +got):\n%s", diff)
	}
	if ps := after(watchers.PlannedEvent{Event: e2.Event}, testNow, 0); len(ps) != 0 {
		t.Errorf("DueEventsAfter(e2) = %v, want none", plannedIDs(ps))
	}
	// A new countdown watcher looks at every event, never looked at before.
	got := due("deadlines", testNow)
	want := []watchers.PlannedEvent{{Event: e1.Event}, {Event: e2.Event}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DueEvents of a new countdown watcher (-want +got):\n%s", diff)
	}
	if ps := due("feeds", testNow); len(ps) != 0 {
		t.Errorf("DueEvents of a feed watcher = %v, want none", plannedIDs(ps))
	}

	next := testNow.Add(time.Hour)
	if _, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow, Next: []watchers.NextPlan{
		{Event: "e1", At: next}, {Event: "e2"}, {Event: "deleted-meanwhile", At: next},
	}}); err != nil {
		t.Fatal(err)
	}
	if ps := due("deadlines", testNow); len(ps) != 0 {
		t.Errorf("DueEvents right after planning = %v, want none", plannedIDs(ps))
	}
	got = due("deadlines", next)
	if diff := cmp.Diff([]watchers.PlannedEvent{{Event: e1.Event, Since: next}}, got); diff != "" {
		t.Errorf("DueEvents at the planned time (-want +got):\n%s", diff)
	}
	if ids := plannedIDs(due("deadlines", testNow.AddDate(50, 0, 0))); !cmp.Equal(ids, []string{"e1"}) {
		t.Errorf("DueEvents far ahead = %v, want [e1] (e2 waits for a change)", ids)
	}

	// A change makes the event due again at once.
	e2.Title = "changed"
	if err := s.SaveEvent(ctx, e2); err != nil {
		t.Fatal(err)
	}
	got = due("deadlines", testNow)
	if diff := cmp.Diff([]watchers.PlannedEvent{{Event: e2.Event}}, got); diff != "" {
		t.Errorf("DueEvents after a change (-want +got):\n%s", diff)
	}
	// Due in the order (Since, id): e2 (changed) before e1 (planned), and
	// a run reads on in that order.
	if ids := plannedIDs(due("deadlines", next)); !cmp.Equal(ids, []string{"e2", "e1"}) {
		t.Errorf("DueEvents at the planned time after a change = %v, want [e2 e1]", ids)
	}
	if diff := cmp.Diff([]watchers.PlannedEvent{{Event: e1.Event, Since: next}}, after(got[0], next, 0)); diff != "" {
		t.Errorf("DueEventsAfter(e2 changed) (-want +got):\n%s", diff)
	}
	if ps := after(watchers.PlannedEvent{Event: e1.Event, Since: next}, next, 0); len(ps) != 0 {
		t.Errorf("DueEventsAfter(e1 planned) = %v, want none", plannedIDs(ps))
	}
	// So is an event created after the watcher, and events a run saves.
	e3 := mkEvent(t, "e3", "2025-09")
	if _, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "feeds", At: testNow, Events: []bot.EventRecord{e3}}); err != nil {
		t.Fatal(err)
	}
	if stored, err := s.Event(ctx, "e3"); err != nil || !cmp.Equal(e3, stored) {
		t.Errorf("event saved by CommitRun: %v; diff %s", err, cmp.Diff(e3, stored))
	}
	if ids := plannedIDs(due("deadlines", testNow)); !cmp.Equal(ids, []string{"e2", "e3"}) {
		t.Errorf("DueEvents after CommitRun saved e3 = %v, want [e2 e3]", ids)
	}
	if err := s.DeleteEvent(ctx, "e3"); err != nil {
		t.Fatal(err)
	}
	if ids := plannedIDs(due("deadlines", testNow)); !cmp.Equal(ids, []string{"e2"}) {
		t.Errorf("DueEvents after deleting e3 = %v, want [e2]", ids)
	}

	// Removing the watcher drops its schedule; re-adding starts afresh.
	if err := s.DeleteWatcher(ctx, "deadlines"); err != nil {
		t.Fatal(err)
	}
	if ps := due("deadlines", testNow.AddDate(50, 0, 0)); len(ps) != 0 {
		t.Errorf("DueEvents of a deleted watcher = %v, want none", plannedIDs(ps))
	}
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	if ids := plannedIDs(due("deadlines", testNow)); !cmp.Equal(ids, []string{"e1", "e2"}) {
		t.Errorf("DueEvents of a re-added watcher = %v, want [e1 e2]", ids)
	}
}

// contractClaims: a claim records its owner and keeps its first time;
// PendingDeliveries shows each delivery's claim, so a worker can tell a
// delivery another process may have posted; sent deliveries are not
// claimed.
func contractClaims(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow, Alerts: []bot.NewAlert{
		{Alert: mkAlert("k/1", "ev"), Channels: []string{"slack:C1", "slack:C2"}},
		{Alert: mkAlert("k/2", "ev"), Channels: []string{"slack:C1"}}}}); err != nil {
		t.Fatal(err)
	}
	type claim struct {
		Channel, Owner string
		At             time.Time
	}
	later := testNow.Add(24 * time.Hour)
	claims := func() ([]claim, []int64) {
		t.Helper()
		ds, err := s.PendingDeliveries(ctx, "slack", later, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []claim
		var ids []int64
		for _, d := range ds {
			out = append(out, claim{d.Channel, d.ClaimOwner, d.ClaimedAt})
			ids = append(ids, d.ID)
		}
		return out, ids
	}
	got, ids := claims()
	want := []claim{{"slack:C1", "", time.Time{}}, {"slack:C2", "", time.Time{}}, {"slack:C1", "", time.Time{}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("claims before any (-want +got):\n%s", diff)
	}
	t1, t2 := testNow.Add(time.Second), testNow.Add(time.Minute)
	if err := s.ClaimDeliveries(ctx, "p1", t1, ids[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimDeliveries(ctx, "p1", t2, ids); err != nil {
		t.Fatal(err)
	}
	got, _ = claims()
	want = []claim{{"slack:C1", "p1", t1}, {"slack:C2", "p1", t2}, {"slack:C1", "p1", t2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims by p1, the first kept at its first time (-want +got):\n%s", diff)
	}
	// Another owner (a restarted process) takes them over; the times stay.
	if err := s.ClaimDeliveries(ctx, "p2", later, ids); err != nil {
		t.Fatal(err)
	}
	got, _ = claims()
	want = []claim{{"slack:C1", "p2", t1}, {"slack:C2", "p2", t2}, {"slack:C1", "p2", t2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims taken over by p2 (-want +got):\n%s", diff)
	}
	// A sent delivery is not claimed again.
	if err := s.MarkSent(ctx, ids[1], "1.2", t2); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimDeliveries(ctx, "p3", later, ids); err != nil {
		t.Fatal(err)
	}
	hist, err := s.ChannelHistory(ctx, "slack:C2", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Delivery.ClaimOwner != "p2" {
		t.Errorf("sent delivery after another claim: %+v, want p2's claim kept", hist)
	}
	if err := s.ClaimDeliveries(ctx, "p3", later, nil); err != nil {
		t.Errorf("ClaimDeliveries of none: %v", err)
	}
}

func contractDeliveries(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	t0, t1 := testNow.Add(-time.Hour), testNow.Add(-time.Minute)
	a1, a2 := mkAlert("k/1", "ev"), mkAlert("k/2", "ev")
	r1, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: t0, Alerts: []bot.NewAlert{
		{Alert: a1, Channels: []string{"slack:C1", "slack:C2", "discord:9"}}}})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: t1, Alerts: []bot.NewAlert{
		{Alert: a2, Channels: []string{"slack:C1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	pend := func(platform string, now time.Time, limit int) []bot.DeliveryRecord {
		t.Helper()
		ds, err := s.PendingDeliveries(ctx, platform, now, limit)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	all := pend("slack", t1, 0)
	if len(all) != 3 {
		t.Fatalf("PendingDeliveries(slack, t1) = %d deliveries, want 3", len(all))
	}
	mk := func(id, alertID int64, a watchers.Alert, ch string, next time.Time) bot.DeliveryRecord {
		p, _, _ := bot.SplitAddress(ch)
		return bot.DeliveryRecord{ID: id, AlertID: alertID, Alert: a, Channel: ch, Platform: p,
			State: bot.DeliveryPending, NextTry: next, Created: testNow}
	}
	d1 := mk(all[0].ID, r1[0].ID, a1, "slack:C1", t0)
	d2 := mk(all[1].ID, r1[0].ID, a1, "slack:C2", t0)
	d4 := mk(all[2].ID, r2[0].ID, a2, "slack:C1", t1)
	if diff := cmp.Diff([]bot.DeliveryRecord{d1, d2, d4}, all); diff != "" {
		t.Errorf("PendingDeliveries(slack, t1) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bot.DeliveryRecord{d1, d2}, pend("slack", t0, 0)); diff != "" {
		t.Errorf("PendingDeliveries(slack, t0) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bot.DeliveryRecord{d1}, pend("slack", t1, 1)); diff != "" {
		t.Errorf("PendingDeliveries(limit 1) (-want +got):\n%s", diff)
	}
	if ds := pend("slack", t0.Add(-time.Millisecond), 0); len(ds) != 0 {
		t.Errorf("PendingDeliveries before any is due = %d, want 0", len(ds))
	}
	disc := pend("discord", t1, 0)
	if len(disc) != 1 || disc[0].Channel != "discord:9" || disc[0].Platform != "discord" {
		t.Fatalf("PendingDeliveries(discord) = %+v", disc)
	}
	nextDelivery := func(platform string, want time.Time, wantOK bool) {
		t.Helper()
		got, ok, err := s.NextDelivery(ctx, bot.DueClaim{Platform: platform, Owner: "p1"})
		if err != nil || ok != wantOK || !got.Equal(want) {
			t.Errorf("NextDelivery(%s) = %v, %v, %v; want %v, %v", platform, got, ok, err, want, wantOK)
		}
	}
	nextDelivery("slack", t0, true)
	nextDelivery("console", time.Time{}, false)

	retryAt := testNow.Add(time.Hour)
	if err := s.MarkRetry(ctx, d1.ID, 1, retryAt, "ratelimited"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, d2.ID, "1700000000.000100", testNow); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, disc[0].ID, 3, "channel_not_found"); err != nil {
		t.Fatal(err)
	}
	// d4 waits behind d1, the earlier delivery of its channel, until d1's
	// retry is due: a channel's deliveries go in order.
	if ds := pend("slack", testNow, 0); len(ds) != 0 {
		t.Errorf("PendingDeliveries while the channel's first delivery waits for its retry = %+v, want none", ds)
	}
	d1.Attempts, d1.NextTry, d1.LastError = 1, retryAt, "ratelimited"
	if diff := cmp.Diff([]bot.DeliveryRecord{d1, d4}, pend("slack", retryAt, 0)); diff != "" {
		t.Errorf("PendingDeliveries at the retry time (-want +got):\n%s", diff)
	}
	nextDelivery("slack", retryAt, true)
	nextDelivery("discord", time.Time{}, false)
	counts, err := s.DeliveryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{bot.DeliveryPending: 2, bot.DeliverySent: 1, bot.DeliveryFailed: 1}, counts); diff != "" {
		t.Errorf("DeliveryCounts (-want +got):\n%s", diff)
	}

	d2.State, d2.MessageID, d2.SentAt, d2.Attempts = bot.DeliverySent, "1700000000.000100", testNow, 1
	hist, err := s.ChannelHistory(ctx, "slack:C2", 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.HistoryItem{{Alert: a1, Delivery: d2}}, hist); diff != "" {
		t.Errorf("ChannelHistory(slack:C2) (-want +got):\n%s", diff)
	}
	hist, err = s.ChannelHistory(ctx, "slack:C1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.HistoryItem{{Alert: a2, Delivery: d4}, {Alert: a1, Delivery: d1}}, hist); diff != "" {
		t.Errorf("ChannelHistory(slack:C1), newest first (-want +got):\n%s", diff)
	}
	if h, _ := s.ChannelHistory(ctx, "slack:C1", 1); len(h) != 1 || h[0].Delivery.ID != d4.ID {
		t.Errorf("ChannelHistory(n=1) = %+v, want only the newest", h)
	}
	if h, _ := s.ChannelHistory(ctx, "slack:NONE", 10); len(h) != 0 {
		t.Errorf("ChannelHistory of an unknown channel = %+v", h)
	}

	wantNotFound(t, "MarkSent(missing)", s.MarkSent(ctx, 999999, "x", testNow), "delivery 999999")
	wantNotFound(t, "MarkRetry(missing)", s.MarkRetry(ctx, 999999, 1, testNow, "x"), "delivery 999999")
	wantNotFound(t, "MarkFailed(missing)", s.MarkFailed(ctx, 999999, 1, "x"), "delivery 999999")
}

func contractSubscriptions(t *testing.T, s backend) {
	ctx := testCtx(t)
	subs := []bot.Subscription{
		{Channel: "slack:C1", Target: "tag:budget", Origin: "config", Created: testNow.Add(-time.Hour)},
		{Channel: "discord:9", Target: "all", Origin: "chat"},
		{Channel: "slack:C1", Target: "event:summit", Origin: "chat"},
	}
	for _, sub := range subs {
		added, err := s.Subscribe(ctx, sub)
		if err != nil || !added {
			t.Fatalf("Subscribe(%+v) = %v, %v; want true", sub, added, err)
		}
	}
	dup := subs[0]
	dup.Origin = "chat"
	if added, err := s.Subscribe(ctx, dup); err != nil || added {
		t.Errorf("Subscribe of an existing one = %v, %v; want false", added, err)
	}
	if _, err := s.Subscribe(ctx, bot.Subscription{Channel: "slack:C1"}); err == nil {
		t.Error("Subscribe without a target succeeded")
	}
	got, err := s.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subs[1].Created, subs[2].Created = testNow, testNow
	if diff := cmp.Diff([]bot.Subscription{subs[1], subs[2], subs[0]}, got); diff != "" {
		t.Errorf("Subscriptions (-want +got):\n%s", diff)
	}
	contractSubscriptionsFor(t, s, subs)
	if removed, err := s.Unsubscribe(ctx, "slack:C1", "tag:budget"); err != nil || !removed {
		t.Errorf("Unsubscribe = %v, %v; want true", removed, err)
	}
	if removed, err := s.Unsubscribe(ctx, "slack:C1", "tag:budget"); err != nil || removed {
		t.Errorf("Unsubscribe again = %v, %v; want false", removed, err)
	}
	if got, _ := s.Subscriptions(ctx); len(got) != 2 {
		t.Errorf("Subscriptions after unsubscribe = %+v", got)
	}
}

// contractSubscriptionsFor checks SubscriptionsFor against subs, the
// subscriptions stored: any order, repeated and unknown targets, and more
// targets than one statement's list holds.
func contractSubscriptionsFor(t *testing.T, s backend, subs []bot.Subscription) {
	ctx := testCtx(t)
	tr, ok := s.(bot.TargetReader)
	if !ok {
		t.Fatal("the backend does not read subscriptions by target (bot.TargetReader)")
	}
	byChannelTarget := func(a, b bot.Subscription) int {
		if c := strings.Compare(a.Channel, b.Channel); c != 0 {
			return c
		}
		return strings.Compare(a.Target, b.Target)
	}
	got, err := tr.SubscriptionsFor(ctx, []string{"event:summit", "all", "tag:none", "all"})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, byChannelTarget)
	if diff := cmp.Diff([]bot.Subscription{subs[1], subs[2]}, got); diff != "" {
		t.Errorf("SubscriptionsFor(event:summit, all, tag:none, all) (-want +got):\n%s", diff)
	}
	if got, err := tr.SubscriptionsFor(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("SubscriptionsFor(none) = %+v, %v; want none", got, err)
	}
	// 300 channels, each following its own event, and a list of 301
	// targets (one unknown): two statements, the second padded.
	var want []bot.Subscription
	targets := []string{"event:unknown"}
	for i := range 300 {
		sub := bot.Subscription{Channel: fmt.Sprintf("slack:CE%03d", i), Target: fmt.Sprintf("event:e%03d", i), Origin: "chat", Created: testNow}
		if _, err := s.Subscribe(ctx, sub); err != nil {
			t.Fatal(err)
		}
		want = append(want, sub)
		targets = append(targets, sub.Target)
	}
	got, err = tr.SubscriptionsFor(ctx, targets)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, byChannelTarget)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SubscriptionsFor(301 targets) (-want +got):\n%s", diff)
	}
	for _, sub := range want {
		if _, err := s.Unsubscribe(ctx, sub.Channel, sub.Target); err != nil {
			t.Fatal(err)
		}
	}
}

func contractMutes(t *testing.T, s backend) {
	ctx := testCtx(t)
	live := bot.Mute{Channel: "slack:C1", Target: "tag:budget", Until: testNow.Add(time.Hour), By: "slack:U1"}
	expired := bot.Mute{Channel: "slack:C1", Target: "all", Until: testNow.Add(-time.Minute), By: "slack:U1"}
	other := bot.Mute{Channel: "discord:9", Target: "watcher:feeds", Until: testNow.Add(24 * time.Hour), By: "discord:1"}
	for _, m := range []bot.Mute{live, expired, other} {
		if err := s.Mute(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Mute(ctx, bot.Mute{Channel: "slack:C1", Target: "all"}); err == nil {
		t.Error("Mute without an end time succeeded")
	}
	got, err := s.Mutes(ctx, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.Mute{other, live}, got); diff != "" {
		t.Errorf("Mutes(now) (-want +got):\n%s", diff)
	}
	if got, _ := s.Mutes(ctx, live.Until); !cmp.Equal(got, []bot.Mute{other}) {
		t.Errorf("Mutes at the end of a mute = %+v, want only the other", got)
	}
	longer := live
	longer.Until, longer.By = testNow.Add(48*time.Hour), "slack:U2"
	if err := s.Mute(ctx, longer); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Mutes(ctx, testNow)
	if diff := cmp.Diff([]bot.Mute{other, longer}, got); diff != "" {
		t.Errorf("Mutes after extending (-want +got):\n%s", diff)
	}
	if removed, err := s.Unmute(ctx, "slack:C1", "tag:budget"); err != nil || !removed {
		t.Errorf("Unmute = %v, %v; want true", removed, err)
	}
	if removed, err := s.Unmute(ctx, "slack:C1", "tag:budget"); err != nil || removed {
		t.Errorf("Unmute again = %v, %v; want false", removed, err)
	}
}

func contractAudit(t *testing.T, s backend) {
	ctx := testCtx(t)
	es := []bot.AuditEntry{
		{At: testNow.Add(-time.Hour), Who: "config", Action: "event add", Target: "jp-budget", After: `{"due":"2025-03-31"}`},
		{Who: "slack:U1", Channel: "slack:C1", Action: "event set", Target: "jp-budget", Before: `{"due":"2025-03-31"}`, After: `{"due":"2025-03-28"}`},
		{Who: "slack:U9", Channel: "slack:C1", Action: "denied: watcher remove", Target: "feeds"},
	}
	for _, e := range es {
		if err := s.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Audit(ctx, bot.AuditEntry{Who: "x"}); err == nil {
		t.Error("Audit without an action succeeded")
	}
	got, err := s.AuditLog(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID <= got[1].ID {
		t.Fatalf("AuditLog(2) = %+v, want two entries newest first", got)
	}
	es[1].At, es[2].At = testNow, testNow
	es[2].ID, es[1].ID = got[0].ID, got[1].ID
	if diff := cmp.Diff([]bot.AuditEntry{es[2], es[1]}, got); diff != "" {
		t.Errorf("AuditLog(2) (-want +got):\n%s", diff)
	}
	if all, _ := s.AuditLog(ctx, 0); len(all) != 3 || all[2].Action != "event add" || !all[2].At.Equal(es[0].At) {
		t.Errorf("AuditLog(0) = %+v, want all three", all)
	}
}

// contractScheduledPosts checks posts kept for later (DESIGN §9 "Remind
// again", personal reminders): one per key, not a delivery until due,
// then one alert with one delivery, once.
func contractScheduledPosts(t *testing.T, s backend) {
	ctx := testCtx(t)
	at1, at2 := testNow.Add(time.Hour), testNow.Add(2*time.Hour)
	post := func(key, event, channel, owner string, at time.Time) bot.ScheduledPost {
		a := mkAlert(key, event)
		a.At = at
		return bot.ScheduledPost{Alert: a, Channel: channel, Owner: owner, Created: testNow}
	}
	p1 := post("k/1/again:slack:C1@1", "ev", "slack:C1", "slack:U1", at1)
	p2 := post("personal/slack:dm:U1/ev/reminder/3d@x", "ev", "slack:dm:U1", "slack:U1", at2)
	p3 := post("personal/slack:dm:U1/other/reminder/3d@x", "other", "slack:dm:U1", "slack:U1", at2.Add(time.Minute))
	for _, p := range []bot.ScheduledPost{p1, p2, p3} {
		added, err := s.SchedulePost(ctx, p)
		if err != nil || !added {
			t.Fatalf("SchedulePost(%s) = %v, %v; want added", p.Alert.Key, added, err)
		}
	}
	if added, err := s.SchedulePost(ctx, p1); err != nil || added {
		t.Fatalf("SchedulePost(same key) = %v, %v; want not added", added, err)
	}
	if _, err := s.SchedulePost(ctx, post("k/bad", "ev", "slack:dm:u1", "slack:U1", at1)); err == nil {
		t.Error("SchedulePost to a bad address: no error")
	}
	if at, ok, err := s.NextPost(ctx, "slack"); err != nil || !ok || !at.Equal(at1) {
		t.Errorf("NextPost(slack) = %v, %v, %v; want %v", at, ok, err, at1)
	}
	if _, ok, err := s.NextPost(ctx, "discord"); err != nil || ok {
		t.Errorf("NextPost(discord) = %v, %v; want none", ok, err)
	}
	got, err := s.ScheduledPosts(ctx, "slack:U1", "slack:dm:U1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.ScheduledPost{p2, p3}, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("ScheduledPosts (-want +got):\n%s", diff)
	}
	evPosts, err := s.EventPosts(ctx, "ev")
	if err != nil {
		t.Fatal(err)
	}
	if len(evPosts) != 2 || evPosts[0].Alert.Key != p1.Alert.Key || evPosts[1].Alert.Key != p2.Alert.Key || evPosts[1].Owner != "slack:U1" {
		t.Errorf("EventPosts(ev) = %+v, want p1 then p2", evPosts)
	}
	// Deleted by key, and scheduled again.
	if ok, err := s.DeletePost(ctx, p2.Alert.Key); err != nil || !ok {
		t.Fatalf("DeletePost = %v, %v", ok, err)
	}
	if ok, err := s.DeletePost(ctx, p2.Alert.Key); err != nil || ok {
		t.Fatalf("DeletePost again = %v, %v; want false", ok, err)
	}
	if added, err := s.SchedulePost(ctx, p2); err != nil || !added {
		t.Fatalf("SchedulePost after delete = %v, %v", added, err)
	}
	// Not a delivery before it is due: it would hold up the channel.
	if n, err := s.PostDue(ctx, "slack", testNow, nil); err != nil || n != 0 {
		t.Fatalf("PostDue(now) = %d, %v; want 0", n, err)
	}
	if ds := mustPending(t, s, at2); len(ds) != 0 {
		t.Fatalf("pending before PostDue: %d", len(ds))
	}
	// check sees each due post and may reword it.
	var checked []string
	reword := func(p bot.ScheduledPost) (bot.ScheduledPost, bool) {
		checked = append(checked, p.Alert.Key+" "+p.Channel+" "+p.Owner)
		p.Alert.Text = "reworded"
		return p, true
	}
	if n, err := s.PostDue(ctx, "slack", at1, reword); err != nil || n != 1 {
		t.Fatalf("PostDue(at1) = %d, %v; want 1", n, err)
	}
	if diff := cmp.Diff([]string{p1.Alert.Key + " slack:C1 slack:U1"}, checked); diff != "" {
		t.Errorf("check saw (-want +got):\n%s", diff)
	}
	ds := mustPending(t, s, at1)
	if len(ds) != 1 || ds[0].Channel != "slack:C1" || ds[0].Alert.Key != p1.Alert.Key || ds[0].Alert.Title != p1.Alert.Title || ds[0].Alert.Text != "reworded" {
		t.Fatalf("pending after PostDue = %+v, want one delivery of %s to slack:C1", ds, p1.Alert.Key)
	}
	d, err := s.Delivery(ctx, ds[0].ID)
	if err != nil || d.Alert.Key != p1.Alert.Key || d.Channel != "slack:C1" {
		t.Fatalf("Delivery(%d) = %+v, %v", ds[0].ID, d, err)
	}
	_, err = s.Delivery(ctx, ds[0].ID+1000)
	wantNotFound(t, "Delivery(unknown)", err, "")
	// Once posted, the same key is not scheduled again.
	if added, err := s.SchedulePost(ctx, p1); err != nil || added {
		t.Fatalf("SchedulePost(posted key) = %v, %v; want not added", added, err)
	}
	if n, err := s.PostDue(ctx, "slack", at1, nil); err != nil || n != 0 {
		t.Fatalf("PostDue again = %d, %v; want 0", n, err)
	}
	// Cancel by event, then every one of the owner's.
	if n, err := s.CancelPosts(ctx, "slack:U2", "slack:dm:U1", ""); err != nil || n != 0 {
		t.Fatalf("CancelPosts(another owner) = %d, %v; want 0", n, err)
	}
	if n, err := s.CancelPosts(ctx, "slack:U1", "slack:dm:U1", "ev"); err != nil || n != 1 {
		t.Fatalf("CancelPosts(ev) = %d, %v; want 1", n, err)
	}
	// A post check refuses is dropped, not delivered.
	if n, err := s.PostDue(ctx, "slack", at2, func(bot.ScheduledPost) (bot.ScheduledPost, bool) { return bot.ScheduledPost{}, false }); err != nil || n != 0 {
		t.Fatalf("PostDue(refused) = %d, %v; want 0", n, err)
	}
	if ds := mustPending(t, s, at2.Add(time.Hour)); len(ds) != 1 {
		t.Fatalf("%d pending after a refused post, want the one before", len(ds))
	}
	if n, err := s.CancelPosts(ctx, "slack:U1", "slack:dm:U1", ""); err != nil || n != 1 {
		t.Fatalf("CancelPosts(all) = %d, %v; want 1", n, err)
	}
	if _, ok, err := s.NextPost(ctx, "slack"); err != nil || ok {
		t.Errorf("NextPost after cancelling = %v, %v; want none", ok, err)
	}
}

func mustPending(t *testing.T, s backend, now time.Time) []bot.DeliveryRecord {
	t.Helper()
	ds, err := s.PendingDeliveries(testCtx(t), "slack", now, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}
