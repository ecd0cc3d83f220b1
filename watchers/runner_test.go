package watchers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseScheduleNext(t *testing.T) {
	tokyo := loadLoc(t, "Asia/Tokyo")
	tests := []struct {
		spec string
		from time.Time
		want string
	}{
		{"*/30 * * * *", rfc(t, "2025-07-20T10:05:00Z"), "2025-07-20T10:30:00Z"},
		{"  */30 * * * *  ", rfc(t, "2025-07-20T10:30:00Z"), "2025-07-20T11:00:00Z"},
		// Without a zone prefix the schedule follows the zone of the time.
		{"0 9 * * 1-5", rfc(t, "2025-07-19T10:00:00+09:00").In(tokyo), "2025-07-21T09:00:00+09:00"},
		{"CRON_TZ=Asia/Tokyo 0 9 * * *", rfc(t, "2025-07-20T00:30:00Z"), "2025-07-21T09:00:00+09:00"},
		{"TZ=America/New_York 0 9 * * *", rfc(t, "2025-03-09T12:00:00Z"), "2025-03-09T09:00:00-04:00"},
		{"CRON_TZ=America/New_York 0 9 * * *", rfc(t, "2025-03-08T15:00:00Z"), "2025-03-09T09:00:00-04:00"},
		{"@every 90s", rfc(t, "2025-07-20T10:00:00Z"), "2025-07-20T10:01:30Z"},
		{"@every 1m", rfc(t, "2025-07-20T10:00:00Z"), "2025-07-20T10:01:00Z"},
		{"CRON_TZ=Asia/Tokyo @daily", rfc(t, "2025-07-20T10:00:00Z"), "2025-07-21T00:00:00+09:00"},
		{"@hourly", rfc(t, "2025-07-20T10:05:00Z"), "2025-07-20T11:00:00Z"},
		{"15 */2 * * * *", rfc(t, "2025-07-20T10:00:00Z"), "2025-07-20T10:00:15Z"},
		{"0 0 29 2 *", rfc(t, "2025-03-01T00:00:00Z"), "2028-02-29T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Next(tt.from)
			if want := rfc(t, tt.want); !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", tt.from.Format(time.RFC3339), got.Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", "empty schedule"},
		{"* * *", "expected 5 to 6 fields, found 3"},
		{"61 * * * *", "end of range (61) above maximum (59)"},
		{"* * * * * * *", "expected 5 to 6 fields, found 7"},
		{"@every -5s", "@every needs a duration of at least 1s"},
		{"@every 0s", "@every needs a duration of at least 1s"},
		{"@every soon", "@every needs a duration of at least 1s"},
		{"@reboot", "unrecognized descriptor"},
		{"CRON_TZ=Asia/Tokyo", "a time zone prefix must be followed by a schedule"},
		{"TZ=", "empty time zone"},
		{"CRON_TZ= 0 9 * * *", "empty time zone"},
		{"CRON_TZ=Mars/Olympus 0 9 * * *", "provided bad location Mars/Olympus"},
		{"0 0 30 2 *", "it never fires"},
		{"*/0 * * * *", "bad schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec)
			if err == nil {
				t.Fatalf("ParseSchedule(%q) = %v, want an error", tt.spec, s)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `want e.g. "@every 1m"`) {
				t.Errorf("error = %q, want it to contain %q and an example", err, tt.want)
			}
		})
	}
}

// FuzzParseSchedule: no spec panics.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"*/30 * * * *", "CRON_TZ=Asia/Tokyo 0 9 * * 1-5", "@every 90s", "TZ=", "CRON_TZ=", "@", "0-", "*/", "1-2/0 * * * *", "? ? ? ? ?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		_, _ = ParseSchedule(spec)
	})
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func TestRunNowRecordsStatus(t *testing.T) {
	clock := &fakeClock{t: rfc(t, "2025-07-20T10:05:00Z")}
	type call struct {
		id          string
		now         time.Time
		hasDeadline bool
	}
	var calls []call
	fail := errors.New("feed returned 503")
	results := []error{fail, fail, nil}
	r := NewRunner(func(ctx context.Context, id string, now time.Time) error {
		dl, ok := ctx.Deadline()
		calls = append(calls, call{id, now, ok && !dl.After(time.Now().Add(time.Minute))})
		err := results[0]
		results = results[1:]
		return err
	}, slog.New(slog.DiscardHandler), WithClock(clock.Now), WithRunTimeout(time.Minute), WithLocation(time.UTC))

	if err := r.Add("crs-japan", "*/30 * * * *"); err != nil {
		t.Fatal(err)
	}
	st, ok := r.Status("crs-japan")
	if !ok || !st.LastRun.IsZero() || st.Next != rfc(t, "2025-07-20T10:30:00Z") {
		t.Errorf("before any run: %+v, %v", st, ok)
	}

	for i, wantFailures := range []int{1, 2, 0} {
		clock.Set(rfc(t, "2025-07-20T10:05:00Z").Add(time.Duration(i) * time.Minute))
		err := r.RunNow(context.Background(), "crs-japan")
		if (err != nil) != (wantFailures > 0) || (err != nil && !errors.Is(err, fail)) {
			t.Errorf("run %d: err = %v", i, err)
		}
		st, _ := r.Status("crs-japan")
		wantErr := ""
		if wantFailures > 0 {
			wantErr = "feed returned 503"
		}
		if st.Failures != wantFailures || st.LastError != wantErr || !st.LastRun.Equal(clock.Now()) || st.Running {
			t.Errorf("run %d: status %+v, want %d failures, error %q, last run %s", i, st, wantFailures, wantErr, clock.Now())
		}
	}
	if len(calls) != 3 || calls[2].id != "crs-japan" || !calls[2].now.Equal(rfc(t, "2025-07-20T10:07:00Z")) || !calls[0].hasDeadline {
		t.Errorf("calls = %+v", calls)
	}

	// Replacing the schedule keeps the status; removing forgets it.
	if err := r.Add("crs-japan", "0 * * * *"); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.Status("crs-japan"); st.Next != rfc(t, "2025-07-20T11:00:00Z") || st.LastRun.IsZero() {
		t.Errorf("after replace: %+v", st)
	}
	if err := r.Add("deadlines", "@every 1m"); err != nil {
		t.Fatal(err)
	}
	if got := r.Statuses(); len(got) != 2 || got["deadlines"].Next != rfc(t, "2025-07-20T10:08:00Z") {
		t.Errorf("Statuses = %+v", got)
	}
	r.Remove("crs-japan")
	if _, ok := r.Status("crs-japan"); ok {
		t.Error("status kept after Remove")
	}
	if err := r.Add("bad", "every minute"); err == nil || !strings.HasPrefix(err.Error(), `watcher bad: bad schedule "every minute"`) {
		t.Errorf("Add with a bad schedule = %v", err)
	}
	if err := r.Add("Bad Id", "@every 1m"); err == nil {
		t.Error("Add with a bad id accepted")
	}
}

func TestRunNowRecoversPanic(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	n := 0
	r := NewRunner(func(ctx context.Context, id string, now time.Time) error {
		n++
		if n == 1 {
			var m map[string]int
			//lint:ignore SA5000 deliberate: the test needs a real runtime panic, and asserts its message
			m["boom"]++ // a nil-map write: a real runtime panic
		}
		return nil
	}, logger)
	err := r.RunNow(context.Background(), "page-watch")
	if err == nil || !strings.Contains(err.Error(), "watcher page-watch: panic: assignment to entry in nil map") {
		t.Fatalf("RunNow of a panicking watcher = %v", err)
	}
	if st, _ := r.Status("page-watch"); st.Failures != 1 || !strings.Contains(st.LastError, "panic") {
		t.Errorf("status after panic = %+v", st)
	}
	if !strings.Contains(buf.String(), "watcher panicked") {
		t.Errorf("panic not logged: %s", buf.String())
	}
	// The runner and the watcher still work.
	if err := r.RunNow(context.Background(), "page-watch"); err != nil {
		t.Errorf("run after panic = %v", err)
	}
	if st, _ := r.Status("page-watch"); st.Failures != 0 || st.LastError != "" {
		t.Errorf("status after recovery = %+v", st)
	}
}

// TestRunNowNeverOverlaps hammers RunNow from many goroutines: at most one
// run per watcher at a time; the others get ErrAlreadyRunning.
func TestRunNowNeverOverlaps(t *testing.T) {
	var inside, maxInside, runs atomic.Int32
	r := NewRunner(func(ctx context.Context, id string, now time.Time) error {
		if id != "w" {
			return nil
		}
		n := inside.Add(1)
		for {
			m := maxInside.Load()
			if n <= m || maxInside.CompareAndSwap(m, n) {
				break
			}
		}
		runs.Add(1)
		for range 10 {
			runtime.Gosched() // give overlapping calls a chance to show
		}
		inside.Add(-1)
		return nil
	}, nil)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	var busy atomic.Int32
	for range workers {
		wg.Go(func() {
			for range each {
				err := r.RunNow(context.Background(), "w")
				switch {
				case errors.Is(err, ErrAlreadyRunning):
					busy.Add(1)
				case err != nil:
					t.Errorf("RunNow: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Errorf("%d runs of one watcher overlapped", maxInside.Load())
	}
	if runs.Load()+busy.Load() != workers*each || runs.Load() == 0 {
		t.Errorf("runs %d + refused %d != %d", runs.Load(), busy.Load(), workers*each)
	}
}

func TestRunNowWhileRunning(t *testing.T) {
	started, release := make(chan string, 2), make(chan struct{})
	r := NewRunner(func(ctx context.Context, id string, now time.Time) error {
		started <- id
		<-release
		return nil
	}, nil)
	done := make(chan error, 1)
	go func() { done <- r.RunNow(context.Background(), "slow") }()
	<-started
	if st, _ := r.Status("slow"); !st.Running {
		t.Errorf("status while running = %+v", st)
	}
	err := r.RunNow(context.Background(), "slow")
	if !errors.Is(err, ErrAlreadyRunning) || err.Error() != "watcher slow: already running" {
		t.Errorf("second RunNow = %v, want already running", err)
	}
	// Another watcher is not blocked.
	go func() { done <- r.RunNow(context.Background(), "other") }()
	if id := <-started; id != "other" {
		t.Errorf("started %s", id)
	}
	close(release)
	for range 2 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestStopWaitsForRuns(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	r := NewRunner(func(ctx context.Context, id string, now time.Time) error {
		close(started)
		<-release
		return nil
	}, nil, WithLocation(time.UTC))
	if err := r.Add("w", "@every 1h"); err != nil {
		t.Fatal(err)
	}
	r.Start(context.Background())
	if st, _ := r.Status("w"); st.Next.IsZero() || st.Next.After(time.Now().Add(time.Hour+time.Minute)) {
		t.Errorf("Next once started = %s", st.Next)
	}
	done := make(chan error, 1)
	go func() { done <- r.RunNow(context.Background(), "w") }()
	<-started
	stopped := r.Stop()
	select {
	case <-stopped.Done():
		t.Fatal("Stop did not wait for the running run")
	default:
	}
	if err := r.RunNow(context.Background(), "w"); !errors.Is(err, ErrStopped) {
		t.Errorf("RunNow after Stop = %v, want ErrStopped", err)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-stopped.Done():
	case <-ctx.Done():
		t.Fatal("Stop never finished")
	}
	if err := <-done; err != nil {
		t.Errorf("the run in flight = %v", err)
	}
}

func TestRunContexts(t *testing.T) {
	r := NewRunner(func(ctx context.Context, id string, now time.Time) error {
		<-ctx.Done()
		return fmt.Errorf("check %s: %w", id, ctx.Err())
	}, nil, WithRunTimeout(10*time.Millisecond))
	// The per-run timeout ends a hung run.
	if err := r.RunNow(context.Background(), "hung"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung run = %v, want deadline exceeded", err)
	}

	// Cancelling the root context given to Start cancels manual runs.
	r2 := NewRunner(func(ctx context.Context, id string, now time.Time) error {
		<-ctx.Done()
		return ctx.Err()
	}, nil)
	root, cancel := context.WithCancel(context.Background())
	r2.Start(root)
	defer r2.Stop()
	done := make(chan error, 1)
	go func() { done <- r2.RunNow(context.Background(), "w") }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("run after root cancel = %v", err)
	}
}

func TestCronLogger(t *testing.T) {
	var buf bytes.Buffer
	l := cronLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l.Info("wake", "now", time.Unix(0, 0))
	if buf.Len() != 0 {
		t.Errorf("routine cron message logged at info: %s", buf.String())
	}
	l.Error(errors.New("boom"), "panic", "entry", 3)
	if got := buf.String(); !strings.Contains(got, `msg="cron: panic"`) || !strings.Contains(got, "error=boom") || !strings.Contains(got, "entry=3") {
		t.Errorf("error log = %q", got)
	}
}
