//go:build unix

package sharedtest

import (
	"syscall"
	"time"
)

// ProcessCPU returns the user and system CPU time of the process so far,
// so that a benchmark can report a cost that other load on the machine
// inflates far less than wall time.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
