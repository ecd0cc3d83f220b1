// This file holds the records the bot keeps; the interfaces that keep
// them are declared next to their consumers (EventStore in events.go,
// RunStore in pipeline.go, ChannelStore in routes.go, Outbox in
// dispatch.go, WatcherStore in bot.go, AuditLog and HistoryStore in
// router.go). Package store implements them all.

package bot

import (
	"errors"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// ErrNotFound is returned by the store interfaces' lookups of ids that do not exist.
var ErrNotFound = errors.New("not found")

// EventRecord is an event as stored, with its state materialized at the
// last refresh so that "upcoming" is an indexed query.
type EventRecord struct {
	watchers.Event
	Hash       string         // hash of the config entry it was seeded from; "" if made in chat
	Current    watchers.State // state as of the last refresh
	NextChange time.Time      // At of the first change not yet applied to Current; zero if none
	UpdatedAt  time.Time
	UpdatedBy  string // "config", "slack:U123", "calendar:<watcher>"
}

// EventFilter selects events for "upcoming".
type EventFilter struct {
	From, To time.Time // current window overlaps [From, To)
	Tag      string    // "" for any
	Active   bool      // only tentative, scheduled or postponed
	Limit    int       // 0: no limit
	// Brief asks only for what a list shows — ID, Title, Zone and the
	// current title, due date and status — without changes or other
	// fields: less to read per row. A store may return more.
	Brief bool
}

// WatcherRecord is a watcher as stored, with its run status.
type WatcherRecord struct {
	Spec        watchers.Spec
	Origin      string // "config" or "chat"
	Hash        string
	State       []byte // the watcher's own state from its last successful check
	LastRun     time.Time
	LastSuccess time.Time
	LastError   string
	Failures    int  // consecutive failed checks
	Failing     bool // a watcher_failing alert went out for the current streak
	UpdatedAt   time.Time
	UpdatedBy   string
	// Dated is set by the bot from its watcher's capability
	// (watchers.DateDriven): the store gives a dated watcher a schedule row
	// for every event.
	Dated bool
}

// AlertRecord is a stored alert.
type AlertRecord struct {
	ID      int64
	Alert   watchers.Alert
	Skipped bool // catch-up passed over it: recorded so it is never sent later
	Created time.Time
}

// Delivery states.
const (
	DeliveryPending = "pending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
	// DeliveryHeld waits for the end of the channel's quiet hours or for
	// its digest (DESIGN §9) until NextTry; it is not sent by itself
	// until released.
	DeliveryHeld = "held"
	// DeliveryBundled was carried by a quiet-hours summary or a digest:
	// that message's delivery is what was sent.
	DeliveryBundled = "bundled"
)

// DeliveryRecord is one alert to one channel: the outbox row.
type DeliveryRecord struct {
	ID        int64
	AlertID   int64
	Alert     watchers.Alert
	Channel   string // address, e.g. "slack:C0123ABCD"
	Platform  string // "slack", "discord", "console"
	State     string // DeliveryPending, DeliverySent, DeliveryFailed
	Attempts  int
	NextTry   time.Time
	LastError string
	MessageID string
	Created   time.Time
	SentAt    time.Time
	// ClaimedAt and ClaimOwner are the delivery's claim: the first time a
	// worker took it to send, and the process that holds it. A pending
	// delivery claimed by another process may have been posted.
	ClaimedAt  time.Time
	ClaimOwner string
}

// NewAlert is an alert to create together with its deliveries.
type NewAlert struct {
	Alert    watchers.Alert
	Skipped  bool
	Channels []string // addresses that get a delivery
	// Holds are the deliveries among Channels that a channel's rules hold
	// back (quiet hours, digest): stored as DeliveryHeld until Hold.Until.
	Holds []Hold
	// Carries, for a quiet-hours summary or a digest, are the held
	// deliveries it lists: when the alert is new they become
	// DeliveryBundled with it; when its key existed (another pass made
	// it), they are released to be sent by themselves instead.
	Carries []int64
	// Muted are the subscribed channels a mute kept this alert from;
	// only replay's preview reads it.
	Muted []string
}

// RunRecord is the outcome of one watcher check, committed in one
// transaction: the watcher's status and state, its alerts and their
// deliveries (only for alerts whose key is new), events it changed, and
// per-event next check times.
type RunRecord struct {
	Watcher     string // "" for alerts raised by the bot itself: no watcher row is updated
	At          time.Time
	Err         string // "" on success
	State       []byte // stored only on success
	Failures    int
	Failing     bool
	Alerts      []NewAlert
	Events      []EventRecord
	Next        []watchers.NextPlan
	UpdateState bool // store State (success)
	// Proposals are date proposals made with their date_proposal alerts
	// (DESIGN §10); one that exists (open or decided) is left alone.
	Proposals []ProposalRecord
	// Release are held deliveries whose hold ended: pending from now,
	// sent by themselves.
	Release []int64
}

// HeldDelivery is a delivery held back by its channel's quiet hours or
// digest.
type HeldDelivery struct {
	ID       int64
	Channel  string
	Alert    watchers.Alert
	Reason   string    // HoldQuiet or HoldDigest
	Until    time.Time // when it is released
	HeldFrom time.Time // when it would have been sent
}

// Subscription routes a target's alerts to a channel.
type Subscription struct {
	Channel string // address
	Target  string // "all", "tag:<tag>", "watcher:<id>", "event:<id>"
	Origin  string // "config" or "chat"
	Created time.Time
}

// Mute silences a target's alerts in a channel until Until.
type Mute struct {
	Channel string
	Target  string
	Until   time.Time
	By      string
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID      int64
	At      time.Time
	Who     string // user address, "config", "system"
	Channel string
	Action  string // e.g. "event set", "subscribe", "denied: watcher remove"
	Target  string
	Before  string // JSON or text, "" when none
	After   string
}

// HistoryItem is an alert as delivered to one channel.
type HistoryItem struct {
	Alert    watchers.Alert
	Delivery DeliveryRecord
}

// DueClaim asks the outbox for a worker's next due deliveries, claiming
// their channels for it (Outbox.ClaimDue).
type DueClaim struct {
	Platform string
	Owner    string // the process that claims
	Now      time.Time
	// TTL is how long the channels stay claimed unless the owner extends
	// the claim (Outbox.ExtendClaims). Zero means the caller is the
	// outbox's only deliverer (SQLite's one owner): its claims do not
	// expire, and channel claims of other owners are stale.
	TTL      time.Duration
	Limit    int // at most this many deliveries (≤ 0: no bound)
	Channels int // at most this many channels (≤ 0: no bound)
	// Deliveries claims the deliveries returned for Owner at Now too, in
	// the same transaction, as Outbox.RecordDeliveries would (a claim
	// keeps its first time): for a platform whose sends of unknown
	// outcome are cheap to settle (ClaimAhead). The records still show
	// each delivery's claim as it was before.
	Deliveries bool
}

// DeliveryBatch is a batch of the delivery workers' outbox writes,
// recorded in one transaction: sends the platform confirmed, and claims
// of deliveries about to be sent.
type DeliveryBatch struct {
	Owner  string    // the process that claims
	At     time.Time // claim time
	Claims []int64   // delivery ids
	Sent   []SentDelivery
}

// SentDelivery is a send the platform confirmed.
type SentDelivery struct {
	ID        int64
	MessageID string
	At        time.Time
}
