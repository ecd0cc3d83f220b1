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
	"unicode"

	"github.com/policyteam/alertbot/watchers"
)

// UserError is a mistake of the caller: its message is shown as is, with
// the command's usage line.
type UserError struct{ Msg string }

// Error returns the message shown to the user.
func (e *UserError) Error() string { return e.Msg }

func userErr(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...)}
}

// call is one command being run.
type call struct {
	req  Request
	cmd  *command
	args []string // words after the command name
	now  time.Time
}

// command is a row of the declarative command table; the same table drives
// dispatch, admin checks and help.
type command struct {
	name     string // one or two words: "upcoming", "event add"
	args     string // usage after the name: "<id> <due> <title…> [#tag…]"
	summary  string
	examples []string
	admin    bool
	public   bool // the reply changes the channel: show it there
	slow     bool // may exceed a platform's acknowledgement deadline
	run      func(ctx context.Context, c *call) (string, error)
}

func (c *command) usage() string {
	if c.args == "" {
		return "/alerts " + c.name
	}
	return "/alerts " + c.name + " " + c.args
}

// AuditLog records who changed what; every admin command, every
// subscription change and every refused attempt is written to it.
type AuditLog interface {
	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, n int) ([]AuditEntry, error)
}

// HistoryStore answers what was alerted: an event's alerts and a channel's
// deliveries.
type HistoryStore interface {
	AlertsForEvent(ctx context.Context, event string, n int) ([]AlertRecord, error)
	ChannelHistory(ctx context.Context, channel string, n int) ([]HistoryItem, error)
}

// Schedules is what the commands need of the engine that runs watchers;
// *Bot implements it.
type Schedules interface {
	// Schedule (re)schedules watcher id on a cron spec.
	Schedule(id, schedule string) error
	// Unschedule stops scheduling watcher id.
	Unschedule(id string)
	// RunNow checks watcher id at once and returns what it found.
	RunNow(ctx context.Context, id string) (found string, err error)
	// NextRun returns the watcher's next scheduled run.
	NextRun(id string) (time.Time, bool)
	// EventsChanged tells the date watchers that an event changed.
	EventsChanged()
}

// RouterOptions are what a Router is built from: the stores it reads and
// changes, the engine's schedules, and the config and admin rules in force.
type RouterOptions struct {
	Events    EventStore
	Watchers  WatcherStore
	History   HistoryStore
	Channels  ChannelStore
	Audit     AuditLog
	Schedules Schedules
	// Config returns the config in force; IsAdmin says who is an admin.
	Config  func() *Config
	IsAdmin func(user string) bool
	// Factories validate watcher specs typed in chat exactly as the
	// config loader does.
	Factories map[string]watchers.Factory
	// NextAlert, when set, tells "/alerts event" the next alert planned
	// for an event (wired by cmd to the countdown planner).
	NextAlert func(ev *watchers.Event, now time.Time) (at time.Time, what string, ok bool)
	Now       func() time.Time
	Metrics   *Metrics
	Logger    *slog.Logger
}

// Router answers /alerts commands from every platform.
type Router struct {
	eventStore   EventStore
	watcherStore WatcherStore
	historyStore HistoryStore
	channelStore ChannelStore
	auditLog     AuditLog
	schedules    Schedules
	config       func() *Config
	isAdmin      func(string) bool
	factories    map[string]watchers.Factory
	nextAlert    func(ev *watchers.Event, now time.Time) (time.Time, string, bool)
	now          func() time.Time
	metrics      *Metrics
	log          *slog.Logger
	commands     []*command
}

var _ Handler = (*Router)(nil)

// NewRouter builds a router; every store, Schedules, Config and IsAdmin
// are required.
func NewRouter(o RouterOptions) (*Router, error) {
	if o.Events == nil || o.Watchers == nil || o.History == nil || o.Channels == nil || o.Audit == nil ||
		o.Schedules == nil || o.Config == nil || o.IsAdmin == nil {
		return nil, errors.New("bot: router: every store, the schedules, Config and IsAdmin are required")
	}
	r := &Router{
		eventStore: o.Events, watcherStore: o.Watchers, historyStore: o.History, channelStore: o.Channels, auditLog: o.Audit,
		schedules: o.Schedules, config: o.Config, isAdmin: o.IsAdmin, factories: o.Factories,
		nextAlert: o.NextAlert, now: o.Now, metrics: o.Metrics, log: o.Logger,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.metrics == nil {
		r.metrics = NewMetrics(nil)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("component", "router")
	r.commands = r.table()
	return r, nil
}

// Tokenize splits command text into words. Double quotes (straight or
// curly, as phones type them) group words; a backslash escapes the next
// character inside quotes. It fails on an unterminated quote.
func Tokenize(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			switch {
			case r == '\\' && i+1 < len(rs):
				i++
				cur.WriteRune(rs[i])
			case r == quote || (quote == '“' && r == '”'):
				quote = 0
			default:
				cur.WriteRune(r)
			}
		case r == '"' || r == '“':
			quote, inWord = r, true
		case unicode.IsSpace(r):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// find returns the command named by the first words of words, longest
// name first, and the remaining words.
func (r *Router) find(words []string) (*command, []string) {
	if len(words) == 0 {
		return nil, nil
	}
	first := strings.ToLower(words[0])
	if len(words) >= 2 {
		two := first + " " + strings.ToLower(words[1])
		for _, c := range r.commands {
			if c.name == two {
				return c, words[2:]
			}
		}
	}
	for _, c := range r.commands {
		if c.name == first {
			return c, words[1:]
		}
	}
	return nil, nil
}

// Slow reports whether req may take longer than a platform's ack deadline.
func (r *Router) Slow(req Request) bool {
	words, err := r.words(req)
	if err != nil {
		return false
	}
	c, _ := r.find(words)
	return c != nil && c.slow
}

func (r *Router) words(req Request) ([]string, error) {
	if req.Args != nil {
		return req.Args, nil
	}
	return Tokenize(req.Text)
}

// Handle runs one command and returns the reply. It never panics: a
// panicking command is logged and answered "Internal error."
func (r *Router) Handle(ctx context.Context, req Request) (reply Reply) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("command panicked", "text", req.Text, "panic", p)
			reply = Reply{Text: "Internal error.", Error: true}
		}
		r.metrics.Command(req.Platform, time.Since(start))
	}()
	words, err := r.words(req)
	if err != nil {
		return Reply{Text: fmt.Sprintf("Could not read the command: %v.\nUsage: /alerts help", err), Error: true}
	}
	if len(words) == 0 {
		return Reply{Text: r.help(req, nil)}
	}
	cmd, args := r.find(words)
	if cmd == nil {
		return Reply{Text: fmt.Sprintf("Unknown command %q.\n\n%s", strings.Join(words[:min(2, len(words))], " "), r.help(req, nil)), Error: true}
	}
	c := &call{req: req, cmd: cmd, args: args, now: r.now()}
	if cmd.admin && !r.isAdmin(req.User) {
		r.audit(ctx, c, "denied: "+cmd.name, strings.Join(args, " "), "", "")
		return Reply{Text: fmt.Sprintf("Only admins may use /alerts %s. Ask an admin, or see /alerts help.", cmd.name), Error: true}
	}
	text, err := cmd.run(ctx, c)
	if err != nil {
		var ue *UserError
		if errors.As(err, &ue) {
			return Reply{Text: ue.Msg + "\nUsage: " + cmd.usage(), Error: true}
		}
		r.log.Error("command failed", "command", cmd.name, "user", req.User, "err", err)
		return Reply{Text: "Internal error.", Error: true}
	}
	return Reply{Text: text, Public: cmd.public}
}

// Complete returns up to 25 ids for autocomplete.
func (r *Router) Complete(ctx context.Context, what, prefix string) []string {
	var all []string
	var err error
	switch what {
	case "event":
		all, err = r.eventStore.AllEventIDs(ctx)
	case "watcher":
		var ws []WatcherRecord
		ws, err = r.watcherStore.Watchers(ctx)
		for _, w := range ws {
			all = append(all, w.Spec.ID)
		}
	case "tag":
		all, err = r.eventStore.Tags(ctx)
	}
	if err != nil {
		r.log.Warn("autocomplete failed", "what", what, "err", err)
		return nil
	}
	prefix = strings.ToLower(strings.TrimPrefix(prefix, "#"))
	var out []string
	for _, s := range all {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	// Then substring matches, so "election" finds "upper-house-election-2025".
	for _, s := range all {
		if len(out) >= 25 {
			break
		}
		if !strings.HasPrefix(s, prefix) && strings.Contains(s, prefix) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	if len(out) > 25 {
		out = out[:25]
	}
	return out
}

// help lists the commands the caller may use, or one command in detail.
func (r *Router) help(req Request, topic []string) string {
	admin := r.isAdmin(req.User)
	if len(topic) > 0 {
		name := strings.ToLower(strings.Join(topic, " "))
		var found []*command
		for _, c := range r.commands {
			if c.name == name || strings.HasPrefix(c.name, name+" ") {
				found = append(found, c)
			}
		}
		if len(found) > 0 {
			var b strings.Builder
			for _, c := range found {
				fmt.Fprintf(&b, "%s\n  %s", c.usage(), c.summary)
				if c.admin {
					b.WriteString(" (admins only)")
				}
				b.WriteString("\n")
				for _, ex := range c.examples {
					fmt.Fprintf(&b, "  e.g. /alerts %s\n", ex)
				}
			}
			return strings.TrimRight(b.String(), "\n")
		}
	}
	var b strings.Builder
	b.WriteString("alertbot commands:\n")
	for _, c := range r.commands {
		if c.admin && !admin {
			continue
		}
		fmt.Fprintf(&b, "  %-52s %s\n", c.usage(), c.summary)
	}
	if !admin {
		b.WriteString("(Admins have more commands for events and watchers.)\n")
	}
	b.WriteString("Targets: #tag or tag:<tag>, watcher:<id>, event:<id>, all. Durations: 30m, 12h, 7d, 2w.\n")
	b.WriteString("More: /alerts help <command>")
	return b.String()
}

// audit writes one audit entry; failures are logged, not returned, since
// the action itself already happened.
func (r *Router) audit(ctx context.Context, c *call, action, target, before, after string) {
	err := r.auditLog.Audit(ctx, AuditEntry{
		At: c.now, Who: c.req.User, Channel: c.req.Channel,
		Action: action, Target: target, Before: before, After: after,
	})
	if err != nil {
		r.log.Error("audit entry not written", "action", action, "err", err)
	}
}

// needArgs checks the count of positional words.
func needArgs(c *call, lo, hi int) error {
	if len(c.args) < lo {
		return userErr("Missing arguments.")
	}
	if hi >= 0 && len(c.args) > hi {
		return userErr("Too many arguments: %q.", strings.Join(c.args[hi:], " "))
	}
	return nil
}

// keyValues parses key=value words, refusing keys not in allowed.
func keyValues(words []string, allowed []string) (map[string]string, []string, error) {
	kv := map[string]string{}
	var order []string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			return nil, nil, userErr("Expected key=value, got %q.", w)
		}
		if allowed != nil && !slices.Contains(allowed, k) {
			return nil, nil, userErr("Unknown field %q (want %s).", k, strings.Join(allowed, ", "))
		}
		if _, dup := kv[k]; dup {
			return nil, nil, userErr("Field %q given twice.", k)
		}
		kv[k] = v
		order = append(order, k)
	}
	return kv, order, nil
}
