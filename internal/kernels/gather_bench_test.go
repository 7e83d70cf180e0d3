package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGatherConv2 measures the two phases of an event-gathered
// convolution of the tutorial network's second layer shape: 12×12 input
// positions of 20 channels (stride 32) at 24 % density, 5×5 taps, 8×8
// outputs of 32 channels; one item per output and group of kernel rows.
func BenchmarkGatherConv2(b *testing.B) {
	const h, c, cs, k, n = 12, 20, 32, 5, 32
	const oh = h - k + 1
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, h*h*cs)
	for i := range x {
		if i%cs < c && rng.IntN(100) < 24 {
			x[i] = 0.25
		}
	}
	chOff := make([]int32, cs)
	for i := range chOff {
		chOff[i] = int32(i * n)
	}
	w := make([]float32, k*k*cs*n)
	for i := range w {
		w[i] = rng.Float32()
	}
	stream := func(rowsPerGroup int) (segs []int32, items int) {
		for i0 := 0; i0 < k; i0 += rowsPerGroup {
			i1 := min(k, i0+rowsPerGroup)
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < oh; ox++ {
					segs = append(segs, int32(i1-i0), int32((oy*oh+ox)*n))
					items++
					for i := i0; i < i1; i++ {
						p0 := (oy+i)*h + ox
						segs = append(segs, int32(p0), int32(p0+k), int32((i*k*cs-p0*cs)*n))
					}
				}
			}
		}
		return segs, items
	}
	ents, start := make([]int32, 2*(len(x)+16)), make([]int32, h*h+1)
	out := make([]float32, oh*oh*n)
	b.Run("compress", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			CompressPositions(x, cs, chOff, cs*n, ents, start)
		}
	})
	CompressPositions(x, cs, chOff, cs*n, ents, start)
	{ // the same entries per position (5 of 20): run lengths never vary
		xf := make([]float32, len(x))
		for p := 0; p < h*h; p++ {
			for c := 0; c < 5; c++ {
				xf[p*cs+c*4] = 0.25
			}
		}
		e2, s2 := make([]int32, 2*(len(x)+16)), make([]int32, h*h+1)
		CompressPositions(xf, cs, chOff, cs*n, e2, s2)
		segs, items := stream(2)
		b.Run("gather-rows2-fixedcounts", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				GatherSegments(out, w, segs, e2, s2, n, items)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(oh*oh*k*k*5), "ns/entry")
		})
	}
	for _, rows := range []int{5, 3, 2, 1} {
		segs, items := stream(rows)
		b.Run(fmt.Sprintf("gather-rows%d", rows), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				GatherSegments(out, w, segs, ents, start, n, items)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(oh*oh*k*k*c)/0.24, "ns/entry")
		})
	}
}
