package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVecMatchesGeneric compares every elementwise kernel this CPU supports
// (AVX-512, AVX2, generic) with the pure-Go ones bit for bit, on lengths
// around the vector width, with NaN, ±0 and ±Inf, and with guard values
// past the end.
func TestVecMatchesGeneric(t *testing.T) {
	impls := vecImpls()
	if impls[0].isa != ISAGeneric {
		t.Fatalf("first implementation %q", impls[0].isa)
	}
	for _, im := range impls {
		t.Run(im.isa.String(), func(t *testing.T) { vecMatchesGeneric(t, im) })
	}
	if vecImpl.isa != best.ISA && vecImpl.isa != ISAGeneric {
		t.Errorf("selected elementwise kernels %q, GEMM %q", vecImpl.isa, best.ISA)
	}
}

func vecMatchesGeneric(t *testing.T, im vecFuncs) {
	r := rand.New(rand.NewPCG(4, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -1, 1}
	for _, n := range []int{1, 2, 15, 16, 17, 31, 32, 33, 100, 1000} {
		mk := func() []float32 {
			s := make([]float32, n+3)
			for i := range s {
				if r.IntN(4) == 0 {
					s[i] = special[r.IntN(len(special))]
				} else {
					s[i] = r.Float32()*2 - 1
				}
			}
			return s
		}
		a, b, c := mk(), mk(), mk()
		same := func(name string, got, want []float32) {
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("%s n=%d: [%d] = %v, want %v", name, n, i, got[i], want[i])
				}
			}
		}
		g1, g2 := append([]float32(nil), a...), append([]float32(nil), a...)
		im.add(g1[:n], b)
		AddGeneric(g2[:n], b)
		same("add", g1, g2)
		im.scale(g1[:n], b, 0.3)
		ScaleGeneric(g2[:n], b, 0.3)
		same("scale", g1, g2)
		im.sum2(g1[:n], b, c)
		Sum2Generic(g2[:n], b, c)
		same("sum2", g1, g2)
		for _, frames := range []int{1, 3} {
			x := append(append(append([]float32(nil), b[:n]...), c[:n]...), b[:n]...)
			im.addFrames(g1[:n], x, frames)
			AddFramesGeneric(g2[:n], x, frames)
			same("addFrames", g1, g2)
		}
		for _, cs := range []int{1, 8, 17, 40, 64, 72} {
			if plane := n / cs; plane > 0 {
				for _, nc := range []int{cs, cs - 1, cs / 2} {
					s1, s2 := make([]float64, nc+1), make([]float64, nc+1)
					s1[nc], s2[nc] = 7, 7
					im.channelSums(s1[:nc], b[:plane*cs], cs, plane)
					ChannelSumsGeneric(s2[:nc], b[:plane*cs], cs, plane)
					for i := range s1 {
						if math.Float64bits(s1[i]) != math.Float64bits(s2[i]) && !(s1[i] != s1[i] && s2[i] != s2[i]) {
							t.Fatalf("channelSums n=%d cs=%d channels %d: [%d] = %v, want %v", n, cs, nc, i, s1[i], s2[i])
						}
					}
				}
			}
		}
		im.relu(g1[:n], c)
		ReluGeneric(g2[:n], c)
		same("relu", g1, g2)
		im.reluGrad(g1[:n], b, c)
		ReluGradGeneric(g2[:n], b, c)
		same("reluGrad", g1, g2)
		for _, th := range []float32{1, 0.75, 0.3} {
			for _, minV := range []float32{-1, float32(math.Inf(-1)), 0} {
				v1, v2 := append([]float32(nil), a...), append([]float32(nil), a...)
				o1, o2 := make([]float32, n+3), make([]float32, n+3)
				for rep := 0; rep < 5; rep++ {
					if rep == 2 { // the two-input kernel: x = b + 0.375·c
						c1, c2 := im.iafSum2(v1[:n], b, c, o1, th, minV, 0.375), IAFSum2CountGeneric(v2[:n], b, c, o2, th, minV, 0.375)
						if c1 != c2 && !(c1 != c1 && c2 != c2) {
							t.Fatalf("iafSum2 n=%d: %v spikes, want %v", n, c1, c2)
						}
					} else if rep == 3 { // SingleSpike, on the same state
						c1, c2 := im.iafSingle(v1[:n], b, o1, th, minV), IAFSingleCountGeneric(v2[:n], b, o2, th, minV)
						if c1 != c2 {
							t.Fatalf("iafSingle n=%d: %v spikes, want %v", n, c1, c2)
						}
					} else if rep == 1 { // the counting kernel, on the same state
						c1, c2 := im.iafCount(v1[:n], b, o1, th, minV), IAFCountGeneric(v2[:n], b, o2, th, minV)
						if c1 != c2 && !(c1 != c1 && c2 != c2) {
							t.Fatalf("iafCount n=%d: %v spikes, want %v", n, c1, c2)
						}
					} else {
						im.iaf(v1[:n], b, o1, th, minV)
						IAFGeneric(v2[:n], b, o2, th, minV)
					}
					same("iaf v", v1, v2)
					same("iaf out", o1, o2)
				}
			}
		}
		if s1, s2 := im.sum(b[:n]), SumGeneric(b[:n]); math.Float32bits(s1) != math.Float32bits(s2) && !(s1 != s1 && s2 != s2) {
			t.Fatalf("sum n=%d: %v, want %v", n, s1, s2)
		}
	}
	for _, c := range []int{1, 7, 16, 20, 32, 33} {
		for _, ow := range []int{1, 3, 12} {
			r0, r1 := randSlice(r, 2*ow*c), randSlice(r, 2*ow*c)
			o1, o2 := make([]float32, ow*c+1), make([]float32, ow*c+1)
			o1[ow*c], o2[ow*c] = 7, 7
			im.pool2x2(o1[:ow*c], r0, r1, ow, c, 0.25)
			Pool2x2Generic(o2[:ow*c], r0, r1, ow, c, 0.25)
			for i := range o1 {
				if o1[i] != o2[i] {
					t.Fatalf("pool2x2 c=%d ow=%d: [%d] = %v, want %v", c, ow, i, o1[i], o2[i])
				}
			}
		}
	}
	for _, n := range []int{1, 15, 16, 17, 63, 64, 65, 200, 1000} {
		x := randSlice(r, n)
		for i := range x {
			if r.IntN(3) == 0 {
				x[i] = 0
			}
		}
		if a, b := im.countNonzero(x, n), CountNonzeroGeneric(x, n); a != b {
			t.Fatalf("count n=%d: %d, want %d", n, a, b)
		}
		if a := im.countNonzero(x, 3); n > 10 && a <= 3 && CountNonzeroGeneric(x, n) > 3 {
			t.Fatalf("count with limit 3: %d", a)
		}
	}
}

func BenchmarkReluGrad(b *testing.B) {
	n := 1 << 20
	dst, dy, out := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range out {
		out[i] = float32(i%3) - 1
	}
	b.SetBytes(int64(12 * n))
	for i := 0; i < b.N; i++ {
		ReluGrad(dst, dy, out)
	}
}

// BenchmarkIAFCount steps resnet_fmnist's largest population (16×28×28
// neurons) with about 10 % of them spiking, its data in L1 and L2.
func BenchmarkIAFCount(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 16 * 28 * 28
	v, x, out := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = rng.Float32() * 0.2
	}
	b.SetBytes(4 * 4 * n)
	for i := 0; i < b.N; i++ {
		IAFCount(v, x, out, 1, -1)
	}
}

// BenchmarkAddFrames sums 8 frames of resnet_fmnist's largest population
// (16×28×28 spike counts, 400 KB: in L2), as the synaptic-operation count
// does for every chunk of a run.
func BenchmarkAddFrames(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, frames = 16 * 28 * 28, 8
	acc, x := make([]float32, n), make([]float32, frames*n)
	for i := range x {
		if rng.IntN(10) == 0 {
			x[i] = 1
		}
	}
	b.SetBytes(4 * frames * n)
	for i := 0; i < b.N; i++ {
		AddFrames(acc, x, frames)
	}
}

// BenchmarkChannelSums sums resnet_fmnist's last population (64×7×7) per
// channel, as its global average pooling does every frame.
func BenchmarkChannelSums(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	const cs, plane = 64, 49
	x, acc := make([]float32, cs*plane), make([]float64, cs)
	for i := range x {
		if rng.IntN(10) == 0 {
			x[i] = 1
		}
	}
	for i := 0; i < b.N; i++ {
		ChannelSums(acc, x, cs, plane)
	}
}
