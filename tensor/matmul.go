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

// gemmParallel splits C into column (or row) blocks that depend only on the
// shape and runs them as parallel tasks.
func gemmParallel(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	work := float64(m) * float64(n) * float64(k)
	tasks := int(min(work/(1<<21), 32))
	if tasks <= 1 {
		kernels.Sgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return
	}
	if n >= m {
		size := max((n+tasks-1)/tasks+63&^63, 64)
		parallel.Chunks(n, size, func(lo, hi int) {
			bb := b[lo:]
			if transB {
				bb = b[lo*ldb:]
			}
			kernels.Sgemm(transA, transB, m, hi-lo, k, a, lda, bb, ldb, c[lo:], ldc, accumulate)
		})
		return
	}
	size := max((m+tasks-1)/tasks+7&^7, 8)
	parallel.Chunks(m, size, func(lo, hi int) {
		aa := a[lo*lda:]
		if transA {
			aa = a[lo:]
		}
		kernels.Sgemm(transA, transB, hi-lo, n, k, aa, lda, b, ldb, c[lo*ldc:], ldc, accumulate)
	})
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
