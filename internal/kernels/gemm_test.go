package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naive computes op(A)·op(B) in float64.
func naive(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			c[i*n+j] = s
		}
	}
	return c
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

const guard = float32(12345.5)

// TestSgemmAllImpls checks every implementation against a float64 reference
// on random shapes, including 1, odd sizes, sizes beyond the blocking, all
// transposes, strided operands and accumulation, with guard values around C.
// Tolerance: |got-want| <= 1e-5 * (k+1) * max(1, |want|) (float32 rounding
// over k terms).
func TestSgemmAllImpls(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {1, 7, 3}, {7, 1, 5}, {3, 3, 1}, {8, 32, 4}, {6, 16, 9}, {9, 33, 17},
		{20, 576, 25}, {32, 64, 500}, {13, 2100, 7}, {97, 31, 300}, {128, 10, 500}, {5, 5, 513}}
	for i := 0; i < 12; i++ {
		shapes = append(shapes, [3]int{1 + r.IntN(120), 1 + r.IntN(300), 1 + r.IntN(600)})
	}
	for _, im := range Available() {
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			for variant := 0; variant < 8; variant++ {
				transA, transB, accumulate := variant&1 != 0, variant&2 != 0, variant&4 != 0
				pad := 3
				lda, ldb := k+pad, n+pad
				rowsA, rowsB := m, k
				if transA {
					lda, rowsA = m+pad, k
				}
				if transB {
					ldb, rowsB = k+pad, n
				}
				a := randSlice(r, rowsA*lda)
				b := randSlice(r, rowsB*ldb)
				ldc := n + pad
				c := make([]float32, m*ldc+2*pad)
				for i := range c {
					c[i] = guard
				}
				cc := c[pad:]
				init := randSlice(r, m*n)
				for i := 0; i < m; i++ {
					copy(cc[i*ldc:i*ldc+n], init[i*n:])
				}
				SgemmWith(im, transA, transB, m, n, k, a, lda, b, ldb, cc, ldc, accumulate)
				want := naive(transA, transB, m, n, k, a, lda, b, ldb)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						w := want[i*n+j]
						if accumulate {
							w += float64(init[i*n+j])
						}
						got := float64(cc[i*ldc+j])
						if math.Abs(got-w) > 1e-5*float64(k+1)*math.Max(1, math.Abs(w)) {
							t.Fatalf("%s m=%d n=%d k=%d tA=%v tB=%v acc=%v: C[%d,%d]=%v want %v", im.ISA, m, n, k, transA, transB, accumulate, i, j, got, w)
						}
					}
					for j := n; j < ldc && i*ldc+j < len(cc)-pad; j++ {
						if cc[i*ldc+j] != guard {
							t.Fatalf("%s m=%d n=%d k=%d: guard at row %d col %d overwritten", im.ISA, m, n, k, i, j)
						}
					}
				}
				for i := 0; i < pad; i++ {
					if c[i] != guard || c[len(c)-1-i] != guard {
						t.Fatalf("%s m=%d n=%d k=%d: guard outside C overwritten", im.ISA, m, n, k)
					}
				}
			}
		}
	}
}

// TestKernelsMatchReference checks each micro-kernel tile by tile against
// kernelRef, including kc not a multiple of the unrolling.
func TestKernelsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, im := range Available() {
		ns := []int{im.NR}
		if im.Masked {
			ns = append(ns, 1, im.NR-1, im.NR/2+1)
		}
		for _, n := range ns {
			for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 31, 256} {
				for _, acc := range []bool{false, true} {
					a := randSlice(r, kc*im.MR)
					ldb := im.NR + 3
					b := randSlice(r, (kc-1)*ldb+n)
					ldc := im.NR + 5
					c := randSlice(r, (im.MR-1)*ldc+n)
					want := append([]float32(nil), c...)
					im.kernel(kc, a, b, ldb, c, ldc, n, acc)
					kernelRef(im.MR, n, kc, a, b, ldb, want, ldc, acc)
					for i := range c {
						if d := math.Abs(float64(c[i] - want[i])); d > 1e-5*float64(kc+1) {
							t.Fatalf("%s n=%d kc=%d acc=%v: c[%d]=%v want %v", im.ISA, n, kc, acc, i, c[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestSgemmSplitInvariant checks that computing C in column or row pieces
// gives bit-identical results to computing it whole: the property that makes
// parallel results independent of the number of threads.
func TestSgemmSplitInvariant(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 37, 301, 700
	a := randSlice(r, m*k)
	b := randSlice(r, k*n)
	for _, im := range Available() {
		whole := make([]float32, m*n)
		SgemmWith(im, false, false, m, n, k, a, k, b, n, whole, n, false)
		parts := make([]float32, m*n)
		for j := 0; j < n; j += 50 {
			nn := min(50, n-j)
			for i := 0; i < m; i += 11 {
				mm := min(11, m-i)
				SgemmWith(im, false, false, mm, nn, k, a[i*k:], k, b[j:], n, parts[i*n+j:], n, false)
			}
		}
		for i := range whole {
			if whole[i] != parts[i] {
				t.Fatalf("%s: element %d differs: %v vs %v", im.ISA, i, whole[i], parts[i])
			}
		}
	}
}

// TestAvailable checks the list of GEMM implementations and that every
// kernel family (direct convolution, elementwise, event) covers the same
// instruction sets, so no family silently runs generic code on a CPU the
// others use SIMD on.
func TestAvailable(t *testing.T) {
	impls := Available()
	if impls[0].ISA != ISAGeneric {
		t.Fatalf("first implementation is %q, want generic", impls[0].ISA)
	}
	seen := map[ISA]bool{}
	for _, im := range impls {
		if seen[im.ISA] || im.MR < 1 || im.NR < 1 || im.kernel == nil {
			t.Errorf("implementation %+v: duplicated or incomplete", im)
		}
		seen[im.ISA] = true
	}
	if !seen[Best().ISA] {
		t.Errorf("best %q is not in %v", Best().ISA, names(impls))
	}
	var conv, vec, ev []ISA
	for _, k := range convKernels() {
		conv = append(conv, k.isa)
	}
	for _, f := range vecImpls() {
		vec = append(vec, f.isa)
	}
	for _, f := range eventImpls() {
		ev = append(ev, f.isa)
	}
	want := fmt.Sprint(names(impls))
	for fam, got := range map[string][]ISA{"convolution": conv, "elementwise": vec, "event": ev} {
		if fmt.Sprint(got) != want {
			t.Errorf("%s kernels for %v, GEMM for %s", fam, got, want)
		}
	}
	t.Logf("implementations: %v; best %s", names(impls), Best().ISA)
}

func names(impls []Impl) []ISA {
	var s []ISA
	for _, im := range impls {
		s = append(s, im.ISA)
	}
	return s
}

func benchGemm(b *testing.B, im Impl, m, n, k int) {
	r := rand.New(rand.NewPCG(1, 1))
	a := randSlice(r, m*k)
	bb := randSlice(r, k*n)
	c := make([]float32, m*n)
	b.SetBytes(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		SgemmWith(im, false, false, m, n, k, a, k, bb, n, c, n, false)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

func BenchmarkSgemm(b *testing.B) {
	shapes := [][3]int{{20, 36864, 25}, {32, 4096, 500}, {128, 576, 288}, {512, 512, 512}}
	for _, im := range Available() {
		for _, s := range shapes {
			b.Run(im.ISA.String()+"/"+shapeName(s), func(b *testing.B) { benchGemm(b, im, s[0], s[1], s[2]) })
		}
	}
}

func shapeName(s [3]int) string {
	return itoa(s[0]) + "x" + itoa(s[1]) + "x" + itoa(s[2])
}

func itoa(x int) string {
	if x == 0 {
		return "0"
	}
	var d []byte
	for x > 0 {
		d = append([]byte{byte('0' + x%10)}, d...)
		x /= 10
	}
	return string(d)
}

// TestGemmPackedRows checks products whose B rows sit at arbitrary offsets
// against the same product on a gathered, contiguous B.
func TestGemmPackedRows(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, im := range Available() {
		for _, s := range [][3]int{{1, 1, 1}, {8, 32, 4}, {20, 668, 25}, {32, 92, 500}, {13, 45, 300}, {9, 33, 7}} {
			m, n, k := s[0], s[1], s[2]
			src := randSlice(r, 4096+n)
			offs := make([]int, k)
			for p := range offs {
				offs[p] = r.IntN(4096)
			}
			b := make([]float32, k*n)
			for p, o := range offs {
				copy(b[p*n:], src[o:o+n])
			}
			a := randSlice(r, m*k)
			var pa PackedA
			im.PackA(&pa, false, m, k, a, k)
			for _, acc := range []bool{false, true} {
				init := randSlice(r, m*n)
				got := append([]float32(nil), init...)
				want := append([]float32(nil), init...)
				GemmPackedRows(&pa, n, src, offs, got, n, acc)
				GemmPacked(&pa, false, n, b, n, want, n, acc)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s %v acc=%v: c[%d] = %v, want %v", im.ISA, s, acc, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestGemmRowsA checks products whose A rows sit at arbitrary offsets
// against a float64 reference.
func TestGemmRowsA(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	for _, im := range Available() {
		for _, s := range [][3]int{{1, 1, 1}, {8, 32, 4}, {25, 20, 668}, {500, 32, 92}, {13, 45, 300}, {9, 33, 7}, {288, 128, 6}} {
			m, n, k := s[0], s[1], s[2]
			src := randSlice(r, 2048+k)
			aoffs := make([]int, m)
			for i := range aoffs {
				aoffs[i] = r.IntN(2048)
			}
			bt := randSlice(r, n*(k+2))
			for _, acc := range []bool{false, true} {
				c := randSlice(r, m*(n+1))
				init := append([]float32(nil), c...)
				GemmRowsA(im, m, n, k, src, aoffs, bt, k+2, c, n+1, acc)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var w float64
						for p := 0; p < k; p++ {
							w += float64(src[aoffs[i]+p]) * float64(bt[j*(k+2)+p])
						}
						if acc {
							w += float64(init[i*(n+1)+j])
						}
						if math.Abs(float64(c[i*(n+1)+j])-w) > 1e-5*float64(k+1) {
							t.Fatalf("%s %v acc=%v: c[%d,%d] = %v, want %v", im.ISA, s, acc, i, j, c[i*(n+1)+j], w)
						}
					}
					if c[i*(n+1)+n] != init[i*(n+1)+n] {
						t.Fatalf("%s %v: padding column of row %d written", im.ISA, s, i)
					}
				}
			}
		}
	}
}
