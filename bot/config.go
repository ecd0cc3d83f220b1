package bot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/policyteam/alertbot/watchers"
)

// MaxConfigSize caps the size of a config file, so a wrong path (a log, a
// database) fails fast with a clear error instead of being parsed as YAML.
// It leaves room for generated files: 100,000 events take about 10 MiB.
const MaxConfigSize = 64 << 20

// Config is a validated config file (DESIGN §3). Its zero-valued settings
// have been replaced by the defaults.
type Config struct {
	Path          string          // the file's path (or the name given to ParseConfig)
	Timezone      string          // IANA zone name; "UTC" when absent
	Location      *time.Location  // Timezone, loaded
	AlertTime     time.Duration   // local time of day for date-only reminders; "09:00" → 9h (default)
	LeadTimes     []watchers.Lead // default reminder offsets; default [30d 7d 1d 0d]
	CatchUp       time.Duration   // how late a missed milestone may still be sent; default 7d
	Admins        []string        // addresses: slack:<user id>, discord:<user id>, console:local
	Events        []ConfigEvent
	Watchers      []ConfigWatcher
	Subscriptions []ConfigSubscription
	Channels      []ConfigChannel
	Limits        Limits
}

// Limits are the platforms' rate limits the bot keeps to before sending
// (`limits:` in the config). Zero means the platform's documented limit;
// NoLimit turns a limiter off, for workspaces whose limits were raised and
// for benchmarks.
type Limits struct {
	SlackPerChannel float64 // messages a second to one Slack channel; default 1
	DiscordGlobal   float64 // requests a second to Discord; default 50
}

// NoLimit in Limits turns a limiter off ("off" in the file).
const NoLimit = -1.0

// parseRate reads a rate such as "1/s", "50/s", "30/m" or "off".
func parseRate(s string) (float64, error) {
	if strings.EqualFold(s, "off") {
		return NoLimit, nil
	}
	num, unit, ok := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || n <= 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("bad rate %q (want e.g. 1/s, 30/m or off)", s)
	}
	switch strings.TrimSpace(unit) {
	case "s":
		return n, nil
	case "m":
		return n / 60, nil
	case "h":
		return n / 3600, nil
	}
	return 0, fmt.Errorf("bad rate %q: the unit is s, m or h (e.g. 1/s, 30/m)", s)
}

// ConfigEvent is one entry of `events:`. Event.Origin is "config" and the
// At of every change is resolved to an instant, with By "config".
type ConfigEvent struct {
	Event watchers.Event
	Line  int // line of the entry in the file
}

// Hash is the sha256 hex of the entry's canonical JSON: it changes exactly
// when the entry does. It is worked out when asked (Seed asks once per
// entry), not kept: 100,000 entries would hold 8 MB of hashes from the
// file's reading to the end of its seeding.
func (ce *ConfigEvent) Hash() string { return eventHash(ce.Event) }

// ConfigWatcher is one entry of `watchers:`.
type ConfigWatcher struct {
	Spec watchers.Spec
	Line int    // line of the entry in the file
	Hash string // sha256 hex of the spec's canonical JSON
}

// ConfigSubscription is one entry of `subscriptions:`.
type ConfigSubscription struct {
	Channel string   // channel address, e.g. "slack:C0123ABCD"
	To      []string // normalised targets: "all", "tag:x", "watcher:id", "event:id"
	Line    int      // line of the entry in the file
}

// ConfigChannel is one entry of `channels:`: a channel's quiet hours,
// digest and zone (DESIGN §9), in canonical form, Origin "config".
type ConfigChannel struct {
	Settings ChannelSettings
	Line     int    // line of the entry in the file
	Hash     string // sha256 hex of the entry's canonical JSON
}

// ConfigError is one mistake in a config file, at a line (0 when the
// mistake has no line, such as an unreadable file).
type ConfigError struct {
	File string
	Line int
	Msg  string
}

// Error returns "file:line: msg".
func (e ConfigError) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// ConfigErrors is every mistake found in a config file, in line order. The
// loaders return it whenever there is at least one.
type ConfigErrors []ConfigError

// Error returns one "file:line: msg" per line.
func (es ConfigErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Defaults returns the config-wide settings handed to every watcher.
func (c *Config) Defaults() watchers.Defaults {
	return watchers.Defaults{
		Location:  c.Location,
		AlertTime: c.AlertTime,
		LeadTimes: slices.Clone(c.LeadTimes),
		CatchUp:   c.CatchUp,
	}
}

// LoadConfig reads and validates the config file at path. Mistakes in the
// file are returned together as ConfigErrors; nothing is written anywhere.
func LoadConfig(path string, factories map[string]watchers.Factory) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	// Read into a buffer of the file's size (io.ReadAll alone grows one
	// by doubling: twice the file in garbage on a large config).
	size := 512
	if fi, err := f.Stat(); err == nil && fi.Size() < MaxConfigSize {
		size += int(fi.Size())
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err = buf.ReadFrom(io.LimitReader(f, MaxConfigSize+1))
	data := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > MaxConfigSize {
		return nil, ConfigErrors{{File: path, Msg: fmt.Sprintf("file is larger than %d MiB; is this really the config file? (Split very large event lists into a calendar or JSON source.)", MaxConfigSize>>20)}}
	}
	return ParseConfig(path, data, factories)
}

// ParseConfig validates a config file's contents; name is used in errors
// and as Config.Path. factories lists the watcher kinds that may be used;
// each watcher's spec is checked by its kind's factory.
func ParseConfig(name string, data []byte, factories map[string]watchers.Factory) (*Config, error) {
	if fastEvents {
		if blk, ok := splitEventsBlock(data); ok {
			p := &configParser{file: name, factories: factories, block: &blk}
			cfg := p.parse(blk.rest)
			if len(p.errs) == 0 && !p.unusual {
				return cfg, nil
			}
			// A mistake or an unusual entry: the whole file again, the
			// ordinary way, so errors are reported exactly as ever.
		}
	}
	p := &configParser{file: name, factories: factories}
	cfg := p.parse(data)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return nil, p.errs
	}
	return cfg, nil
}

// NormalizeTarget turns a subscription target as written in the config or
// typed in chat into its stored form: "#budget" and "tag:budget" become
// "tag:budget"; "watcher:<id>", "event:<id>" and "all" stay as they are.
// Anything else is an error that says which forms are allowed.
func NormalizeTarget(s string) (string, error) {
	t := strings.TrimSpace(s)
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("bad target %q: %s", s, why)
	}
	kind, val, ok := strings.Cut(t, ":")
	// Keywords are case-insensitive ("All", "Tag:budget"); ids and tags
	// are not, since they are stored lowercase and a silent fold would
	// hide a typo in the config.
	kind = strings.ToLower(kind)
	switch {
	case strings.EqualFold(t, "all"):
		return "all", nil
	case strings.EqualFold(t, ProposalsTarget):
		return ProposalsTarget, nil
	case strings.HasPrefix(t, "#"):
		kind, val, ok = "tag", t[1:], true
	case strings.HasPrefix(t, "＃"):
		// The full-width # a Japanese keyboard types.
		kind, val, ok = "tag", strings.TrimPrefix(t, "＃"), true
	case !ok:
		return bad("want #tag, tag:<tag>, watcher:<id>, event:<id>, proposals or all")
	}
	switch kind {
	case "tag":
		if !watchers.TagPattern.MatchString(val) {
			return bad(watchers.TagRule)
		}
	case "watcher", "event":
		if !watchers.IDPattern.MatchString(val) {
			return bad("an id is 1-64 lowercase letters, digits and dashes")
		}
	default:
		return bad("want #tag, tag:<tag>, watcher:<id>, event:<id>, proposals or all")
	}
	return kind + ":" + val, nil
}

// Defaults of DESIGN §3 for settings the file leaves out.
var (
	defaultAlertTime = 9 * time.Hour
	defaultLeadTimes = []watchers.Lead{{N: 30, Unit: 'd'}, {N: 7, Unit: 'd'}, {N: 1, Unit: 'd'}, {N: 0, Unit: 'd'}}
	defaultCatchUp   = 7 * 24 * time.Hour
)

// Keys allowed in each kind of mapping, in the order the errors list them.
var (
	cfgTopKeys          = []string{"timezone", "alert_time", "lead_times", "catch_up", "admins", "events", "watchers", "subscriptions", "channels", "limits"}
	cfgLimitKeys        = []string{"slack_per_channel", "discord_global"}
	cfgEventKeys        = []string{"id", "title", "due", "timezone", "status", "tags", "source", "lead_times", "changes", "match"}
	cfgChangeKeys       = []string{"at", "due", "status", "title", "note", "source"}
	cfgSubscriptionKeys = []string{"channel", "to"}
	cfgChannelKeys      = []string{"channel", "quiet", "digest", "zone"}
)

// configParser walks one file's YAML nodes, collecting every mistake with
// its line rather than stopping at the first.
type configParser struct {
	file      string
	factories map[string]watchers.Factory
	errs      ConfigErrors
	// block, when set, is the `events:` list read entry by entry (see
	// configfast.go); unusual is set when an entry could not be.
	block   *eventsBlock
	unusual bool
}

// errorf records a mistake at n's line (0 when n is nil).
func (p *configParser) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, ConfigError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError records a YAML syntax error, keeping its line when the
// library gave one.
func (p *configParser) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errs = append(p.errs, ConfigError{File: p.file, Line: line, Msg: "yaml syntax: " + m[2]})
		return
	}
	p.errs = append(p.errs, ConfigError{File: p.file, Msg: "yaml syntax: " + strings.TrimPrefix(msg, "yaml: ")})
}

func (p *configParser) parse(data []byte) *Config {
	cfg := &Config{
		Path:      p.file,
		Timezone:  "UTC",
		Location:  time.UTC,
		AlertTime: defaultAlertTime,
		LeadTimes: slices.Clone(defaultLeadTimes),
		CatchUp:   defaultCatchUp,
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			p.syntaxError(err)
		}
		return cfg // an empty file is a config of defaults
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "a second YAML document (---); the config is one document")
	} else if !errors.Is(err, io.EOF) {
		p.syntaxError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return cfg
		}
		root = root.Content[0]
	}
	if yamlNull(root) {
		return cfg
	}
	top := p.mapping(root, "the config", cfgTopKeys)
	if top == nil {
		return cfg
	}

	// Settings first: events and watchers are read in their light.
	if e, ok := top["timezone"]; ok {
		if name, ok := p.scalar(e, "timezone"); ok && name != "" {
			if loc, err := loadZone(name); err != nil {
				p.errorf(e.val, "%v", err)
			} else {
				cfg.Timezone, cfg.Location = name, loc
			}
		}
	}
	if e, ok := top["alert_time"]; ok {
		if s, ok := p.scalar(e, "alert_time"); ok && s != "" {
			if d, err := parseClock(s); err != nil {
				p.errorf(e.val, "%v", err)
			} else {
				cfg.AlertTime = d
			}
		}
	}
	if e, ok := top["lead_times"]; ok {
		if leads, ok := p.leads(e, "lead_times"); ok {
			cfg.LeadTimes = leads
		}
	}
	if e, ok := top["catch_up"]; ok {
		if s, ok := p.scalar(e, "catch_up"); ok && s != "" {
			if d, err := watchers.ParseDuration(s); err != nil {
				p.errorf(e.val, "catch_up: %v", err)
			} else {
				cfg.CatchUp = d
			}
		}
	}
	if e, ok := top["admins"]; ok {
		for _, n := range p.list(e, "admins", "[slack:U0ADMIN1, console:local]") {
			if _, _, err := parseAddress("admin", n.Value); err != nil {
				p.errorf(n, "%v", err)
			} else if !slices.Contains(cfg.Admins, n.Value) {
				cfg.Admins = append(cfg.Admins, n.Value)
			}
		}
	}

	if e, ok := top["limits"]; ok && !yamlNull(e.val) {
		lim := p.mapping(e.val, "limits", cfgLimitKeys)
		for key, into := range map[string]*float64{"slack_per_channel": &cfg.Limits.SlackPerChannel, "discord_global": &cfg.Limits.DiscordGlobal} {
			if f, ok := lim[key]; ok {
				if v, ok := p.scalar(f, "limits."+key); ok && v != "" {
					if r, err := parseRate(v); err != nil {
						p.errorf(f.val, "limits.%s: %v", key, err)
					} else {
						*into = r
					}
				}
			}
		}
	}

	events := map[string]int{} // id → line of its first definition
	if p.block != nil {
		cfg.Events = make([]ConfigEvent, 0, len(p.block.entries))
		p.unusual = !p.block.each(func(n *yaml.Node) {
			if ev, ok := p.event(n, cfg, events); ok {
				cfg.Events = append(cfg.Events, ev)
			}
		})
		if p.unusual {
			return cfg
		}
	} else if e, ok := top["events"]; ok {
		entries := p.entries(e, "events")
		// Sized once: an event is large, and growing the slice by
		// doubling copied a 100,000-event calendar's several times over.
		cfg.Events = make([]ConfigEvent, 0, len(entries))
		for _, n := range entries {
			if ev, ok := p.event(n, cfg, events); ok {
				cfg.Events = append(cfg.Events, ev)
			}
		}
	}
	wids := map[string]int{}
	if e, ok := top["watchers"]; ok {
		for _, n := range p.entries(e, "watchers") {
			if w, ok := p.watcher(n, cfg, wids); ok {
				cfg.Watchers = append(cfg.Watchers, w)
			}
		}
	}
	if e, ok := top["subscriptions"]; ok {
		for _, n := range p.entries(e, "subscriptions") {
			if s, ok := p.subscription(n, events, wids); ok {
				cfg.Subscriptions = append(cfg.Subscriptions, s)
			}
		}
	}
	if e, ok := top["channels"]; ok {
		seen := map[string]int{}
		for _, n := range p.entries(e, "channels") {
			if c, ok := p.channel(n, seen); ok {
				cfg.Channels = append(cfg.Channels, c)
			}
		}
	}
	return cfg
}

// channel reads one entry of `channels:`; seen maps each channel to the
// line of its entry, so a second entry for it is reported.
func (p *configParser) channel(n *yaml.Node, seen map[string]int) (ConfigChannel, bool) {
	f := p.mapping(n, "channels entry", cfgChannelKeys)
	if f == nil {
		return ConfigChannel{}, false
	}
	nerr := len(p.errs)
	c := ConfigChannel{Line: n.Line, Settings: ChannelSettings{Origin: "config"}}
	s := &c.Settings
	if e, ok := f["channel"]; ok {
		if ch, ok := p.scalar(e, "channel"); ok {
			if _, _, err := parseAddress("channel", ch); err != nil {
				p.errorf(e.val, "%v", err)
			} else if first, dup := seen[ch]; dup {
				p.errorf(e.val, "duplicate channels entry for %s (first at line %d)", ch, first)
			} else {
				seen[ch] = n.Line
			}
			s.Channel = ch
		}
	} else {
		p.errorf(n, "channels entry has no channel (e.g. channel: slack:C0123ABCD)")
	}
	if e, ok := f["quiet"]; ok {
		if v, ok := p.scalar(e, "quiet"); ok && v != "" {
			if q, err := ParseQuiet(v); err != nil {
				p.errorf(e.val, "%v", err)
			} else {
				s.Quiet = q
			}
		}
	}
	if e, ok := f["digest"]; ok {
		if v, ok := p.scalar(e, "digest"); ok && v != "" {
			if d, err := ParseDigest(v); err != nil {
				p.errorf(e.val, "%v", err)
			} else {
				s.Digest = d
			}
		}
	}
	if e, ok := f["zone"]; ok {
		if v, ok := p.scalar(e, "zone"); ok && v != "" {
			if _, err := loadZone(v); err != nil {
				p.errorf(e.val, "zone: %v", err)
			} else {
				s.Zone = v
			}
		}
	}
	if len(p.errs) == nerr && s.Quiet == "" && s.Digest == "" && s.Zone == "" {
		p.errorf(n, "channels entry for %s sets nothing: give quiet (e.g. \"22:00-07:00\"), digest (e.g. daily 08:00) or zone", s.Channel)
	}
	c.Hash = configHash(struct {
		Channel, Quiet, Digest, Zone string
	}{s.Channel, s.Quiet, s.Digest, s.Zone})
	return c, len(p.errs) == nerr
}

// yamlPair is one key: value of a mapping.
type yamlPair struct{ key, val *yaml.Node }

// mapping returns n's known keys, reporting every unknown or repeated key.
// It returns nil when n is not a mapping.
func (p *configParser) mapping(n *yaml.Node, what string, known []string) map[string]yamlPair {
	n = yamlDeref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping of key: value, not %s", what, describeYAML(n))
		return nil
	}
	out := make(map[string]yamlPair, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlDeref(n.Content[i+1])
		switch prev, dup := out[k.Value]; {
		case k.Value == "<<" && k.Tag == "!!merge":
			p.errorf(k, "merge keys (<<) are not supported in %s: write the fields out", what)
		case !slices.Contains(known, k.Value):
			p.errorf(k, "unknown field %q in %s (want %s)", k.Value, what, strings.Join(known, ", "))
		case dup:
			p.errorf(k, "duplicate field %q in %s (first at line %d)", k.Value, what, prev.key.Line)
		default:
			out[k.Value] = yamlPair{k, v}
		}
	}
	return out
}

// scalar returns e's value as text; null is "". It reports lists and
// mappings given where a single value belongs.
func (p *configParser) scalar(e yamlPair, field string) (string, bool) {
	if e.val.Kind != yaml.ScalarNode {
		p.errorf(e.val, "%s must be a single value, not %s", field, describeYAML(e.val))
		return "", false
	}
	if yamlNull(e.val) {
		return "", true
	}
	return strings.TrimSpace(e.val.Value), true
}

// list returns the items of a list of single values; null is an empty
// list. Items that are not single values are reported and left out.
func (p *configParser) list(e yamlPair, field, example string) []*yaml.Node {
	if yamlNull(e.val) {
		return nil
	}
	if e.val.Kind != yaml.SequenceNode {
		p.errorf(e.val, "%s must be a list, e.g. %s", field, example)
		return nil
	}
	var out []*yaml.Node
	for _, n := range e.val.Content {
		n = yamlDeref(n)
		if n.Kind != yaml.ScalarNode || yamlNull(n) {
			p.errorf(n, "%s: each item must be a single value, not %s", field, describeYAML(n))
			continue
		}
		out = append(out, n)
	}
	return out
}

// entries returns the items of a list of mappings (events, watchers,
// subscriptions); null is an empty list.
func (p *configParser) entries(e yamlPair, field string) []*yaml.Node {
	if yamlNull(e.val) {
		return nil
	}
	if e.val.Kind != yaml.SequenceNode {
		p.errorf(e.val, "%s must be a list of entries, each starting with \"- \"", field)
		return nil
	}
	out := make([]*yaml.Node, 0, len(e.val.Content))
	for _, n := range e.val.Content {
		out = append(out, yamlDeref(n))
	}
	return out
}

// leads parses a list of lead times, reporting each bad one at its line.
func (p *configParser) leads(e yamlPair, field string) ([]watchers.Lead, bool) {
	if yamlNull(e.val) {
		return nil, false // absent: the defaults apply
	}
	items := p.list(e, field, "[30d, 7d, 1d, 0d]")
	if e.val.Kind != yaml.SequenceNode {
		return nil, false
	}
	out := make([]watchers.Lead, 0, len(items))
	ok := true
	for _, n := range items {
		l, err := watchers.ParseLead(n.Value)
		if err != nil {
			p.errorf(n, "%s: %v", field, err)
			ok = false
			continue
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, ok
}

// tags validates a list of tags.
func (p *configParser) tags(e yamlPair) []string {
	var out []string
	for _, n := range p.list(e, "tags", "[japan, budget]") {
		if !watchers.TagPattern.MatchString(n.Value) {
			p.errorf(n, "bad tag %q: %s", n.Value, watchers.TagRule)
			continue
		}
		if !slices.Contains(out, n.Value) {
			out = append(out, n.Value)
		}
	}
	return out
}

// match validates an event's names (DESIGN §10), each bad one at its line.
func (p *configParser) match(e yamlPair) []string {
	var out []string
	for i, n := range p.list(e, "match", watchers.MatchExample) {
		if _, err := watchers.CompileMatchEntry(n.Value); err != nil {
			p.errorf(n, "match: entry %d: %v (e.g. match: %s)", i+1, err, watchers.MatchExample)
			continue
		}
		if !slices.Contains(out, n.Value) {
			out = append(out, n.Value)
		}
	}
	return out
}

// event reads one entry of `events:`.
func (p *configParser) event(n *yaml.Node, cfg *Config, seen map[string]int) (ConfigEvent, bool) {
	f := p.mapping(n, "event", cfgEventKeys)
	if f == nil {
		return ConfigEvent{}, false
	}
	nerr := len(p.errs)
	ev := watchers.Event{Origin: "config"}

	loc := cfg.Location
	if e, ok := f["timezone"]; ok {
		if name, ok := p.scalar(e, "timezone"); ok && name != "" {
			if l, err := loadZone(name); err != nil {
				p.errorf(e.val, "%v", err)
			} else {
				ev.Zone, loc = name, l
			}
		}
	}
	if e, ok := f["id"]; ok {
		if id, ok := p.scalar(e, "id"); ok {
			ev.ID = id
			if id == "" {
				p.errorf(e.val, "event has no id")
			} else {
				p.checkID(e.val, "event", id, seen)
			}
		}
	} else {
		p.errorf(n, "event has no id")
	}
	if e, ok := f["title"]; ok {
		if s, ok := p.scalar(e, "title"); ok {
			if s == "" {
				p.errorf(e.val, "title is empty")
			}
			ev.Title = s
		}
	} else {
		p.errorf(n, "%s has no title", entryLabel("event", ev.ID))
	}
	if e, ok := f["due"]; ok {
		if s, ok := p.scalar(e, "due"); ok {
			if d, err := watchers.ParseDue(s, loc); err != nil {
				p.errorf(e.val, "%v", err)
			} else {
				ev.Due = d.Raw
			}
		}
	} else {
		p.errorf(n, "%s has no due date (e.g. 2025-07-20, 2025-07 or JFY2025)", entryLabel("event", ev.ID))
	}
	if e, ok := f["status"]; ok {
		if s, ok := p.scalar(e, "status"); ok && s != "" {
			if st, err := watchers.ParseStatus(s); err != nil {
				p.errorf(e.val, "%v", err)
			} else {
				ev.Status = st
			}
		}
	}
	if e, ok := f["tags"]; ok {
		ev.Tags = p.tags(e)
	}
	if e, ok := f["source"]; ok {
		if s, ok := p.scalar(e, "source"); ok && s != "" {
			if err := checkHTTPURL(s); err != nil {
				p.errorf(e.val, "source: %v", err)
			}
			ev.Source = s
		}
	}
	if e, ok := f["lead_times"]; ok {
		if leads, ok := p.leads(e, "lead_times"); ok {
			ev.LeadTimes = leads
		}
	}
	if e, ok := f["match"]; ok {
		ev.Match = p.match(e)
	}
	if e, ok := f["changes"]; ok {
		var prev *watchers.Change
		var prevLine int
		for _, cn := range p.entries(e, "changes") {
			c, atNode, ok := p.change(cn, cfg, loc)
			if !ok {
				continue
			}
			if prev != nil && c.At.Before(prev.At) {
				p.errorf(atNode, "change at %s comes before the change at %s (line %d): list changes in time order",
					c.At.Format("2006-01-02 15:04 MST"), prev.At.Format("2006-01-02 15:04 MST"), prevLine)
			}
			ev.Changes = append(ev.Changes, c)
			prev, prevLine = &ev.Changes[len(ev.Changes)-1], atNode.Line
		}
	}
	if len(p.errs) > nerr {
		return ConfigEvent{}, false
	}
	return ConfigEvent{Event: ev, Line: n.Line}, true
}

// change reads one entry of an event's `changes:` in the event's zone loc.
// It returns the node of `at`, for errors about the order.
func (p *configParser) change(n *yaml.Node, cfg *Config, loc *time.Location) (watchers.Change, *yaml.Node, bool) {
	f := p.mapping(n, "change", cfgChangeKeys)
	if f == nil {
		return watchers.Change{}, nil, false
	}
	nerr := len(p.errs)
	c := watchers.Change{By: "config"}
	at, hasAt := f["at"]
	if hasAt {
		if s, ok := p.scalar(at, "at"); ok {
			t, err := parseChangeTime(s, loc, cfg.AlertTime)
			if err != nil {
				p.errorf(at.val, "%v", err)
			}
			c.At = t
		}
	} else {
		p.errorf(n, "change has no at: give the date (2025-07-03) or instant (2025-07-03T10:00) it happens")
	}
	if e, ok := f["due"]; ok {
		if s, ok := p.scalar(e, "due"); ok && s != "" {
			if d, err := watchers.ParseDue(s, loc); err != nil {
				p.errorf(e.val, "%v", err)
			} else {
				c.Due = d.Raw
			}
		}
	}
	if e, ok := f["status"]; ok {
		if s, ok := p.scalar(e, "status"); ok && s != "" {
			if st, err := watchers.ParseStatus(s); err != nil {
				p.errorf(e.val, "%v", err)
			} else {
				c.Status = st
			}
		}
	}
	for _, k := range []string{"title", "note", "source"} {
		e, ok := f[k]
		if !ok {
			continue
		}
		s, ok := p.scalar(e, k)
		if !ok {
			continue
		}
		switch k {
		case "title":
			c.Title = s
		case "note":
			c.Note = s
		case "source":
			if s != "" {
				if err := checkHTTPURL(s); err != nil {
					p.errorf(e.val, "source: %v", err)
				}
			}
			c.Source = s
		}
	}
	if len(p.errs) > nerr {
		return c, nil, false
	}
	if c.Due == "" && c.Status == "" && c.Title == "" && c.Note == "" && c.Source == "" {
		p.errorf(n, "change changes nothing: give at least one of due, status, title, note or source")
		return c, nil, false
	}
	return c, at.val, true
}

// yamlFields returns the yaml keys of struct type t in field order and
// the index of each key's field, so the strictness follows the struct
// (watchers.Spec and its fetch options).
func yamlFields(t reflect.Type) (names []string, index map[string]int) {
	index = map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
			index[name] = i
		}
	}
	return names, index
}

// watcher reads one entry of `watchers:` and lets its kind's factory check
// the spec.
func (p *configParser) watcher(n *yaml.Node, cfg *Config, seen map[string]int) (ConfigWatcher, bool) {
	nerr := len(p.errs)
	var spec watchers.Spec
	keys := map[string]*yaml.Node{} // "url", "fetch.timeout" → key node
	vals := map[string]*yaml.Node{}
	bad := map[string]bool{} // fields already reported, so the factory does not repeat them
	if !p.decodeStrict(n, reflect.ValueOf(&spec).Elem(), "watcher", "", keys, vals, bad) {
		return ConfigWatcher{}, false
	}
	fail := func(field, format string, args ...any) {
		at := vals[field]
		if at == nil {
			at = n
		}
		p.errorf(at, format, args...)
		bad[field] = true
	}

	switch {
	case bad["id"]:
	case spec.ID == "":
		fail("id", "watcher has no id")
	case !p.checkID(vals["id"], "watcher", spec.ID, seen):
		bad["id"] = true
	}
	kinds := slices.Sorted(maps.Keys(p.factories))
	factory := p.factories[spec.Kind]
	switch {
	case bad["kind"]:
	case spec.Kind == "":
		fail("kind", "%s has no kind (want %s)", entryLabel("watcher", spec.ID), watcherKindList(kinds))
	case factory == nil:
		fail("kind", "unknown kind %q (want %s)", spec.Kind, watcherKindList(kinds))
	}
	switch {
	case bad["schedule"]:
	case strings.TrimSpace(spec.Schedule) == "":
		fail("schedule", "%s has no schedule (e.g. \"@every 1m\" or \"*/30 * * * *\")", entryLabel("watcher", spec.ID))
	default:
		if err := validateSchedule(spec.Schedule); err != nil {
			fail("schedule", "%v", err)
		}
	}
	if !bad["tags"] {
		for _, t := range spec.Tags {
			if !watchers.TagPattern.MatchString(t) {
				fail("tags", "bad tag %q: %s", t, watchers.TagRule)
			}
		}
	}
	if !bad["fail_after"] && spec.FailAfter < 0 {
		fail("fail_after", "fail_after must be 0 or more, not %d", spec.FailAfter)
	}
	for _, k := range []string{"timeout", "fetch.timeout"} {
		s := spec.Timeout
		if k == "fetch.timeout" {
			s = spec.Fetch.Timeout
		}
		if !bad[k] && s != "" {
			if err := checkTimeout(s); err != nil {
				fail(k, "%s: %v", k, err)
			}
		}
	}
	if !bad["lead_times"] {
		for _, l := range spec.LeadTimes {
			if _, err := watchers.ParseLead(l); err != nil {
				fail("lead_times", "lead_times: %v", err)
			}
		}
	}
	if !bad["timezone"] && spec.Timezone != "" {
		if _, err := loadZone(spec.Timezone); err != nil {
			fail("timezone", "%v", err)
		}
	}
	if !bad["url"] && spec.URL != "" {
		if err := checkHTTPURL(spec.URL); err != nil {
			fail("url", "url: %v", err)
		}
	}
	if factory != nil {
		if err := callFactory(factory, spec, watchers.Deps{Defaults: cfg.Defaults()}); err != nil {
			var fe *watchers.FieldError
			if errors.As(err, &fe) {
				if !bad[fe.Field] && !bad["fetch."+fe.Field] {
					at := keys[fe.Field]
					if at == nil {
						// A factory may name a fetch option without its prefix.
						at = keys["fetch."+fe.Field]
					}
					if at == nil {
						at = n
					}
					p.errorf(at, "%v", fe)
				}
			} else {
				p.errorf(n, "%s: %v", entryLabel("watcher", spec.ID), err)
			}
		}
	}
	if len(p.errs) > nerr {
		return ConfigWatcher{}, false
	}
	return ConfigWatcher{Spec: spec, Line: n.Line, Hash: configHash(spec)}, true
}

// decodeStrict decodes mapping n into the struct out key by key, so that
// an unknown key or a value of the wrong type is reported at its own line.
// keys and vals receive each key's and value's node under its dotted path.
func (p *configParser) decodeStrict(n *yaml.Node, out reflect.Value, what, prefix string, keys, vals map[string]*yaml.Node, bad map[string]bool) bool {
	known, index := yamlFields(out.Type())
	f := p.mapping(n, what, known)
	if f == nil {
		return false
	}
	// Walk in file order, so errors come out in line order.
	for _, e := range pairsInFileOrder(f) {
		k := e.key.Value
		path := prefix + k
		keys[path], vals[path] = e.key, e.val
		fv := out.Field(index[k])
		if fv.Kind() == reflect.Struct {
			if yamlNull(e.val) {
				continue
			}
			if !p.decodeStrict(e.val, fv, k, path+".", keys, vals, bad) {
				bad[path] = true
			}
			continue
		}
		if err := e.val.Decode(fv.Addr().Interface()); err != nil {
			p.errorf(e.val, "%s must be %s, not %s", k, describeGoType(fv.Type()), describeYAML(e.val))
			bad[path] = true
			continue
		}
		if fv.Kind() == reflect.String {
			fv.SetString(strings.TrimSpace(fv.String()))
		}
	}
	return true
}

// subscription reads one entry of `subscriptions:`.
func (p *configParser) subscription(n *yaml.Node, events, wids map[string]int) (ConfigSubscription, bool) {
	f := p.mapping(n, "subscription", cfgSubscriptionKeys)
	if f == nil {
		return ConfigSubscription{}, false
	}
	nerr := len(p.errs)
	s := ConfigSubscription{Line: n.Line}
	if e, ok := f["channel"]; ok {
		if ch, ok := p.scalar(e, "channel"); ok {
			if _, _, err := parseAddress("channel", ch); err != nil {
				p.errorf(e.val, "%v", err)
			}
			s.Channel = ch
		}
	} else {
		p.errorf(n, "subscription has no channel (e.g. slack:C0123ABCD, discord:1234567890, console:local)")
	}
	e, ok := f["to"]
	if !ok {
		p.errorf(n, "subscription has no to: (e.g. [all] or [tag:budget, event:jp-fy2025-budget])")
		return s, false
	}
	var items []*yaml.Node
	if e.val.Kind == yaml.ScalarNode && !yamlNull(e.val) {
		items = []*yaml.Node{e.val} // `to: all` reads as `to: [all]`
	} else {
		items = p.list(e, "to", "[all] or [tag:budget, watcher:deadlines]")
	}
	for _, tn := range items {
		t, err := NormalizeTarget(tn.Value)
		if err != nil {
			p.errorf(tn, "%v", err)
			continue
		}
		kind, id, _ := strings.Cut(t, ":")
		if kind == "event" && events[id] == 0 || kind == "watcher" && wids[id] == 0 {
			p.errorf(tn, "unknown subscription target %q: no %s with id %q in this file", tn.Value, kind, id)
			continue
		}
		if !slices.Contains(s.To, t) {
			s.To = append(s.To, t)
		}
	}
	if len(p.errs) == nerr && len(s.To) == 0 {
		p.errorf(e.val, "subscription to nothing: list at least one target, e.g. [all]")
	}
	return s, len(p.errs) == nerr
}

// checkID validates an id and records it in seen, reporting a second use
// with the line of the first.
func (p *configParser) checkID(n *yaml.Node, what, id string, seen map[string]int) bool {
	if err := watchers.ValidID(what, id); err != nil {
		p.errorf(n, "%v", err)
		return false
	}
	if first, dup := seen[id]; dup {
		p.errorf(n, "duplicate %s id %q (first defined at line %d)", what, id, first)
		return false
	}
	seen[id] = n.Line
	return true
}

// callFactory runs a factory, turning a panic into an error: a bad spec
// must never bring down `alertbot check` or a reload.
func callFactory(f watchers.Factory, spec watchers.Spec, deps watchers.Deps) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kind %s could not check this spec (internal error: %v)", spec.Kind, r)
		}
	}()
	_, err = f(spec, deps)
	return err
}

// validateSchedule checks a cron spec as the runner will parse it.
func validateSchedule(spec string) error {
	_, err := watchers.ParseSchedule(spec)
	return err
}

// checkTimeout accepts a Go duration ("30s", "1m30s") or one in the units
// of DESIGN §4 ("5m"); it must be positive.
func checkTimeout(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		if d, err = watchers.ParseDuration(s); err != nil {
			return fmt.Errorf("bad duration %q (want e.g. 30s or 2m)", s)
		}
	}
	if d <= 0 {
		return fmt.Errorf("bad duration %q: must be more than zero", s)
	}
	return nil
}

// loadZone loads an IANA zone. "Local" is refused: it would make the
// config mean different things on different machines.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, fmt.Errorf("time zone must be an IANA name such as Asia/Tokyo or UTC, not Local")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Asia/Tokyo, America/New_York or UTC)", name)
	}
	return loc, nil
}

// parseClock parses alert_time "HH:MM" into a time of day.
func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(h) < 1 || len(h) > 2 || len(m) != 2 ||
		hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("bad alert_time %q (want HH:MM between 00:00 and 23:59, e.g. \"09:00\")", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// parseChangeTime parses a change's `at`: an instant (RFC 3339, or
// 2006-01-02T15:04 in loc), or a date meaning alertTime on that date in loc.
func parseChangeTime(s string, loc *time.Location, alertTime time.Duration) (time.Time, error) {
	d, err := watchers.ParseDue(s, loc)
	switch {
	case err == nil && d.Precision == watchers.Instant:
		return d.Start, nil
	case err == nil && d.Precision == watchers.Day:
		// Wall-clock arithmetic, so a DST change that day does not shift it.
		y, mo, day := d.Start.Date()
		return watchers.Date(y, mo, day, int(alertTime/time.Hour), int(alertTime%time.Hour/time.Minute), 0, 0, loc), nil
	}
	return time.Time{}, fmt.Errorf("bad change time %q (want a date such as 2025-07-03, meaning alert_time that day, or an instant such as 2025-07-03T10:00 or 2025-07-03T10:00+09:00)", s)
}

// checkHTTPURL accepts absolute http and https URLs.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("bad URL %q (want an http:// or https:// address)", s)
	}
	return nil
}

// entryLabel names an entry in an error: `event "x"`, or just `event` when
// it has no id yet.
func entryLabel(what, id string) string {
	if id == "" {
		return what
	}
	return what + " " + strconv.Quote(id)
}

func watcherKindList(kinds []string) string {
	if len(kinds) == 0 {
		return "no watcher kinds are available"
	}
	return strings.Join(kinds, ", ")
}

// eventHashForm is the canonical JSON of an event entry: resolved values,
// instants in UTC, so reformatting the YAML leaves the hash alone.
type eventHashForm struct {
	ID        string           `json:"id"`
	Title     string           `json:"title"`
	Due       string           `json:"due"`
	Zone      string           `json:"timezone,omitempty"`
	Status    string           `json:"status,omitempty"`
	Tags      []string         `json:"tags,omitempty"`
	Source    string           `json:"source,omitempty"`
	LeadTimes []string         `json:"lead_times,omitempty"`
	Changes   []changeHashForm `json:"changes,omitempty"`
	Match     []string         `json:"match,omitempty"`
}

type changeHashForm struct {
	At     string `json:"at"`
	Due    string `json:"due,omitempty"`
	Status string `json:"status,omitempty"`
	Title  string `json:"title,omitempty"`
	Note   string `json:"note,omitempty"`
	Source string `json:"source,omitempty"`
}

func eventHash(ev watchers.Event) string {
	h := eventHashForm{
		ID: ev.ID, Title: ev.Title, Due: ev.Due, Zone: ev.Zone, Status: string(ev.Status),
		Tags: ev.Tags, Source: ev.Source, Match: ev.Match,
	}
	if ev.LeadTimes != nil {
		// Distinguish "no reminders" ([]) from "the defaults" (absent).
		h.LeadTimes = make([]string, 0, len(ev.LeadTimes))
		for _, l := range ev.LeadTimes {
			h.LeadTimes = append(h.LeadTimes, l.String())
		}
		if len(h.LeadTimes) == 0 {
			h.LeadTimes = []string{"none"}
		}
	}
	for _, c := range ev.Changes {
		h.Changes = append(h.Changes, changeHashForm{
			At: c.At.UTC().Format(time.RFC3339Nano), Due: c.Due, Status: string(c.Status),
			Title: c.Title, Note: c.Note, Source: c.Source,
		})
	}
	return configHash(h)
}

func configHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain strings, numbers and lists are marshalled here.
		panic(fmt.Sprintf("config hash: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// yamlDeref follows an alias (*anchor) to the node it names.
func yamlDeref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func yamlNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" || n.Kind == 0
}

func describeYAML(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if yamlNull(n) {
			return "empty"
		}
		return strconv.Quote(n.Value)
	}
	return "empty"
}

func describeGoType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a single value"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Slice:
		return "a list of values"
	}
	return "a " + t.Kind().String()
}

// pairsInFileOrder returns a mapping's pairs in file order.
func pairsInFileOrder(f map[string]yamlPair) []yamlPair {
	out := slices.Collect(maps.Values(f))
	slices.SortFunc(out, func(a, b yamlPair) int {
		if a.key.Line != b.key.Line {
			return a.key.Line - b.key.Line
		}
		return a.key.Column - b.key.Column
	})
	return out
}
