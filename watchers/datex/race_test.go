//go:build race

package datex

// raceEnabled: the race detector multiplies the cost of every access.
const raceEnabled = true
