//go:build race

package sphinx

const raceEnabled = true
