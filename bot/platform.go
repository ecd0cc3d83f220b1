package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// Message is the platform-neutral form of an alert or a reply. Each adapter
// renders it: Block Kit on Slack, embeds on Discord, text on the console.
type Message struct {
	Kind     watchers.Kind
	Severity watchers.Severity
	Title    string
	Text     string
	Fields   []watchers.Field
	Link     string
	Tags     []string
	Footer   string // e.g. "deadlines · reminder"
	Buttons  []Button
	AlertKey string
	Event    string
}

// Button is an action under a message. Pressing it runs Command (text as
// typed after /alerts) in the message's channel as the user who pressed it.
type Button struct {
	Label     string
	Command   string // e.g. "mute event:ishiba-trump-summit 1d"
	AdminOnly bool   // shown only where the platform can restrict it; the router checks again
	// ShownToAll shows an AdminOnly button also where the platform cannot
	// restrict it (Discord), on messages that exist to be decided by
	// admins (a date proposal's Confirm and Dismiss); the router still
	// refuses, and audits, anyone else who presses it.
	ShownToAll bool
}

// Outgoing is one delivery for a platform to send.
type Outgoing struct {
	DeliveryID int64
	Channel    string // the platform's channel id, without the "slack:" prefix
	Message    Message
	Nonce      string // stable per delivery, ≤ 25 characters (Discord enforce_nonce)
}

// Platform sends messages to one chat platform.
type Platform interface {
	// Name is the address prefix of the platform's channels: "slack",
	// "discord", "console".
	Name() string
	// Send posts one message and returns the platform's message id. Errors
	// that are not *SendError are treated as transient.
	Send(ctx context.Context, out Outgoing) (messageID string, err error)
}

// SendError classifies a failed send.
type SendError struct {
	Retry      bool          // worth trying again
	RetryAfter time.Duration // at least this long, when the platform said so
	Err        error
}

// Error describes the failure and any wait the platform asked for.
func (e *SendError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.RetryAfter)
	}
	return e.Err.Error()
}

// Unwrap returns the platform error.
func (e *SendError) Unwrap() error { return e.Err }

// Permanent wraps err as a failure that retrying cannot fix.
func Permanent(err error) error { return &SendError{Retry: false, Err: err} }

// Transient wraps err as a failure worth retrying after at least after.
func Transient(err error, after time.Duration) error {
	return &SendError{Retry: true, RetryAfter: after, Err: err}
}

// classify returns whether err is worth retrying and the wait the platform
// asked for.
func classify(err error) (retry bool, after time.Duration) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Retry, se.RetryAfter
	}
	return true, 0
}

// Request is one slash command, from any platform.
type Request struct {
	Platform string   // "slack", "discord", "console", "exec"
	User     string   // address of the caller, e.g. "slack:U0ADMIN1"
	Channel  string   // address of the channel, e.g. "slack:C0123ABCD"
	Text     string   // the text after /alerts, as typed
	Args     []string // pre-split words (Discord options); when set, Text is only for the log
}

// Reply is the router's answer to a Request.
type Reply struct {
	Text   string // plain text; adapters escape it for their platform
	Public bool   // show to the whole channel (subscribe, mute) rather than only the caller
	Error  bool   // the command failed; Text says why, with the usage line
	// Usage marks an Error where the command was not understood: unknown,
	// unreadable, or with a word count its usage does not allow (exec
	// exits 2 for these, 1 for refusals and failures).
	Usage bool
	// Buttons go under the reply on platforms that show them (Slack,
	// Discord): "More" of a paged list. Text always says how to go on
	// without them, for the console.
	Buttons []Button
	// Attachment is a file that goes with the reply: the timeline
	// picture. Slack uploads it into the channel, Discord attaches it to
	// the reply, the console writes it to a file; Text is its caption
	// and must make sense alone, for when the file cannot be posted.
	Attachment *Attachment
}

// Attachment is a file carried by a Reply.
type Attachment struct {
	Name        string // file name, e.g. "alertbot-timeline.png"
	ContentType string // e.g. "image/png"
	Data        []byte
	// Alt describes the content in words, for screen readers and
	// search (Slack's alt_txt, Discord's attachment description); at
	// most MaxAltText runes.
	Alt string
}

// MaxAltText bounds Attachment.Alt: Slack's alt_txt takes 1000
// characters (https://docs.slack.dev/reference/methods/files.getUploadURLExternal),
// Discord's attachment description 1024
// (https://discord.com/developers/docs/resources/message#attachment-object).
const MaxAltText = 1000

// Handler answers requests; *Router implements it.
type Handler interface {
	Handle(ctx context.Context, req Request) Reply
	// Slow reports whether req may take longer than a platform's
	// acknowledgement deadline (e.g. "watcher run"), so the adapter should
	// acknowledge first and answer later.
	Slow(req Request) bool
	// Complete returns up to 25 ids starting with prefix, for autocomplete;
	// what is "event", "watcher" or "tag".
	Complete(ctx context.Context, what, prefix string) []string
}

// Ids of each platform. Slack ids are uppercase letters and digits
// (C0123ABCD, U0123ABCD); Discord ids are snowflakes, decimal uint64.
var (
	slackID   = regexp.MustCompile(`^[A-Z0-9]{2,32}$`)
	discordID = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// CheckID checks id as a channel or user id of platform ("slack",
// "discord" or "console"), and says what a good one looks like when it is
// not. It is the one rule for ids: config, the store, incoming requests and
// the adapters' Send all use it, so an id that passes can go into an
// address or a request path as it is.
func CheckID(platform, id string) error {
	switch platform {
	case "slack":
		if !slackID.MatchString(id) {
			return errors.New("a Slack id is uppercase letters and digits, e.g. slack:C0123ABCD")
		}
	case "discord":
		if !discordID.MatchString(id) {
			return errors.New("a Discord id is a number, e.g. discord:80351110224678912")
		}
	case "console":
		if id != "local" {
			return errors.New("the console has only console:local")
		}
	default:
		return fmt.Errorf("unknown platform %q (want slack, discord or console)", platform)
	}
	return nil
}

// SplitAddress splits a channel address such as "slack:C0123ABCD" into
// platform and id, refusing any address whose id CheckID refuses.
func SplitAddress(addr string) (platform, id string, err error) {
	return parseAddress("channel", addr)
}

// parseAddress is SplitAddress for an address of the given kind ("channel",
// "admin"), which its errors name.
func parseAddress(kind, addr string) (platform, id string, err error) {
	p, id, ok := strings.Cut(addr, ":")
	if !ok || id == "" {
		return "", "", fmt.Errorf("bad %s address %q (want slack:<id>, discord:<id> or console:local)", kind, addr)
	}
	if user, dm := strings.CutPrefix(id, dmPrefix); dm && kind == "channel" && p != "console" {
		// A direct message to a user (DESIGN §9): the user id is checked
		// as any id; the adapter opens the conversation.
		if err := CheckID(p, user); err != nil {
			return "", "", fmt.Errorf("bad %s address %q: %w", kind, addr, err)
		}
		return p, id, nil
	}
	if err := CheckID(p, id); err != nil {
		return "", "", fmt.Errorf("bad %s address %q: %w", kind, addr, err)
	}
	return p, id, nil
}

// dmPrefix starts the id part of a direct-message address:
// "slack:dm:U0123ABCD" is a direct message to Slack user U0123ABCD.
const dmPrefix = "dm:"

// DMAddress returns the address of direct messages to user (a user
// address such as "slack:U0123ABCD"): "slack:dm:U0123ABCD". ok is false
// on platforms without direct messages (the console).
func DMAddress(user string) (addr string, ok bool) {
	p, id, err := parseAddress("user", user)
	if err != nil || (p != "slack" && p != "discord") {
		return "", false
	}
	return p + ":" + dmPrefix + id, true
}

// DMUser returns the user of a direct-message channel id as Outgoing and
// Unconfirmed carry it ("dm:U0123ABCD" → "U0123ABCD"); ok is false for a
// channel id. Adapters open the conversation with the user (Slack's
// conversations.open, Discord's POST /users/@me/channels) and post there.
func DMUser(channel string) (user string, ok bool) {
	return strings.CutPrefix(channel, dmPrefix)
}

// Unconfirmed asks a platform whether deliveries to one channel were
// posted: their sends began (the first at Since) but no outcome was
// recorded, because the process died or the request timed out.
type Unconfirmed struct {
	Channel    string    // the platform's channel id, as in Outgoing
	Since      time.Time // when the earliest of the sends may have been posted
	Now        time.Time // the bot's clock, for windows such as Discord's nonce
	Deliveries []int64   // delivery ids, as in Outgoing.DeliveryID
}

// Resolver is implemented by platforms that can find out whether a send of
// unknown outcome was posted, so it is resolved before any resend and
// never posted twice (DESIGN §5 "Exactly once"). Resolve returns the
// message id of each delivery it found. A delivery not in the map was not
// posted, or may be sent again safely (a Discord resend with the same
// nonce inside the nonce window). A permanent error (*SendError with Retry
// false, e.g. Slack's missing_scope) means the platform cannot tell: the
// bot warns and resends; other errors postpone the deliveries.
type Resolver interface {
	Resolve(ctx context.Context, q Unconfirmed) (map[int64]string, error)
}
