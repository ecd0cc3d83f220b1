package watchers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultRunTimeout bounds one run of a watcher unless WithRunTimeout says
// otherwise.
const DefaultRunTimeout = 2 * time.Minute

// ErrAlreadyRunning is returned by RunNow when the watcher is running.
var ErrAlreadyRunning = errors.New("already running")

// ErrStopped is returned by RunNow once the runner is stopped.
var ErrStopped = errors.New("runner stopped")

// scheduleParser accepts 5 or 6 fields (optional seconds), descriptors
// such as "@every 90s" and "@daily", and a CRON_TZ= or TZ= prefix.
var scheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

const scheduleHelp = `want e.g. "@every 1m", "*/30 * * * *" or "CRON_TZ=Asia/Tokyo 0 9 * * 1-5"`

// ParseSchedule parses a watcher's cron schedule: five fields (or six with
// seconds first), a descriptor like "@every 90s" or "@hourly", optionally
// prefixed by "CRON_TZ=Zone ". Without a zone prefix, the schedule runs in
// the zone of the time it is given (the runner's zone). The config loader
// validates schedules with it.
func ParseSchedule(spec string) (sched cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("empty schedule (%s)", scheduleHelp)
	}
	body := spec
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		// The parser slices up to the first space and panics without one.
		prefix, rest, ok := strings.Cut(spec, " ")
		if _, zone, _ := strings.Cut(prefix, "="); zone == "" {
			// time.LoadLocation("") is UTC: an empty zone is a typo.
			return nil, fmt.Errorf("bad schedule %q: empty time zone after %s (%s)", spec, prefix, scheduleHelp)
		}
		if !ok || strings.TrimSpace(rest) == "" {
			return nil, fmt.Errorf("bad schedule %q: a time zone prefix must be followed by a schedule (%s)", spec, scheduleHelp)
		}
		body = strings.TrimSpace(rest)
	}
	if d, ok := strings.CutPrefix(body, "@every "); ok {
		// cron.Every quietly turns "-5s" and "0s" into one second.
		dur, perr := time.ParseDuration(strings.TrimSpace(d))
		if perr != nil || dur < time.Second {
			return nil, fmt.Errorf("bad schedule %q: @every needs a duration of at least 1s, such as 90s or 5m (%s)", spec, scheduleHelp)
		}
	}
	defer func() {
		// The parser is third-party code fed with user input: a panic in
		// it must become an error, not a crash.
		if p := recover(); p != nil {
			sched, err = nil, fmt.Errorf("bad schedule %q: %v (%s)", spec, p, scheduleHelp)
		}
	}()
	sched, err = scheduleParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bad schedule %q: %v (%s)", spec, err, scheduleHelp)
	}
	if sched.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("bad schedule %q: it never fires (%s)", spec, scheduleHelp)
	}
	return sched, nil
}

// RunFunc runs one watcher check at now. ctx carries the run's timeout.
type RunFunc func(ctx context.Context, id string, now time.Time) error

// RunStatus is what the runner knows of one watcher.
type RunStatus struct {
	LastRun   time.Time // start of the last finished run
	LastError string    // "" when the last run succeeded
	Failures  int       // consecutive failed runs, 0 after a success
	Next      time.Time // next scheduled run; zero when not scheduled
	Running   bool
}

// RunnerOption configures a Runner.
type RunnerOption func(*Runner)

// WithRunTimeout bounds every run (default DefaultRunTimeout).
func WithRunTimeout(d time.Duration) RunnerOption {
	return func(r *Runner) {
		if d > 0 {
			r.timeout = d
		}
	}
}

// WithClock sets the clock that stamps runs (default time.Now). The cron
// schedule itself always follows the real clock.
func WithClock(now func() time.Time) RunnerOption {
	return func(r *Runner) {
		if now != nil {
			r.now = now
		}
	}
}

// WithLocation sets the zone of schedules without a CRON_TZ prefix
// (default: the config's zone should be passed; time.Local otherwise).
func WithLocation(loc *time.Location) RunnerOption {
	return func(r *Runner) {
		if loc != nil {
			r.loc = loc
		}
	}
}

// Runner runs watchers on their cron schedules, never two runs of the same
// watcher at once, recovering panics and recording each watcher's status.
type Runner struct {
	run     RunFunc
	logger  *slog.Logger
	cron    *cron.Cron
	timeout time.Duration
	now     func() time.Time
	loc     *time.Location

	mu sync.Mutex
	// root is the context given to Start. robfig/cron jobs take no
	// context, so scheduled runs derive theirs from it.
	root      context.Context
	started   bool
	stopped   bool
	entries   map[string]cron.EntryID
	schedules map[string]cron.Schedule
	status    map[string]*RunStatus
	busy      map[string]bool
	wakes     map[string]*wake // one-shot runs asked for by WakeAt
	wg        sync.WaitGroup   // runs in flight, scheduled or not
}

// wake is one pending WakeAt run.
type wake struct {
	at    time.Time
	timer *time.Timer
}

// NewRunner returns a runner that calls run for each watcher when its
// schedule fires or RunNow is called.
func NewRunner(run RunFunc, logger *slog.Logger, opts ...RunnerOption) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{
		run:       run,
		logger:    logger,
		timeout:   DefaultRunTimeout,
		now:       time.Now,
		loc:       time.Local,
		entries:   map[string]cron.EntryID{},
		schedules: map[string]cron.Schedule{},
		status:    map[string]*RunStatus{},
		busy:      map[string]bool{},
		wakes:     map[string]*wake{},
	}
	for _, o := range opts {
		o(r)
	}
	cl := cronLogger{logger}
	r.cron = cron.New(
		cron.WithLocation(r.loc),
		cron.WithParser(scheduleParser),
		cron.WithLogger(cl),
		cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl)),
	)
	return r
}

// Add schedules watcher id, replacing its schedule if it has one.
func (r *Runner) Add(id, schedule string) error {
	if err := ValidID("watcher", id); err != nil {
		return err
	}
	sched, err := ParseSchedule(schedule)
	if err != nil {
		return fmt.Errorf("watcher %s: %w", id, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.entries[id]; ok {
		r.cron.Remove(old)
	}
	r.entries[id] = r.cron.Schedule(sched, cron.FuncJob(func() { r.scheduled(id) }))
	r.schedules[id] = sched
	if r.status[id] == nil {
		r.status[id] = &RunStatus{}
	}
	return nil
}

// Remove unschedules watcher id and forgets its status. A run in progress
// finishes.
func (r *Runner) Remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if eid, ok := r.entries[id]; ok {
		r.cron.Remove(eid)
	}
	delete(r.entries, id)
	delete(r.schedules, id)
	delete(r.status, id)
	r.cancelWake(id)
}

// WakeAt asks for one run of watcher id at t besides its cron schedule:
// a date watcher reports when it next needs to look, and waking then
// posts an alert on its second instead of at the next tick. A later call
// replaces the earlier time; a zero t cancels it. Wakes fire only between
// Start and Stop; a wake that finds the watcher running is skipped, since
// that run plans the next wake itself.
func (r *Runner) WakeAt(id string, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelWake(id)
	if t.IsZero() || r.stopped {
		return
	}
	w := &wake{at: t}
	w.timer = time.AfterFunc(max(t.Sub(r.now()), 0), func() {
		r.mu.Lock()
		current := r.wakes[id] == w
		if current {
			delete(r.wakes, id)
		}
		ready := r.started && !r.stopped
		r.mu.Unlock()
		if current && ready {
			r.scheduled(id)
		}
	})
	r.wakes[id] = w
}

// cancelWake stops watcher id's pending wake; r.mu is held.
func (r *Runner) cancelWake(id string) {
	if w := r.wakes[id]; w != nil {
		w.timer.Stop()
		delete(r.wakes, id)
	}
}

// Start starts the schedules. Runs get their contexts from ctx: cancelling
// it cancels runs in progress. Start after Stop does nothing.
func (r *Runner) Start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return
	}
	r.root, r.started = ctx, true
	r.cron.Start()
}

// Stop stops the schedules and refuses new runs. The returned context is
// done once every run in progress has finished.
func (r *Runner) Stop() context.Context {
	r.mu.Lock()
	r.stopped = true
	for id := range r.wakes {
		r.cancelWake(id)
	}
	r.mu.Unlock()
	cronDone := r.cron.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-cronDone.Done()
		r.wg.Wait()
		cancel()
	}()
	return ctx
}

// RunNow runs watcher id at once and returns its error. It returns an
// error wrapping ErrAlreadyRunning if the watcher is running, and
// ErrStopped after Stop. The id need not be scheduled (a paused watcher
// can be run by hand).
func (r *Runner) RunNow(ctx context.Context, id string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	root := r.root
	r.mu.Unlock()
	if root != nil {
		// Shutting down cancels manual runs too.
		stop := context.AfterFunc(root, cancel)
		defer stop()
	}
	return r.execute(ctx, id)
}

// Status returns watcher id's status.
func (r *Runner) Status(id string) (RunStatus, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.status[id]
	if !ok {
		return RunStatus{}, false
	}
	return r.snapshot(id, st), true
}

// Statuses returns every known watcher's status.
func (r *Runner) Statuses() map[string]RunStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]RunStatus, len(r.status))
	for id, st := range r.status {
		out[id] = r.snapshot(id, st)
	}
	return out
}

// snapshot copies a status and fills in Next; r.mu is held.
func (r *Runner) snapshot(id string, st *RunStatus) RunStatus {
	s := *st
	s.Running = r.busy[id]
	if eid, ok := r.entries[id]; ok && !r.stopped {
		if r.started {
			s.Next = r.cron.Entry(eid).Next
		} else if sched := r.schedules[id]; sched != nil {
			s.Next = sched.Next(r.now().In(r.loc))
		}
	}
	if w := r.wakes[id]; w != nil && !r.stopped && (s.Next.IsZero() || w.at.Before(s.Next)) {
		s.Next = w.at
	}
	return s
}

// scheduled is the cron job of watcher id.
func (r *Runner) scheduled(id string) {
	r.mu.Lock()
	ctx := r.root
	r.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	err := r.execute(ctx, id)
	switch {
	case errors.Is(err, ErrAlreadyRunning):
		r.logger.Warn("skipped scheduled run: previous run still running", "watcher", id)
	case errors.Is(err, ErrStopped):
	case err != nil:
		r.logger.Warn("watcher run failed", "watcher", id, "error", err)
	}
}

// execute runs watcher id once, unless it is running already.
func (r *Runner) execute(parent context.Context, id string) error {
	r.mu.Lock()
	switch {
	case r.stopped:
		r.mu.Unlock()
		return fmt.Errorf("watcher %s: %w", id, ErrStopped)
	case r.busy[id]:
		r.mu.Unlock()
		return fmt.Errorf("watcher %s: %w", id, ErrAlreadyRunning)
	}
	r.busy[id] = true
	r.wg.Add(1)
	if r.status[id] == nil {
		r.status[id] = &RunStatus{}
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.busy, id)
		r.mu.Unlock()
		r.wg.Done()
	}()

	now := r.now()
	ctx, cancel := context.WithTimeout(parent, r.timeout)
	defer cancel()
	err := r.call(ctx, id, now)

	r.mu.Lock()
	if st := r.status[id]; st != nil { // nil: removed while running
		st.LastRun = now
		if err != nil {
			st.LastError = err.Error()
			st.Failures++
		} else {
			st.LastError, st.Failures = "", 0
		}
	}
	r.mu.Unlock()
	return err
}

// call runs the RunFunc, turning a panic into an error so that it counts
// as a failure.
func (r *Runner) call(ctx context.Context, id string, now time.Time) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.logger.Error("watcher panicked", "watcher", id, "panic", p)
			err = fmt.Errorf("watcher %s: panic: %v", id, p)
		}
	}()
	return r.run(ctx, id, now)
}

// cronLogger adapts slog to cron.Logger. cron's routine messages (every
// wake-up) go to debug.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append([]any{"error", err}, kv...)...)
}
