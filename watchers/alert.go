package watchers

import (
	"context"
	"time"
)

// Kind is the kind of an alert.
type Kind string

// Alert kinds of DESIGN §4.
const (
	KindReminder         Kind = "reminder"
	KindWindowOpen       Kind = "window_open"
	KindOverdue          Kind = "overdue"
	KindChanged          Kind = "changed"
	KindFeedItem         Kind = "feed_item"
	KindPageChanged      Kind = "page_changed"
	KindCalendarChanged  Kind = "calendar_changed"
	KindThreshold        Kind = "threshold"
	KindWatcherFailing   Kind = "watcher_failing"
	KindWatcherRecovered Kind = "watcher_recovered"
	KindDeliveryFailed   Kind = "delivery_failed"
	// KindDateProposal proposes a source's date for an event (DESIGN §10).
	KindDateProposal Kind = "date_proposal"
)

// Severity orders alerts for display (colour, emoji).
type Severity int

// Severities, from least to most urgent.
const (
	Info Severity = iota
	Notice
	Warning
	Critical
)

// Field is a labelled value shown with an alert. When Time is set, a
// platform that can show times in each reader's own zone uses it; Value is
// the fallback text.
type Field struct {
	Name  string
	Value string
	Time  time.Time
}

// Alert is one thing worth telling a channel. Its Key is deterministic, so
// the same alert is never created twice.
type Alert struct {
	Key      string // e.g. "deadlines/upper-house-election-2025/reminder/7d@2025-07-20"
	Kind     Kind
	Watcher  string // id of the watcher that raised it
	Event    string // event id, "" for alerts not about an event
	Tags     []string
	At       time.Time // when the alert became due
	Title    string
	Text     string
	Link     string
	Fields   []Field
	Severity Severity
}

// Spec is a watcher's configuration, the same from the YAML file and from
// chat. Kind-specific fields are ignored by kinds that do not use them.
type Spec struct {
	ID        string   `yaml:"id" json:"id"`
	Kind      string   `yaml:"kind" json:"kind"`
	Schedule  string   `yaml:"schedule" json:"schedule"`
	Tags      []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Paused    bool     `yaml:"paused,omitempty" json:"paused,omitempty"`
	FailAfter int      `yaml:"fail_after,omitempty" json:"fail_after,omitempty"`
	Timeout   string   `yaml:"timeout,omitempty" json:"timeout,omitempty"`

	// countdown
	LeadTimes []string `yaml:"lead_times,omitempty" json:"lead_times,omitempty"`

	// source watchers
	URL       string   `yaml:"url,omitempty" json:"url,omitempty"`
	Match     []string `yaml:"match,omitempty" json:"match,omitempty"`
	Exclude   []string `yaml:"exclude,omitempty" json:"exclude,omitempty"`
	Selector  string   `yaml:"selector,omitempty" json:"selector,omitempty"`
	Ignore    []string `yaml:"ignore,omitempty" json:"ignore,omitempty"`
	Horizon   string   `yaml:"horizon,omitempty" json:"horizon,omitempty"`
	Timezone  string   `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	Path      string   `yaml:"path,omitempty" json:"path,omitempty"`
	Condition string   `yaml:"condition,omitempty" json:"condition,omitempty"`
	Label     string   `yaml:"label,omitempty" json:"label,omitempty"`
	Unit      string   `yaml:"unit,omitempty" json:"unit,omitempty"`
	Fetch     Fetch    `yaml:"fetch,omitempty" json:"fetch,omitzero"`
}

// Fetch holds a source watcher's fetch options.
type Fetch struct {
	AllowPrivate bool   `yaml:"allow_private,omitempty" json:"allow_private,omitempty"`
	MaxBytes     int64  `yaml:"max_bytes,omitempty" json:"max_bytes,omitempty"`
	Timeout      string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// FieldError is a configuration error about one field of a spec, so that
// the config loader can point at that field's line.
type FieldError struct {
	Field string // yaml key, e.g. "selector"
	Err   error
}

// Error names the field and what is wrong with it.
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// Input is what a watcher gets for one check.
type Input struct {
	Now   time.Time
	State []byte // what the previous successful check returned as State; nil on the first
	// Batch is the most events a date watcher takes in this check (≤ 0
	// or more than DueBatch: DueBatch). The caller starts a burst with a
	// small batch, so its first alerts go out while the rest are checked.
	Batch int
}

// Result is what one check found. The caller stores Alerts, State, Events
// and Next in one transaction, so a crash never half-applies a check.
type Result struct {
	Alerts []Alert
	// Skipped are alerts a catch-up passed over; they are recorded (never
	// delivered) so that no later check sends them.
	Skipped []Alert
	State   []byte     // the watcher's state to hand to the next check
	Events  []Event    // events to create or update (calendar watcher)
	Next    []NextPlan // per-event next check times (date watchers)
	Found   string     // a one-line summary for "/alerts watcher run"
	// More says the check stopped at a batch limit (DueBatch events) and
	// should be run again at the same time for the rest.
	More bool
}

// NextPlan is when a date watcher next needs to look at an event.
type NextPlan struct {
	Event string
	At    time.Time // zero: never again until the event changes
}

// Watcher checks one thing. Check must be safe to call again after a
// failure and must not keep state between calls other than through Result.
type Watcher interface {
	Check(ctx context.Context, in Input) (Result, error)
}

// DateDriven is implemented by watchers that look at events on dates they
// plan themselves (Deps.Events in, Result.Next out) rather than at outside
// sources. The capability, not a kind name, decides what the bot does
// with them: replay runs them on its virtual clock, an edited event wakes
// them at once, and the store schedules every event for them.
type DateDriven interface {
	Watcher
	// DateDriven marks the capability; it does nothing.
	DateDriven()
}

// PlannedEvent is an event handed to a date watcher with the time from
// which it has not yet been looked at (zero: never).
type PlannedEvent struct {
	Event Event
	Since time.Time
}

// DueBatch is the most events an EventSource returns from one call, the
// earliest first, so that a first check over many events works in bounded
// memory, batch after batch.
const DueBatch = 2000

// CheckBatches are the batch sizes of a date watcher's checks that fall
// due together: small first, so the first alerts of a burst go out within
// milliseconds, then larger, to DueBatch, so the whole burst is checked in
// few runs.
var CheckBatches = []int{50, 200, 1000, DueBatch}

// BatchLimit is the number of events a check asking for batch takes.
func BatchLimit(batch int) int {
	if batch <= 0 || batch > DueBatch {
		return DueBatch
	}
	return batch
}

// EventSource gives date watchers the events that need looking at.
type EventSource interface {
	// DueEvents returns the events whose next check for watcher is at or
	// before now, or that changed since its last check: at most limit
	// (≤ 0 or more than DueBatch: DueBatch), those due earliest first.
	DueEvents(ctx context.Context, watcher string, now time.Time, limit int) ([]PlannedEvent, error)
}

// Defaults are the config-wide settings every watcher may need.
type Defaults struct {
	Location  *time.Location // the config's zone
	AlertTime time.Duration  // local time of day for date-only reminders, e.g. 9h
	LeadTimes []Lead
	CatchUp   time.Duration
}

// Deps are what a factory may use to build a watcher.
type Deps struct {
	Defaults Defaults
	Events   EventSource // for date watchers
	Fetcher  Fetcher     // for source watchers
}

// Fetcher fetches a source over HTTP with the safety rules of DESIGN §7.
// Implemented in watchers/fetch.
type Fetcher interface {
	Fetch(ctx context.Context, req FetchRequest) (FetchResponse, error)
}

// FetchRequest asks for url, conditionally on validators from a previous
// fetch.
type FetchRequest struct {
	URL          string
	ETag         string
	LastModified string
	Options      Fetch
}

// FetchResponse is a fetched body, or NotModified.
type FetchResponse struct {
	NotModified  bool
	Body         []byte
	ContentType  string
	ETag         string
	LastModified string
	FinalURL     string
}

// Factory builds a watcher from its spec, validating every field; errors
// about one field are *FieldError.
type Factory func(spec Spec, deps Deps) (Watcher, error)
