//go:build !unix

package datex

import "time"

// cpuTime is not measured here.
var cpuTime func() time.Duration
