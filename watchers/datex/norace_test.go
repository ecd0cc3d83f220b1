//go:build !race

package datex

const raceEnabled = false
