package tensor

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
	"github.com/snnkit/snnkit/internal/parallel"
)

// Gemm computes C = op(A)·op(B), or C += op(A)·op(B) when accumulate, on all
// cores. op(A) is m×k (A stored m×k with row stride lda, or k×m when transA),
// op(B) is k×n, C is m×n with row stride ldc. It checks the slice lengths.
// The result does not depend on the number of threads.
func Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) error {
	if err := checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		return err
	}
	gemmParallel(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
	return nil
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("tensor: gemm with negative size m=%d n=%d k=%d", m, n, k)
	}
	if m == 0 || n == 0 {
		return nil
	}
	ra, ca := m, k
	if transA {
		ra, ca = k, m
	}
	rb, cb := k, n
	if transB {
		rb, cb = n, k
	}
	if err := checkMat("A", a, ra, ca, lda); err != nil {
		return err
	}
	if err := checkMat("B", b, rb, cb, ldb); err != nil {
		return err
	}
	return checkMat("C", c, m, n, ldc)
}

func checkMat(name string, s []float32, rows, cols, ld int) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	if ld < cols {
		return fmt.Errorf("tensor: gemm %s: row stride %d < %d columns", name, ld, cols)
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		return fmt.Errorf("tensor: gemm %s: %d×%d with stride %d needs %d values, have %d", name, rows, cols, ld, need, len(s))
	}
	return nil
}

// gemmParallel splits C into one column block per worker,
// or into row blocks when C is narrow, and runs them as parallel tasks.
// Every element of C is computed by the same operations whatever the split
// (kernels.GemmPacked), so the result does not depend on the thread count.
func gemmParallel(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	work := float64(m) * float64(n) * float64(k)
	tasks := min(int(work/(1<<19)), parallel.Workers())
	if tasks <= 1 {
		kernels.Sgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return
	}
	if n >= 64*tasks {
		panels := (n + 31) / 32
		size := (panels + tasks - 1) / tasks * 32
		parallel.Chunks(n, size, func(lo, hi int) {
			var bb []float32
			if transB {
				bb = b[lo*ldb:]
			} else {
				bb = b[lo:]
			}
			kernels.Sgemm(transA, transB, m, hi-lo, k, a, lda, bb, ldb, c[lo:], ldc, accumulate)
		})
		return
	}
	size := max((m+tasks-1)/tasks+7&^7, 8)
	parallel.Chunks(m, size, func(lo, hi int) {
		var aa []float32
		if transA {
			aa = a[lo:]
		} else {
			aa = a[lo*lda:]
		}
		kernels.Sgemm(transA, transB, hi-lo, n, k, aa, lda, b, ldb, c[lo*ldc:], ldc, accumulate)
	})
}

// Packed is a left matrix operand packed once for repeated products
// (a layer's weights multiplied by every image of a batch).
type Packed struct {
	p kernels.PackedA
}

// Pack packs op(A) (m×k; A is m×k with row stride lda, or k×m when transA)
// into p, reusing p's memory.
func (p *Packed) Pack(transA bool, m, k int, a []float32, lda int) error {
	ra, ca := m, k
	if transA {
		ra, ca = k, m
	}
	if m < 0 || k < 0 {
		return fmt.Errorf("tensor: pack with negative size m=%d k=%d", m, k)
	}
	if err := checkMat("A", a, ra, ca, lda); err != nil {
		return err
	}
	kernels.Best().PackA(&p.p, transA, m, k, a, lda)
	return nil
}

// MulSerial computes C = P·op(B) (C += when accumulate) on the calling
// goroutine, where op(B) is k×n and C is m×n with row stride ldc.
func (p *Packed) MulSerial(transB bool, n int, b []float32, ldb int, c []float32, ldc int, accumulate bool) error {
	m, k := p.p.Rows(), p.p.Depth()
	rb, cb := k, n
	if transB {
		rb, cb = n, k
	}
	if n < 0 {
		return fmt.Errorf("tensor: product with negative width %d", n)
	}
	if m == 0 || n == 0 {
		return nil
	}
	if err := checkMat("B", b, rb, cb, ldb); err != nil {
		return err
	}
	if err := checkMat("C", c, m, n, ldc); err != nil {
		return err
	}
	kernels.GemmPacked(&p.p, transB, n, b, ldb, c, ldc, accumulate)
	return nil
}

// MatMul sets c = op(a)·op(b) for 2-D tensors (c += when accumulate),
// resizing c when it has the wrong shape and accumulate is false.
func MatMul(c, a, b *Tensor, transA, transB, accumulate bool) error {
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return fmt.Errorf("tensor: matmul needs 2-D operands, have %v and %v", a.Shape, b.Shape)
	}
	m, k := a.Shape[0], a.Shape[1]
	if transA {
		m, k = k, m
	}
	k2, n := b.Shape[0], b.Shape[1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		return fmt.Errorf("tensor: matmul inner sizes differ: %v and %v (transA=%v transB=%v)", a.Shape, b.Shape, transA, transB)
	}
	if !SameShape(c.Shape, []int{m, n}) {
		if accumulate {
			return fmt.Errorf("tensor: matmul accumulates into %v, want [%d, %d]", c.Shape, m, n)
		}
		c.Resize(m, n)
	}
	return Gemm(transA, transB, m, n, k, a.Data, a.Shape[1], b.Data, b.Shape[1], c.Data, n, accumulate)
}

// GemmSerial is Gemm on the calling goroutine only, for callers that already
// run one task per core.
func GemmSerial(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) error {
	if err := checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		return err
	}
	kernels.Sgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
	return nil
}

// MulRowsSerial computes C = P·B (C += when accumulate) on the calling
// goroutine, where B is k×n with row p at b[offs[p] : offs[p]+n] and C is m×n
// with row stride ldc.
func (p *Packed) MulRowsSerial(n int, b []float32, offs []int, c []float32, ldc int, accumulate bool) error {
	m, k := p.p.Rows(), p.p.Depth()
	if len(offs) != k {
		return fmt.Errorf("tensor: %d row offsets for depth %d", len(offs), k)
	}
	if m == 0 || n <= 0 {
		return nil
	}
	for i, o := range offs {
		if o < 0 || o+n > len(b) {
			return fmt.Errorf("tensor: row %d at offset %d with %d columns overruns %d values", i, o, n, len(b))
		}
	}
	if err := checkMat("C", c, m, n, ldc); err != nil {
		return err
	}
	kernels.GemmPackedRows(&p.p, n, b, offs, c, ldc, accumulate)
	return nil
}

// GemmRowsASerial computes C = A·Btᵀ (C += when accumulate) on the calling
// goroutine, where A is m×k with row i at a[aoffs[i] : aoffs[i]+k], Bt is n×k
// with row stride ldbt and C is m×n with row stride ldc.
func GemmRowsASerial(m, n, k int, a []float32, aoffs []int, bt []float32, ldbt int, c []float32, ldc int, accumulate bool) error {
	if len(aoffs) != m {
		return fmt.Errorf("tensor: %d row offsets for %d rows", len(aoffs), m)
	}
	if m == 0 || n <= 0 {
		return nil
	}
	for i, o := range aoffs {
		if o < 0 || o+k > len(a) {
			return fmt.Errorf("tensor: row %d at offset %d with %d columns overruns %d values", i, o, k, len(a))
		}
	}
	if err := checkMat("Bt", bt, n, k, ldbt); err != nil {
		return err
	}
	if err := checkMat("C", c, m, n, ldc); err != nil {
		return err
	}
	kernels.GemmRowsA(kernels.Best(), m, n, k, a, aoffs, bt, ldbt, c, ldc, accumulate)
	return nil
}
