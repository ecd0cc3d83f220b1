package bot

import (
	"context"
	"testing"
)

// TestFirstPass: AfterFirstPass's trigger fires once, when begin was
// called and every expected watcher ran (a run that ended before begin
// counts), and at begin when none was expected.
func TestFirstPass(t *testing.T) {
	calls := 0
	call := func(fn func(context.Context)) { fn(context.Background()) }
	f := firstPass{fn: func(context.Context) { calls++ }}
	f.expect("a")
	f.expect("b")
	f.ran("a") // before begin: a quick first run
	f.begin(call)
	if calls != 0 {
		t.Fatalf("called %d times with b still to run", calls)
	}
	f.ran("c") // not waited for
	if calls != 0 {
		t.Fatalf("called %d times after an unexpected watcher ran", calls)
	}
	f.ran("b")
	f.ran("a")
	f.ran("b")
	if calls != 1 {
		t.Errorf("called %d times, want once", calls)
	}

	none := firstPass{fn: func(context.Context) { calls++ }}
	none.begin(call)
	if calls != 2 {
		t.Errorf("with no watcher to wait for: called %d times in all, want once more at begin", calls)
	}
	var unset firstPass
	unset.expect("a")
	unset.begin(call)
	unset.ran("a") // no fn: nothing happens
}
