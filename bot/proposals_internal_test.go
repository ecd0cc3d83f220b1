package bot

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// proposalPipeline is a pipeline over replay's memory with one event that
// has names, due in July 2025.
func proposalPipeline(t *testing.T) (*pipeline, time.Time) {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(`timezone: Asia/Tokyo
events:
  - id: upper-house-election-2025
    title: Upper House election
    due: 2025-07
    match: [参院選, Upper House election]
  - id: done
    title: Upper House election of 2025, held
    due: 2025-07
    status: happened
    match: [参院選]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 20, 10, 0, 0, 0, cfg.Location)
	st := newMemStore(cfg, now)
	return newPipeline(st, nil, nil, func() *Config { return cfg }, nil, NewMetrics(nil), slog.New(slog.DiscardHandler)), now
}

// TestProposalsFromPageAndCalendar: a page change proposes from its added
// lines only; a calendar entry proposes its own date when its title names
// the event; other kinds propose nothing; happened events get nothing.
func TestProposalsFromPageAndCalendar(t *testing.T) {
	p, now := proposalPipeline(t)
	ctx := context.Background()
	tests := []struct {
		name string
		res  watchers.Result
		want []string // proposed dues, in order
	}{
		{"page: added line", watchers.Result{Alerts: []watchers.Alert{{Kind: watchers.KindPageChanged, Watcher: "soumu", Link: "https://soumu.example/",
			Text: "-参院選の日程は未定。\n+参院選は7月20日に投票が行われます。"}}}, []string{"2025-07-20"}},
		{"page: removed line only", watchers.Result{Alerts: []watchers.Alert{{Kind: watchers.KindPageChanged, Watcher: "soumu",
			Text: "-参院選は7月20日に投票が行われます。\n+参院選の日程は未定。"}}}, nil},
		{"calendar: the entry's own date", watchers.Result{
			Alerts: []watchers.Alert{{Kind: watchers.KindCalendarChanged, Watcher: "gov-cal", Event: "cal-123", Title: "参院選 投開票",
				Text: "added: Sun 27 July 2025"}},
			Events: []watchers.Event{{ID: "cal-123", Title: "参院選 投開票", Due: "2025-07-27"}}}, []string{"2025-07-27"}},
		{"calendar: title does not name it", watchers.Result{
			Alerts: []watchers.Alert{{Kind: watchers.KindCalendarChanged, Watcher: "gov-cal", Event: "cal-124", Title: "閣議",
				Text: "added: 参院選 Sun 27 July 2025"}},
			Events: []watchers.Event{{ID: "cal-124", Title: "閣議", Due: "2025-07-27"}}}, nil},
		{"a reminder is no source", watchers.Result{Alerts: []watchers.Alert{{Kind: watchers.KindReminder, Text: "参院選は7月20日投開票"}}}, nil},
		{"one proposal per date in a run", watchers.Result{Alerts: []watchers.Alert{
			{Kind: watchers.KindFeedItem, Watcher: "news", Title: "参院選は7月20日投開票"},
			{Kind: watchers.KindFeedItem, Watcher: "news", Title: "Upper House election set for July 20, 2025"}}}, []string{"2025-07-20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alerts, recs := p.proposals(ctx, tt.res, now)
			if len(alerts) != len(recs) || len(recs) != len(tt.want) {
				t.Fatalf("got %d alerts, %d records (%+v), want %v", len(alerts), len(recs), recs, tt.want)
			}
			for i, r := range recs {
				if r.Due != tt.want[i] || r.Event != "upper-house-election-2025" || r.OldDue != "2025-07" || r.State != ProposalOpen {
					t.Errorf("proposal %d = %+v, want %s for upper-house-election-2025", i, r, tt.want[i])
				}
				a := alerts[i]
				if a.Kind != watchers.KindDateProposal || a.Key != r.AlertKey || a.Event != r.Event || len(proposalButtons(a)) != 2 {
					t.Errorf("alert %d = %+v", i, a)
				}
			}
		})
	}
}

// TestProposalRouting: a proposal goes to the proposals target only, and
// a mute of proposals (or all) holds it back.
func TestProposalRouting(t *testing.T) {
	subs := []Subscription{
		{Channel: "slack:CPROP", Target: ProposalsTarget}, {Channel: "slack:CALL", Target: "all"},
		{Channel: "slack:CEV", Target: "event:e"}, {Channel: "slack:CW", Target: "watcher:news"},
		{Channel: "slack:CMUTED", Target: ProposalsTarget},
	}
	mutes := []Mute{{Channel: "slack:CMUTED", Target: ProposalsTarget, Until: time.Date(2025, 6, 20, 11, 0, 0, 0, time.UTC)}}
	rt := newRouteTable(subs, mutes, nil)
	got := rt.channels(watchers.Alert{Kind: watchers.KindDateProposal, Watcher: "news", Event: "e", Tags: []string{"japan"}})
	if len(got) != 1 || got[0] != "slack:CPROP" {
		t.Errorf("proposal routed to %v, want only slack:CPROP", got)
	}
	got = rt.channels(watchers.Alert{Kind: watchers.KindFeedItem, Watcher: "news"})
	if len(got) != 2 {
		t.Errorf("feed item routed to %v, want all and the watcher's channel, not proposals", got)
	}
	if tgt, err := NormalizeTarget("Proposals"); err != nil || tgt != ProposalsTarget {
		t.Errorf("NormalizeTarget(Proposals) = %q, %v", tgt, err)
	}
}
