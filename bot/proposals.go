package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/propose"
)

// Proposal states: open until an admin confirms or dismisses it; a
// decided proposal stays, so the same date is never proposed again.
const (
	ProposalOpen      = "open"
	ProposalConfirmed = "confirmed"
	ProposalDismissed = "dismissed"
)

// ProposalsTarget is the subscription target of date_proposal alerts:
// they go to the channels subscribed to it, and to no other.
const ProposalsTarget = "proposals"

// ProposalRecord is a date a source proposed for an event (DESIGN §10).
type ProposalRecord struct {
	ID        string // propose.ID of Event and Due, e.g. "p1a2b3c4d"
	Event     string
	Due       string // the proposed due, a DESIGN §4 form
	OldDue    string // the event's due when proposed: a confirm checks it still is
	Written   string // the date as the source wrote it
	Sentence  string
	Link      string
	Watcher   string // the source watcher
	AlertKey  string
	State     string // ProposalOpen, ProposalConfirmed, ProposalDismissed
	Created   time.Time
	DecidedAt time.Time
	DecidedBy string
}

// ProposalStore keeps date proposals; the pipeline makes them with its
// run (RunRecord.Proposals), the commands list and decide them. Lookups
// of unknown ids return ErrNotFound (wrapped).
type ProposalStore interface {
	Proposal(ctx context.Context, id string) (ProposalRecord, error)
	// Proposals lists the proposals in state ("" for any), newest first,
	// at most n (n ≤ 0: all).
	Proposals(ctx context.Context, state string, n int) ([]ProposalRecord, error)
	// DecideProposal moves proposal id from state from to state to,
	// recording who and when; it reports false, changing nothing, when
	// the proposal is not in state from (someone decided it first).
	DecideProposal(ctx context.Context, id, from, to, by string, at time.Time) (bool, error)
}

// proposing reports whether alerts of kind carry a source's text that
// may propose dates.
func proposing(k watchers.Kind) bool {
	return k == watchers.KindFeedItem || k == watchers.KindPageChanged || k == watchers.KindCalendarChanged
}

// proposable is an event that sources may propose dates for, ready to
// decide on.
type proposable struct {
	rec   EventRecord
	ev    propose.Event
	state watchers.State
}

// proposals finds the dates that a source check's new alerts propose for
// events with match words, as date_proposal alerts and their records.
// Finding none is the usual outcome; a failure to read the events is
// logged and proposes nothing rather than failing the source's run.
func (p *pipeline) proposals(ctx context.Context, res watchers.Result, now time.Time) ([]watchers.Alert, []ProposalRecord) {
	if !slices.ContainsFunc(res.Alerts, func(a watchers.Alert) bool { return proposing(a.Kind) }) {
		return nil, nil
	}
	recs, err := p.store.ProposalEvents(ctx)
	if err != nil {
		p.log.Warn("date proposals: events not read", "err", err)
		return nil, nil
	}
	evs := p.proposables(recs, now)
	if len(evs) == 0 {
		return nil, nil
	}
	calendar := map[string]watchers.Event{}
	for _, ev := range res.Events {
		calendar[ev.ID] = ev
	}
	var alerts []watchers.Alert
	var props []ProposalRecord
	seen := map[string]bool{}
	for _, a := range res.Alerts {
		if !proposing(a.Kind) {
			continue
		}
		text, ref := sourceText(a, now)
		for _, pe := range evs {
			if a.Event == pe.rec.ID {
				continue // a calendar's own event is no source for itself
			}
			var prop propose.Proposal
			var ok bool
			if cev, isCal := calendar[a.Event]; isCal && a.Kind == watchers.KindCalendarChanged {
				// A calendar entry's date is exact: take it, not a date
				// read from the alert's wording.
				prop, ok = calendarProposal(pe, cev, now)
			} else {
				prop, ok = propose.Decide(pe.ev, propose.Input{Text: text, Ref: ref, Now: now})
			}
			if !ok {
				continue
			}
			key := propose.Key(pe.rec.ID, prop.Due.Raw)
			if seen[key] {
				continue
			}
			seen[key] = true
			rec := ProposalRecord{
				ID: propose.ID(pe.rec.ID, prop.Due.Raw), Event: pe.rec.ID, Due: prop.Due.Raw, OldDue: pe.state.Due.Raw,
				Written: prop.Written, Sentence: prop.Sentence, Link: a.Link, Watcher: a.Watcher, AlertKey: key,
				State: ProposalOpen, Created: now,
			}
			alerts = append(alerts, proposalAlert(rec, pe.state, prop.Due, now))
			props = append(props, rec)
		}
	}
	return alerts, props
}

// proposables compiles the names of events still open to a new date.
func (p *pipeline) proposables(recs []EventRecord, now time.Time) []proposable {
	var out []proposable
	for _, rec := range recs {
		names, err := watchers.CompileMatch(rec.Match)
		if err != nil || len(names) == 0 {
			// Names are checked when they are set; a bad one left in the
			// database proposes nothing.
			continue
		}
		loc, err := rec.Location(p.config().Location)
		if err != nil {
			continue
		}
		st, err := rec.StateAt(now, loc)
		if err != nil || st.Status == watchers.Happened || st.Status == watchers.Cancelled {
			continue
		}
		out = append(out, proposable{rec: rec, ev: propose.Event{ID: rec.ID, Due: st.Due, Names: names, Loc: loc}, state: st})
	}
	return out
}

// sourceText is the text of a source alert that may propose a date, and
// its reference date: a feed item's publication date, else now. A page
// change proposes from its added lines only: a removed line is what the
// page no longer says.
func sourceText(a watchers.Alert, now time.Time) (string, time.Time) {
	ref := now
	for _, f := range a.Fields {
		if f.Name == "Published" && !f.Time.IsZero() {
			ref = f.Time
		}
	}
	body := a.Text
	if a.Kind == watchers.KindPageChanged {
		var added []string
		for _, l := range strings.Split(a.Text, "\n") {
			if rest, ok := strings.CutPrefix(l, "+"); ok {
				added = append(added, rest)
			}
		}
		return strings.Join(added, "\n"), ref
	}
	return a.Title + "\n" + body, ref
}

// calendarProposal proposes a calendar entry's own date for pe when the
// entry's title names it.
func calendarProposal(pe proposable, cev watchers.Event, now time.Time) (propose.Proposal, bool) {
	d, err := watchers.ParseDue(cev.Due, pe.ev.Loc)
	if err != nil {
		return propose.Proposal{}, false
	}
	return propose.DecideDate(pe.ev, cev.Title, d, now)
}

// proposalAlert is the date_proposal alert of rec: old due → proposed
// due, the sentence and the source link, with Confirm and Dismiss
// buttons (MessageFor).
func proposalAlert(rec ProposalRecord, cur watchers.State, proposed watchers.Due, now time.Time) watchers.Alert {
	sentence, _ := watchers.Truncate(rec.Sentence, 600)
	return watchers.Alert{
		Key:     rec.AlertKey,
		Kind:    watchers.KindDateProposal,
		Watcher: rec.Watcher,
		Event:   rec.Event,
		At:      now,
		Title:   "Date proposal: " + cur.Title,
		Text:    fmt.Sprintf("%s → %s\n“%s”", cur.Due.Describe(), proposed.Describe(), sentence),
		Link:    rec.Link,
		Fields: []watchers.Field{
			{Name: "Event", Value: rec.Event},
			{Name: "Due now", Value: rec.OldDue},
			{Name: "Proposed", Value: rec.Due},
			{Name: "Proposal", Value: rec.ID},
		},
		Severity: watchers.Notice,
	}
}

// proposalButtons are a date_proposal's Confirm and Dismiss buttons; the
// proposal's id is derived from the alert's key (propose.Key).
func proposalButtons(a watchers.Alert) []Button {
	i := strings.LastIndexByte(a.Key, '@')
	if i < 0 || a.Event == "" || a.Key != propose.Key(a.Event, a.Key[i+1:]) {
		return nil
	}
	id := propose.ID(a.Event, a.Key[i+1:])
	return []Button{
		{Label: "Confirm", Command: "proposal confirm " + id, AdminOnly: true, ShownToAll: true},
		{Label: "Dismiss", Command: "proposal dismiss " + id, AdminOnly: true, ShownToAll: true},
	}
}

// proposalIDPattern is the form of a proposal id.
var proposalIDPattern = regexp.MustCompile(`^p[0-9a-f]{8}$`)

// getProposal reads the proposal a command names.
func (r *Router) getProposal(ctx context.Context, word string) (ProposalRecord, error) {
	if r.proposalStore == nil {
		return ProposalRecord{}, userErr("Date proposals are not kept by this bot.")
	}
	id := strings.ToLower(strings.TrimSpace(word))
	if !proposalIDPattern.MatchString(id) {
		return ProposalRecord{}, userErr("Bad proposal id %s: it is p and 8 hex digits, e.g. p1a2b3c4d; /alerts proposals lists the open ones.", echo(word))
	}
	pr, err := r.proposalStore.Proposal(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return pr, userErr("No proposal %s; /alerts proposals lists the open ones.", id)
	}
	return pr, err
}

// decided says who decided a proposal that is no longer open, and when.
func (c *call) decided(pr ProposalRecord) error {
	return userErr("Proposal %s is no longer open: it was %s by %s at %s.", pr.ID, pr.State, cmp.Or(pr.DecidedBy, "someone"), c.fmtTime(pr.DecidedAt))
}

// proposalsCmd lists the open proposals, newest first.
func (r *Router) proposalsCmd(ctx context.Context, c *call) (string, error) {
	if r.proposalStore == nil {
		return "", userErr("Date proposals are not kept by this bot.")
	}
	const limit = 20
	prs, err := r.proposalStore.Proposals(ctx, ProposalOpen, limit+1)
	if err != nil {
		return "", err
	}
	if len(prs) == 0 {
		return "No open date proposals. Sources propose dates for events with match words; subscribe a channel to proposals to get them as they come.", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Open date proposals (confirm or dismiss: /alerts proposal confirm|dismiss <id>, admins):\n")
	for i, pr := range prs {
		if i == limit {
			b.WriteString("… and more; decide these first.\n")
			break
		}
		sentence, _ := Truncate(pr.Sentence, 160)
		fmt.Fprintf(&b, "• %s %s: %s → %s — “%s”", pr.ID, pr.Event, pr.OldDue, pr.Due, sentence)
		if pr.Link != "" {
			fmt.Fprintf(&b, " %s", pr.Link)
		}
		fmt.Fprintf(&b, " (%s, %s)", cmp.Or(pr.Watcher, "source"), c.fmtTime(pr.Created))
		if stale := r.staleProposal(ctx, pr, c.now); stale != "" {
			fmt.Fprintf(&b, " — %s", stale)
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// staleProposal says why an open proposal can no longer be confirmed
// (its event was removed, or its due changed since), or "".
func (r *Router) staleProposal(ctx context.Context, pr ProposalRecord, now time.Time) string {
	rec, err := r.eventStore.Event(ctx, pr.Event)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "the event was removed since"
		}
		return ""
	}
	if err := Materialize(&rec, now, r.loc()); err != nil {
		return ""
	}
	if rec.Current.Due.Raw != pr.OldDue {
		return fmt.Sprintf("the event changed since: its due is now %s", rec.Current.Due.Raw)
	}
	return ""
}

// proposalConfirm appends the proposed date to the event as a change, its
// sentence and source as the note; the date watchers then alert changed
// as for any change.
func (r *Router) proposalConfirm(ctx context.Context, c *call) (string, error) {
	pr, err := r.getProposal(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	if pr.State != ProposalOpen {
		return "", c.decided(pr)
	}
	rec, err := r.eventStore.Event(ctx, pr.Event)
	if errors.Is(err, ErrNotFound) {
		return "", userErr("Proposal %s is no longer open: event %s was removed since. Dismiss it with /alerts proposal dismiss %s.", pr.ID, pr.Event, pr.ID)
	}
	if err != nil {
		return "", err
	}
	if err := Materialize(&rec, c.now, r.loc()); err != nil {
		return "", userErr("%v.", err)
	}
	if rec.Current.Due.Raw != pr.OldDue {
		return "", userErr("Proposal %s is no longer open: event %s changed since it was proposed (due %s then, %s now). Dismiss it, or set the date with /alerts event set %s due=%s.",
			pr.ID, pr.Event, pr.OldDue, rec.Current.Due.Raw, pr.Event, pr.Due)
	}
	loc, err := rec.Location(r.loc())
	if err != nil {
		return "", err
	}
	if _, err := watchers.ParseDue(pr.Due, loc); err != nil {
		return "", userErr("Proposal %s: %v.", pr.ID, err)
	}
	before := eventJSON(rec)
	note := "“" + pr.Sentence + "”"
	if pr.Link != "" {
		note += " — " + pr.Link
	}
	ch := watchers.Change{At: c.now, Due: pr.Due, By: c.req.User, Note: note}
	i := sort.Search(len(rec.Changes), func(i int) bool { return rec.Changes[i].At.After(ch.At) })
	rec.Changes = slices.Insert(rec.Changes, i, ch)
	rec.UpdatedAt, rec.UpdatedBy = c.now, c.req.User
	if err := Materialize(&rec, c.now, r.loc()); err != nil {
		return "", userErr("%v.", err)
	}
	// Claim the decision first: of two admins pressing Confirm at once,
	// one changes the event.
	if err := r.decide(ctx, c, pr, ProposalConfirmed); err != nil {
		return "", err
	}
	if err := r.eventStore.SaveEvent(ctx, rec); err != nil {
		if _, rerr := r.proposalStore.DecideProposal(ctx, pr.ID, ProposalConfirmed, ProposalOpen, "", time.Time{}); rerr != nil {
			r.log.Error("proposal left confirmed though its change was not saved", "proposal", pr.ID, "err", rerr)
		}
		return "", err
	}
	r.audit(ctx, c, "proposal confirm", pr.ID+" "+pr.Event, before, eventJSON(rec))
	r.schedules.EventsChanged()
	return fmt.Sprintf("Confirmed %s: %s is now %s [%s] (was %s). Its subscribers get the changed alert.",
		pr.ID, rec.Current.Title, DueText(dueIn(rec.Current, c.zone), c.now), rec.Current.Status, pr.OldDue), nil
}

// decide moves the open proposal pr to state for the caller; when
// another decision came first it says which.
func (r *Router) decide(ctx context.Context, c *call, pr ProposalRecord, state string) error {
	ok, err := r.proposalStore.DecideProposal(ctx, pr.ID, ProposalOpen, state, c.req.User, c.now)
	if err != nil || ok {
		return err
	}
	if now, err := r.proposalStore.Proposal(ctx, pr.ID); err == nil {
		return c.decided(now)
	}
	return userErr("Proposal %s is no longer open.", pr.ID)
}

// proposalDismiss closes a proposal; it stays recorded, so the same date
// is not proposed for the event again.
func (r *Router) proposalDismiss(ctx context.Context, c *call) (string, error) {
	pr, err := r.getProposal(ctx, c.args[0])
	if err != nil {
		return "", err
	}
	if pr.State != ProposalOpen {
		return "", c.decided(pr)
	}
	if err := r.decide(ctx, c, pr, ProposalDismissed); err != nil {
		return "", err
	}
	r.audit(ctx, c, "proposal dismiss", pr.ID+" "+pr.Event, ProposalOpen, ProposalDismissed+" "+pr.Due)
	return fmt.Sprintf("Dismissed %s: %s stays %s; %s will not be proposed for it again.", pr.ID, pr.Event, pr.OldDue, pr.Due), nil
}
