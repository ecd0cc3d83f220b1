package jsonapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// TestConditionBounded: a condition runs with the check's deadline and an
// operation budget, and one that would run long stops at once with an
// error that says why (issue 13: the reduce below ran 9.3 s).
func TestConditionBounded(t *testing.T) {
	src := newSource(t, `{"rates":{"JPY":"`+strings.Repeat("7", 60_000)+`"}}`)
	for _, tc := range []struct{ condition, want string }{
		{"reduce(1..100000, #acc + string(#), '') != ''", "more than 10000 loop steps"},
		{"all(1..200000, # > 0) and any(1..200000, # < 0) == false", "more than 10000 loop steps"},
		{"len(map(1..200, map(1..200, #))) > 0", "more than 10000 loop steps"},
		{"reduce(1..64, #acc + #acc, 'x') != ''", "larger than 1048576 bytes"},
		{"replace(text, '', text) != ''", "larger than 1048576 bytes"},
		{"len(1..100000000) > 0", "more than 250000 elements"},
	} {
		t.Run(tc.condition, func(t *testing.T) {
			w := newWatcher(t, src, func(s *watchers.Spec) { s.Condition = tc.condition })
			// A deadline far off: the budgets, which count, must stop the
			// condition, not the clock (TestConditionDeadline covers that).
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			_, err := w.Check(ctx, watchers.Input{Now: t0})
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "stopped") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say the condition stopped: %s", err, tc.want)
			}
			t.Logf("%v: %v", took, err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line", err)
			}
		})
	}
}

// TestConditionDeadline: the check's context reaches into the loops of a
// condition; a done context stops it at the next step.
func TestConditionDeadline(t *testing.T) {
	prog, _, err := compile("all(1..5000, # > 0)")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = run(ctx, prog, env{})
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	// The same with time to spare runs, as does a loop-free condition.
	if out, err := run(context.Background(), prog, env{}); err != nil || out != true {
		t.Errorf("all(…) = %v, %v; want true", out, err)
	}
}

// TestConditionsStillWork: the budget leaves ordinary conditions, loops
// included, as they were; repeat and join are off.
func TestConditionsStillWork(t *testing.T) {
	for _, tc := range []struct {
		condition, text string
		value           float64
		want            bool
	}{
		{"value > 160", "161", 161, true},
		{"reduce(1..10, #acc + #, 0) == 55", "", 0, true},
		{"len(filter(split(text, ','), # == 'a')) == 2", "a,b,a", 0, true},
		{"float(replace(text, ',', '')) > 1000", "1,234", 0, true},
		{"any(split(text, ' '), # startsWith 'Ishiba')", "PM Ishiba visits", 0, true},
		{"sum(map(1..100, #)) == 5050", "", 0, true},
	} {
		prog, _, err := compile(tc.condition)
		if err != nil {
			t.Errorf("%s: %v", tc.condition, err)
			continue
		}
		out, err := run(context.Background(), prog, env{Value: tc.value, Previous: tc.value, Text: tc.text})
		if err != nil || out != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.condition, out, err, tc.want)
		}
	}
	for _, c := range []string{"repeat(text, 1000000) != ''", "join(split(text, ''), text) != ''"} {
		if _, _, err := compile(c); err == nil {
			t.Errorf("%s compiled; want repeat and join refused", c)
		}
	}
}

// TestLongTextRefused: a condition reads at most maxText bytes of text; a
// numeric condition does not mind a long value.
func TestLongTextRefused(t *testing.T) {
	src := newSource(t, `{"rates":{"JPY":"`+strings.Repeat("x", maxText+1)+`"}}`)
	w := newWatcher(t, src, func(s *watchers.Spec) { s.Condition = "text != ''" })
	ctx := context.Background()
	if _, err := w.Check(ctx, watchers.Input{Now: t0}); err == nil || !strings.Contains(err.Error(), "a condition reads at most") {
		t.Errorf("err = %v, want the value refused as too long", err)
	}
}
