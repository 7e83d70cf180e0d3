package event

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
)

// PositionScatterer propagates the non-zero inputs of one frame of a k×k
// convolution (stride s, no dilation, one group) position by position,
// in one of three ways. A 3×3 convolution with one position of padding at
// stride 1 or 2 sweeps rows (kernels.ScatterRows, SweepsRows); a 1×1
// convolution without padding sets each output from its input position
// (kernels.Pointwise); both find a position's non-zero channels
// themselves. Otherwise the active channels of every input position are
// listed (kernels.CompressList), and each position sums, in registers, its
// channels' weight rows for every tap it reaches and adds each tap's sum
// to its output row once (kernels.ScatterPositions). At stride s the
// positions fall into s² classes (kernels.PosClass) that reach the output
// through the same taps; each class goes through its own kernel. A
// position near the border has a mask of the taps that land inside the
// output. The input frame holds positions of cs channels (channels-last);
// channel c's weights for tap t = i·k+j are the n floats at (c·k·k + t)·n.
type PositionScatterer struct {
	g            PosGeometry
	cs, cin, n   int
	outLen, wLen int
	chOff        []int32   // position classes: channel c's weight offset
	bases        []int32   // per position: output offset of its (⌊Y/s⌋, ⌊X/s⌋) and the mask of its taps inside the output
	orders       [][]int32 // per class: its positions that reach an output, in passes over the output columns
	maxTaps      int
	rows         bool // a 3×3 convolution with one position of padding swept row by row (kernels.ScatterRows)
	pointwise    bool // a 1×1 convolution without padding, output by output (kernels.Pointwise)
	slots        int  // the row sweep's or pointwise kernel's channels per position without a branch (SetDensity)

	ents, start, list []int32
	dummy, zero, prev []float32
}

// PosGeometry is a position scatter's convolution: an H×W input, an OH×OW
// output, a K×K kernel at stride S, PH rows and PW columns of zero padding
// at the top and left.
type PosGeometry struct{ H, W, OH, OW, K, S, PH, PW int }

// NewPositionScatterer prepares a position scatter over inputs of cs
// channels per position, the first cin of them real (the others zero
// padding), into output frames of outLen floats, rows of n, with weights
// of wLen floats: those of WeightChannels(g, cin, n) channels, the ones
// from cin on zero.
func NewPositionScatterer(g PosGeometry, cs, cin, n, outLen, wLen int) (*PositionScatterer, error) {
	switch {
	case cs < 1 || cin < 1 || cin > cs || n < 1 || g.H < 1 || g.W < 1 || g.OH < 1 || g.OW < 1 || g.K < 1 || g.K > 5 || g.S < 1 || g.PH < 0 || g.PW < 0:
		return nil, fmt.Errorf("event: position scatter of %+v, %d channels, rows of %d", g, cs, n)
	case int64(WeightChannels(g, cin, n))*int64(g.K*g.K*n) > int64(wLen) || int64(g.OH*g.OW)*int64(n) > int64(outLen) || int64(g.H*g.W)*int64(cs) > 1<<30:
		return nil, fmt.Errorf("event: position scatter of %+v, %d channels: does not fit %d weights and %d outputs", g, cs, wLen, outLen)
	}
	s := &PositionScatterer{g: g, cs: cs, cin: cin, n: n, outLen: outLen, wLen: wLen, slots: kernels.SweepSlots(-1, cin, 0, false)}
	// The most common convolutions of all, 3×3 with one position of
	// padding at stride 1 or 2, sweep rows with each output column written
	// once per input row: resnet_fmnist's 16-channel layers took 35 % less
	// time than by positions and masks, and a quarter less again once the
	// sweep found a position's channels itself instead of reading a list
	// (9.0 → 6.9 µs a frame, BenchmarkPositionScatterer).
	if SweepsRows(g, cin, n) {
		s.rows, s.maxTaps = true, 3
		return s, nil
	}
	// 1×1 convolutions (resnet_fmnist's shortcuts at stride 2) set each
	// output once from its one input position: 16→32 channels at 28×28
	// took 2.2 µs a frame by position classes and a list, 0.67 µs so
	// (BenchmarkPositionScatterer).
	if Pointwise(g, cin, n) {
		s.pointwise = true
		return s, nil
	}
	// Position classes list every position's channels (CompressList), by
	// these weight offsets.
	s.chOff = make([]int32, (cs+15)/16*16) // padding channels, always zero, never listed
	for c := 0; c < cin; c++ {
		s.chOff[c] = int32(c * g.K * g.K * n)
	}
	s.bases = make([]int32, 2*g.H*g.W)
	s.orders = make([][]int32, g.S*g.S)
	for class := range s.orders {
		pc := s.class(class)
		taps := pc.Taps()
		s.maxTaps = max(s.maxTaps, len(taps))
		// Passes over the output columns (⌊X/s⌋ mod the class's window
		// width), so that the windows of positions that follow each other
		// do not overlap: an output row written for one is not read back
		// at once for the next (a store the load would have to wait for).
		width := 1
		for _, t := range taps {
			width = max(width, t[1]/g.S+1)
		}
		for pass := 0; pass < width; pass++ {
			for y := 0; y < g.H; y++ {
				for x := 0; x < g.W; x++ {
					Y, X := y+g.PH, x+g.PW
					if Y%g.S != pc.RY || X%g.S != pc.RX || X/g.S%width != pass {
						continue
					}
					p := y*g.W + x
					base, mask := (Y/g.S*g.OW+X/g.S)*n, int32(0)
					for q, t := range taps {
						oy, ox := Y/g.S-t[0]/g.S, X/g.S-t[1]/g.S
						if oy >= 0 && oy < g.OH && ox >= 0 && ox < g.OW {
							mask |= 1 << q
						}
					}
					if mask == 0 {
						continue // reaches no output
					}
					s.bases[2*p], s.bases[2*p+1] = int32(base), mask
					s.orders[class] = append(s.orders[class], int32(p))
				}
			}
		}
	}
	return s, nil
}

// class returns class c (RY·S+RX) of the convolution.
func (s *PositionScatterer) class(c int) kernels.PosClass {
	return kernels.PosClass{K: s.g.K, S: s.g.S, RY: c / s.g.S, RX: c % s.g.S, OW: s.g.OW, N: s.n}
}

// Apply adds the contribution of every non-zero element of x (one input
// frame) to out (one output frame). It is not safe for concurrent use;
// give each goroutine its own copy (Clone).
func (s *PositionScatterer) Apply(out, w, x []float32) error {
	if err := s.check(out, w, nil, x); err != nil {
		return err
	}
	if !s.rows && !s.pointwise {
		s.scatter(out, w, x)
		return nil
	}
	// A row sweep and a pointwise convolution store their outputs: add
	// what out held back afterwards. (The engine calls SetBias, with
	// nothing to keep.)
	s.prev = grow(s.prev, s.outLen)
	copy(s.prev, out[:s.outLen])
	s.sweep(out, w, nil, x)
	kernels.Add(out[:s.outLen], s.prev)
	return nil
}

// SetBias sets out (one output frame) to bias, a row of n floats or nil
// for zeros, in every output position plus the contribution of x: what
// filling out with the bias and then Apply give, but a convolution that
// sweeps rows stores each output the first time it reaches it instead of
// adding to it (no fill, and a third fewer reads).
func (s *PositionScatterer) SetBias(out, w, bias, x []float32) error {
	if err := s.check(out, w, bias, x); err != nil {
		return err
	}
	if !s.rows && !s.pointwise {
		kernels.FillRows(out[:s.outLen], bias[:min(len(bias), s.n)])
		s.scatter(out, w, x)
		return nil
	}
	s.sweep(out, w, bias, x)
	return nil
}

// check checks a frame's sizes and makes the work buffers on first use.
func (s *PositionScatterer) check(out, w, bias, x []float32) error {
	npos := s.g.H * s.g.W
	if len(x) != npos*s.cs || len(out) < s.outLen || len(w) < s.wLen || bias != nil && len(bias) < s.n {
		return fmt.Errorf("event: position scatter of %d inputs into %d outputs with %d weights and %d biases, made for %d, %d, %d and %d", len(x), len(out), len(w), len(bias), npos*s.cs, s.outLen, s.wLen, s.n)
	}
	if s.dummy == nil {
		s.dummy = make([]float32, max(1, s.maxTaps)*s.n)
		s.zero = make([]float32, s.n)
	}
	if s.start == nil && !s.rows && !s.pointwise {
		s.ents = make([]int32, 2*(len(x)+16))
		s.start = make([]int32, npos+1)
		s.list = make([]int32, npos)
	}
	return nil
}

// scatter adds x's contribution to out class by class (sizes checked).
func (s *PositionScatterer) scatter(out, w, x []float32) {
	for c, order := range s.orders {
		if len(order) == 0 {
			continue
		}
		m := kernels.CompressList(x, s.cs, s.chOff, order, s.ents, s.list, s.start)
		kernels.ScatterPositions(out, w, s.ents, s.start, s.list[:m], s.bases, s.dummy, s.class(c))
	}
}

// sweep sets out to bias (nil: zeros) plus x's contribution, row by row or
// output by output (sizes checked).
func (s *PositionScatterer) sweep(out, w, bias, x []float32) {
	if bias == nil {
		bias = s.zero
	}
	if s.pointwise {
		kernels.Pointwise(out, w, x, s.cs, s.cin, bias, s.g.H, s.g.W, s.g.S, s.n, s.slots)
		return
	}
	kernels.ScatterRows(out, w, x, s.cs, s.cin, s.dummy, bias, s.g.H, s.g.W, s.g.S, s.n, s.slots)
}

// SetDensity tells the scatter the mean number of non-zero channels per
// input position of the frames to come (negative: not known), from which
// a row sweep or pointwise kernel chooses how many of a position's
// channels to take without a branch (kernels.SweepSlots): one for sparse
// inputs, more for dense ones.
func (s *PositionScatterer) SetDensity(mean float64) {
	vecs := float64(s.n) / 16
	switch {
	case s.pointwise:
		s.slots = kernels.SweepSlots(mean, s.cin, vecs, true)
	case s.rows && s.g.S == 1:
		s.slots = kernels.SweepSlots(mean, s.cin, 9*vecs, false)
	case s.rows: // at stride 2 a position reaches 1, 2 or 4 outputs, 2.25 on average
		s.slots = kernels.SweepSlots(mean, s.cin, 2.25*vecs, false)
	}
}

// grow returns b with room for n floats, reusing it when it has.
func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Clone returns a PositionScatterer sharing the tables with its own work
// buffers.
func (s *PositionScatterer) Clone() *PositionScatterer {
	c := *s
	c.ents, c.start, c.list, c.dummy, c.zero, c.prev = nil, nil, nil, nil, nil, nil
	return &c
}

// SweepsRows reports whether a position scatter of geometry g from cin
// channels into rows of n floats sweeps rows (kernels.ScatterRows): a 3×3
// kernel at stride 1 or 2 with one position of padding, outputs (H-1)/S+1
// by (W-1)/S+1, and a SIMD kernel on this machine.
func SweepsRows(g PosGeometry, cin, n int) bool {
	return g.K == 3 && (g.S == 1 || g.S == 2) && g.PH == 1 && g.PW == 1 && g.OH == (g.H-1)/g.S+1 && g.OW == (g.W-1)/g.S+1 && kernels.HasRowsKernel(g.S, n, cin)
}

// Pointwise reports whether a position scatter of geometry g from cin
// channels into rows of n floats goes output by output
// (kernels.Pointwise): a 1×1 kernel without padding, outputs (H-1)/S+1 by
// (W-1)/S+1, and a SIMD kernel on this machine.
func Pointwise(g PosGeometry, cin, n int) bool {
	return g.K == 1 && g.PH == 0 && g.PW == 0 && g.OH == (g.H-1)/g.S+1 && g.OW == (g.W-1)/g.S+1 && kernels.HasPointwiseKernel(n, cin)
}

// WeightChannels returns the number of input channels whose weights a
// position scatter of geometry g from cin channels into rows of n floats
// reads: a row sweep or pointwise kernel reads kernels.SweepChannels (its
// sentinel channel), the others cin.
func WeightChannels(g PosGeometry, cin, n int) int {
	if SweepsRows(g, cin, n) || Pointwise(g, cin, n) {
		return max(cin, kernels.SweepChannels)
	}
	return cin
}

// HasPositionKernel reports whether the position scatter of a k×k kernel
// at stride s into rows of n floats has a SIMD kernel on this machine.
func HasPositionKernel(k, s, n int) bool { return kernels.HasPositionKernel(k, s, n) }
