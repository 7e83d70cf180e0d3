package event

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNewGathererRejectsBadStreams(t *testing.T) {
	// 2 positions of 2 channels, rows of 16: weights of one position are 32.
	for _, tc := range []struct {
		name  string
		segs  []int32
		items int
		want  string
	}{
		{"short", []int32{1}, 1, "ends"},
		{"runs", []int32{2, 0, 0, 1, 0}, 1, "beyond"},
		{"row", []int32{0, 16}, 1, "output row"},
		{"positions", []int32{1, 0, 1, 3, 0}, 1, "positions"},
		{"reversed", []int32{1, 0, 1, 0, 0}, 1, "positions"},
		{"weights below", []int32{1, 0, 1, 2, -64}, 1, "weights"},
		{"weights above", []int32{1, 0, 0, 2, 32}, 1, "weights"},
		{"trailing", []int32{0, 0, 7}, 1, "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewGatherer(2, 2, 16, tc.segs, tc.items, 16, 64)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewGatherer(2, 2, 16, []int32{1, 0, 0, 2, 0, 1, 0, 1, 2, -32}, 2, 16, 64); err != nil {
		t.Fatalf("valid stream rejected: %v", err)
	}
}

// TestGathererConvolution checks the Gatherer against the definition of a
// channels-last convolution on dyadic data (exact sums) for strides,
// padding, padded channel strides and densities from silent to full, with
// every output split into two items (kernel rows in two groups).
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
		wt := make([]float32, kk*tc.cs*tc.n) // [tap][channel][n]
		for tap := 0; tap < kk; tap++ {
			for ch := 0; ch < tc.c; ch++ {
				for o := 0; o < tc.n; o++ {
					wt[(tap*tc.cs+ch)*tc.n+o] = float32(rng.IntN(129)-64) / 64
				}
			}
		}
		var segs []int32
		items := 0
		for _, grp := range [][2]int{{0, tc.k / 2}, {tc.k / 2, tc.k}} {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var runs []int32
					for i := grp[0]; i < grp[1]; i++ {
						y := oy*tc.stride - tc.pad + i
						x0 := ox*tc.stride - tc.pad
						if y < 0 || y >= tc.h {
							continue
						}
						lo, hi := max(x0, 0), min(x0+tc.k, tc.w)
						// position (y, x) with tap (i, x-x0): weight row
						// ((i*k + x-x0)*cs + c)*n = base + ((y*w+x)*cs + c)*n
						base := ((i*tc.k-x0)*tc.cs - y*tc.w*tc.cs) * tc.n
						runs = append(runs, int32(y*tc.w+lo), int32(y*tc.w+hi), int32(base))
					}
					segs = append(segs, int32(len(runs)/3), int32((oy*ow+ox)*tc.n))
					segs = append(segs, runs...)
					items++
				}
			}
		}
		g, err := NewGatherer(tc.cs, tc.h*tc.w, tc.n, segs, items, oh*ow*tc.n, len(wt))
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
	}
}

// FuzzNewGatherer feeds arbitrary item streams to NewGatherer: it must
// reject them with an error or accept only streams whose Apply stays inside
// its buffers (a panic fails the fuzz run).
func FuzzNewGatherer(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}, uint8(2))
	f.Add([]byte{0, 0, 0, 0, 16, 0, 0, 0}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, items uint8) {
		segs := make([]int32, len(data)/4)
		for i := range segs {
			segs[i] = int32(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		const cs, npos, n, outLen, wLen = 3, 4, 16, 64, 3 * 4 * 16
		g, err := NewGatherer(cs, npos, n, segs, int(items%8), outLen, wLen)
		if err != nil {
			return
		}
		x, w, out := make([]float32, cs*npos), make([]float32, wLen), make([]float32, outLen)
		for i := range x {
			x[i] = float32(i%2) + 0.5
		}
		if err := g.Apply(out, w, x); err != nil {
			t.Fatal(err)
		}
	})
}
