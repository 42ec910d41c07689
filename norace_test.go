//go:build !race

package hrissync_test

const raceEnabled = false
