package parallel

import (
	"sync/atomic"
	"testing"
)

func TestRunCallsEachTaskOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 17, 1000} {
		counts := make([]atomic.Int32, n)
		Run(n, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n=%d: task %d ran %d times", n, i, c)
			}
		}
	}
}

func TestChunksCoverRange(t *testing.T) {
	for _, c := range [][2]int{{10, 3}, {10, 10}, {10, 100}, {1, 0}, {0, 5}} {
		n, size := c[0], c[1]
		seen := make([]atomic.Int32, n)
		Chunks(n, size, func(lo, hi int) {
			if hi-lo > max(size, 1) || lo >= hi {
				t.Errorf("n=%d size=%d: chunk [%d,%d)", n, size, lo, hi)
			}
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if seen[i].Load() != 1 {
				t.Fatalf("n=%d size=%d: element %d covered %d times", n, size, i, seen[i].Load())
			}
		}
	}
}
