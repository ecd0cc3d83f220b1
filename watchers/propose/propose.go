// Package propose decides which date, if any, a source's text proposes
// for a tracked event (DESIGN §10): the text must name the event (one of
// its match words or regular expressions) and give, in the same sentence,
// a date that is not in the past, not coarser than the event's current
// due, and not the same date. It is pure: dates come from watchers/datex
// with the reference and zone the caller gives.
package propose

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/datex"
)

// Event is a tracked event as the proposer sees it.
type Event struct {
	ID    string
	Due   watchers.Due // the due date in force
	Names []*regexp.Regexp
	Loc   *time.Location // the event's zone: windows of the dates found
}

// Input is a source's text and the times that place its dates.
type Input struct {
	Text string
	// Ref is the reference date for dates written without a year: the
	// item's publication date, else now.
	Ref time.Time
	// Now is when the source was read; dates already over at Ref or at
	// Now are not proposed.
	Now time.Time
}

// Proposal is the date a text proposes for an event.
type Proposal struct {
	Due      watchers.Due // the proposed due date, in the event's zone
	Written  string       // the date as the text writes it
	Sentence string       // the sentence it is in
}

// maxNames bounds how many mentions of the event's names are looked at in
// one text, so a hostile page full of them costs a bounded amount.
const maxNames = 200

// Cues that say what a date in a sentence about the event is. A date with
// an "event" cue next to it is the event's own date (投開票, held on); a
// date with only a "side" cue is a step on the way (公示, deadline) or a
// bound (まで, until) and is not proposed. Japanese cues follow the date
// (7月20日投開票), English ones come before it (held on July 20).
var (
	eventCuesAfter  = []string{"投開票", "投票", "開票", "開催", "実施", "行われ", "行う", "開か", "予定", "決定", "会談"}
	sideCuesAfter   = []string{"公示", "告示", "締め切り", "締切", "期限", "発表", "まで", "以降", "以来", "前日", "翌日", "期日前"}
	eventCuesBefore = []string{"held", "take place", "takes place", "will be on", "scheduled", "set for", "vote", "voting on",
		"polling", "election day", "meet on", "summit on", "planned for"}
	sideCuesBefore = []string{"announce", "deadline", "registration", "campaign", "filing", "until", "since", "after ", "before ",
		"early voting", "公示", "告示"}
)

// How far from a date its cues are looked for, in bytes (a kanji is 3).
const (
	cueAfter  = 24
	cueBefore = 40
)

// Decide returns the date in.Text proposes for ev, if any. Of the dates
// in sentences that name the event, it keeps those still to come, no
// coarser than ev's due and different from it; a date marked only as a
// side step (公示, deadline) is dropped; of the rest, the one with an
// event cue wins, then the one nearest to a mention of the event, then
// the first.
func Decide(ev Event, in Input) (Proposal, bool) {
	if len(ev.Names) == 0 || in.Text == "" {
		return Proposal{}, false
	}
	var names [][]int
	for _, re := range ev.Names {
		names = append(names, re.FindAllStringIndex(in.Text, maxNames)...)
	}
	if len(names) == 0 {
		return Proposal{}, false
	}
	loc := ev.Loc
	if loc == nil {
		loc = ev.Due.Start.Location()
	}
	ms := datex.Extract(in.Text, datex.Options{Ref: in.Ref, Location: loc})
	text := in.Text
	best, bestScore, bestDist := -1, 0, 0
	for i, m := range ms {
		if !ev.namedIn(m.Context) || !ev.wants(m.Due, in) {
			continue
		}
		prevEnd, nextStart := 0, len(text)
		if i > 0 {
			prevEnd = ms[i-1].Offset + len(ms[i-1].Text)
		}
		if i+1 < len(ms) {
			nextStart = ms[i+1].Offset
		}
		end := m.Offset + len(m.Text)
		// The windows stop at the neighbouring dates, so a cue counts
		// for the date it is next to.
		lo := min(max(m.Offset-cueBefore, prevEnd, 0), m.Offset)
		hi := min(max(min(end+cueAfter, nextStart), end), len(text))
		before, after := strings.ToLower(text[lo:m.Offset]), text[end:hi]
		pos := hasAny(before, eventCuesBefore) || hasAny(after, eventCuesAfter)
		neg := hasAny(before, sideCuesBefore) || hasAny(after, sideCuesAfter)
		if neg && !pos {
			continue
		}
		score := 0
		if pos {
			score = 1
		}
		dist := nearest(names, m.Offset, end)
		if best < 0 || score > bestScore || score == bestScore && dist < bestDist {
			best, bestScore, bestDist = i, score, dist
		}
	}
	if best < 0 {
		return Proposal{}, false
	}
	m := ms[best]
	return Proposal{Due: m.Due, Written: m.Text, Sentence: m.Context}, true
}

// namedIn reports whether a sentence names the event.
func (ev Event) namedIn(sentence string) bool {
	for _, re := range ev.Names {
		if re.MatchString(sentence) {
			return true
		}
	}
	return false
}

// farOff is how far outside an event's window a proposed date may lie:
// farther, it is another occurrence of a recurring event (the next
// election, next year's budget), not a new date for this one.
const farOff = 366 * 24 * time.Hour

// wants reports whether d is worth proposing instead of ev's due: still
// to come, no coarser, a different window, and not far off it.
func (ev Event) wants(d watchers.Due, in Input) bool {
	if d.Precision > ev.Due.Precision {
		return false
	}
	if d.End.Before(ev.Due.Start.Add(-farOff)) || d.Start.After(ev.Due.End.Add(farOff)) {
		return false
	}
	if d.Raw == ev.Due.Raw || d.Start.Equal(ev.Due.Start) && d.End.Equal(ev.Due.End) && d.Precision == ev.Due.Precision {
		return false
	}
	for _, t := range []time.Time{in.Ref, in.Now} {
		if t.IsZero() {
			continue
		}
		if d.Precision == watchers.Instant && d.Start.Before(t) || d.Precision != watchers.Instant && !d.End.After(t) {
			return false
		}
	}
	return true
}

func hasAny(s string, cues []string) bool {
	for _, c := range cues {
		if strings.Contains(s, c) {
			return true
		}
	}
	return false
}

// nearest returns the byte distance from [start, end) to the closest
// mention in names.
func nearest(names [][]int, start, end int) int {
	best := -1
	for _, n := range names {
		d := 0
		switch {
		case n[1] <= start:
			d = start - n[1]
		case n[0] >= end:
			d = n[0] - end
		}
		if best < 0 || d < best {
			best = d
		}
	}
	return best
}

// ID is the short id of the proposal of due for event: the same proposal
// always gets the same id, short enough to type and to fit a Discord
// button's custom_id.
func ID(event, due string) string {
	sum := sha256.Sum256([]byte(event + "@" + due))
	return "p" + hex.EncodeToString(sum[:4])
}

// Key is the alert key of the proposal of due for event: one alert per
// event and date, whichever source proposes it first.
func Key(event, due string) string {
	return "proposals/" + event + "/" + string(watchers.KindDateProposal) + "@" + due
}

// DecideDate decides on a date given outright rather than found in text,
// such as a calendar entry's: title must name the event, and d must be
// worth proposing as Decide's dates are. The title is the sentence.
func DecideDate(ev Event, title string, d watchers.Due, now time.Time) (Proposal, bool) {
	if !ev.namedIn(title) || !ev.wants(d, Input{Now: now}) {
		return Proposal{}, false
	}
	return Proposal{Due: d, Written: d.Raw, Sentence: title}, true
}
