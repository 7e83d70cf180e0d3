package kernels

import (
	"fmt"
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
// does for every chunk of a run whose inputs no IAF population summed as
// it stepped (IAFFrames).
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

// TestIAFFramesMatchesGeneric steps integrate-and-fire neurons through
// several frames with every implementation's IAFFrames and the generic
// one, bit for bit: potentials at and next to both limits of the compare
// that stands for the division (t1, t2), above them, NaN, ±Inf and ±0;
// thresholds with and without exact quotients; with and without a second
// input, a floor, spike sums, a moving input (or one frame for all); and
// lengths around the kernels' blocks of 16 and 128 neurons.
func TestIAFFramesMatchesGeneric(t *testing.T) {
	for _, im := range vecImpls() {
		t.Run(im.isa.String(), func(t *testing.T) { iafFramesMatchesGeneric(t, im) })
	}
}

func iafFramesMatchesGeneric(t *testing.T, im vecFuncs) {
	r := rand.New(rand.NewPCG(9, 9))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	same := func(what string, got, want []float32) {
		t.Helper()
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	for _, th := range []float32{1, 0.3, 0.7071068, 3e-39, 2e38} {
		lim, ok := iafFastLimits(th)
		if !ok {
			t.Fatalf("iafFastLimits(%v) refused", th)
		}
		near := []float32{th, 2 * th, 3 * th, 1e30, nan, inf, -inf, 0, float32(math.Copysign(0, -1)), -th}
		for _, l := range lim {
			near = append(near, l, math.Nextafter32(l, 0))
		}
		for _, n := range []int{1, 15, 16, 17, 127, 128, 129, 300, 1100} {
			for _, frames := range []int{1, 2, 7} {
				for _, mode := range []int{0, 1, 2, 3} { // bit 0: b; bit 1: sum
					for _, minV := range []float32{-1, float32(math.Inf(-1))} {
						for _, xStride := range []int{n, 0} {
							val := func() float32 {
								if r.IntN(6) == 0 {
									return near[r.IntN(len(near))]
								}
								return (r.Float32()*2 - 0.5) * th
							}
							fill := func(k int) []float32 {
								s := make([]float32, k)
								for i := range s {
									s[i] = val()
								}
								return s
							}
							v1 := fill(n)
							v2 := append([]float32(nil), v1...)
							x := fill((frames-1)*xStride + n)
							var b []float32
							if mode&1 != 0 {
								b = fill(frames * n)
							}
							var s1, s2 []float32
							if mode&2 != 0 {
								s1 = make([]float32, n)
								for i := range s1 {
									s1[i] = float32(r.IntN(4))
								}
								s2 = append([]float32(nil), s1...)
							}
							o1, o2 := make([]float32, frames*n), make([]float32, frames*n)
							c1 := im.iafFrames(v1, x, xStride, b, 0.375, o1, frames, th, minV, s1)
							c2 := IAFFramesGeneric(v2, x, xStride, b, 0.375, o2, frames, th, minV, s2)
							what := func(s string) string {
								return fmt.Sprintf("θ=%v n=%d frames=%d mode=%d floor=%v stride=%d: %s", th, n, frames, mode, minV, xStride, s)
							}
							// Counts past 2^24 (from potentials like 1e30) are
							// summed in float32 lanes: near, not exact.
							if c1 != c2 && !(c1 != c1 && c2 != c2) && !(math.Abs(c2) > 1<<24 && math.Abs(c1-c2) <= 1e-6*math.Abs(c2)) {
								t.Fatalf("%s", what(fmt.Sprintf("%v spikes, want %v", c1, c2)))
							}
							same(what("v"), v1, v2)
							same(what("out"), o1, o2)
							same(what("sum"), s1, s2)
						}
					}
				}
			}
		}
	}
}

// TestIAFFramesGenericSteps checks IAFFramesGeneric against the one-step
// kernels it stands for: IAFCountGeneric (or IAFSum2CountGeneric) frame
// after frame, and AddFramesGeneric of the spikes.
func TestIAFFramesGenericSteps(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	const n, frames = 37, 5
	for _, withB := range []bool{false, true} {
		v1, x, b := make([]float32, n), make([]float32, frames*n), make([]float32, frames*n)
		for i := range x {
			x[i], b[i] = r.Float32()*2-0.5, r.Float32()*2-0.5
		}
		for i := range v1 {
			v1[i] = r.Float32()
		}
		v2 := append([]float32(nil), v1...)
		var bb []float32
		if withB {
			bb = b
		}
		o1, s1 := make([]float32, frames*n), make([]float32, n)
		c1 := IAFFramesGeneric(v1, x, n, bb, 0.375, o1, frames, 0.7, -1, s1)
		o2, s2, c2 := make([]float32, frames*n), make([]float32, n), 0.0
		for k := 0; k < frames; k++ {
			if withB {
				c2 += IAFSum2CountGeneric(v2, x[k*n:], b[k*n:], o2[k*n:], 0.7, -1, 0.375)
			} else {
				c2 += IAFCountGeneric(v2, x[k*n:], o2[k*n:], 0.7, -1)
			}
		}
		AddFramesGeneric(s2, o2, frames)
		if c1 != c2 || fmt.Sprint(v1, o1, s1) != fmt.Sprint(v2, o2, s2) {
			t.Fatalf("b %v: frames %v %v %v %v, steps %v %v %v %v", withB, c1, v1, o1, s1, c2, v2, o2, s2)
		}
	}
}

// TestIAFFastLimits checks the limits of the compares that stand for the
// division: t_k is the least potential whose quotient by θ rounds to k or
// more.
func TestIAFFastLimits(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	thetas := []float32{1, 0.3, 1e-30, 1e-40, 3e38, math.MaxFloat32}
	for range 2000 {
		thetas = append(thetas, math.Float32frombits(r.Uint32N(0x7f000000)+0x00800000))
	}
	for _, th := range thetas {
		lim, ok := iafFastLimits(th)
		if !ok {
			t.Fatalf("θ=%v refused", th)
		}
		for k, l := range lim {
			q := float32(k + 1)
			if math.IsInf(float64(l), 1) {
				if !math.IsInf(float64(q*th), 1) {
					t.Fatalf("θ=%v: t%d=+Inf", th, k+1)
				}
				continue
			}
			if !(l/th >= q) || math.Nextafter32(l, 0)/th >= q {
				t.Fatalf("θ=%v: t%d=%v", th, k+1, l)
			}
		}
	}
	for _, th := range []float32{0, -1, float32(math.NaN()), float32(math.Inf(1))} {
		if _, ok := iafFastLimits(th); ok {
			t.Fatalf("θ=%v accepted", th)
		}
	}
}

// BenchmarkIAFFrames steps resnet_fmnist's largest population (16×28×28)
// through a chunk of 8 frames with its spike sums, in one call
// ("frames") and as the engine did before, a counting step a frame and
// then a pass that sums the spikes ("steps").
func BenchmarkIAFFrames(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, frames = 16 * 28 * 28, 8
	v, x, out, sum := make([]float32, n), make([]float32, frames*n), make([]float32, frames*n), make([]float32, n)
	for i := range x {
		x[i] = rng.Float32() * 0.2
	}
	// 0.4 % of the inputs push their neuron past twice the threshold: in a
	// residual block's populations, two spikes at once in some neuron of
	// most blocks of 128.
	for i := 0; i < len(x)/256; i++ {
		x[rng.IntN(len(x))] = 1.5
	}
	b.Run("frames", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			IAFFrames(v, x, n, nil, 0, out, frames, 1, -1, sum)
		}
	})
	b.Run("steps", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for f := 0; f < frames; f++ {
				IAFCount(v, x[f*n:(f+1)*n], out[f*n:(f+1)*n], 1, -1)
			}
			AddFrames(sum, out, frames)
		}
	})
}

// TestIAFFramesRegimes alternates blocks of 128 neurons that fire up to
// two spikes a step with blocks that fire three or more in most frames,
// in runs of different lengths, so that the AVX-512 kernel switches
// between its compares and its division mode both ways; every
// implementation must match the generic one bit for bit.
func TestIAFFramesRegimes(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	const blocks, frames = 12, 8
	n := blocks*128 + 37
	hot := []bool{false, true, true, false, true, false, false, false, true, true, true, false, true}
	for _, im := range vecImpls() {
		for _, withB := range []bool{false, true} {
			v1 := make([]float32, n)
			x, b := make([]float32, frames*n), make([]float32, frames*n)
			for k := 0; k < frames; k++ {
				for i := 0; i < n; i++ {
					scale := float32(0.9)
					if hot[i/128] {
						scale = 4.5
					}
					x[k*n+i] = r.Float32() * scale
					b[k*n+i] = r.Float32() * 0.5
				}
			}
			v2 := append([]float32(nil), v1...)
			var bb []float32
			if withB {
				bb = b
			}
			o1, o2 := make([]float32, frames*n), make([]float32, frames*n)
			s1, s2 := make([]float32, n), make([]float32, n)
			c1 := im.iafFrames(v1, x, n, bb, 0.375, o1, frames, 1, -1, s1)
			c2 := IAFFramesGeneric(v2, x, n, bb, 0.375, o2, frames, 1, -1, s2)
			if c1 != c2 {
				t.Fatalf("%s b %v: %v spikes, want %v", im.isa, withB, c1, c2)
			}
			for _, p := range [][2][]float32{{v1, v2}, {o1, o2}, {s1, s2}} {
				for i := range p[0] {
					if math.Float32bits(p[0][i]) != math.Float32bits(p[1][i]) {
						t.Fatalf("%s b %v: [%d] = %v, want %v", im.isa, withB, i, p[0][i], p[1][i])
					}
				}
			}
		}
	}
}
