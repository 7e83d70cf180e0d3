package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestSpikeBits(t *testing.T) { forEachEventImpl(t, spikeBits) }

// spikeBits checks each implementation's bitmap bit by bit against the
// definition, on spike counts with and without values other than 0 and 1
// (2, 0.5, -1, NaN), and that bytes between rows are left alone.
func spikeBits(t *testing.T, im eventFuncs) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, tc := range []struct {
		cs, w, h int
		other    float32 // a value other than 0 and 1, or 0 for none
	}{
		{16, 5, 3, 0}, {16, 28, 28, 0}, {32, 14, 14, 2}, {48, 3, 2, 0.5}, {64, 7, 7, -1}, {128, 2, 3, float32(math.NaN())}, {16, 1, 1, 0},
	} {
		x := make([]float32, tc.h*tc.w*tc.cs)
		for i := range x {
			if rng.IntN(10) == 0 {
				x[i] = 1
			}
		}
		if tc.other != 0 {
			x[rng.IntN(len(x))] = tc.other
			x[len(x)-1] = tc.other
		}
		nb := tc.cs / 8
		stride := tc.w*nb + 3 // 3 bytes between rows that must stay as they are
		bits := make([]byte, tc.h*stride)
		for i := range bits {
			bits[i] = 0xa5
		}
		others := make([]int32, len(x)+16)
		got := others[:im.spikeBits(x, tc.cs, tc.w, bits, stride, others)]
		var want []int32
		for i, v := range x {
			if v != 0 && v != 1 {
				want = append(want, int32(i))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("cs %d: others %v, want %v", tc.cs, got, want)
		}
		for y := 0; y < tc.h; y++ {
			for i := tc.w * nb; i < stride; i++ {
				if bits[y*stride+i] != 0xa5 {
					t.Fatalf("cs %d: byte %d after row %d written", tc.cs, i, y)
				}
			}
			for xx := 0; xx < tc.w; xx++ {
				for c := 0; c < tc.cs; c++ {
					set := bits[y*stride+xx*nb+c/8]>>(c%8)&1 == 1
					if want := x[((y*tc.w)+xx)*tc.cs+c] != 0; set != want {
						t.Fatalf("cs %d: bit of (%d, %d, %d) is %v, want %v", tc.cs, y, xx, c, set, want)
					}
				}
			}
		}
	}
}

func TestTableConvMatchesGeneric(t *testing.T) { forEachEventImpl(t, tableConvMatchesGeneric) }

// tableConvMatchesGeneric runs random bitmaps and dyadic tables (every
// order of summation gives the same sums) through each implementation and
// the generic one, which adds table rows one by one, for every size with
// a kernel.
func tableConvMatchesGeneric(t *testing.T, im eventFuncs) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, groups := range []int{1, 4, 8, 12, 16} {
		for _, n := range []int{16, 32, 48, 64, 80} {
			if im.isa != ISAGeneric && !im.hasTable(groups, n) {
				continue
			}
			const nout, ntaps = 37, 9
			bits := make([]byte, 200)
			for i := range bits {
				bits[i] = byte(rng.IntN(256)) & byte(rng.IntN(256))
			}
			origins := make([]int32, nout)
			for i := range origins {
				origins[i] = int32(rng.IntN(100))
			}
			taps := make([]int32, ntaps)
			for i := range taps {
				taps[i] = int32(rng.IntN(92))
			}
			table := make([]float32, ntaps*groups*16*n)
			for i := range table {
				table[i] = float32(rng.IntN(257)-128) / 64
			}
			want, got := make([]float32, nout*n), make([]float32, nout*n)
			for i := range want {
				want[i] = float32(rng.IntN(9)) / 8
				got[i] = want[i]
			}
			TableConvGeneric(want, table, bits, origins, taps, groups, n)
			im.table(got, table, bits, origins, taps, groups, n)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("groups %d, n %d: out[%d] = %v, want %v", groups, n, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkTableConv times the table convolution of resnet_fmnist's first
// residual block (28×28 outputs of 16 channels, 3×3 taps, 16 input
// channels: 4 nibbles a tap).
func BenchmarkTableConv(b *testing.B) {
	for _, tc := range []struct {
		name              string
		nout, taps, g, nv int
	}{{"28x28x16-3x3x16", 784, 9, 4, 1}, {"14x14x32-3x3x32", 196, 9, 8, 2}, {"7x7x64-3x3x64", 49, 9, 16, 4}} {
		b.Run(tc.name, func(b *testing.B) {
			n := 16 * tc.nv
			rng := rand.New(rand.NewPCG(1, 2))
			bits := make([]byte, tc.nout*tc.g/2+4096)
			for i := range bits {
				bits[i] = byte(rng.IntN(256)) & byte(rng.IntN(256)) & byte(rng.IntN(256))
			}
			origins := make([]int32, tc.nout)
			for i := range origins {
				origins[i] = int32(i * tc.g / 2)
			}
			taps := make([]int32, tc.taps)
			for i := range taps {
				taps[i] = int32(i * 64)
			}
			table := make([]float32, tc.taps*tc.g*16*n)
			out := make([]float32, tc.nout*n)
			b.ResetTimer()
			for range b.N {
				TableConv(out, table, bits, origins, taps, tc.g, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tc.nout*tc.taps*tc.g*tc.nv), "ns/vecadd")
		})
	}
}
