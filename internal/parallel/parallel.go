// Package parallel runs independent tasks on all cores.
//
// It is the one place in snnkit that owns goroutines for compute work. Callers
// split their work into tasks whose number and boundaries depend only on the
// problem size, never on the number of threads, and each task writes only its
// own part of the output. Results are therefore bit-identical whatever
// GOMAXPROCS is.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers reports how many goroutines Run uses at most.
func Workers() int { return runtime.GOMAXPROCS(0) }

// Run calls fn(i) for every i in [0, n), spreading the calls over up to
// GOMAXPROCS goroutines, and returns when all calls have returned. Tasks must
// be independent of each other.
func Run(n int, fn func(i int)) {
	if n <= 0 {
		return
	}
	w := Workers()
	if w > n {
		w = n
	}
	if w <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(w)
	for g := 0; g < w; g++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// Chunks splits [0, n) into pieces of at most size elements and calls
// fn(lo, hi) for each piece in parallel. The pieces depend only on n and size.
func Chunks(n, size int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if size < 1 {
		size = 1
	}
	tasks := (n + size - 1) / size
	Run(tasks, func(t int) {
		lo := t * size
		hi := min(lo+size, n)
		fn(lo, hi)
	})
}
