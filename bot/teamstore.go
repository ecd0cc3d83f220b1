package bot

import (
	"context"
	"time"
)

// This file declares what the team features (DESIGN §9) need stored,
// next to the commands and the seeder that use it; package store
// implements it.

// UserSettings keeps each user's own settings: the zone of the times in
// their replies (/alerts tz).
type UserSettings interface {
	// UserZone returns the IANA zone the user chose, "" when none.
	UserZone(ctx context.Context, user string) (string, error)
	// SetUserZone stores the user's zone at time at; "" forgets it.
	SetUserZone(ctx context.Context, user, zone string, at time.Time) error
}

// ConfigEntry is what the config file last seeded for an entry that is
// seeded as a whole: the entry's hash and its items (a channel's
// subscription targets).
type ConfigEntry struct {
	Kind  string // "subscriptions"
	Key   string // the channel address
	Hash  string
	Items []string
	At    time.Time
}

// ConfigEntries remembers the entries of the config file as last seeded,
// so that the file overrides chat only where its entry changed, as event
// hashes do for events (DESIGN §3).
type ConfigEntries interface {
	// ConfigEntry returns the entry of kind and key, ok false when the
	// file never seeded it.
	ConfigEntry(ctx context.Context, kind, key string) (e ConfigEntry, ok bool, err error)
	SetConfigEntry(ctx context.Context, e ConfigEntry) error
}

// EventBrowser lists every event with its state as last materialized and
// without its change history: what /alerts events filters and pages. A
// tag narrows the list; "" lists all. An EventStore without it is read
// through Events.
type EventBrowser interface {
	EventSummaries(ctx context.Context, tag string) ([]EventRecord, error)
}

// AuditSearcher reads the audit log newest first, keeping up to n entries
// that match, so a search does not load the whole log. An AuditLog
// without it is read whole.
type AuditSearcher interface {
	SearchAudit(ctx context.Context, n int, match func(AuditEntry) bool) ([]AuditEntry, error)
}
