package main

import (
	"context"
	"os"
	"syscall"

	"github.com/policyteam/alertbot/bot"
)

// The crash hook lives in a _test.go file so that only the test binary,
// which stands in for alertbot in the subprocess tests (TestMain), carries
// it: ALERTBOT_TEST_CRASH=after-commit kills the process the hard way
// right after a check committed alerts and their deliveries, before any is
// sent. Sends wait meanwhile: a delivery worker that a pass had already
// started when the check committed could otherwise post in the moment
// between the commit and the kill, which is not the crash this stands for.
func init() {
	testOptions = func(m *Main, o *bot.Options) {
		if m.Getenv("ALERTBOT_TEST_CRASH") == "after-commit" {
			o.AfterCommit = func(int) { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
			for i, p := range o.Platforms {
				o.Platforms[i] = stalled{p}
			}
		}
	}
}

// stalled is a platform whose sends wait until the process is killed.
type stalled struct{ bot.Platform }

func (s stalled) Send(ctx context.Context, _ bot.Outgoing) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}
