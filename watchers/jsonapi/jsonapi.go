// Package jsonapi is the JSON value watcher: it fetches a JSON document,
// picks one value with a gjson path and posts a threshold alert when a
// condition on it becomes true, and a recovery when it becomes false
// again.
package jsonapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/tidwall/gjson"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
)

// maxConditionLen bounds a condition's source; conditions are one-liners.
const maxConditionLen = 1000

// shownLimit is how many runes of a value's text an alert or error shows:
// a path may pick a whole object.
const shownLimit = 80

// env is what a condition sees: value (the number at the path), previous
// (the value at the last check; on the first check, value itself) and
// text (the value as written in the document). Ctx carries the check's
// context and the run's budget to the loop steps (budget.go).
type env struct {
	Value    float64         `expr:"value"`
	Previous float64         `expr:"previous"`
	Text     string          `expr:"text"`
	Ctx      context.Context `expr:"_ctx"`
}

// New builds a jsonapi watcher from its spec. Fields: url (required, http
// or https), path (required, gjson syntax such as rates.JPY or
// items.#(name=="x").value), condition (required, an expr expression
// over value, previous and text that yields a bool; compiled and
// type-checked here, so that a config check reports its line and
// column), label (default: the path) and unit (shown after values).
// deps.Fetcher may be nil when only validating a config; Check then fails.
func New(spec watchers.Spec, deps watchers.Deps) (watchers.Watcher, error) {
	if err := fetch.CheckSpec(spec); err != nil {
		return nil, err
	}
	path := strings.TrimSpace(spec.Path)
	if path == "" {
		return nil, &watchers.FieldError{Field: "path", Err: errors.New("required: a gjson path to the value, e.g. rates.JPY")}
	}
	prog, refs, err := compile(spec.Condition)
	if err != nil {
		return nil, &watchers.FieldError{Field: "condition", Err: err}
	}
	label := strings.TrimSpace(spec.Label)
	if label == "" {
		label = path
	}
	return &Watcher{
		spec:      spec,
		fetcher:   deps.Fetcher,
		path:      path,
		label:     label,
		unit:      strings.TrimSpace(spec.Unit),
		condition: strings.TrimSpace(spec.Condition),
		prog:      prog,
		numeric:   refs.numeric,
		readsText: refs.text,
	}, nil
}

// Compile compiles and type-checks a condition. numeric reports whether
// it reads value or previous, and so needs a number at the path. A
// syntax or type error names its line and column.
func Compile(condition string) (prog *vm.Program, numeric bool, err error) {
	prog, refs, err := compile(condition)
	return prog, refs.numeric, err
}

// compile is Compile, reporting which inputs the condition reads. The
// program it returns runs bounded (budget.go) when run with run.
func compile(condition string) (*vm.Program, identifiers, error) {
	condition = strings.TrimSpace(condition)
	if condition == "" {
		return nil, identifiers{}, errors.New("required: an expression over value, previous and text, e.g. value > 160")
	}
	if len(condition) > maxConditionLen {
		return nil, identifiers{}, fmt.Errorf("condition is longer than %d characters", maxConditionLen)
	}
	refs := &identifiers{}
	opts := append([]expr.Option{expr.Env(env{}), expr.AsBool(), expr.Patch(refs)}, budgetOptions()...)
	prog, err := expr.Compile(condition, opts...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, identifiers{}, fmt.Errorf("bad condition at line %d, column %d: %s", fe.Line, fe.Column+1, fe.Message)
		}
		return nil, identifiers{}, fmt.Errorf("bad condition: %w", err)
	}
	return prog, *refs, nil
}

// identifiers records whether an expression reads value or previous,
// and whether it reads text.
type identifiers struct{ numeric, text bool }

// Visit implements ast.Visitor.
func (v *identifiers) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok {
		switch id.Value {
		case "value", "previous":
			v.numeric = true
		case "text":
			v.text = true
		}
	}
}

// Watcher is a jsonapi watcher. It keeps nothing between checks but the
// State it returns.
type Watcher struct {
	spec      watchers.Spec
	fetcher   watchers.Fetcher
	path      string
	label     string
	unit      string
	condition string
	prog      *vm.Program
	numeric   bool
	readsText bool
}

// state is what a jsonapi watcher remembers between checks.
type state struct {
	fetch.Validators
	// Value is nil when the last value was not a number.
	Value *float64 `json:"value,omitempty"`
	Text  string   `json:"text"`
	True  bool     `json:"true"` // the condition's last result
	Edges int      `json:"edges"`
}

// Check fetches the document and evaluates the condition. It is
// edge-triggered: it posts a threshold alert (key
// "{watcher}/threshold/{n}") when the condition turns true and a recovery
// (same kind, severity Info) when it turns false, never once per poll.
// The first check posts when the condition already holds: whoever adds a
// watcher wants to know that its threshold is crossed now. A 304 posts
// nothing.
//
// A value that is not a number (a string, bool, object or null) is passed
// as text only; a condition that reads value or previous then fails the
// check with an error naming the value, rather than compare a stand-in.
// A string holding a number ("161.2") counts as a number.
func (w *Watcher) Check(ctx context.Context, in watchers.Input) (watchers.Result, error) {
	var prev state
	resp, first, err := fetch.Begin(ctx, w.fetcher, w.spec, in.State, &prev)
	if err != nil {
		return watchers.Result{}, fmt.Errorf("jsonapi %s: %w", w.spec.ID, err)
	}
	if resp.NotModified {
		return watchers.Result{State: in.State, Found: "not modified"}, nil
	}
	if !gjson.ValidBytes(resp.Body) {
		return watchers.Result{}, fmt.Errorf("jsonapi %s: response is not valid JSON", w.spec.ID)
	}
	r := gjson.GetBytes(resp.Body, w.path)
	if !r.Exists() {
		return watchers.Result{}, fmt.Errorf("jsonapi %s: path %q not found in the response", w.spec.ID, w.path)
	}
	text := r.String()
	if r.Type == gjson.JSON {
		text = r.Raw
	}
	value, isNum := number(r)
	if !isNum && w.numeric {
		shown, _ := watchers.Truncate(r.Raw, shownLimit)
		return watchers.Result{}, fmt.Errorf("jsonapi %s: value at %q is not a number: %s", w.spec.ID, w.path, shown)
	}
	previous := value
	if !first && prev.Value != nil {
		previous = *prev.Value
	}
	if w.readsText && len(text) > maxText {
		return watchers.Result{}, fmt.Errorf("jsonapi %s: value at %q is %d bytes; a condition reads at most %d", w.spec.ID, w.path, len(text), maxText)
	}
	out, err := run(ctx, w.prog, env{Value: value, Previous: previous, Text: text})
	if err != nil {
		return watchers.Result{}, fmt.Errorf("jsonapi %s: condition `%s`: %w", w.spec.ID, w.condition, err)
	}
	now, _ := out.(bool)

	next := state{Validators: prev.Validators, Text: text, True: now, Edges: prev.Edges}
	if isNum {
		next.Value = &value
	}
	var res watchers.Result
	shown := w.show(value, text, isNum)
	was := ""
	if !first {
		was = w.show(derefOr(prev.Value), prev.Text, prev.Value != nil)
	}
	if now != prev.True {
		next.Edges++
		res.Alerts = append(res.Alerts, w.alert(in.Now, next.Edges, now, shown, was))
	}
	data, err := fetch.SaveState(next)
	if err != nil {
		return watchers.Result{}, fmt.Errorf("jsonapi %s: %w", w.spec.ID, err)
	}
	res.State = data
	res.Found = fmt.Sprintf("%s %s: condition `%s` is %t", w.label, shown, w.condition, now)
	return res, nil
}

// number reads a result as a number: a JSON number, or a string holding
// one.
func number(r gjson.Result) (float64, bool) {
	switch r.Type {
	case gjson.Number:
		return r.Num, true
	case gjson.String:
		f, err := strconv.ParseFloat(strings.TrimSpace(r.Str), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	return 0, false
}

func derefOr(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// show writes a value for people, with its unit.
func (w *Watcher) show(value float64, text string, isNum bool) string {
	s, _ := watchers.Truncate(text, shownLimit)
	if isNum {
		s = strconv.FormatFloat(value, 'f', -1, 64)
	}
	if w.unit != "" {
		s += " " + w.unit
	}
	return s
}

// alert builds the n-th threshold alert: crossed when now is true,
// recovered when it is false.
func (w *Watcher) alert(at time.Time, n int, now bool, shown, was string) watchers.Alert {
	head := w.label + " " + shown
	if was != "" {
		head += " (was " + was + ")"
	}
	a := watchers.Alert{
		Key:     fmt.Sprintf("%s/%s/%d", w.spec.ID, watchers.KindThreshold, n),
		Kind:    watchers.KindThreshold,
		Watcher: w.spec.ID,
		Tags:    append([]string(nil), w.spec.Tags...),
		At:      at,
		Link:    w.spec.URL,
		Fields: []watchers.Field{
			{Name: w.label, Value: shown},
			{Name: "Condition", Value: w.condition},
		},
	}
	if was != "" {
		a.Fields = append(a.Fields, watchers.Field{Name: "Previous", Value: was})
	}
	if now {
		a.Title = w.label + ": threshold crossed"
		a.Text = head + ": condition `" + w.condition + "` is now true"
		a.Severity = watchers.Warning
	} else {
		a.Title = w.label + ": back within threshold"
		a.Text = head + ": condition `" + w.condition + "` is no longer true"
		a.Severity = watchers.Info
	}
	return a
}
