package tensor

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
)

// Add sets dst[i] += src[i] (SIMD where available).
func Add(dst, src []float32) error {
	if len(src) != len(dst) {
		return fmt.Errorf("tensor: add of %d values into %d", len(src), len(dst))
	}
	kernels.Add(dst, src)
	return nil
}

// Relu sets dst[i] = src[i], or 0 where src[i] < 0 (NaN passes through).
func Relu(dst, src []float32) error {
	if len(src) != len(dst) {
		return fmt.Errorf("tensor: relu of %d values into %d", len(src), len(dst))
	}
	kernels.Relu(dst, src)
	return nil
}

// ReluGrad sets dst[i] = dy[i] where out[i] > 0, else 0.
func ReluGrad(dst, dy, out []float32) error {
	if len(dy) != len(dst) || len(out) != len(dst) {
		return fmt.Errorf("tensor: relu gradient of %d and %d values into %d", len(dy), len(out), len(dst))
	}
	kernels.ReluGrad(dst, dy, out)
	return nil
}

// IAF advances integrate-and-fire neurons with MultiSpike and subtract reset
// by one step (SIMD where available): v += x; s = trunc(v/theta) where
// v > 0, else 0; v -= s·theta; v = max(v, minV) (pass -Inf for no floor);
// out = s.
func IAF(v, x, out []float32, theta, minV float32) error {
	if len(x) != len(v) || len(out) != len(v) {
		return fmt.Errorf("tensor: IAF step of %d neurons with %d inputs and %d outputs", len(v), len(x), len(out))
	}
	kernels.IAF(v, x, out, theta, minV)
	return nil
}

// Sum returns the sum of x (SIMD float32 blocks added in float64).
func Sum(x []float32) float64 { return kernels.Sum(x) }

// ConvRowsSerial computes C = A·W on the calling goroutine for m rows and n
// output channels, where A[r][p] = a[rowoffs[r]+koffs[p]] and packed holds
// PackConvWeights of the k×n weights (k = len(koffs)); C has row stride
// ldc. It checks every offset against a.
func ConvRowsSerial(m, n int, a []float32, rowoffs, koffs []int, packed []float32, c []float32, ldc int, accumulate bool) error {
	if len(rowoffs) < m {
		return fmt.Errorf("tensor: %d row offsets for %d rows", len(rowoffs), m)
	}
	maxR, maxK := -1, -1
	for _, o := range rowoffs[:m] {
		if o < 0 {
			return fmt.Errorf("tensor: negative row offset %d", o)
		}
		maxR = max(maxR, o)
	}
	for _, o := range koffs {
		if o < 0 {
			return fmt.Errorf("tensor: negative depth offset %d", o)
		}
		maxK = max(maxK, o)
	}
	if m > 0 && len(koffs) > 0 && maxR+maxK >= len(a) {
		return fmt.Errorf("tensor: offset %d+%d outside %d values", maxR, maxK, len(a))
	}
	nr := kernels.ConvPanel()
	panels := (n + nr - 1) / nr
	if len(packed) < panels*len(koffs)*nr {
		return fmt.Errorf("tensor: packed weights hold %d values, need %d", len(packed), panels*len(koffs)*nr)
	}
	if err := checkMat("C", c, m, n, ldc); err != nil {
		return err
	}
	kernels.ConvRows(m, n, a, rowoffs, koffs, packed, c, ldc, accumulate)
	return nil
}

// PackConvWeights packs k×n weights (w[p*n+j]) for ConvRowsSerial.
func PackConvWeights(w []float32, k, n int) []float32 { return kernels.PackConvWeights(w, k, n) }

// Scatterer propagates events through a fixed connectivity: input element
// e reaches the taps taps[2t], taps[2t+1] (output offset, weight offset) for
// t in [tapIdx[e], tapIdx[e+1]), each adding n channels. The tables are
// checked once by NewScatterer.
type Scatterer struct {
	taps, tapIdx    []int32
	n, outLen, wLen int
	idx             []int32
	vals            []float32

	// window path (SetWindow): inputs whose k×k taps all land in the output
	winK, winOW int
	winBase     []int32 // per input: output offset of tap (0, 0), or -1
	wbases      []int32
	wvals       []float32
}

// SetWindow lets inputs of a one-channel k×k convolution (stride 1) whose
// taps all land inside the output skip the tables: bases[e] is the output
// offset of input e's tap (0, 0), whose tap (i, j) is then the n values at
// bases[e] - (i·ow+j)·n with the weights at (i·k+j)·n; -1 marks inputs near
// the border, which keep their tables. The window kernel holds the weights
// in registers (kernels.ScatterWindow); the tables must describe the same
// convolution, which the engine tests check.
func (s *Scatterer) SetWindow(k, ow int, bases []int32) error {
	if k < 1 || ow < k || len(bases) != s.Inputs() || k*k*s.n > s.wLen {
		return fmt.Errorf("tensor: window of %d×%d taps over %d inputs, outputs %d wide: does not fit the tables", k, k, len(bases), ow)
	}
	for e, b := range bases {
		if b == -1 {
			continue
		}
		if int(b)-((k-1)*ow+k-1)*s.n < 0 || int(b)+s.n > s.outLen {
			return fmt.Errorf("tensor: window base %d of input %d outside the output", b, e)
		}
	}
	s.winK, s.winOW, s.winBase = k, ow, bases
	return nil
}

// NewScatterer checks the tables against output frames of outLen values and
// weights of wLen values.
func NewScatterer(taps, tapIdx []int32, n, outLen, wLen int) (*Scatterer, error) {
	if len(taps)%2 != 0 || len(tapIdx) < 1 || tapIdx[0] != 0 || int(tapIdx[len(tapIdx)-1])*2 != len(taps) {
		return nil, fmt.Errorf("tensor: inconsistent scatter tables")
	}
	for e := 1; e < len(tapIdx); e++ {
		if tapIdx[e] < tapIdx[e-1] {
			return nil, fmt.Errorf("tensor: scatter tap index decreases at input %d", e)
		}
	}
	for t := 0; t < len(taps); t += 2 {
		if taps[t] < 0 || int(taps[t])+n > outLen || taps[t+1] < 0 || int(taps[t+1])+n > wLen {
			return nil, fmt.Errorf("tensor: scatter tap %d outside the output or weights", t/2)
		}
	}
	return &Scatterer{taps: taps, tapIdx: tapIdx, n: n, outLen: outLen, wLen: wLen}, nil
}

// Inputs returns the number of input elements the tables cover.
func (s *Scatterer) Inputs() int { return len(s.tapIdx) - 1 }

// Apply adds the contribution of every non-zero element of x (one input
// frame) to out (one output frame): out[taps...] += x[e]·wt[...]. It is not
// safe for concurrent use; give each goroutine its own copy (Clone).
func (s *Scatterer) Apply(out, wt, x []float32) error {
	if len(x) != s.Inputs() || len(out) < s.outLen || len(wt) < s.wLen {
		return fmt.Errorf("tensor: scatter of %d inputs into %d outputs with %d weights, tables for %d, %d, %d", len(x), len(out), len(wt), s.Inputs(), s.outLen, s.wLen)
	}
	if cap(s.idx) < len(x)+16 {
		s.idx, s.vals = make([]int32, len(x)+16), make([]float32, len(x)+16)
	}
	s.idx, s.vals = s.idx[:len(x)+16], s.vals[:len(x)+16]
	nz := kernels.CompressNonzero(x, s.idx, s.vals)
	idx, vals := s.idx[:nz], s.vals[:nz]
	if s.winBase != nil {
		// Interior events go through the window kernel, the rest keep
		// their tables (compacted in place).
		s.wbases, s.wvals = s.wbases[:0], s.wvals[:0]
		m := 0
		for j, e := range idx {
			if b := s.winBase[e]; b >= 0 {
				s.wbases = append(s.wbases, b)
				s.wvals = append(s.wvals, vals[j])
			} else {
				idx[m], vals[m] = e, vals[j]
				m++
			}
		}
		idx, vals = idx[:m], vals[:m]
		kernels.ScatterWindow(out, wt, s.wvals, s.wbases, s.winK, s.winOW, s.n)
	}
	kernels.ScatterEvents(out, wt, vals, idx, s.tapIdx, s.taps, s.n)
	return nil
}

// Clone returns a Scatterer sharing the tables with its own work buffers.
func (s *Scatterer) Clone() *Scatterer {
	c := *s
	c.idx, c.vals, c.wbases, c.wvals = nil, nil, nil, nil
	return &c
}

// Pool2x2 pools one output row of a 2×2, stride-2 window over two
// channels-last input rows (c channels, 2·ow positions each):
// out[x*c+j] = (((r0[2x,j] + r0[2x+1,j]) + r1[2x,j]) + r1[2x+1,j]) * scale.
func Pool2x2(out, r0, r1 []float32, ow, c int, scale float32) error {
	if len(out) < ow*c || len(r0) < 2*ow*c || len(r1) < 2*ow*c {
		return fmt.Errorf("tensor: 2×2 pooling of %d positions × %d channels: buffers too short", ow, c)
	}
	kernels.Pool2x2(out, r0, r1, ow, c, scale)
	return nil
}

// CountNonzero counts the non-zero elements of x, stopping early once the
// count exceeds limit (the result is then some value > limit).
func CountNonzero(x []float32, limit int) int { return kernels.CountNonzero(x, limit) }

// HasScatterKernel reports whether Scatterer runs with SIMD for rows of n
// channels.
func HasScatterKernel(n int) bool { return kernels.HasScatterKernel(n) }

// HasGatherKernel reports whether Gatherer runs with SIMD on this machine
// for output rows of n floats (AVX-512, n a multiple of 16 up to 128).
func HasGatherKernel(n int) bool { return kernels.HasGatherKernel(n) }

// HasWindowKernel reports whether Scatterer's window path (SetWindow) runs
// with SIMD for a k×k kernel and n output channels.
func HasWindowKernel(k, n int) bool { return kernels.HasWindowKernel(k, n) }

// VectorWidth returns the floats per vector of this machine's kernels: 16
// (AVX-512), 8 (AVX2) or 1 (pure Go).
func VectorWidth() int { return kernels.VectorWidth() }
