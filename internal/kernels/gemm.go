package kernels

import (
	"os"
	"sync"
)

// ISA is the instruction set a family of kernels is written for.
type ISA int

// Instruction sets, slowest first.
const (
	ISAGeneric ISA = iota // pure Go, on every architecture
	ISAAVX2               // amd64 AVX2 with FMA
	ISAAVX512             // amd64 AVX-512 F (and BW, VL where used)
)

// String names the instruction set as snnkit prints it: generic, avx2 or
// avx512.
func (i ISA) String() string {
	switch i {
	case ISAAVX2:
		return "avx2"
	case ISAAVX512:
		return "avx512"
	}
	return "generic"
}

// Impl is one implementation of the matrix-multiply micro-kernel: it
// multiplies an MR×kc packed panel of A by kc rows of B read in place.
type Impl struct {
	// ISA is the instruction set the kernel uses.
	ISA ISA
	// MR and NR are the rows and columns of the register tile.
	MR, NR int
	// Masked kernels handle a partial tile (n < NR columns) in place;
	// others always read NR columns of B and write NR columns of C.
	Masked bool
	// kernel computes T[i][j] = sum_p a[p*MR+i]*b[p*ldb+j] for i < MR, j < n
	// and stores c[i*ldc+j] = T (acc false) or c[i*ldc+j] += T (acc true).
	kernel func(kc int, a, b []float32, ldb int, c []float32, ldc, n int, acc bool)
	// rowsKernel, when not nil, is kernel with row p of B at b[offs[p]:]
	// (a masked kernel: n ≤ NR columns).
	rowsKernel func(kc int, a, b []float32, offs []int, c []float32, ldc, n int, acc bool)
	// rowsAKernel, when not nil, computes an 8×NR tile with row i of A at
	// a[aoffs[i]:] and B a packed panel of NR columns (b[p*NR+j]); it
	// writes n ≤ NR columns of C.
	rowsAKernel func(kc int, a []float32, aoffs []int, b []float32, c []float32, ldc, n int, acc bool)
}

// Generic is the pure-Go implementation, always available.
var Generic = Impl{ISA: ISAGeneric, MR: 4, NR: 4, Masked: true, kernel: kernelGeneric4x4}

var best = func() Impl {
	if os.Getenv("SNNKIT_NOASM") == "1" {
		return Generic
	}
	impls := Available()
	if os.Getenv("SNNKIT_NOAVX512") == "1" {
		for i := len(impls) - 1; i >= 0; i-- {
			if impls[i].ISA != ISAAVX512 {
				return impls[i]
			}
		}
	}
	return impls[len(impls)-1]
}()

// Best returns the fastest implementation this CPU supports (Generic when
// the environment sets SNNKIT_NOASM=1; no AVX-512 with SNNKIT_NOAVX512=1, to
// see how a machine without it fares).
func Best() Impl { return best }

// Available lists the implementations this CPU supports, slowest first;
// the first is always Generic.
func Available() []Impl {
	return append([]Impl{Generic}, asmImpls()...)
}

// Blocking sizes (in elements).
const (
	blockK = 256  // depth of one packed panel
	blockM = 192  // rows of packed A used with one panel of B: a multiple of every MR
	blockN = 4096 // columns of a transposed B packed at once
)

var bufPool = sync.Pool{New: func() any { s := make([]float32, 0, 16*1024); return &s }}

func getBuf(n int) *[]float32 {
	p := bufPool.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// PackedA is the left operand of a product, packed once into the layout the
// micro-kernel reads, so it can be multiplied by many right operands.
type PackedA struct {
	im   Impl
	m, k int
	data []float32
}

// Rows returns the m of the packed m×k operand.
func (p *PackedA) Rows() int { return p.m }

// Depth returns the k of the packed m×k operand.
func (p *PackedA) Depth() int { return p.k }

// PackA packs op(A) (m×k; A is m×k with row stride lda, or k×m when
// transA) for implementation im into dst, reusing dst's memory.
func (im Impl) PackA(dst *PackedA, transA bool, m, k int, a []float32, lda int) {
	mp := roundUp(m, im.MR)
	dst.im, dst.m, dst.k = im, m, k
	if cap(dst.data) < mp*k {
		dst.data = make([]float32, mp*k)
	}
	dst.data = dst.data[:mp*k]
	for pc := 0; pc < k; pc += blockK {
		kc := min(blockK, k-pc)
		packA(dst.data[mp*pc:], a, lda, transA, 0, pc, m, kc, im.MR)
	}
}

// Sgemm computes C = op(A)·op(B), or C += op(A)·op(B) when accumulate is
// set, with the Best implementation. op(A) is m×k: A is stored row-major m×k
// with row stride lda, or k×m when transA. op(B) is k×n likewise. C is m×n
// with row stride ldc. Lengths are not checked here.
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	SgemmWith(best, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

// SgemmWith is Sgemm with a chosen implementation.
func SgemmWith(im Impl, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if m <= 0 || n <= 0 {
		return
	}
	buf := getBuf(0)
	pa := PackedA{data: *buf}
	im.PackA(&pa, transA, m, k, a, lda)
	GemmPacked(&pa, transB, n, b, ldb, c, ldc, accumulate)
	*buf = pa.data
	bufPool.Put(buf)
}

// GemmPacked computes C = A·op(B) (or C += when accumulate) for a packed A
// (m×k), op(B) k×n and C m×n with row stride ldc. Each element of C is
// computed by the same sequence of operations whatever columns a caller asks
// for, so splitting C between threads does not change the result.
func GemmPacked(pa *PackedA, transB bool, n int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	im, m, k := pa.im, pa.m, pa.k
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
	mp := roundUp(m, mr)
	tile := getBuf(mr * nr)
	defer bufPool.Put(tile)
	var bbuf *[]float32
	if transB || !im.Masked {
		bbuf = getBuf(min(blockK, k) * min(roundUp(n, nr), blockN))
		defer bufPool.Put(bbuf)
	}
	for jc := 0; jc < n; jc += blockN {
		nc := min(blockN, n-jc)
		for pc := 0; pc < k; pc += blockK {
			kc := min(blockK, k-pc)
			acc := accumulate || pc > 0
			ablock := pa.data[mp*pc:]
			if transB {
				packB(*bbuf, b, ldb, true, pc, jc, kc, nc, nr)
			}
			for ic := 0; ic < m; ic += blockM {
				mc := min(blockM, m-ic)
				for jr := 0; jr < nc; jr += nr {
					nn := min(nr, nc-jr)
					var bp []float32
					bl, kn := ldb, nn
					switch {
					case transB:
						bp, bl = (*bbuf)[jr*kc:], nr
						if !im.Masked {
							kn = nr
						}
					case nn < nr && !im.Masked:
						packB(*bbuf, b, ldb, false, pc, jc+jr, kc, nn, nr)
						bp, bl, kn = *bbuf, nr, nr
					default:
						bp = b[pc*ldb+jc+jr:]
					}
					for ir := ic; ir < ic+mc; ir += mr {
						mm := min(mr, m-ir)
						ap := ablock[ir*kc:]
						off := ir*ldc + jc + jr
						if mm == mr && kn == nn {
							im.kernel(kc, ap, bp, bl, c[off:], ldc, nn, acc)
							continue
						}
						im.kernel(kc, ap, bp, bl, *tile, nr, kn, false)
						storeEdge(c[off:], ldc, *tile, nr, mm, nn, acc)
					}
				}
			}
		}
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// storeEdge copies (or adds, with acc) the mm×nn corner of a tile computed
// into a temporary buffer t (row stride nr) into c (row stride ldc): the
// partial tiles at the bottom and right edges of C.
func storeEdge(c []float32, ldc int, t []float32, nr, mm, nn int, acc bool) {
	for i := 0; i < mm; i++ {
		row := c[i*ldc : i*ldc+nn]
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

// packA copies the mc×kc block of op(A) at (i0, p0) into panels of mr rows:
// panel q holds dst[q*kc + p*mr + r] = op(A)[i0+q+r][p0+p], zero padded.
func packA(dst, a []float32, lda int, trans bool, i0, p0, mc, kc, mr int) {
	for q := 0; q < mc; q += mr {
		panel := dst[q*kc : q*kc+mr*kc]
		rows := min(mr, mc-q)
		if trans {
			// op(A)[i][p] = a[p*lda+i]: for each p the rows are contiguous.
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+i0+q:]
				d := panel[p*mr : p*mr+mr]
				copy(d[:rows], src[:rows])
				clear(d[rows:])
			}
			continue
		}
		if rows == mr {
			packRows(panel, a, lda, i0+q, p0, kc, mr)
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

// packRows interleaves mr full rows of a into panel, four columns at a time.
func packRows(panel, a []float32, lda, i, p0, kc, mr int) {
	for r := 0; r < mr; r++ {
		src := a[(i+r)*lda+p0 : (i+r)*lda+p0+kc]
		d := panel[r:]
		p := 0
		for ; p+4 <= kc; p += 4 {
			d[p*mr] = src[p]
			d[(p+1)*mr] = src[p+1]
			d[(p+2)*mr] = src[p+2]
			d[(p+3)*mr] = src[p+3]
		}
		for ; p < kc; p++ {
			d[p*mr] = src[p]
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

// GemmPackedRows computes C = A·B (or C += when accumulate) for a packed A
// (m×k) and a k×n matrix B whose row p is b[offs[p] : offs[p]+n]: rows at
// arbitrary offsets, such as the shifted views of an image that make up a
// convolution's unfolded input (implicit im2col). len(offs) must be k and
// every row must lie inside b (it panics otherwise).
func GemmPackedRows(pa *PackedA, n int, b []float32, offs []int, c []float32, ldc int, accumulate bool) {
	im, m, k := pa.im, pa.m, pa.k
	if m <= 0 || n <= 0 {
		return
	}
	for _, o := range offs[:k] {
		if o < 0 || o+n > len(b) {
			panic("kernels: GemmPackedRows row outside b")
		}
	}
	if k <= 0 {
		GemmPacked(pa, false, n, b, n, c, ldc, accumulate)
		return
	}
	if im.rowsKernel == nil {
		// Gather the rows into a contiguous block, one column block at a time.
		nb := min(n, blockN)
		buf := getBuf(k * nb)
		defer bufPool.Put(buf)
		for jc := 0; jc < n; jc += nb {
			nc := min(nb, n-jc)
			blk := (*buf)[:k*nc]
			for p, o := range offs[:k] {
				copy(blk[p*nc:(p+1)*nc], b[o+jc:o+jc+nc])
			}
			GemmPacked(pa, false, nc, blk, nc, c[jc:], ldc, accumulate)
		}
		return
	}
	mr, nr := im.MR, im.NR
	mp := roundUp(m, mr)
	tile := getBuf(mr * nr)
	defer bufPool.Put(tile)
	for pc := 0; pc < k; pc += blockK {
		kc := min(blockK, k-pc)
		acc := accumulate || pc > 0
		ablock := pa.data[mp*pc:]
		po := offs[pc : pc+kc]
		for ic := 0; ic < m; ic += blockM {
			mc := min(blockM, m-ic)
			for jr := 0; jr < n; jr += nr {
				nn := min(nr, n-jr)
				bp := b[jr:]
				for ir := ic; ir < ic+mc; ir += mr {
					mm := min(mr, m-ir)
					ap := ablock[ir*kc:]
					off := ir*ldc + jr
					if mm == mr {
						im.rowsKernel(kc, ap, bp, po, c[off:], ldc, nn, acc)
						continue
					}
					im.rowsKernel(kc, ap, bp, po, *tile, nr, nn, false)
					storeEdge(c[off:], ldc, *tile, nr, mm, nn, acc)
				}
			}
		}
	}
}

// GemmRowsA computes C = A·Btᵀ (or C += when accumulate) where A is m×k with
// row i at a[aoffs[i] : aoffs[i]+k] (rows at arbitrary offsets, such as the
// shifted views of an image) and Bt is n×k with row stride ldbt. It is the
// weight gradient of a convolution without unfolding the input.
func GemmRowsA(im Impl, m, n, k int, a []float32, aoffs []int, bt []float32, ldbt int, c []float32, ldc int, accumulate bool) {
	if m <= 0 || n <= 0 {
		return
	}
	if im.rowsAKernel == nil || k <= 0 {
		// Gather A into a contiguous block and multiply as usual.
		buf := getBuf(m * k)
		defer bufPool.Put(buf)
		blk := *buf
		for i, o := range aoffs[:m] {
			copy(blk[i*k:(i+1)*k], a[o:o+k])
		}
		SgemmWith(im, false, true, m, n, k, blk, k, bt, ldbt, c, ldc, accumulate)
		return
	}
	const mr = 8
	nr := im.NR
	tile := getBuf(mr * nr)
	defer bufPool.Put(tile)
	pb := getBuf(min(blockK, k) * roundUp(n, nr))
	defer bufPool.Put(pb)
	var offs [mr]int
	for pc := 0; pc < k; pc += blockK {
		kc := min(blockK, k-pc)
		acc := accumulate || pc > 0
		packB(*pb, bt, ldbt, true, pc, 0, kc, n, nr)
		for jr := 0; jr < n; jr += nr {
			nn := min(nr, n-jr)
			bp := (*pb)[jr*kc:]
			for ir := 0; ir < m; ir += mr {
				mm := min(mr, m-ir)
				for i := range offs {
					r := ir + min(i, mm-1) // rows past m repeat the last one
					offs[i] = aoffs[r] + pc
				}
				off := ir*ldc + jr
				if mm == mr {
					im.rowsAKernel(kc, a, offs[:], bp, c[off:], ldc, nn, acc)
					continue
				}
				im.rowsAKernel(kc, a, offs[:], bp, *tile, nr, nn, false)
				storeEdge(c[off:], ldc, *tile, nr, mm, nn, acc)
			}
		}
	}
}
