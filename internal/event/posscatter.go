package event

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
)

// PositionScatterer propagates the non-zero inputs of one frame of a k×k
// convolution at stride 1 position by position: the active channels of
// every input position are listed (kernels.CompressList), and each
// position sums, in registers, its channels' weight rows for every tap and
// adds each tap's sum to its output row once (kernels.ScatterPositions).
// A position near the border has a mask of the taps that land inside the
// output. The input frame holds positions of cs channels (channels-last),
// in rows w positions wide; channel c's weights for tap t = i·k+j are the
// n floats at (c·k·k + t)·n.
type PositionScatterer struct {
	cs, k, ow, n int
	outLen       int
	chOff        []int32
	bases        []int32 // per position: output offset of tap (0, 0) and the mask of its taps inside the output
	order        []int32 // the positions in k passes over the columns

	ents, start, list []int32
	dummy             []float32
}

// NewPositionScatterer checks a position scatter into output frames of
// outLen floats with weights of wLen floats, input rows w positions wide:
// bases[2p] is the output offset of position p's tap (0, 0), whose tap
// (i, j) is then the n values at bases[2p] - (i·ow+j)·n where bit i·k+j
// of bases[2p+1] is set.
func NewPositionScatterer(cs, k, w, ow, n, outLen, wLen int, bases []int32) (*PositionScatterer, error) {
	npos := len(bases) / 2
	if cs < 1 || w < 1 || n < 1 || len(bases)%2 != 0 || npos%w != 0 {
		return nil, fmt.Errorf("event: position scatter of %d positions of %d channels in rows of %d", npos, cs, w)
	}
	if k < 1 || k > 5 || ow < 1 || int64(cs)*int64(k*k*n) > int64(wLen) {
		return nil, fmt.Errorf("event: position scatter of a %d×%d kernel, outputs %d wide, %d channels: does not fit %d weights", k, k, ow, cs, wLen)
	}
	for p := 0; p < npos; p++ {
		b, mask := int(bases[2*p]), uint32(bases[2*p+1])
		if mask>>(k*k) != 0 {
			return nil, fmt.Errorf("event: position scatter mask %#x of position %d has more than %d taps", mask, p, k*k)
		}
		for t := 0; t < k*k; t++ {
			if o := b - (t/k*ow+t%k)*n; mask>>t&1 == 1 && (o < 0 || o+n > outLen) {
				return nil, fmt.Errorf("event: position scatter tap %d of position %d at %d, outside the output", t, p, o)
			}
		}
	}
	s := &PositionScatterer{cs: cs, k: k, ow: ow, n: n, outLen: outLen, bases: bases}
	s.chOff = make([]int32, (cs+15)/16*16)
	for c := 0; c < cs; c++ {
		s.chOff[c] = int32(c * k * k * n)
	}
	// Positions in k passes over the columns (x mod k), so that the windows
	// of positions that follow each other do not overlap: an output row
	// written for one is not read back at once for the next (a store the
	// load would have to wait for).
	for x0 := 0; x0 < k; x0++ {
		for row := 0; row < npos; row += w {
			for p := row + x0; p < row+w; p += k {
				s.order = append(s.order, int32(p))
			}
		}
	}
	return s, nil
}

// Apply adds the contribution of every non-zero element of x (one input
// frame) to out (one output frame). It is not safe for concurrent use;
// give each goroutine its own copy (Clone).
func (s *PositionScatterer) Apply(out, w, x []float32) error {
	npos := len(s.order)
	if len(x) != npos*s.cs || len(out) < s.outLen || len(w) < s.cs*s.k*s.k*s.n {
		return fmt.Errorf("event: position scatter of %d inputs into %d outputs with %d weights, made for %d, %d and %d", len(x), len(out), len(w), npos*s.cs, s.outLen, s.cs*s.k*s.k*s.n)
	}
	if s.start == nil {
		s.ents = make([]int32, 2*(len(x)+16))
		s.start = make([]int32, npos+1)
		s.list = make([]int32, npos)
		s.dummy = make([]float32, s.k*s.k*s.n)
	}
	m := kernels.CompressList(x, s.cs, s.chOff, s.order, s.ents, s.list, s.start)
	kernels.ScatterPositions(out, w, s.ents, s.start, s.list[:m], s.bases, s.dummy, s.k, s.ow, s.n)
	return nil
}

// Clone returns a PositionScatterer sharing the tables with its own work
// buffers.
func (s *PositionScatterer) Clone() *PositionScatterer {
	c := *s
	c.ents, c.start, c.list, c.dummy = nil, nil, nil, nil
	return &c
}

// HasPositionKernel reports whether the position scatter of a k×k kernel
// into rows of n floats has a SIMD kernel on this machine.
func HasPositionKernel(k, n int) bool { return kernels.HasPositionKernel(k, n) }
