package event

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPositionScatterer checks Apply (adding to a frame) and SetBias
// (setting it) against the definition for row sweeps at strides 1 and 2,
// pointwise 1×1 convolutions at strides 1 to 3 and position classes (5×5,
// 1×1 from 40 channels, 3×3 without padding), on spike counts of 1 and 2
// and dyadic weights, so every order of summation gives the same sums.
func TestPositionScatterer(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 34))
	for _, tc := range []struct {
		g          PosGeometry
		cs, cin, n int
	}{
		{PosGeometry{H: 9, W: 7, OH: 9, OW: 7, K: 3, S: 1, PH: 1, PW: 1}, 16, 13, 16},
		{PosGeometry{H: 10, W: 7, OH: 5, OW: 4, K: 3, S: 2, PH: 1, PW: 1}, 16, 16, 32},
		{PosGeometry{H: 8, W: 8, OH: 8, OW: 8, K: 5, S: 1, PH: 2, PW: 2}, 16, 16, 16},
		{PosGeometry{H: 8, W: 6, OH: 4, OW: 3, K: 1, S: 2}, 32, 32, 32},
		{PosGeometry{H: 7, W: 5, OH: 7, OW: 5, K: 1, S: 1}, 16, 11, 64},
		{PosGeometry{H: 9, W: 7, OH: 3, OW: 3, K: 1, S: 3}, 48, 40, 16},
		{PosGeometry{H: 9, W: 7, OH: 3, OW: 3, K: 1, S: 3}, 16, 16, 32},
		{PosGeometry{H: 8, W: 6, OH: 4, OW: 3, K: 1, S: 2}, 32, 20, 16},
		{PosGeometry{H: 7, W: 6, OH: 5, OW: 4, K: 3, S: 1}, 16, 9, 16},
	} {
		g := tc.g
		t.Run(fmt.Sprintf("%+v rows %v pointwise %v", g, SweepsRows(g, tc.cin, tc.n), Pointwise(g, tc.cin, tc.n)), func(t *testing.T) {
			kk := g.K * g.K
			wt := make([]float32, WeightChannels(g, tc.cin, tc.n)*kk*tc.n)
			rows := make([][]float32, tc.cin*kk)
			for i := range rows {
				rows[i] = wt[i*tc.n : (i+1)*tc.n]
				for k := range rows[i] {
					rows[i][k] = float32(rng.IntN(129)-64) / 32
				}
			}
			ps, err := NewPositionScatterer(g, tc.cs, tc.cin, tc.n, g.OH*g.OW*tc.n, len(wt))
			if err != nil {
				t.Fatal(err)
			}
			ps = ps.Clone()
			cg := ConvGeometry{H: g.H, W: g.W, OH: g.OH, OW: g.OW, KH: g.K, KW: g.K, SH: g.S, SW: g.S, PH: g.PH, PW: g.PW, DH: 1, DW: 1}
			for frame := 0; frame < 4; frame++ { // work buffers are reused
				ps.SetDensity([]float64{-1, 0.3, 2.5, 9}[frame]) // densities from unknown to dense, so several slot counts
				x := make([]float32, g.H*g.W*tc.cs)
				for p := 0; p < g.H*g.W; p++ {
					for c := 0; c < tc.cin; c++ {
						if rng.IntN(5) == 0 {
							x[p*tc.cs+c] = float32(1 + rng.IntN(2))
						}
					}
				}
				bias := make([]float32, tc.n)
				for k := range bias {
					bias[k] = float32(rng.IntN(9)-4) / 8
				}
				size := g.OH * g.OW * tc.n
				start := make([]float32, size)
				for i := range start {
					start[i] = float32(rng.IntN(9)) / 4
				}
				// Apply adds to what out holds.
				want, got := append([]float32(nil), start...), append([]float32(nil), start...)
				directConv(cg, tc.cs, tc.cin, tc.n, rows, x, want)
				if err := ps.Apply(got, wt, x); err != nil {
					t.Fatal(err)
				}
				requireEqual(t, "Apply", got, want)
				// SetBias overwrites it.
				for o := 0; o < g.OH*g.OW; o++ {
					copy(want[o*tc.n:(o+1)*tc.n], bias)
				}
				directConv(cg, tc.cs, tc.cin, tc.n, rows, x, want)
				copy(got, start)
				if err := ps.SetBias(got, wt, bias, x); err != nil {
					t.Fatal(err)
				}
				requireEqual(t, "SetBias", got, want)
			}
			if err := ps.Apply(make([]float32, g.OH*g.OW*tc.n-1), wt, make([]float32, g.H*g.W*tc.cs)); err == nil {
				t.Fatal("a short output frame was accepted")
			}
		})
	}
}

func requireEqual(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: out[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// BenchmarkPositionScatterer measures SetBias on resnet_fmnist's geometries
// with 0, 10 and 40 % of the inputs spiking once (its layers' rates are
// 8-13 %): row sweeps at strides 1 and 2 and the pointwise 1×1 shortcuts
// at stride 2.
func BenchmarkPositionScatterer(b *testing.B) {
	for _, tc := range []struct {
		name  string
		g     PosGeometry
		cs, n int
	}{
		{"rows-s1-16", PosGeometry{H: 28, W: 28, OH: 28, OW: 28, K: 3, S: 1, PH: 1, PW: 1}, 16, 16},
		{"rows-s2-16to32", PosGeometry{H: 28, W: 28, OH: 14, OW: 14, K: 3, S: 2, PH: 1, PW: 1}, 16, 32},
		{"rows-s1-32", PosGeometry{H: 14, W: 14, OH: 14, OW: 14, K: 3, S: 1, PH: 1, PW: 1}, 32, 32},
		{"rows-s2-32to64", PosGeometry{H: 14, W: 14, OH: 7, OW: 7, K: 3, S: 2, PH: 1, PW: 1}, 32, 64},
		{"short-s2-16to32", PosGeometry{H: 28, W: 28, OH: 14, OW: 14, K: 1, S: 2}, 16, 32},
		{"short-s2-32to64", PosGeometry{H: 14, W: 14, OH: 7, OW: 7, K: 1, S: 2}, 32, 64},
	} {
		for _, pct := range []int{0, 10, 40} {
			benchPositionScatterer(b, fmt.Sprintf("%s-%d%%", tc.name, pct), tc.g, tc.cs, tc.n, pct)
		}
	}
}

// benchPositionScatterer measures SetBias of one geometry with pct % of
// the inputs spiking once.
func benchPositionScatterer(b *testing.B, name string, g PosGeometry, cs, n, pct int) {
	b.Run(name, func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		wt := make([]float32, WeightChannels(g, cs, n)*g.K*g.K*n)
		for i := range wt[:cs*g.K*g.K*n] {
			wt[i] = float32(rng.IntN(129)-64) / 64
		}
		out := make([]float32, g.OH*g.OW*n)
		ps, err := NewPositionScatterer(g, cs, cs, n, len(out), len(wt))
		if err != nil {
			b.Fatal(err)
		}
		// 64 frames in turn. The branch predictor learns the few frames
		// of a chunk when they come round again and again (8 frames: the
		// 16-channel sweep ran 3.3 µs a frame, half its time in the
		// engine, where every frame is new; 128 frames: 6.6 µs), and a
		// kernel tuned on such a benchmark is tuned for the wrong machine.
		// At 16×28×28 these are 3.2 MB, out of L2 (the same frame 128
		// times in different memory: 3.7 µs).
		xs := make([][]float32, 64)
		for f := range xs {
			xs[f] = make([]float32, g.H*g.W*cs)
			for i := range xs[f] {
				if rng.IntN(100) < pct {
					xs[f][i] = 1
				}
			}
		}
		bias := make([]float32, n)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := ps.SetBias(out, wt, bias, xs[i%len(xs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
