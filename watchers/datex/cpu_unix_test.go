//go:build unix

package datex

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used.
var cpuTime = func() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
