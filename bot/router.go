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

// Router answers /alerts commands from every platform.
type Router struct {
	b        *Bot
	commands []*command
	log      *slog.Logger
}

var _ Handler = (*Router)(nil)

func newRouter(b *Bot) *Router {
	r := &Router{b: b, log: b.log.With("component", "router")}
	r.commands = r.table()
	return r
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
		r.b.metrics.Command(req.Platform, time.Since(start))
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
	c := &call{req: req, cmd: cmd, args: args, now: r.b.now()}
	if cmd.admin && !r.b.IsAdmin(req.User) {
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
		all, err = r.b.store.AllEventIDs(ctx)
	case "watcher":
		var ws []WatcherRecord
		ws, err = r.b.store.Watchers(ctx)
		for _, w := range ws {
			all = append(all, w.Spec.ID)
		}
	case "tag":
		all, err = r.b.store.Tags(ctx)
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
	admin := r.b.IsAdmin(req.User)
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
	err := r.b.store.Audit(ctx, AuditEntry{
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
