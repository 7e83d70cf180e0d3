package event

import (
	"fmt"
	"math"

	"github.com/snnkit/snnkit/internal/kernels"
)

// PositionScatterer propagates the non-zero inputs of one frame of a k×k
// convolution at stride 1 position by position: the active channels of
// every input position are listed (kernels.CompressPositions), and each
// position whose taps all land inside the output sums, in registers, its
// channels' weight rows for every tap and adds each tap's sum to its
// output row once (kernels.ScatterPositions). Positions near the border
// go event by event through the tables of a Scatterer. The input frame
// holds npos positions of cs channels (channels-last); channel c's weights
// for tap t = i·k+j are the n floats at (c·k·k + t)·n, the layout of the
// Scatterer's rows.
type PositionScatterer struct {
	cs, k, w, ow, n int
	chOff           []int32
	bases           []int32 // per position: output offset of tap (0, 0), or -1 near the border
	border          []int32 // the positions with bases -1
	sc              *Scatterer

	ents, start, list, bidx []int32
	bvals                   []float32
}

// NewPositionScatterer checks a position scatter over the inputs of sc
// (which must describe the same convolution for every input; the engine
// tests check that), input rows w positions wide: bases[p] is the output
// offset of position p's tap (0, 0), whose tap (i, j) is then the n values
// at bases[p] - (i·ow+j)·n, or -1 for positions that keep the tables.
func NewPositionScatterer(cs, k, w, ow int, bases []int32, sc *Scatterer) (*PositionScatterer, error) {
	n := sc.n
	if cs < 1 || w < 1 || len(bases)%w != 0 || len(bases)*cs != sc.Inputs() {
		return nil, fmt.Errorf("tensor: position scatter of %d positions of %d channels over %d inputs", len(bases), cs, sc.Inputs())
	}
	if k < 1 || ow < k || int64(cs)*int64(k*k*n) > int64(sc.wLen) || int64(cs)*int64(k*k*n) > math.MaxInt32 {
		return nil, fmt.Errorf("tensor: position scatter of a %d×%d kernel, outputs %d wide, %d channels: does not fit the tables", k, k, ow, cs)
	}
	s := &PositionScatterer{cs: cs, k: k, w: w, ow: ow, n: n, bases: bases, sc: sc}
	for p, b := range bases {
		switch {
		case b == -1:
			s.border = append(s.border, int32(p))
		case int(b)-((k-1)*ow+k-1)*n < 0 || int(b)+n > sc.outLen:
			return nil, fmt.Errorf("tensor: position scatter base %d of position %d outside the output", b, p)
		}
	}
	s.chOff = make([]int32, (cs+15)/16*16)
	for c := 0; c < cs; c++ {
		s.chOff[c] = int32(c * k * k * n)
	}
	return s, nil
}

// Apply adds the contribution of every non-zero element of x (one input
// frame) to out (one output frame). It is not safe for concurrent use;
// give each goroutine its own copy (Clone).
func (s *PositionScatterer) Apply(out, w, x []float32) error {
	npos := len(s.bases)
	if len(x) != npos*s.cs || len(out) < s.sc.outLen || len(w) < s.sc.wLen {
		return fmt.Errorf("tensor: position scatter of %d inputs into %d outputs with %d weights, tables for %d, %d, %d", len(x), len(out), len(w), npos*s.cs, s.sc.outLen, s.sc.wLen)
	}
	if s.start == nil {
		s.ents = make([]int32, 2*(len(x)+16))
		s.start = make([]int32, npos+1)
		s.list = make([]int32, npos)
	}
	kernels.CompressPositions(x, s.cs, s.chOff, 0, s.ents, s.start)
	// Positions in k passes over the columns (x mod k), so that the windows
	// of positions that follow each other do not overlap: an output row
	// written for one is not read back at once for the next (a store the
	// load would have to wait for).
	m := 0
	for x0 := 0; x0 < s.k; x0++ {
		for row := 0; row < npos; row += s.w {
			for p := row + x0; p < row+s.w; p += s.k {
				s.list[m] = int32(p)
				if s.bases[p] >= 0 && s.start[p+1] > s.start[p] {
					m++
				}
			}
		}
	}
	kernels.ScatterPositions(out, w, s.ents, s.start, s.list[:m], s.bases, s.k, s.ow, s.n)
	if len(s.border) == 0 {
		return nil
	}
	kkn := int32(s.k * s.k * s.n)
	s.bidx, s.bvals = s.bidx[:0], s.bvals[:0]
	for _, p := range s.border {
		for e := s.start[p]; e < s.start[p+1]; e++ {
			s.bidx = append(s.bidx, p*int32(s.cs)+s.ents[2*e]/kkn)
			s.bvals = append(s.bvals, math.Float32frombits(uint32(s.ents[2*e+1])))
		}
	}
	kernels.ScatterEvents(out, w, s.bvals, s.bidx, s.sc.tapIdx, s.sc.taps, s.n)
	return nil
}

// Clone returns a PositionScatterer sharing the tables with its own work
// buffers.
func (s *PositionScatterer) Clone() *PositionScatterer {
	c := *s
	c.ents, c.start, c.list, c.bidx, c.bvals = nil, nil, nil, nil, nil
	return &c
}

// HasPositionKernel reports whether the position scatter of a k×k kernel
// into rows of n floats has a SIMD kernel on this machine.
func HasPositionKernel(k, n int) bool { return kernels.HasPositionKernel(k, n) }
