package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// EventStore keeps events; the commands, the seeder and the event book
// use it. Lookups of unknown ids return ErrNotFound (wrapped).
type EventStore interface {
	SaveEvent(ctx context.Context, ev EventRecord) error
	// SaveEvents saves many events in one transaction, all or none.
	SaveEvents(ctx context.Context, evs []EventRecord) error
	// EventHashes returns every event's config hash by id.
	EventHashes(ctx context.Context) (map[string]string, error)
	// EventsPage returns one page of /alerts events (EventsQuery), paged
	// in the database, and how many events match in each part.
	EventsPage(ctx context.Context, q EventsQuery) (EventsPage, error)
	Event(ctx context.Context, id string) (EventRecord, error)
	DeleteEvent(ctx context.Context, id string) error
	Events(ctx context.Context, f EventFilter) ([]EventRecord, error)
	AllEventIDs(ctx context.Context) ([]string, error)
	// EventsChangingBy returns the events whose next dated change is at
	// or before t.
	EventsChangingBy(ctx context.Context, t time.Time) ([]EventRecord, error)
	Tags(ctx context.Context) ([]string, error)
}

// EventLoader is an EventStore that saves a long run of batches in one
// transaction (LoadEvents): Seed uses it when the store has it, so a first
// start over a large file commits once, and the store may build its
// indexes after the rows. next runs inside that transaction: it may read
// the store, which shows it as before the load, but not write to it.
type EventLoader interface {
	LoadEvents(ctx context.Context, next func() ([]EventRecord, error)) error
}

// DueAfterSource is a date watchers' event source that reads a run's next
// batch on from the last event of the batch before (DueEventsAfter): the
// bot reads it while that batch's plans are committed, so a first pass
// over many events reads and writes at once.
type DueAfterSource interface {
	DueEventsAfter(ctx context.Context, watcher string, now time.Time, last watchers.PlannedEvent, limit int) ([]watchers.PlannedEvent, error)
}

// EventsQuery asks for one page of the events list: the events of Tag
// ("" for all) that Match (nil: all), in two parts — open ones (neither
// happened nor cancelled, their window ending after Now) by window start,
// then past ones newest first (ties by id) — of which Scope takes "open",
// "past" or "all" (open, then past). Offset and Limit count in that list.
type EventsQuery struct {
	Tag           string
	Match         func(EventRecord) bool // sees ID, Title and Current.Title only
	Scope         string
	Now           time.Time
	Offset, Limit int
}

// EventsPage is a page of the events list and how many events of each
// part match the query. Its events carry what the list shows — ID, Title,
// Zone and the current title, due date and status — not their changes,
// tags or other fields.
type EventsPage struct {
	Events     []EventRecord
	Open, Past int
}

// Total is how many events the query's scope lists.
func (p EventsPage) Total(scope string) int {
	switch scope {
	case "open":
		return p.Open
	case "past":
		return p.Past
	}
	return p.Open + p.Past
}

// eventReader is the part of an EventStore that keeping materialized
// states fresh needs; replay's memory implements it too.
type eventReader interface {
	Event(ctx context.Context, id string) (EventRecord, error)
	EventsChangingBy(ctx context.Context, t time.Time) ([]EventRecord, error)
	SaveEvent(ctx context.Context, ev EventRecord) error
}

// Materialize sets rec's current state and next change as of now; def is
// the zone of events that name none.
func Materialize(rec *EventRecord, now time.Time, def *time.Location) error {
	loc, err := rec.Location(def)
	if err != nil {
		return err
	}
	st, err := rec.StateAt(now, loc)
	if err != nil {
		return err
	}
	rec.Current = st
	rec.NextChange = time.Time{}
	for _, c := range rec.Changes {
		if c.At.After(now) {
			rec.NextChange = c.At
			break
		}
	}
	return nil
}

// localize puts rec's current window back into the event's zone (the
// store keeps instants in UTC), so dates read as the event's local dates.
func localize(rec *EventRecord, def *time.Location) {
	loc, err := rec.Location(def)
	if err != nil {
		return
	}
	rec.Current.Due.Start = rec.Current.Due.Start.In(loc)
	rec.Current.Due.End = rec.Current.Due.End.In(loc)
}

// refreshEvents re-materializes the events whose next change came due by
// now, so that "current" in upcoming and event is current.
func refreshEvents(ctx context.Context, st eventReader, now time.Time, def *time.Location, log *slog.Logger) error {
	evs, err := st.EventsChangingBy(ctx, now)
	if err != nil {
		return fmt.Errorf("refresh events: %w", err)
	}
	for i := range evs {
		if err := Materialize(&evs[i], now, def); err != nil {
			log.Warn("event state not refreshed", "event", evs[i].ID, "err", err)
			continue
		}
		if err := st.SaveEvent(ctx, evs[i]); err != nil {
			return fmt.Errorf("refresh event %s: %w", evs[i].ID, err)
		}
	}
	return nil
}

// mergeSourceEvent turns an event reported by a source watcher into the
// record to store: new events are created as reported; for known events
// the reported changes are appended to the history.
func mergeSourceEvent(ctx context.Context, st eventReader, ev watchers.Event, now time.Time, def *time.Location) (EventRecord, error) {
	rec, err := st.Event(ctx, ev.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		rec = EventRecord{Event: ev}
		rec.CreatedAt = now
	case err != nil:
		return EventRecord{}, err
	default:
		rec.Changes = append(slices.Clone(rec.Changes), ev.Changes...)
		sort.SliceStable(rec.Changes, func(i, j int) bool { return rec.Changes[i].At.Before(rec.Changes[j].At) })
		rec.Tags = ev.Tags
	}
	rec.UpdatedAt, rec.UpdatedBy = now, ev.Origin
	if err := Materialize(&rec, now, def); err != nil {
		return EventRecord{}, err
	}
	return rec, nil
}

// DescribeChange says what change i of rec changed — "due a → b", "status
// x → y", the title, a new source, and its note — computed from the states
// before and after it in the event's zone loc. It is the one wording of an
// event's history, for /alerts event and the status page; ok is false when
// a state cannot be computed.
func DescribeChange(rec *EventRecord, i int, loc *time.Location) (string, bool) {
	before, err1 := rec.StateAfter(i, loc)
	after, err2 := rec.StateAfter(i+1, loc)
	if err1 != nil || err2 != nil {
		return "", false
	}
	var parts []string
	if before.Due.Raw != after.Due.Raw {
		// Raw is the canonical form, whatever the change typed.
		parts = append(parts, fmt.Sprintf("due %s → %s", before.Due.Raw, after.Due.Raw))
	}
	if before.Status != after.Status {
		parts = append(parts, fmt.Sprintf("status %s → %s", before.Status, after.Status))
	}
	if before.Title != after.Title {
		parts = append(parts, fmt.Sprintf("title %q → %q", before.Title, after.Title))
	}
	if before.Source != after.Source && after.Source != "" {
		parts = append(parts, "new source "+after.Source)
	}
	if note := rec.Changes[i].Note; note != "" {
		parts = append(parts, note)
	}
	if len(parts) == 0 {
		return "no change", true
	}
	return strings.Join(parts, "; "), true
}
