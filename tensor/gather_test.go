package tensor

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNewGathererRejectsBadTables(t *testing.T) {
	for _, tc := range []struct {
		name           string
		cs, npos       int
		taps, tapIdx   []int32
		n, out, w, zro int
		want           string
	}{
		{"odd taps", 2, 1, []int32{0}, []int32{0, 1}, 16, 16, 48, 32, "inconsistent"},
		{"tap count", 2, 1, []int32{0, 0}, []int32{0, 2}, 16, 16, 48, 32, "inconsistent"},
		{"no channels", 0, 1, []int32{0, 0}, []int32{0, 1}, 16, 16, 48, 32, "inconsistent"},
		{"decreasing", 2, 1, []int32{0, 0, 0, 0}, []int32{0, 2, 1, 2}, 16, 48, 48, 32, "decreases"},
		{"position", 2, 1, []int32{1, 0}, []int32{0, 1}, 16, 16, 48, 32, "outside"},
		{"weights", 2, 1, []int32{0, 24}, []int32{0, 1}, 16, 16, 48, 32, "outside"},
		{"outputs", 2, 1, []int32{0, 0, 0, 0}, []int32{0, 1, 2}, 16, 16, 48, 32, "outputs"},
		{"zero row", 2, 1, []int32{0, 0}, []int32{0, 1}, 16, 16, 48, 40, "zero row"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewGatherer(tc.cs, tc.npos, tc.taps, tc.tapIdx, tc.n, tc.out, tc.w, tc.zro)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestGathererConvolution checks the Gatherer against the definition of a
// channels-last convolution on dyadic data (exact sums) for strides,
// padding, padded channel strides and densities from silent to full.
func TestGathererConvolution(t *testing.T) {
	for _, tc := range []struct {
		h, w, c, cs, k, stride, pad, n int
	}{
		{6, 6, 5, 8, 3, 1, 0, 32},
		{7, 7, 20, 20, 5, 1, 2, 32},
		{9, 8, 20, 32, 3, 2, 1, 16},
		{4, 4, 32, 32, 3, 1, 0, 128},
		{1, 1, 500, 500, 1, 1, 0, 16}, // a linear layer
	} {
		rng := rand.New(rand.NewPCG(uint64(tc.h), uint64(tc.c)))
		oh := (tc.h+2*tc.pad-tc.k)/tc.stride + 1
		ow := (tc.w+2*tc.pad-tc.k)/tc.stride + 1
		kk := tc.k * tc.k
		wt := make([]float32, (kk*tc.cs+1)*tc.n) // [tap][channel][n], then the zero row
		for tap := 0; tap < kk; tap++ {
			for ch := 0; ch < tc.c; ch++ {
				for o := 0; o < tc.n; o++ {
					wt[(tap*tc.cs+ch)*tc.n+o] = float32(rng.IntN(129)-64) / 64
				}
			}
		}
		var taps []int32
		tapIdx := []int32{0}
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for i := 0; i < tc.k; i++ {
					for j := 0; j < tc.k; j++ {
						y, x := oy*tc.stride-tc.pad+i, ox*tc.stride-tc.pad+j
						if y >= 0 && y < tc.h && x >= 0 && x < tc.w {
							taps = append(taps, int32(y*tc.w+x), int32((i*tc.k+j)*tc.cs*tc.n))
						}
					}
				}
				tapIdx = append(tapIdx, int32(len(taps)/2))
			}
		}
		g, err := NewGatherer(tc.cs, tc.h*tc.w, taps, tapIdx, tc.n, oh*ow*tc.n, len(wt), kk*tc.cs*tc.n)
		if err != nil {
			t.Fatal(err)
		}
		for _, density := range []int{0, 5, 30, 100} {
			x := make([]float32, tc.h*tc.w*tc.cs)
			for i := range x {
				if i%tc.cs < tc.c && rng.IntN(100) < density {
					x[i] = float32(rng.IntN(4)+1) / 4
				}
			}
			want, got := make([]float32, oh*ow*tc.n), make([]float32, oh*ow*tc.n)
			for i := range want {
				want[i] = float32(i%5) / 4
				got[i] = want[i]
			}
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					for i := 0; i < tc.k; i++ {
						for j := 0; j < tc.k; j++ {
							y, xx := oy*tc.stride-tc.pad+i, ox*tc.stride-tc.pad+j
							if y < 0 || y >= tc.h || xx < 0 || xx >= tc.w {
								continue
							}
							for ch := 0; ch < tc.c; ch++ {
								v := x[(y*tc.w+xx)*tc.cs+ch]
								for o := 0; o < tc.n; o++ {
									want[(oy*ow+ox)*tc.n+o] += v * wt[((i*tc.k+j)*tc.cs+ch)*tc.n+o]
								}
							}
						}
					}
				}
			}
			if err := g.Clone().Apply(got, wt, x); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%+v density %d%%: out[%d] = %v, want %v", tc, density, i, got[i], want[i])
				}
			}
		}
		if err := g.Apply(make([]float32, 4), wt, make([]float32, tc.h*tc.w*tc.cs)); err == nil {
			t.Fatal("short output accepted")
		}
		wt[len(wt)-1] = 1
		if err := g.Apply(make([]float32, oh*ow*tc.n), wt, make([]float32, tc.h*tc.w*tc.cs)); err == nil || !strings.Contains(err.Error(), "zero row") {
			t.Fatalf("non-zero zero row: error %v", err)
		}
	}
}
