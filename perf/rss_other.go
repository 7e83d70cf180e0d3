//go:build !unix

package perf

// PeakRSS returns 0: this system does not report peak memory to snnkit.
func PeakRSS() int64 { return 0 }
