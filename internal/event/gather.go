package event

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
)

// Gatherer propagates the non-zero inputs of a frame output by output. The
// input frame holds npos positions of cs channels each (channels-last).
// First the active channels of every position are listed once, in
// position order, each entry naming its weight row; then each item sums,
// in registers, value times weight row over runs of that list and adds the
// sum to its output row once. A run covers consecutive input positions,
// such as the positions one kernel row of a convolution reaches from one
// output, so no list is copied per tap: only active inputs cost work, as
// with a scatter, but no output is read and written per event.
//
// The item stream segs holds, for each of nitems items: its run count, the
// offset of its output row (n floats) in the output frame, and per run a
// triple (first position p0, end position p1, base). Entry (p, c) of the
// list stands for weight row p·cs·n + c·n; a run adds, for the active
// channels c of positions p0 ≤ p < p1, x[p·cs+c] times the n weights at
// w[base + p·cs·n + c·n:]. Items may share an output row (a convolution's
// kernel rows split into groups whose weights stay in the L1 cache) and
// come in any order. The stream is checked once by NewGatherer.
type Gatherer struct {
	cs, npos, n, items, outLen, wLen int
	segs, chOff                      []int32

	ents, start []int32
}

// NewGatherer checks the item stream against input frames of npos
// positions of cs channels, output frames of outLen values and weights of
// wLen values.
func NewGatherer(cs, npos, n int, segs []int32, items, outLen, wLen int) (*Gatherer, error) {
	if cs <= 0 || npos <= 0 || n <= 0 || items < 0 {
		return nil, fmt.Errorf("tensor: gather of %d positions of %d channels into rows of %d", npos, cs, n)
	}
	if int64(npos)*int64(cs)*int64(n) > 1<<31-1 {
		return nil, fmt.Errorf("tensor: gather weight offsets of %d×%d×%d overflow int32", npos, cs, n)
	}
	s := 0
	for it := 0; it < items; it++ {
		if s+2 > len(segs) {
			return nil, fmt.Errorf("tensor: gather stream ends in item %d", it)
		}
		nseg, row := int(segs[s]), int(segs[s+1])
		s += 2
		if nseg < 0 || s+3*nseg > len(segs) {
			return nil, fmt.Errorf("tensor: gather item %d: %d runs beyond the stream", it, nseg)
		}
		if row < 0 || row+n > outLen {
			return nil, fmt.Errorf("tensor: gather item %d: output row at %d outside frames of %d", it, row, outLen)
		}
		for k := 0; k < nseg; k++ {
			p0, p1, base := int(segs[s]), int(segs[s+1]), int(segs[s+2])
			s += 3
			if p0 < 0 || p1 < p0 || p1 > npos {
				return nil, fmt.Errorf("tensor: gather item %d run %d: positions %d to %d outside 0 to %d", it, k, p0, p1, npos)
			}
			if p1 > p0 && (base+p0*cs*n < 0 || base+p1*cs*n > wLen) {
				return nil, fmt.Errorf("tensor: gather item %d run %d: weights outside the %d given", it, k, wLen)
			}
		}
	}
	if s != len(segs) {
		return nil, fmt.Errorf("tensor: gather stream has %d values after its %d items", len(segs)-s, items)
	}
	g := &Gatherer{cs: cs, npos: npos, n: n, items: items, outLen: outLen, wLen: wLen, segs: segs}
	g.chOff = make([]int32, (cs+15)/16*16)
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
	if g.start == nil {
		g.ents = make([]int32, 2*(g.npos*g.cs+16))
		g.start = make([]int32, g.npos+1)
	}
	kernels.CompressPositions(x, g.cs, g.chOff, g.cs*g.n, g.ents, g.start)
	kernels.GatherSegments(out, w, g.segs, g.ents, g.start, g.n, g.items)
	return nil
}

// Clone returns a Gatherer sharing the tables with its own work buffers.
func (g *Gatherer) Clone() *Gatherer {
	c := *g
	c.ents, c.start = nil, nil
	return &c
}
