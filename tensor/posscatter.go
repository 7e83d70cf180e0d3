package tensor

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
)

// PosScatterer propagates events position by position: the input frame
// holds positions of cs channels each (channels-last), and every tap of an
// input position sees the same list of active channels. For each tap the
// list's weight rows are summed in registers and added to the tap's output
// once, so a synaptic addition costs one fused multiply-add from a weight
// row and the output is read and written once per tap, not per event.
//
// Input position p reaches the taps taps[2t], taps[2t+1] (output offset,
// weight offset) for t in [tapIdx[p], tapIdx[p+1]); the weights of channel
// c of a tap are the n values at w[weight offset + c·n:]. The tables are
// checked once by NewPosScatterer.
type PosScatterer struct {
	cs, n, outLen, wLen int
	taps, tapIdx        []int32

	idx, woffs []int32
	vals       []float32
}

// NewPosScatterer checks the tables against output frames of outLen values
// and weights of wLen values.
func NewPosScatterer(cs int, taps, tapIdx []int32, n, outLen, wLen int) (*PosScatterer, error) {
	if cs <= 0 || n <= 0 || len(taps)%2 != 0 || len(tapIdx) < 1 || tapIdx[0] != 0 || int(tapIdx[len(tapIdx)-1])*2 != len(taps) {
		return nil, fmt.Errorf("tensor: inconsistent position scatter tables")
	}
	if kernels.HasPosScatterKernel() && n%16 != 0 {
		return nil, fmt.Errorf("tensor: position scatter of %d channels, not whole 16-float vectors", n)
	}
	for p := 1; p < len(tapIdx); p++ {
		if tapIdx[p] < tapIdx[p-1] {
			return nil, fmt.Errorf("tensor: position scatter tap index decreases at position %d", p)
		}
	}
	for t := 0; t < len(taps); t += 2 {
		if taps[t] < 0 || int(taps[t])+n > outLen || taps[t+1] < 0 || int(taps[t+1])+cs*n > wLen {
			return nil, fmt.Errorf("tensor: position scatter tap %d outside the output or weights", t/2)
		}
	}
	return &PosScatterer{cs: cs, n: n, outLen: outLen, wLen: wLen, taps: taps, tapIdx: tapIdx}, nil
}

// Inputs returns the number of input elements of one frame.
func (s *PosScatterer) Inputs() int { return (len(s.tapIdx) - 1) * s.cs }

// Apply adds the contribution of every non-zero element of x (one input
// frame) to out (one output frame). It is not safe for concurrent use;
// give each goroutine its own copy (Clone).
func (s *PosScatterer) Apply(out, w, x []float32) error {
	if len(x) != s.Inputs() || len(out) < s.outLen || len(w) < s.wLen {
		return fmt.Errorf("tensor: position scatter of %d inputs into %d outputs with %d weights, tables for %d, %d, %d", len(x), len(out), len(w), s.Inputs(), s.outLen, s.wLen)
	}
	if cap(s.idx) < len(x)+16 {
		s.idx, s.vals, s.woffs = make([]int32, len(x)+16), make([]float32, len(x)+16), make([]int32, len(x)+16)
	}
	idx, vals, woffs := s.idx[:len(x)+16], s.vals[:len(x)+16], s.woffs[:len(x)+16]
	nz := int32(kernels.CompressNonzero(x, idx, vals))
	j, cs, n := int32(0), int32(s.cs), int32(s.n)
	for p := 0; j < nz; p++ {
		base := int32(p) * cs
		if idx[j] >= base+cs {
			p = int(idx[j]/cs) - 1 // skip silent positions
			continue
		}
		first := j
		for j < nz && idx[j] < base+cs {
			woffs[j] = (idx[j] - base) * n
			j++
		}
		kernels.ScatterPos(out, w, vals[first:j], woffs[first:j], s.taps[2*s.tapIdx[p]:2*s.tapIdx[p+1]], s.n)
	}
	return nil
}

// Clone returns a PosScatterer sharing the tables with its own work buffers.
func (s *PosScatterer) Clone() *PosScatterer {
	c := *s
	c.idx, c.vals, c.woffs = nil, nil, nil
	return &c
}
