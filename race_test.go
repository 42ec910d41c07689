//go:build race

package hrissync_test

// raceEnabled: the race detector slows the engine several times over, so
// the largest scenarios run at a tenth of their size under it.
const raceEnabled = true
