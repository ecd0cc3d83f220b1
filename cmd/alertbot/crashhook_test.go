package main

import (
	"os"
	"syscall"

	"github.com/policyteam/alertbot/bot"
)

// The crash hook lives in a _test.go file so that only the test binary,
// which stands in for alertbot in the subprocess tests (TestMain), carries
// it: ALERTBOT_TEST_CRASH=after-commit kills the process the hard way
// right after a check committed alerts and their deliveries, before any is
// sent.
func init() {
	testOptions = func(m *Main, o *bot.Options) {
		if m.Getenv("ALERTBOT_TEST_CRASH") == "after-commit" {
			o.AfterCommit = func(int) { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
		}
	}
}
