package event

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
)

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

// HasScatterKernel reports whether Scatterer runs with SIMD for rows of n
// channels.
func HasScatterKernel(n int) bool { return kernels.HasScatterKernel(n) }

// HasGatherKernel reports whether a Gatherer runs with SIMD on this machine
// for output rows of n floats (AVX-512, n a multiple of 16 up to 128).
func HasGatherKernel(n int) bool { return kernels.HasGatherKernel(n) }

// HasWindowKernel reports whether Scatterer's window path (SetWindow) runs
// with SIMD for a k×k kernel and n output channels.
func HasWindowKernel(k, n int) bool { return kernels.HasWindowKernel(k, n) }
