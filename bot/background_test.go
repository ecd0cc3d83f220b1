package bot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBackground(t *testing.T) {
	var b Background
	if err := b.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with nothing running: %v", err)
	}
	release := make(chan struct{})
	var finished atomic.Int32
	for range 3 {
		b.Go(func() {
			<-release
			finished.Add(1)
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait while work runs: %v, want the deadline", err)
	}
	// Go while another goroutine waits: that Wait returns only once the
	// new work is done too.
	waited := make(chan error, 1)
	go func() { waited <- b.Wait(context.Background()) }()
	b.Go(func() {
		<-release
		finished.Add(1)
	})
	close(release)
	if err := <-waited; err != nil || finished.Load() != 4 {
		t.Errorf("after Wait: err %v, %d of 4 finished", err, finished.Load())
	}
}

func TestBackgroundDrain(t *testing.T) {
	var b Background
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	b.Drain(log, time.Second) // nothing running: returns at once, logs nothing
	release := make(chan struct{})
	defer close(release)
	b.Go(func() { <-release })
	start := time.Now()
	b.Drain(log, 20*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Drain took %s, want about its bound", d)
	}
	if out := buf.String(); strings.Count(out, "still running at shutdown") != 1 || !strings.Contains(out, "running=1") {
		t.Errorf("log %q, want one warning about one piece of work", out)
	}
}
