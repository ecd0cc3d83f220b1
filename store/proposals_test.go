package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// contractProposals: events keep their match words; ProposalEvents gives
// only those that have some, with their changes; a run records its
// proposals once, and a decided one (dismissed) is never reopened or
// overwritten by the same proposal made again; DecideProposal lets one
// decider win.
func contractProposals(t *testing.T, s backend) {
	ctx := testCtx(t)
	named := mkEvent(t, "upper-house-election-2025", "2025-07", "japan")
	named.Match = []string{"参院選", "Upper House election", "/参(議)?院選/i"}
	named.Changes = []watchers.Change{{At: testNow.Add(-time.Hour), Status: watchers.Tentative, Note: "expected", By: "config"}}
	named = materialize(t, named.Event)
	plain := mkEvent(t, "jp-budget", "2025-03-31", "budget")
	if err := s.SaveEvents(ctx, []bot.EventRecord{named, plain}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Event(ctx, named.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(named.Match, got.Match); diff != "" {
		t.Errorf("match words after a round trip (-want +got):\n%s", diff)
	}
	if got, err := s.Event(ctx, plain.ID); err != nil || got.Match != nil {
		t.Errorf("event without match words: Match = %#v, err %v; want nil", got.Match, err)
	}
	pe, err := s.ProposalEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pe) != 1 || pe[0].ID != named.ID || len(pe[0].Changes) != 1 || pe[0].Changes[0].Note != "expected" {
		t.Fatalf("ProposalEvents = %+v, want only %s with its change", pe, named.ID)
	}
	// Removing the words takes the event out.
	plainNamed := plain
	plainNamed.Match = []string{"予算"}
	if err := s.SaveEvent(ctx, plainNamed); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveEvent(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if pe, _ := s.ProposalEvents(ctx); len(pe) != 1 {
		t.Errorf("ProposalEvents after clearing jp-budget's words = %d events, want 1", len(pe))
	}

	if err := s.SaveWatcher(ctx, mkWatcher("crs-japan", "feed")); err != nil {
		t.Fatal(err)
	}
	prop := func(id, due, sentence string) bot.ProposalRecord {
		return bot.ProposalRecord{ID: id, Event: named.ID, Due: due, OldDue: "2025-07", Written: "7月20日", Sentence: sentence,
			Link: "https://example.org/news/1", Watcher: "crs-japan", AlertKey: "proposals/" + named.ID + "/date_proposal@" + due,
			State: bot.ProposalOpen}
	}
	p1, p2 := prop("p00000001", "2025-07-20", "参院選は7月20日投開票"), prop("p00000002", "2025-07-27", "参院選は7月27日投開票")
	commit := func(at time.Time, prs ...bot.ProposalRecord) {
		t.Helper()
		run := bot.RunRecord{Watcher: "crs-japan", At: at, UpdateState: true, State: []byte("s")}
		for _, p := range prs {
			a := mkAlert(p.AlertKey, p.Event)
			a.Kind = watchers.KindDateProposal
			run.Alerts = append(run.Alerts, bot.NewAlert{Alert: a, Channels: []string{"slack:CPROP"}})
		}
		run.Proposals = prs
		if _, err := s.CommitRun(ctx, run); err != nil {
			t.Fatal(err)
		}
	}
	commit(testNow.Add(-2*time.Minute), p1)
	commit(testNow.Add(-time.Minute), p2)
	gp, err := s.Proposal(ctx, p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	want1 := p1
	want1.Created = testNow
	if diff := cmp.Diff(want1, gp); diff != "" {
		t.Errorf("Proposal round trip (-want +got):\n%s", diff)
	}
	_, err = s.Proposal(ctx, "p99999999")
	wantNotFound(t, "Proposal of an unknown id", err, "p99999999")

	open, err := s.Proposals(ctx, bot.ProposalOpen, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 2 {
		t.Fatalf("open proposals = %+v, want 2", open)
	}
	if one, _ := s.Proposals(ctx, bot.ProposalOpen, 1); len(one) != 1 {
		t.Errorf("Proposals(n=1) = %d, want 1", len(one))
	}

	// A decision is made once: the second decider loses.
	decidedAt := testNow.Add(time.Minute)
	if ok, err := s.DecideProposal(ctx, p1.ID, bot.ProposalOpen, bot.ProposalDismissed, "slack:UADMIN", decidedAt); err != nil || !ok {
		t.Fatalf("DecideProposal open→dismissed = %v, %v; want true", ok, err)
	}
	if ok, err := s.DecideProposal(ctx, p1.ID, bot.ProposalOpen, bot.ProposalConfirmed, "slack:UOTHER", decidedAt); err != nil || ok {
		t.Fatalf("second DecideProposal = %v, %v; want false (already dismissed)", ok, err)
	}
	if ok, err := s.DecideProposal(ctx, "p99999999", bot.ProposalOpen, bot.ProposalDismissed, "slack:UADMIN", decidedAt); err != nil || ok {
		t.Errorf("DecideProposal of an unknown id = %v, %v; want false", ok, err)
	}
	// The same proposal made again (another item, another sentence) leaves
	// the dismissal alone: dismissals are remembered.
	again := p1
	again.Sentence = "参院選、7月20日に投開票へ"
	commit(testNow.Add(2*time.Minute), again)
	gp, err = s.Proposal(ctx, p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if gp.State != bot.ProposalDismissed || gp.DecidedBy != "slack:UADMIN" || !gp.DecidedAt.Equal(decidedAt) || gp.Sentence != p1.Sentence {
		t.Errorf("dismissed proposal after being made again = %+v, want it dismissed by slack:UADMIN with its first sentence", gp)
	}
	open, err = s.Proposals(ctx, bot.ProposalOpen, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].ID != p2.ID {
		t.Errorf("open proposals after the dismissal = %+v, want only %s", open, p2.ID)
	}
	all, err := s.Proposals(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Errorf("all proposals = %d, want 2 (decided ones stay)", len(all))
	}
	// Undoing a confirm whose change was not saved reopens it.
	if ok, err := s.DecideProposal(ctx, p2.ID, bot.ProposalOpen, bot.ProposalConfirmed, "slack:UADMIN", decidedAt); err != nil || !ok {
		t.Fatalf("confirm p2 = %v, %v", ok, err)
	}
	if ok, err := s.DecideProposal(ctx, p2.ID, bot.ProposalConfirmed, bot.ProposalOpen, "", time.Time{}); err != nil || !ok {
		t.Fatalf("reopen p2 = %v, %v", ok, err)
	}
	if gp, _ := s.Proposal(ctx, p2.ID); gp.State != bot.ProposalOpen || gp.DecidedBy != "" || !gp.DecidedAt.IsZero() {
		t.Errorf("reopened p2 = %+v, want open and undecided", gp)
	}
}
