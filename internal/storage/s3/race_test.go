//go:build race

package s3

// The race detector makes sync.Pool drop buffers at random, so heap
// measurements mean little under it.
func init() { raceEnabled = true }
