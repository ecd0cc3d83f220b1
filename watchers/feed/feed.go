// Package feed is the watcher for RSS 0.9x/1.0/2.0, Atom and JSON Feed
// sources. The first check records every item as seen and posts nothing;
// later checks post each new item once, filtered by match and exclude.
// Feeds in undeclared or non-UTF-8 encodings are transcoded first; a body
// that cannot be read as a feed is a failure, never "no new items".
package feed

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
)

// maxSeen is how many keys of items no longer in the feed are remembered,
// beyond those in it, so that the state stays bounded while an item that
// drops out and comes back (feeds reorder) is still not posted twice.
const maxSeen = 2000

// untitledLimit is how many runes of an item's text stand in for a
// missing title.
const untitledLimit = 80

// New builds a feed watcher from spec; it is a watchers.Factory.
// deps.Fetcher may be nil when only validating a config.
func New(spec watchers.Spec, deps watchers.Deps) (watchers.Watcher, error) {
	if err := fetch.CheckSpec(spec); err != nil {
		return nil, err
	}
	match, err := watchers.CompileMatch(spec.Match)
	if err != nil {
		return nil, &watchers.FieldError{Field: "match", Err: err}
	}
	exclude, err := watchers.CompileMatch(spec.Exclude)
	if err != nil {
		return nil, &watchers.FieldError{Field: "exclude", Err: err}
	}
	return &Watcher{spec: spec, fetcher: deps.Fetcher, match: match, exclude: exclude}, nil
}

// Watcher watches one feed. It keeps nothing between checks: what it has
// seen travels in the Result's State.
type Watcher struct {
	spec           watchers.Spec
	fetcher        watchers.Fetcher
	match, exclude []*regexp.Regexp
}

var _ watchers.Watcher = (*Watcher)(nil)

// state is what a feed watcher keeps between checks.
type state struct {
	fetch.Validators
	Seen []string `json:"seen"` // item key hashes, most recent first
}

// Check fetches the feed (conditionally) and returns an alert for each item
// not seen before.
func (w *Watcher) Check(ctx context.Context, in watchers.Input) (watchers.Result, error) {
	var st state
	resp, first, err := fetch.Begin(ctx, w.fetcher, w.spec, in.State, &st)
	if err != nil {
		return watchers.Result{}, err
	}
	if resp.NotModified {
		return w.result(st, nil, "not modified")
	}
	base := resp.FinalURL
	if base == "" {
		base = w.spec.URL
	}
	p, err := parseFeed(resp.Body, resp.ContentType, base)
	if err != nil {
		return watchers.Result{}, fmt.Errorf("unreadable feed %s: %w", fetch.Redact(w.spec.URL), err)
	}

	seen := make(map[string]bool, len(st.Seen))
	for _, k := range st.Seen {
		seen[k] = true
	}
	var fresh []item
	current := make([]string, 0, len(p.Items))
	inFeed := make(map[string]bool, len(p.Items))
	for _, it := range p.Items {
		current = append(current, it.Key)
		inFeed[it.Key] = true
		if !seen[it.Key] {
			fresh = append(fresh, it)
		}
	}
	// New seen list: what is in the feed now, then the most recent of the
	// rest.
	kept := 0
	for _, k := range st.Seen {
		if kept >= maxSeen {
			break
		}
		if !inFeed[k] {
			current = append(current, k)
			kept++
		}
	}
	st.Seen = current

	if first {
		return w.result(st, nil, "first run: "+watchers.Plural(len(p.Items), "item")+" recorded"+problems(p))
	}
	alerts := w.alerts(p, fresh, in)
	found := fmt.Sprintf("%d new items, %d posted", len(fresh), len(alerts))
	if len(fresh) == 0 {
		found = "no new items"
	}
	return w.result(st, alerts, found+problems(p))
}

// problems reports, for Found, what the check could not read: a body cut
// short (its complete items were read) and items left undated, with the
// first reason.
func problems(p *parsed) string {
	var b strings.Builder
	if p.Cut != nil {
		shown, _ := watchers.Truncate(p.Cut.Error(), 120)
		fmt.Fprintf(&b, "; feed cut short or broken (%s): read the %d complete items before it", shown, len(p.Items))
	}
	undated, reason := 0, ""
	for _, it := range p.Items {
		if it.Undated != "" {
			undated++
			if reason == "" || strings.HasPrefix(it.Undated, "unreadable") && !strings.HasPrefix(reason, "unreadable") {
				reason = it.Undated // an unreadable date says more than none
			}
		}
	}
	if undated > 0 {
		fmt.Fprintf(&b, "; %d undated (%s)", undated, reason)
	}
	return b.String()
}

func (w *Watcher) result(st state, alerts []watchers.Alert, found string) (watchers.Result, error) {
	if st.Seen == nil {
		st.Seen = []string{}
	}
	b, err := fetch.SaveState(st)
	if err != nil {
		return watchers.Result{}, err
	}
	return watchers.Result{Alerts: alerts, State: b, Found: found}, nil
}

// alerts turns new items that pass the filters into alerts, oldest first.
func (w *Watcher) alerts(p *parsed, fresh []item, in watchers.Input) []watchers.Alert {
	// Feeds list newest first; post in the order things happened.
	slices.Reverse(fresh)
	if !slices.ContainsFunc(fresh, func(it item) bool { return it.Published.IsZero() }) {
		slices.SortStableFunc(fresh, func(a, b item) int { return a.Published.Compare(b.Published) })
	}
	var out []watchers.Alert
	for _, it := range fresh {
		if !w.wanted(it) {
			continue
		}
		title := it.Title
		if title == "" {
			short, _ := watchers.Truncate(strings.ReplaceAll(it.Text, "\n", " "), untitledLimit)
			title = cmp.Or(short, it.Link, "(untitled item)")
		}
		a := watchers.Alert{
			Key:     w.spec.ID + "/feed_item/" + it.Key,
			Kind:    watchers.KindFeedItem,
			Watcher: w.spec.ID,
			Tags:    slices.Clone(w.spec.Tags),
			At:      in.Now,
			Title:   title,
			Text:    it.Text,
			Link:    it.Link,
		}
		if p.Title != "" {
			a.Fields = append(a.Fields, watchers.Field{Name: "Feed", Value: p.Title})
		}
		if !it.Published.IsZero() {
			a.Fields = append(a.Fields, watchers.Field{
				Name:  "Published",
				Value: it.Published.UTC().Format("2006-01-02 15:04 UTC"),
				Time:  it.Published,
			})
		}
		out = append(out, a)
	}
	return out
}

// wanted applies match (any must match, when given) and exclude (none may
// match) to an item's title and summary.
func (w *Watcher) wanted(it item) bool {
	text := it.Title + "\n" + it.Text
	anyMatch := func(res []*regexp.Regexp) bool {
		return slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(text) })
	}
	if len(w.match) > 0 && !anyMatch(w.match) {
		return false
	}
	return !anyMatch(w.exclude)
}
