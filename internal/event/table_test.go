package event

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// directConv is the definition the table convolution must meet: out[o][k]
// += Σ x[p][c]·w(c, t)[k] over the taps t through which input p reaches
// output o.
func directConv(g ConvGeometry, cs, cin, n int, w [][]float32, x, out []float32) {
	for oy := 0; oy < g.OH; oy++ {
		for ox := 0; ox < g.OW; ox++ {
			for i := 0; i < g.KH; i++ {
				for j := 0; j < g.KW; j++ {
					y, xx := oy*g.SH-g.PH+i*g.DH, ox*g.SW-g.PW+j*g.DW
					if y < 0 || y >= g.H || xx < 0 || xx >= g.W {
						continue
					}
					for c := 0; c < cin; c++ {
						v := x[(y*g.W+xx)*cs+c]
						for k, wk := range w[c*g.KH*g.KW+i*g.KW+j] {
							out[(oy*g.OW+ox)*n+k] += v * wk
						}
					}
				}
			}
		}
	}
}

func TestTableConvolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for _, tc := range []struct {
		name       string
		g          ConvGeometry
		cs, cin, n int
		other      float32 // an input value other than 0 and 1, or 0
	}{
		{"3x3 pad 1", ConvGeometry{H: 9, W: 7, OH: 9, OW: 7, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1}, 16, 16, 16, 0},
		{"3x3 stride 2", ConvGeometry{H: 10, W: 10, OH: 5, OW: 5, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1}, 16, 13, 32, 2},
		{"1x1 stride 2", ConvGeometry{H: 8, W: 8, OH: 4, OW: 4, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1}, 32, 32, 64, 0.5},
		{"asymmetric, dilated", ConvGeometry{H: 8, W: 11, OH: 6, OW: 4, KH: 2, KW: 3, SH: 1, SW: 3, PH: 0, PW: 2, DH: 2, DW: 2}, 48, 40, 48, 3},
		{"96 channels", ConvGeometry{H: 5, W: 5, OH: 5, OW: 5, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1}, 96, 90, 16, -1},
		{"128 channels, NaN", ConvGeometry{H: 4, W: 4, OH: 2, OW: 2, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1}, 128, 128, 80, float32(math.NaN())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			w := make([][]float32, tc.cin*g.KH*g.KW)
			for i := range w {
				w[i] = make([]float32, tc.n)
				for k := range w[i] {
					w[i][k] = float32(rng.IntN(129)-64) / 32
				}
			}
			tb, err := NewTable(g, tc.cs, tc.cin, tc.n, func(ch, tap int, row []float32) { copy(row, w[ch*g.KH*g.KW+tap]) })
			if err != nil {
				t.Fatal(err)
			}
			tb = tb.Clone()
			for frame := 0; frame < 3; frame++ { // the bitmap is reused
				x := make([]float32, g.H*g.W*tc.cs)
				for p := 0; p < g.H*g.W; p++ {
					for c := 0; c < tc.cin; c++ {
						if rng.IntN(4) == 0 {
							x[p*tc.cs+c] = 1
						}
					}
				}
				if tc.other != 0 && frame > 0 {
					x[rng.IntN(g.H*g.W)*tc.cs+rng.IntN(tc.cin)] = tc.other
				}
				want, got := make([]float32, g.OH*g.OW*tc.n), make([]float32, g.OH*g.OW*tc.n)
				for i := range want {
					want[i] = float32(rng.IntN(5)) / 4
					got[i] = want[i]
				}
				directConv(g, tc.cs, tc.cin, tc.n, w, x, want)
				if err := tb.Apply(got, x); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
						t.Fatalf("frame %d: out[%d] = %v, want %v", frame, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func TestNewTableRefuses(t *testing.T) {
	ok := ConvGeometry{H: 4, W: 4, OH: 4, OW: 4, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1}
	zero := func(int, int, []float32) {}
	for _, tc := range []struct {
		name        string
		g           ConvGeometry
		cs, cin, n  int
		wantErrPart string
	}{
		{"channels not a multiple of 16", ok, 8, 8, 16, "multiple of 16"},
		{"more real channels than the stride", ok, 16, 17, 16, "multiple of 16"},
		{"zero stride", ConvGeometry{H: 4, W: 4, OH: 4, OW: 4, KH: 3, KW: 3, PH: 1, PW: 1, DH: 1, DW: 1}, 16, 16, 16, "invalid convolution"},
		{"absurd table", ConvGeometry{H: 4, W: 4, OH: 4, OW: 4, KH: 64, KW: 64, SH: 1, SW: 1, DH: 1, DW: 1}, 1024, 1024, 1024, "floats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTable(tc.g, tc.cs, tc.cin, tc.n, zero)
			if err == nil || !strings.Contains(err.Error(), tc.wantErrPart) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErrPart)
			}
		})
	}
	tb, err := NewTable(ok, 16, 16, 16, zero)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Apply(make([]float32, 16*16), make([]float32, 15*16)); err == nil {
		t.Fatal("a short input frame was accepted")
	}
}

// BenchmarkTable times a frame of resnet_fmnist's convolutions of spike
// counts at 10 % density, 4 % of them double spikes, bitmap included.
func BenchmarkTable(b *testing.B) {
	for _, tc := range []struct {
		name  string
		g     ConvGeometry
		cs, n int
	}{
		{"28x28x16-3x3-16", ConvGeometry{H: 28, W: 28, OH: 28, OW: 28, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1}, 16, 16},
		{"28x28x16-3x3s2-32", ConvGeometry{H: 28, W: 28, OH: 14, OW: 14, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1}, 16, 32},
		{"28x28x16-1x1s2-32", ConvGeometry{H: 28, W: 28, OH: 14, OW: 14, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1}, 16, 32},
		{"14x14x32-3x3-32", ConvGeometry{H: 14, W: 14, OH: 14, OW: 14, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1}, 32, 32},
		{"14x14x32-1x1s2-64", ConvGeometry{H: 14, W: 14, OH: 7, OW: 7, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1}, 32, 64},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			tb, err := NewTable(tc.g, tc.cs, tc.cs, tc.n, func(ch, t int, row []float32) {
				for k := range row {
					row[k] = rng.Float32()
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float32, tc.g.H*tc.g.W*tc.cs)
			for i := range x {
				if rng.IntN(10) == 0 {
					x[i] = 1
					if rng.IntN(25) == 0 {
						x[i] = 2 // 4 % double spikes, as in resnet_fmnist
					}
				}
			}
			out := make([]float32, tc.g.OH*tc.g.OW*tc.n)
			b.ResetTimer()
			for range b.N {
				if err := tb.Apply(out, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
