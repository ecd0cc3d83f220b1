package bot

import (
	"context"
	"errors"
	"fmt"
	"golang.org/x/time/rate"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/policyteam/alertbot/watchers"
)

// UserError is a mistake of the caller: its message is shown as is, with
// the command's usage line unless the command was typed right and cannot
// run where it was (NoUsage).
type UserError struct {
	Msg     string
	NoUsage bool
}

// Error returns the message shown to the user.
func (e *UserError) Error() string { return e.Msg }

func userErr(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...)}
}

// refuse is a UserError for a command typed right that cannot run here:
// its usage line would not help.
func refuse(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...), NoUsage: true}
}

// call is one command being run.
type call struct {
	req  Request
	spec CommandSpec
	args []string // words after the command name
	now  time.Time
	// zone is the reader's: every time in the reply is shown in it, so
	// one reply never mixes zones (the caller's /alerts tz, else the
	// config's).
	zone *time.Location
	// buttons go under the reply where the platform shows them ("More").
	buttons []Button
	// attachment is a file for the reply (the timeline picture); public
	// shows the reply to the channel although the command's spec does
	// not say so (a picture posted for everyone).
	attachment *Attachment
	public     bool
}

// fmtTime writes an instant in the reader's zone.
func (c *call) fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(c.zone).Format("2006-01-02 15:04 MST")
}

// handler runs one command of the table.
type handler func(ctx context.Context, c *call) (string, error)

// usage is the usage line shown in help and after a mistake.
func usage(s CommandSpec) string { return "/alerts " + s.Usage() }

// AuditLog records who changed what; every admin command, every
// subscription change and every refused attempt is written to it.
type AuditLog interface {
	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, n int) ([]AuditEntry, error)
	// SearchAudit reads the log newest first, keeping up to n entries that
	// match, so a search does not load the whole log.
	SearchAudit(ctx context.Context, n int, match func(AuditEntry) bool) ([]AuditEntry, error)
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
	// Proposals, when set, keeps date proposals (DESIGN §10); without it
	// the proposal commands say so.
	Proposals ProposalStore
	// Users, when set, keeps each user's zone (/alerts tz); without it
	// every reply is in the config's zone.
	Users UserSettings
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
	// CommandRate and CommandBurst are each chat user's token bucket
	// (Slack and Discord users; the console and exec are not limited).
	// Zero means DefaultCommandRate and DefaultCommandBurst; a negative
	// rate turns the limit off.
	CommandRate  rate.Limit
	CommandBurst int
	// Later, when set, keeps "Remind again" presses and personal
	// reminders at leads of their own until they are due (DESIGN §9);
	// PlanLeads plans those reminders.
	Later     LaterStore
	PlanLeads LeadPlanner
	// Loading, when set, says whether the bot is still storing its
	// config's events (Bot.Loading): commands are then answered with a
	// note, and those that change something are refused for now.
	Loading func() (done, total int, active bool)
}

// Router answers /alerts commands from every platform.
type Router struct {
	eventStore    EventStore
	watcherStore  WatcherStore
	historyStore  HistoryStore
	channelStore  ChannelStore
	auditLog      AuditLog
	users         UserSettings
	later         LaterStore
	planLeads     LeadPlanner
	schedules     Schedules
	config        func() *Config
	isAdmin       func(string) bool
	factories     map[string]watchers.Factory
	nextAlert     func(ev *watchers.Event, now time.Time) (time.Time, string, bool)
	now           func() time.Time
	metrics       *Metrics
	log           *slog.Logger
	specs         []CommandSpec      // the command table, in help order
	runs          map[string]handler // by command name
	guard         *guard
	proposalStore ProposalStore
	loading       func() (done, total int, active bool)
}

var _ Handler = (*Router)(nil)

// NewRouter builds a router; every store, Schedules, Config and IsAdmin
// are required. Its command table is Commands with the kinds of
// Factories; it fails if a command has no handler or a handler no command.
func NewRouter(o RouterOptions) (*Router, error) {
	if o.Events == nil || o.Watchers == nil || o.History == nil || o.Channels == nil || o.Audit == nil ||
		o.Schedules == nil || o.Config == nil || o.IsAdmin == nil {
		return nil, errors.New("bot: router: every store, the schedules, Config and IsAdmin are required")
	}
	r := &Router{
		eventStore: o.Events, watcherStore: o.Watchers, historyStore: o.History, channelStore: o.Channels, auditLog: o.Audit,
		users: o.Users, proposalStore: o.Proposals, later: o.Later, planLeads: o.PlanLeads, schedules: o.Schedules, config: o.Config, isAdmin: o.IsAdmin, factories: o.Factories,
		nextAlert: o.NextAlert, now: o.Now, metrics: o.Metrics, log: o.Logger,
		guard: newGuard(o.CommandRate, o.CommandBurst), loading: o.Loading,
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
	r.specs = Commands(kinds(o.Factories))
	if err := checkCommands(r.specs); err != nil {
		return nil, fmt.Errorf("bot: router: %w", err)
	}
	runs, err := bind(r.specs, r.handlers())
	if err != nil {
		return nil, fmt.Errorf("bot: router: %w", err)
	}
	r.runs = runs
	return r, nil
}

// Commands returns the command table the router dispatches on, for
// platforms to build their command lists from.
func (r *Router) Commands() []CommandSpec { return slices.Clone(r.specs) }

// bind pairs every command with its handler by name. A command without a
// handler, or a handler without a command, is a mistake in the table.
func bind(specs []CommandSpec, handlers map[string]handler) (map[string]handler, error) {
	var errs []error
	runs := make(map[string]handler, len(specs))
	for _, s := range specs {
		h := handlers[s.Name]
		if h == nil {
			errs = append(errs, fmt.Errorf("command %q has no handler", s.Name))
			continue
		}
		runs[s.Name] = h
	}
	for _, name := range slices.Sorted(maps.Keys(handlers)) {
		if _, ok := runs[name]; !ok && handlers[name] != nil {
			errs = append(errs, fmt.Errorf("handler %q has no command in the table", name))
		}
	}
	return runs, errors.Join(errs...)
}

// kinds returns the watcher kinds of a wiring table, sorted.
func kinds(factories map[string]watchers.Factory) []string {
	return slices.Sorted(maps.Keys(factories))
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

// Slow reports whether req may take longer than a platform's ack deadline.
func (r *Router) Slow(req Request) bool {
	words, err := r.words(req)
	if err != nil {
		return false
	}
	s, _, ok := FindCommand(r.specs, words)
	return ok && s.Slow
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
	if len(req.Text) > MaxCommandBytes {
		return Reply{Text: fmt.Sprintf("That command is too long (%d bytes; at most %d).", len(req.Text), MaxCommandBytes), Error: true}
	}
	if req.Platform == "slack" || req.Platform == "discord" {
		if ok, wait := r.guard.allow(req.User, r.now()); !ok {
			return Reply{Text: fmt.Sprintf("Slow down: too many commands from you just now. Try again in %s.", waitText(wait)), Error: true}
		}
	}
	words, err := r.words(req)
	if err != nil {
		return Reply{Text: fmt.Sprintf("Could not read the command: %v.\nUsage: /alerts help", err), Error: true, Usage: true}
	}
	if len(words) == 0 {
		return Reply{Text: r.help(req, nil)}
	}
	spec, args, ok := FindCommand(r.specs, words)
	if !ok {
		if group := r.group(words[0]); group != "" {
			// "/alerts watcher" alone: the usage of its subcommands, not
			// the whole help.
			return Reply{Text: fmt.Sprintf("/alerts %s needs one of: %s.\n\n%s", group, strings.Join(r.subcommands(group), ", "),
				r.help(req, []string{group})), Error: true, Usage: true}
		}
		return Reply{Text: fmt.Sprintf("Unknown command %s.\n\n%s", echo(strings.Join(words[:min(2, len(words))], " ")), r.help(req, nil)),
			Error: true, Usage: true}
	}
	c := &call{req: req, spec: spec, args: args, now: r.now(), zone: r.loc()}
	if spec.Admin && !r.isAdmin(req.User) {
		// Repeats are counted, not stored: refusals must not fill the disk.
		if write, skipped := r.guard.refused(req.User, spec.Name, c.now); write {
			target := strings.Join(args, " ")
			if skipped > 0 {
				target = fmt.Sprintf("[%d more refusals not logged] %s", skipped, target)
			}
			r.audit(ctx, c, "denied: "+spec.Name, target, "", "")
		}
		return Reply{Text: fmt.Sprintf("Only admins may use /alerts %s. Ask an admin, or see /alerts help.", spec.Name), Error: true}
	}
	if err := checkArity(c); err != nil {
		return Reply{Text: err.Error() + "\nUsage: " + usage(spec), Error: true, Usage: true}
	}
	note, refuse := r.loadingNote(spec)
	if refuse {
		return Reply{Text: note, Error: true}
	}
	c.zone = r.readerZone(ctx, req.User)
	text, err := r.runs[spec.Name](ctx, c)
	if err != nil {
		var ue *UserError
		if errors.As(err, &ue) {
			if ue.NoUsage {
				return Reply{Text: ue.Msg, Error: true}
			}
			return Reply{Text: ue.Msg + "\nUsage: " + usage(spec), Error: true}
		}
		r.log.Error("command failed", "command", spec.Name, "user", req.User, "err", err)
		return Reply{Text: "Internal error.", Error: true}
	}
	return Reply{Text: note + text, Public: spec.Public || c.public, Buttons: c.buttons, Attachment: c.attachment}
}

// Complete returns up to 25 ids for autocomplete.
func (r *Router) Complete(ctx context.Context, what, prefix string) []string {
	var all []string
	var err error
	switch what {
	case CompleteEvent:
		all, err = r.eventStore.AllEventIDs(ctx)
	case CompleteWatcher:
		var ws []WatcherRecord
		ws, err = r.watcherStore.Watchers(ctx)
		for _, w := range ws {
			all = append(all, w.Spec.ID)
		}
	case CompleteTag:
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

// help lists the commands the caller may use, or one command in detail
// with its options, as Discord shows them.
func (r *Router) help(req Request, topic []string) string {
	admin := r.isAdmin(req.User)
	if len(topic) > 0 {
		name := strings.ToLower(strings.Join(topic, " "))
		var b strings.Builder
		for _, s := range r.specs {
			if s.Name != name && !strings.HasPrefix(s.Name, name+" ") {
				continue
			}
			fmt.Fprintf(&b, "%s\n  %s", usage(s), s.Summary)
			if s.Admin {
				b.WriteString(" (admins only)")
			}
			b.WriteString("\n")
			for _, o := range s.Options {
				fmt.Fprintf(&b, "  %s: %s", o.token(), o.Desc)
				if len(o.Choices) > 0 {
					fmt.Fprintf(&b, " (%s)", strings.Join(o.Choices, ", "))
				}
				b.WriteString("\n")
			}
			for _, ex := range s.Examples {
				fmt.Fprintf(&b, "  e.g. /alerts %s\n", ex)
			}
		}
		if b.Len() > 0 {
			return strings.TrimRight(b.String(), "\n")
		}
	}
	var b strings.Builder
	b.WriteString("alertbot commands:\n")
	for _, s := range r.specs {
		if s.Admin && !admin {
			continue
		}
		fmt.Fprintf(&b, "  %-52s %s\n", usage(s), s.Summary)
	}
	if !admin {
		b.WriteString("(Admins have more commands for events and watchers.)\n")
	}
	b.WriteString("Targets: #tag or tag:<tag>, watcher:<id>, event:<id>, proposals, all. Durations: 30m, 12h, 7d, 2w, 1h30m.\n")
	b.WriteString("More: /alerts help <command>")
	return b.String()
}

// audit writes one audit entry; failures are logged, not returned, since
// the action itself already happened.
func (r *Router) audit(ctx context.Context, c *call, action, target, before, after string) {
	err := r.auditLog.Audit(ctx, AuditEntry{
		At: c.now, Who: c.req.User, Channel: c.req.Channel, Action: action,
		Target: cutStored(target, auditTargetMax),
		Before: cutStored(before, auditRecordMax), After: cutStored(after, auditRecordMax),
	})
	if err != nil {
		r.log.Error("audit entry not written", "action", action, "err", err)
	}
}

// checkArity checks the count of words against the command's options, so
// handlers see at least their required words and no stray ones.
func checkArity(c *call) error {
	lo, hi := c.spec.arity()
	if len(c.args) < lo {
		return userErr("Missing arguments.")
	}
	if hi >= 0 && len(c.args) > hi {
		return userErr("Too many arguments: %s.", echo(strings.Join(c.args[hi:], " ")))
	}
	return nil
}

// intArg reads word as the integer option name, within its bounds.
func intArg(c *call, name, word string) (int, error) {
	o, _ := c.spec.option(name)
	v, err := strconv.Atoi(word)
	switch {
	case o.Max > 0 && (err != nil || v < o.Min || v > o.Max):
		return 0, userErr("%s must be a number from %d to %d, got %s.", name, o.Min, o.Max, echo(word))
	case err != nil:
		return 0, userErr("%s must be a whole number, got %s.", name, echo(word))
	}
	return v, nil
}

// keyValues parses key=value words, refusing keys not in allowed.
func keyValues(words []string, allowed []string) (map[string]string, []string, error) {
	kv := map[string]string{}
	var order []string
	for i, w := range words {
		k, v, ok := strings.Cut(w, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			if i > 0 && len(order) > 0 && strings.Contains(words[i-1], "=") {
				// title=New title with spaces: the value went on past its
				// first word. Show the quoted form that works.
				prev := order[len(order)-1]
				rest := words[i:]
				for j, x := range rest {
					if strings.Contains(x, "=") {
						rest = rest[:j]
						break
					}
				}
				val := strings.Join(append([]string{kv[prev]}, rest...), " ")
				return nil, nil, userErr("Expected key=value, got %s. A value with spaces needs quotes: %s=%s.",
					echo(w), prev, echo(val))
			}
			return nil, nil, userErr("Expected key=value, got %s.", echo(w))
		}
		if allowed != nil && !slices.Contains(allowed, k) {
			return nil, nil, userErr("Unknown field %s (want %s).", echo(k), strings.Join(allowed, ", "))
		}
		if _, dup := kv[k]; dup {
			return nil, nil, userErr("Field %s given twice.", echo(k))
		}
		kv[k] = v
		order = append(order, k)
	}
	return kv, order, nil
}
