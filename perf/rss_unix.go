//go:build unix

package perf

import (
	"runtime"
	"syscall"
)

// PeakRSS returns the peak resident memory of this process in bytes (0
// where the system does not tell).
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss // bytes on macOS
	}
	return ru.Maxrss * 1024 // kilobytes on Linux and the BSDs
}
