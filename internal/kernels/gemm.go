package kernels

import (
	"os"
	"sync"
)

// Impl is one implementation of the matrix-multiply micro-kernel: it
// multiplies an MR×kc packed panel of A by a kc×NR packed panel of B.
type Impl struct {
	// Name says which instruction set the kernel uses ("generic", "avx2", "avx512").
	Name string
	// MR and NR are the rows and columns of the register tile.
	MR, NR int
	// kernel computes the MR×NR tile T = sum_p a[p*MR+i]*b[p*NR+j] and stores
	// c[i*ldc+j] = T (acc false) or c[i*ldc+j] += T (acc true).
	kernel func(kc int, a, b, c []float32, ldc int, acc bool)
}

// Generic is the pure-Go implementation, always available.
var Generic = Impl{Name: "generic", MR: 4, NR: 16, kernel: kernelGeneric4x16}

var best = func() Impl {
	if os.Getenv("SNNKIT_NOASM") == "1" {
		return Generic
	}
	impls := Available()
	return impls[len(impls)-1]
}()

// Best returns the fastest implementation this CPU supports.
func Best() Impl { return best }

// Available lists the implementations this CPU supports, slowest first;
// the first is always Generic.
func Available() []Impl {
	return append([]Impl{Generic}, asmImpls()...)
}

// Blocking sizes (in elements). kc is the depth of one packed panel pair.
const (
	blockK = 256
	blockM = 96   // rows of A packed at once: a multiple of every MR
	blockN = 2048 // columns of B packed at once: a multiple of every NR
)

var packPool = sync.Pool{New: func() any { s := make([]float32, 0, 64*1024); return &s }}

func getBuf(n int) *[]float32 {
	p := packPool.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// Sgemm computes C = op(A)·op(B), or C += op(A)·op(B) when accumulate is
// set, with the Best implementation. op(A) is m×k: A is stored row-major m×k
// with row stride lda, or k×m when transA. op(B) is k×n likewise. C is m×n
// with row stride ldc. Lengths are not checked here.
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	SgemmWith(best, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

// SgemmWith is Sgemm with a chosen implementation. Each element of C is
// computed by the same sequence of operations whatever part of C a caller
// asks for, so splitting C between threads does not change the result.
func SgemmWith(im Impl, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	mr, nr := im.MR, im.NR
	pa := getBuf(blockM * blockK)
	pb := getBuf(min(blockN, roundUp(n, nr)) * min(blockK, k))
	tile := getBuf(mr * nr)
	defer packPool.Put(pa)
	defer packPool.Put(pb)
	defer packPool.Put(tile)
	for jc := 0; jc < n; jc += blockN {
		nc := min(blockN, n-jc)
		for pc := 0; pc < k; pc += blockK {
			kc := min(blockK, k-pc)
			acc := accumulate || pc > 0
			packB(*pb, b, ldb, transB, pc, jc, kc, nc, nr)
			for ic := 0; ic < m; ic += blockM {
				mc := min(blockM, m-ic)
				packA(*pa, a, lda, transA, ic, pc, mc, kc, mr)
				for jr := 0; jr < nc; jr += nr {
					nn := min(nr, nc-jr)
					bp := (*pb)[jr*kc : jr*kc+nr*kc]
					for ir := 0; ir < mc; ir += mr {
						mm := min(mr, mc-ir)
						ap := (*pa)[ir*kc : ir*kc+mr*kc]
						off := (ic+ir)*ldc + jc + jr
						if mm == mr && nn == nr {
							im.kernel(kc, ap, bp, c[off:], ldc, acc)
							continue
						}
						t := *tile
						im.kernel(kc, ap, bp, t, nr, false)
						for i := 0; i < mm; i++ {
							row := c[off+i*ldc : off+i*ldc+nn]
							src := t[i*nr : i*nr+nn]
							if acc {
								for j := range row {
									row[j] += src[j]
								}
							} else {
								copy(row, src)
							}
						}
					}
				}
			}
		}
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA copies the mc×kc block of op(A) at (i0, p0) into panels of mr rows:
// panel q holds dst[q*mr*kc + p*mr + r] = op(A)[i0+q*mr+r][p0+p], zero padded.
func packA(dst, a []float32, lda int, trans bool, i0, p0, mc, kc, mr int) {
	for q := 0; q < mc; q += mr {
		panel := dst[q*kc : q*kc+mr*kc]
		rows := min(mr, mc-q)
		if trans {
			// op(A)[i][p] = a[p*lda+i]: each p has rows contiguous.
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+i0+q:]
				d := panel[p*mr : p*mr+mr]
				copy(d[:rows], src[:rows])
				clear(d[rows:])
			}
			continue
		}
		for r := 0; r < rows; r++ {
			src := a[(i0+q+r)*lda+p0 : (i0+q+r)*lda+p0+kc]
			for p, v := range src {
				panel[p*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := 0; p < kc; p++ {
				panel[p*mr+r] = 0
			}
		}
	}
}

// packB copies the kc×nc block of op(B) at (p0, j0) into panels of nr
// columns: panel q holds dst[q*kc + p*nr + j] = op(B)[p0+p][j0+q+j], zero padded.
func packB(dst, b []float32, ldb int, trans bool, p0, j0, kc, nc, nr int) {
	for q := 0; q < nc; q += nr {
		panel := dst[q*kc : q*kc+nr*kc]
		cols := min(nr, nc-q)
		if !trans {
			for p := 0; p < kc; p++ {
				src := b[(p0+p)*ldb+j0+q:]
				d := panel[p*nr : p*nr+nr]
				copy(d[:cols], src[:cols])
				clear(d[cols:])
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]
		for j := 0; j < cols; j++ {
			src := b[(j0+q+j)*ldb+p0 : (j0+q+j)*ldb+p0+kc]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kc; p++ {
				panel[p*nr+j] = 0
			}
		}
	}
}
