package bot

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testKinds = []string{"calendar", "countdown", "feed", "jsonapi", "page"}

func TestCommandTableWellFormed(t *testing.T) {
	for _, kinds := range [][]string{testKinds, nil} {
		if err := checkCommands(Commands(kinds)); err != nil {
			t.Errorf("Commands(%q): %v", kinds, err)
		}
	}
	bad := []CommandSpec{
		{Name: "Upper", Summary: "s"},
		{Name: "twice", Summary: "s"},
		{Name: "twice", Summary: "s"},
		{Name: "nosummary"},
		{Name: "order", Summary: "s", Options: []Option{{Name: "a", Desc: "d"}, {Name: "b", Desc: "d", Required: true}}},
		{Name: "bounds", Summary: "s", Options: []Option{{Name: "n", Desc: "d", Max: 3}}},
		{Name: "both", Summary: "s", Options: []Option{{Name: "x", Desc: "d", Complete: CompleteTag, Choices: []string{"a"}}}},
	}
	err := checkCommands(bad)
	for _, want := range []string{`"Upper": name`, `"twice": listed twice`, `"nosummary": no summary`, `"b": required after`,
		`"n": bounds on a non-integer`, `"x": both autocomplete and choices`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkCommands error %v, want it to contain %s", err, want)
		}
	}
}

// TestUsageFromOptions: the usage lines derived from the options are the
// ones DESIGN §6 documents.
func TestUsageFromOptions(t *testing.T) {
	want := map[string]string{
		"upcoming":       "upcoming [#tag] [within]",
		"event":          "event <id>",
		"history":        "history [n]",
		"watchers":       "watchers",
		"subscribe":      "subscribe <target>",
		"mute":           "mute <target> <duration>",
		"event add":      "event add <id> <due> <title…> [#tag…]",
		"event set":      "event set <id> key=value…",
		"event remove":   "event remove <id>",
		"watcher add":    "watcher add <kind> <id> key=value…",
		"watcher set":    "watcher set <id> key=value…",
		"watcher pause":  "watcher pause <id>",
		"watcher remove": "watcher remove <id>",
	}
	for _, s := range Commands(testKinds) {
		if w, ok := want[s.Name]; ok && s.Usage() != w {
			t.Errorf("%s: usage %q, want %q", s.Name, s.Usage(), w)
		}
	}
}

func TestFindCommand(t *testing.T) {
	specs := Commands(testKinds)
	tests := []struct {
		words    []string
		want     string
		wantRest []string
	}{
		{[]string{"Event", "ADD", "x", "2026"}, "event add", []string{"x", "2026"}},
		{[]string{"event", "x"}, "event", []string{"x"}},
		{[]string{"watchers"}, "watchers", []string{}},
		{[]string{"watcher"}, "", nil},
		{nil, "", nil},
	}
	for _, tt := range tests {
		s, rest, ok := FindCommand(specs, tt.words)
		if ok != (tt.want != "") || s.Name != tt.want || !cmp.Equal(rest, tt.wantRest) {
			t.Errorf("FindCommand(%q) = %q %q %v, want %q %q", tt.words, s.Name, rest, ok, tt.want, tt.wantRest)
		}
	}
}

// TestBind: the router refuses a command without a handler and a handler
// without a command, and its own handlers match the table exactly.
func TestBind(t *testing.T) {
	r := &Router{}
	if _, err := bind(Commands(testKinds), r.handlers()); err != nil {
		t.Fatalf("the router's handlers do not match the table: %v", err)
	}
	hs := r.handlers()
	delete(hs, "watcher run")
	hs["frobnicate"] = r.watchers
	_, err := bind(Commands(testKinds), hs)
	for _, want := range []string{`command "watcher run" has no handler`, `handler "frobnicate" has no command`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bind error %v, want it to contain %s", err, want)
		}
	}
}

// TestFieldsFromOptions: event set takes exactly the keys of its options;
// watchers take any key (checked against the config's fields later).
func TestFieldsFromOptions(t *testing.T) {
	specs := Commands(testKinds)
	get := func(name string) CommandSpec {
		s, _, _ := FindCommand(specs, strings.Fields(name))
		return s
	}
	want := []string{"due", "status", "title", "tags", "lead_times", "source", "match", "note", "confirm"}
	if diff := cmp.Diff(want, get("event set").fields()); diff != "" {
		t.Errorf("event set fields (-want +got):\n%s", diff)
	}
	if got := get("watcher add").fields(); got != nil {
		t.Errorf("watcher add fields %q, want any", got)
	}
}

// TestArityFromOptions: word counts are checked from the table before a
// handler runs.
func TestArityFromOptions(t *testing.T) {
	specs := Commands(testKinds)
	tests := []struct {
		text, want string // want "" for no error
	}{
		{"event", "Missing arguments."},
		{"event a b", `Too many arguments: "b".`},
		{"watchers now", `Too many arguments: "now".`},
		{"upcoming #a 30d", ""},
		{"help event add", ""},
		{"event add x 2026", "Missing arguments."},
		{"event add x 2026 A long title #a #b", ""},
		{"watcher add feed", "Missing arguments."},
		{"event set x", ""}, // the handler asks for a key=value
	}
	for _, tt := range tests {
		s, rest, _ := FindCommand(specs, strings.Fields(tt.text))
		err := checkArity(&call{spec: s, args: rest})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%q: error %q, want %q", tt.text, got, tt.want)
		}
	}
	s, _, _ := FindCommand(specs, []string{"history"})
	for word, want := range map[string]string{"5": "", "0": "n must be a number from 1 to 100", "many": "n must be a number from 1 to 100"} {
		_, err := intArg(&call{spec: s}, "n", word)
		if (err == nil) != (want == "") || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("history %s: error %v, want %q", word, err, want)
		}
	}
}
