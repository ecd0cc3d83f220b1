package bot

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// chunkStore records the runs committed to it and fails the nth commit
// when failAt is set.
type chunkStore struct {
	*memStore
	runs   []RunRecord
	failAt int
}

func (c *chunkStore) CommitRun(ctx context.Context, run RunRecord) ([]AlertRecord, error) {
	c.runs = append(c.runs, run)
	if len(c.runs) == c.failAt {
		return nil, errors.New("disk full")
	}
	return c.memStore.CommitRun(ctx, run)
}

func burstRun(n int, at time.Time) RunRecord {
	run := RunRecord{Watcher: "deadlines", At: at, UpdateState: true, State: []byte(`{"v":1}`),
		Next: []watchers.NextPlan{{Event: "e0", At: at.Add(time.Hour)}}}
	for i := range n {
		run.Alerts = append(run.Alerts, NewAlert{
			Alert:    watchers.Alert{Key: fmt.Sprintf("deadlines/e%d@0", i), Kind: watchers.KindReminder, Watcher: "deadlines", At: at, Title: "E"},
			Channels: []string{fmt.Sprintf("console:c%d", i)},
		})
	}
	return run
}

// A burst's alerts are committed in chunks, the first small and announced
// before the rest are written; only the last chunk carries the watcher's
// state and next looks; a run of few alerts is one commit.
func TestCommitChunksBurst(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	st := &chunkStore{memStore: newMemStore(&Config{}, at)}
	p := newPipeline(st, nil, nil, func() *Config { return &Config{} }, nil, NewMetrics(nil), nil)
	var early []int // commits done when each early announcement came
	p.early = func(c []AlertRecord) { early = append(early, len(st.runs)) }
	created, err := p.commit(context.Background(), burstRun(1000, at))
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 1000 {
		t.Fatalf("%d alerts created, want 1000", len(created))
	}
	var sizes []int
	for i, r := range st.runs {
		sizes = append(sizes, len(r.Alerts))
		last := i == len(st.runs)-1
		if (r.Watcher != "") != last || r.UpdateState != last || (len(r.Next) > 0) != last {
			t.Errorf("commit %d of %d: watcher %q, state %v, next %d: only the last commit carries the watcher's run", i+1, len(st.runs), r.Watcher, r.UpdateState, len(r.Next))
		}
	}
	if fmt.Sprint(sizes) != "[32 128 128 128 128 128 128 128 72]" {
		t.Errorf("chunks %v, want [32 128 128 128 128 128 128 128 72]", sizes)
	}
	if fmt.Sprint(early) != "[1 2 3 4 5 6 7 8]" {
		t.Errorf("early announcements after commits %v, want [1 2 3 4 5 6 7 8] (each chunk before the next is written)", early)
	}
	for i, a := range created {
		if want := fmt.Sprintf("deadlines/e%d@0", i); a.Alert.Key != want {
			t.Fatalf("alert %d is %s, want %s: order changed", i, a.Alert.Key, want)
		}
	}

	st2 := &chunkStore{memStore: newMemStore(&Config{}, at)}
	p2 := newPipeline(st2, nil, nil, func() *Config { return &Config{} }, nil, NewMetrics(nil), nil)
	if _, err := p2.commit(context.Background(), burstRun(64, at)); err != nil {
		t.Fatal(err)
	}
	if len(st2.runs) != 1 {
		t.Errorf("64 alerts committed in %d transactions, want 1", len(st2.runs))
	}
}

// A commit that fails midway keeps what the earlier chunks created and
// reports the error; running again creates only the rest.
func TestCommitChunksFailure(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	st := &chunkStore{memStore: newMemStore(&Config{}, at), failAt: 2}
	p := newPipeline(st, nil, nil, func() *Config { return &Config{} }, nil, NewMetrics(nil), nil)
	created, err := p.commit(context.Background(), burstRun(300, at))
	if err == nil || len(created) != 32 {
		t.Fatalf("created %d, err %v; want the first chunk's 32 and the error", len(created), err)
	}
	st.failAt = 0
	created, err = p.commit(context.Background(), burstRun(300, at))
	if err != nil || len(created) != 268 {
		t.Fatalf("second run created %d, err %v; want the 268 not created before", len(created), err)
	}
}
