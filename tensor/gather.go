package tensor

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
)

// Gatherer propagates the non-zero inputs of a frame output by output. The
// input frame holds npos positions of cs channels each (channels-last);
// first every position's active channels are listed once, then each output
// row sums, in registers, value times weight row over the lists of the
// input positions its taps reach, and is written once. Only active inputs
// cost work, as with a scatter, but no output is read and written per
// event and the work per output is one loop without data-dependent
// branches on short lists.
//
// Output o (the n floats at out[o*n:]) reads the taps (input position,
// weight offset) taps[2t], taps[2t+1] for t in [tapIdx[o], tapIdx[o+1]);
// channel c of a tap has the weights w[weight offset + c·n:][:n]. The n
// weights at w[zero:] must be zeros (the SIMD kernel pads its lists with
// them). The tables are checked once by NewGatherer.
type Gatherer struct {
	cs, npos, n, nout, outLen, wLen, zero int
	slot, most                            int
	gtaps, chOff                          []int32

	offs, cnt, lst []int32
	vals, lvals    []float32
}

// NewGatherer checks the tables against input frames of npos positions of
// cs channels, output frames of outLen values and weights of wLen values.
func NewGatherer(cs, npos int, taps, tapIdx []int32, n, outLen, wLen, zero int) (*Gatherer, error) {
	nout := len(tapIdx) - 1
	if cs <= 0 || npos <= 0 || n <= 0 || nout < 0 || len(taps)%2 != 0 || tapIdx[0] != 0 || int(tapIdx[nout])*2 != len(taps) {
		return nil, fmt.Errorf("tensor: inconsistent gather tables")
	}
	if nout*n > outLen {
		return nil, fmt.Errorf("tensor: gather of %d outputs of %d values into frames of %d", nout, n, outLen)
	}
	if zero < 0 || zero+n > wLen {
		return nil, fmt.Errorf("tensor: gather zero row at %d outside %d weights", zero, wLen)
	}
	g := &Gatherer{cs: cs, npos: npos, n: n, nout: nout, outLen: outLen, wLen: wLen, zero: zero, slot: (cs + 15) / 16 * 16}
	for o := 0; o < nout; o++ {
		if tapIdx[o+1] < tapIdx[o] {
			return nil, fmt.Errorf("tensor: gather tap index decreases at output %d", o)
		}
		g.gtaps = append(g.gtaps, tapIdx[o+1]-tapIdx[o])
		for t := 2 * tapIdx[o]; t < 2*tapIdx[o+1]; t += 2 {
			p, wo := taps[t], taps[t+1]
			if p < 0 || int(p) >= npos || wo < 0 || int(wo)+cs*n > wLen {
				return nil, fmt.Errorf("tensor: gather tap %d of output %d outside the input or weights", (t-2*tapIdx[o])/2, o)
			}
			g.gtaps = append(g.gtaps, p, p*int32(g.slot), wo)
		}
		g.most = max(g.most, int(tapIdx[o+1]-tapIdx[o])*cs)
	}
	g.chOff = make([]int32, g.slot)
	for c := range g.chOff {
		if c < cs {
			g.chOff[c] = int32(c * n)
		}
	}
	return g, nil
}

// Inputs returns the number of input elements of one frame.
func (g *Gatherer) Inputs() int { return g.npos * g.cs }

// Apply adds the contribution of every non-zero element of x (one input
// frame) to out (one output frame). It is not safe for concurrent use;
// give each goroutine its own copy (Clone).
func (g *Gatherer) Apply(out, w, x []float32) error {
	if len(x) != g.Inputs() || len(out) < g.outLen || len(w) < g.wLen {
		return fmt.Errorf("tensor: gather of %d inputs into %d outputs with %d weights, tables for %d, %d, %d", len(x), len(out), len(w), g.Inputs(), g.outLen, g.wLen)
	}
	for _, v := range w[g.zero : g.zero+g.n] {
		if v != 0 {
			return fmt.Errorf("tensor: gather weights: the zero row at %d holds %v", g.zero, v)
		}
	}
	if g.cnt == nil {
		g.offs, g.vals = make([]int32, g.npos*g.slot+16), make([]float32, g.npos*g.slot+16)
		g.cnt = make([]int32, g.npos)
		g.lst, g.lvals = make([]int32, g.most+16), make([]float32, g.most+16)
	}
	kernels.CompressPositions(x, g.cs, g.chOff, g.offs, g.vals, g.cnt, g.slot)
	kernels.GatherPositions(out, w, g.gtaps, g.offs, g.vals, g.cnt, g.n, g.nout, g.zero, g.lst, g.lvals)
	return nil
}

// Clone returns a Gatherer sharing the tables with its own work buffers.
func (g *Gatherer) Clone() *Gatherer {
	c := *g
	c.offs, c.vals, c.cnt, c.lst, c.lvals = nil, nil, nil, nil, nil
	return &c
}
