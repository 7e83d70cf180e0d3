package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

func randT(r *rand.Rand, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = r.Float32()*2 - 1
	}
	return t
}

func naiveMul(a, b *Tensor, transA, transB bool) []float64 {
	m, k := a.Shape[0], a.Shape[1]
	if transA {
		m, k = k, m
	}
	n := b.Shape[1]
	if transB {
		n = b.Shape[0]
	}
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a.Data[p*a.Shape[1]+i]
				} else {
					av = a.Data[i*a.Shape[1]+p]
				}
				if transB {
					bv = b.Data[j*b.Shape[1]+p]
				} else {
					bv = b.Data[p*b.Shape[1]+j]
				}
				s += float64(av) * float64(bv)
			}
			out[i*n+j] = s
		}
	}
	return out
}

// TestMatMulParallel checks the parallel product, with every transpose and
// shapes large enough to be split by columns or by rows, and that the result
// is bit-identical with one thread.
func TestMatMulParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	shapes := [][3]int{{3, 5, 7}, {128, 500, 128}, {500, 128, 128}, {128, 10, 500}, {33, 1000, 65}, {1000, 20, 300}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for v := 0; v < 4; v++ {
			tA, tB := v&1 != 0, v&2 != 0
			ash, bsh := []int{m, k}, []int{k, n}
			if tA {
				ash = []int{k, m}
			}
			if tB {
				bsh = []int{n, k}
			}
			a, b := randT(r, ash...), randT(r, bsh...)
			var c Tensor
			if err := MatMul(&c, a, b, tA, tB, false); err != nil {
				t.Fatal(err)
			}
			want := naiveMul(a, b, tA, tB)
			for i, w := range want {
				if math.Abs(float64(c.Data[i])-w) > 1e-4*float64(k) {
					t.Fatalf("%v tA=%v tB=%v: c[%d]=%v want %v", s, tA, tB, i, c.Data[i], w)
				}
			}
			prev := runtime.GOMAXPROCS(1)
			var c1 Tensor
			_ = MatMul(&c1, a, b, tA, tB, false)
			runtime.GOMAXPROCS(prev)
			for i := range c.Data {
				if c.Data[i] != c1.Data[i] {
					t.Fatalf("%v: result differs with one thread at %d", s, i)
				}
			}
		}
	}
}

func TestMatMulErrors(t *testing.T) {
	var c Tensor
	if err := MatMul(&c, New(2, 3), New(4, 5), false, false, false); err == nil {
		t.Error("inner size mismatch accepted")
	}
	if err := MatMul(&c, New(2), New(2, 2), false, false, false); err == nil {
		t.Error("1-D operand accepted")
	}
	if err := Gemm(false, false, 2, 2, 2, make([]float32, 3), 2, make([]float32, 4), 2, make([]float32, 4), 2, false); err == nil {
		t.Error("short A accepted")
	}
}

// TestIm2colAdjoint checks <Im2col(x), y> = <x, Col2im(y)>, and Im2row
// against Im2col, for strides and paddings.
func TestIm2colAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	geoms := []ConvGeom{
		{C: 2, H: 5, W: 6, KH: 3, KW: 2, SH: 1, SW: 1},
		{C: 3, H: 7, W: 7, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1},
		{C: 1, H: 4, W: 4, KH: 1, KW: 1, SH: 1, SW: 1},
		{C: 2, H: 6, W: 5, KH: 2, KW: 3, SH: 2, SW: 1, PH: 0, PW: 2},
	}
	for _, g := range geoms {
		if !g.OutSize() {
			t.Fatalf("%+v does not fit", g)
		}
		k, p := g.C*g.KH*g.KW, g.OH*g.OW
		x := randT(r, g.C*g.H*g.W)
		y := randT(r, k*p)
		cols := make([]float32, k*p)
		Im2col(&g, x.Data, cols, p)
		rows := make([]float32, p*k)
		Im2row(&g, x.Data, rows)
		for i := 0; i < k; i++ {
			for j := 0; j < p; j++ {
				if cols[i*p+j] != rows[j*k+i] {
					t.Fatalf("%+v: im2row[%d][%d] != im2col[%d][%d]", g, j, i, i, j)
				}
			}
		}
		dx := make([]float32, len(x.Data))
		Col2im(&g, y.Data, p, dx)
		var l, rr float64
		for i := range cols {
			l += float64(cols[i]) * float64(y.Data[i])
		}
		for i := range dx {
			rr += float64(dx[i]) * float64(x.Data[i])
		}
		if math.Abs(l-rr) > 1e-4 {
			t.Fatalf("%+v: <im2col x, y> = %v, <x, col2im y> = %v", g, l, rr)
		}
	}
}

func BenchmarkGemmParallel(b *testing.B) {
	for _, s := range [][3]int{{20, 36864, 25}, {32, 4096, 500}, {128, 576, 288}, {512, 512, 512}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			a, bb, c := randT(r, m, k), randT(r, k, n), New(m, n)
			for i := 0; i < b.N; i++ {
				_ = Gemm(false, false, m, n, k, a.Data, k, bb.Data, n, c.Data, n, false)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// TestIAFFramesSizes checks that IAFFrames refuses buffers too short for
// its frames, negative counts and strides, and steps a good call as one
// step a frame does.
func TestIAFFramesSizes(t *testing.T) {
	const n = 20
	buf := func(k int) []float32 { return make([]float32, k) }
	for _, tc := range []struct {
		name            string
		x, b, out, sum  []float32
		xStride, frames int
		wantErr         bool
	}{
		{"good", buf(3 * n), buf(3 * n), buf(3 * n), buf(n), n, 3, false},
		{"one frame for all", buf(n), nil, buf(3 * n), nil, 0, 3, false},
		{"no frames", nil, nil, nil, nil, n, 0, false},
		{"short input", buf(3*n - 1), nil, buf(3 * n), nil, n, 3, true},
		{"short second input", buf(3 * n), buf(2 * n), buf(3 * n), nil, n, 3, true},
		{"short output", buf(3 * n), nil, buf(3*n - 1), nil, n, 3, true},
		{"short sums", buf(3 * n), nil, buf(3 * n), buf(n - 1), n, 3, true},
		{"negative frames", buf(3 * n), nil, buf(3 * n), nil, n, -1, true},
		{"negative stride", buf(3 * n), nil, buf(3 * n), nil, -n, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := buf(n)
			for i := range tc.x {
				tc.x[i] = 0.4
			}
			_, err := IAFFrames(v, tc.x, tc.xStride, tc.b, 0.5, tc.out, tc.frames, 1, -1, tc.sum)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %v", err, tc.wantErr)
			}
			if tc.wantErr || tc.frames == 0 {
				return
			}
			// The same as one step a frame.
			v2, out2 := buf(n), buf(tc.frames*n)
			for k := 0; k < tc.frames; k++ {
				x := tc.x[k*tc.xStride : k*tc.xStride+n]
				var err error
				if tc.b != nil {
					_, err = IAFSum2Count(v2, x, tc.b[k*n:(k+1)*n], out2[k*n:(k+1)*n], 1, -1, 0.5)
				} else {
					_, err = IAFCount(v2, x, out2[k*n:(k+1)*n], 1, -1)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if fmt.Sprint(v, tc.out) != fmt.Sprint(v2, out2) {
				t.Fatalf("frames %v %v, steps %v %v", v, tc.out, v2, out2)
			}
		})
	}
}
