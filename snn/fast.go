package snn

import (
	"errors"
	"fmt"
	"sync"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// Engine selects how a Simulator computes.
type Engine int

// Engines. All give the same spikes on networks whose sums are exact (such
// as weights that are multiples of 1/64); see ../README for how rarely
// summation order changes a spike otherwise.
const (
	// EngineAuto runs the fast engine and picks, for every weighted layer,
	// sample and chunk of time, dense or event-driven computation from the
	// measured density of the layer's input and a cost model of this
	// machine's kernels (AVX-512, AVX2 or pure Go).
	EngineAuto Engine = iota
	// EngineDense runs the fast engine with every weighted layer dense: one
	// direct convolution (or matrix product) over all frames of a chunk.
	EngineDense
	// EngineEvent runs the fast engine with every weighted layer
	// event-driven: only non-zero inputs are propagated.
	EngineEvent
	// EngineReference runs the layers of the converted network one time
	// step at a time (NCHW, batched over samples): the plainest engine, the
	// one the others are checked against.
	EngineReference
)

var engineNames = map[Engine]string{EngineAuto: "auto", EngineDense: "dense", EngineEvent: "event", EngineReference: "reference"}

// String describes the Engine as snnkit prints it.
func (e Engine) String() string { return engineNames[e] }

// ParseEngine reads auto, dense, event or reference.
func ParseEngine(s string) (Engine, error) {
	for e, n := range engineNames {
		if n == s {
			return e, nil
		}
	}
	return 0, fmt.Errorf("unknown engine %q: want auto, dense, event or reference", s)
}

// layout describes how an activation is stored by the fast engine:
// spatial activations (C, H, W) channels-last, index (y*W+x)*C+c; flat
// activations by perm (engine index of NCHW-flat element i; nil: identity).
type layout struct {
	shape []int // the network's (NCHW) sample shape
	perm  []int
	cs    int     // spatial: channel stride (>= C; padded lanes hold zeros)
	n     int     // floats per frame in the engine (>= Numel(shape))
	tab   []int32 // engine index of each NCHW-flat index, built once
}

// padTo16 rounds a channel or feature count up to whole 16-float vectors
// (counts of 1, and multiples of 16, stay).
func padTo16(c int) int {
	if c <= 1 {
		return c
	}
	return (c + 15) / 16 * 16
}

// padCheap rounds c channels at each of positions positions up to whole
// 16-float vectors when that adds at most an eighth, or 64 floats per
// frame: 500 features become 512 and 10 become 16, but 20 channels of a
// 24×24 map stay 20 (32 would make every later layer 60 % bigger).
func padCheap(c, positions int) int {
	p := padTo16(c)
	if (p-c)*positions <= max(c*positions/8, 64) {
		return p
	}
	return c
}

// spatialLayout is a channels-last layout of shape (C, H, W) with channel
// stride cs.
func spatialLayout(shape []int, cs int) layout {
	return layout{shape: shape, cs: cs, n: shape[1] * shape[2] * cs}
}

// flatLayout is a flat layout of n features, padded to pad floats.
func flatLayout(shape []int, perm []int, pad int) layout {
	return layout{shape: shape, perm: perm, n: pad}
}

// table returns the engine index of every NCHW-flat index.
func (l *layout) table() []int32 {
	if l.tab == nil {
		n := tensor.Numel(l.shape)
		l.tab = make([]int32, n)
		for i := range l.tab {
			l.tab[i] = int32(l.index(i))
		}
	}
	return l.tab
}

// index returns the engine index of NCHW-flat index i.
func (l *layout) index(i int) int {
	if len(l.shape) == 3 {
		h, w := l.shape[1], l.shape[2]
		ch, rem := i/(h*w), i%(h*w)
		return rem*l.cs + ch
	}
	if l.perm != nil {
		return l.perm[i]
	}
	return i
}

// identity reports whether engine and NCHW frames coincide.
func (l *layout) identity() bool {
	if l.n != tensor.Numel(l.shape) || l.perm != nil {
		return false
	}
	return len(l.shape) != 3 || l.shape[0] == 1 || l.shape[1]*l.shape[2] == 1
}

// fastOp is one step of the fast engine's plan.
type fastOp struct {
	stage  int // index in Network.Stages, for monitors
	kind   int // opConv, opLinear, opPool, opSpike, opBN, opCopy
	inLen  int
	outLen int
	in     layout
	out    layout

	// weighted layers (conv and linear are both "conv" over offset tables)
	rows         []int // per output position of one frame: offset of its patch in the (padded) input frame
	koffs        []int
	packed       []float32
	bias         []float32
	outCh        int
	frameLen     int       // floats per (padded) input frame
	pad          *padSpec  // zero padding copy for dense convolutions
	event        int       // how events propagate (eventForm): eventScatter or eventGather
	wevent       []float32 // event weights: a row of the output channel stride per (input channel, tap) for eventScatter, per (tap, input channel) for eventGather
	taps         []int32   // eventScatter: (out offset, weight offset) pairs per input element
	tapIdx       []int32   // eventScatter: input element i has taps tapIdx[i] to tapIdx[i+1]-1
	winK         int       // eventScatter window path (one input channel, stride 1): kernel size
	winOW        int       // output width
	winBase      []int32   // per input element: output offset of tap (0, 0), or -1 near the border
	pcs          int       // eventGather: channels per input position
	gsegs        []int32   // eventGather: item stream (tensor.Gatherer)
	gitems       int
	tapsPerInput float64          // taps an input element reaches on average
	newEvent     func() eventProp // a propagator with its own work buffers
	denseNs      float64          // cost model: one frame dense
	eventNs      float64          // cost model: one non-zero input
	eventFrameNs float64          // cost model: one frame event-driven, before its events

	// pooling (channels-last)
	pool *nn.Pool2d
	geom tensor.ConvGeom

	// batch norm (evaluation)
	bn *nn.BatchNorm2d

	neuron *Neuron
}

const (
	opConv = iota
	opPool
	opSpike
	opBN
	opCopy
)

type padSpec struct{ c, h, w, ph, pw int }

// fastPlan is a Network compiled for the fast engine.
type fastPlan struct {
	ops    []fastOp
	in     layout
	out    layout
	maxLen int // floats of the largest activation of one frame
	inLen  int
	mu     sync.Mutex
	tasks  []*fastTask // idle work buffers, kept across runs (at most one per worker in use)
}

// errNoFast marks networks the fast engine does not run (they run on the
// reference engine, whatever engine is selected).
var errNoFast = errors.New("not supported by the fast engine")

// compileFast builds the fast engine's plan. The channel strides and
// feature counts of weighted layers are rounded up to whole 16-float
// vectors where that adds little (padCheap): the gathering event kernels
// need whole vectors, but every later layer also handles the padding.
func compileFast(net *Network) (*fastPlan, error) {
	p := &fastPlan{inLen: tensor.Numel(net.Input)}
	if len(net.Input) == 3 {
		p.in = spatialLayout(net.Input, net.Input[0])
	} else {
		p.in = flatLayout(net.Input, nil, p.inLen)
	}
	cur := p.in
	p.maxLen = p.inLen
	for i := range net.Stages {
		st := &net.Stages[i]
		op := fastOp{stage: i, in: cur}
		switch {
		case st.Spiking():
			op.kind, op.neuron, op.out = opSpike, st.Neuron, cur
		default:
			switch l := st.Layer.(type) {
			case *nn.Conv2d:
				if l.Config.General() {
					return nil, fmt.Errorf("fast engine: stage %s: %w: grouped, dilated or asymmetrically padded convolution", st.Name, errNoFast)
				}
				if len(cur.shape) != 3 {
					return nil, fmt.Errorf("fast engine: stage %s: convolution of a flat input", st.Name)
				}
				op.out = spatialLayout(st.Out, padCheap(st.Out[0], st.Out[1]*st.Out[2]))
				compileConv(&op, l, st.In, st.Out)
			case *nn.Linear:
				op.out = flatLayout(st.Out, nil, padCheap(l.Config.Out, 1))
				compileLinear(&op, l, &cur)
			case *nn.Pool2d:
				if l.Padded() {
					return nil, fmt.Errorf("fast engine: stage %s: %w: padded or ceil-mode pooling", st.Name, errNoFast)
				}
				op.kind, op.pool, op.out = opPool, l, spatialLayout(st.Out, cur.cs)
				op.geom = tensor.ConvGeom{C: cur.cs, H: st.In[1], W: st.In[2], KH: l.Config.KernelHW[0], KW: l.Config.KernelHW[1], SH: l.Config.StrideHW[0], SW: l.Config.StrideHW[1]}
				op.geom.OutSize()
			case *nn.BatchNorm2d:
				op.kind, op.bn, op.out = opBN, l, cur
			case *nn.Flatten:
				// Channels-last data stays where it is; record where each
				// NCHW-flat element now lives for the next Linear.
				perm := make([]int, tensor.Numel(st.In))
				for j := range perm {
					perm[j] = cur.index(j)
				}
				op.kind, op.out = opCopy, flatLayout(st.Out, perm, cur.n)
			default:
				return nil, fmt.Errorf("fast engine: stage %s: %v not supported", st.Name, st.Layer)
			}
		}
		op.inLen, op.outLen = op.in.n, op.out.n
		if op.kind == opConv {
			op.costs(len(op.rows), len(op.koffs), op.outLen/len(op.rows))
		}
		cur = op.out
		p.maxLen = max(p.maxLen, op.outLen, op.frameLen)
		p.ops = append(p.ops, op)
	}
	p.out = cur
	for i := range p.ops {
		op := &p.ops[i]
		if op.kind != opConv {
			continue
		}
		ch := op.outLen / len(op.rows)
		var err error
		switch op.event {
		case eventGather:
			var g *tensor.Gatherer
			g, err = tensor.NewGatherer(op.pcs, op.inLen/op.pcs, ch, op.gsegs, op.gitems, op.outLen, len(op.wevent))
			op.newEvent = func() eventProp { return g.Clone() }
		default:
			var sc *tensor.Scatterer
			if sc, err = tensor.NewScatterer(op.taps, op.tapIdx, ch, op.outLen, len(op.wevent)); err == nil && op.winBase != nil {
				err = sc.SetWindow(op.winK, op.winOW, op.winBase)
			}
			op.newEvent = func() eventProp { return sc.Clone() }
		}
		if err != nil {
			return nil, fmt.Errorf("fast engine: stage %d: %w", op.stage, err)
		}
	}
	// Build the index tables now: tasks read them concurrently.
	p.in.table()
	p.out.table()
	for i := range p.ops {
		p.ops[i].in.table()
		p.ops[i].out.table()
	}
	return p, nil
}

// gatherGroupBytes bounds the weights one group of gathered kernel rows
// reads (BenchmarkGatherConv2: groups of ~25 KB were fastest on a 48 KB
// L1 data cache).
const gatherGroupBytes = 32 << 10

// compileConv prepares a convolution in channels-last layout: dense offsets
// and packed weights (depth order i, j, c) and event taps.
func compileConv(op *fastOp, l *nn.Conv2d, in, out []int) {
	cfg := l.Config
	c, h, w := in[0], in[1], in[2]
	cs := op.in.cs // input channel stride
	o, oh, ow := out[0], out[1], out[2]
	os := op.out.cs // output channel stride (o rounded up to 16)
	kh, kw := cfg.KernelHW[0], cfg.KernelHW[1]
	sh, sw, ph, pw := cfg.StrideHW[0], cfg.StrideHW[1], cfg.PaddingHW[0], cfg.PaddingHW[1]
	op.kind, op.outCh = opConv, o
	hp, wp := h+2*ph, w+2*pw
	op.frameLen = cs * hp * wp
	if ph > 0 || pw > 0 {
		op.pad = &padSpec{c: cs, h: h, w: w, ph: ph, pw: pw}
	}
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			op.rows = append(op.rows, (y*sh*wp+x*sw)*cs)
		}
	}
	k := kh * kw * c
	wt := l.Weight.Value.Data      // [o][c][i][j]
	dense := make([]float32, k*os) // padded output channels have zero weights
	p := 0
	for i := 0; i < kh; i++ {
		for j := 0; j < kw; j++ {
			for ch := 0; ch < c; ch++ {
				op.koffs = append(op.koffs, (i*wp+j)*cs+ch)
				for oc := 0; oc < o; oc++ {
					dense[p*os+oc] = wt[((oc*c+ch)*kh+i)*kw+j]
				}
				p++
			}
		}
	}
	op.packed = tensor.PackConvWeights(dense, k, os)
	if l.Bias != nil {
		op.bias = l.Bias.Value.Data
	}
	op.event = eventForm(cs, os, h*w*cs)
	g := convShape{h: h, w: w, oh: oh, ow: ow, kh: kh, kw: kw, sh: sh, sw: sw, ph: ph, pw: pw}
	op.tapsPerInput = g.tapsPerPosition()
	weight := func(ch, oc, t int) float32 { return wt[((oc*c+ch)*kh+t/kw)*kw+t%kw] }
	if op.event == eventGather {
		op.pcs = cs
		op.wevent = make([]float32, kh*kw*cs*os) // a row per (tap, input channel)
		for t := 0; t < kh*kw; t++ {
			for ch := 0; ch < c; ch++ {
				for oc := 0; oc < o; oc++ {
					op.wevent[(t*cs+ch)*os+oc] = weight(ch, oc, t)
				}
			}
		}
	}
	switch op.event {
	case eventGather:
		// Items: kernel rows in groups whose weights fit in L1 together
		// (gatherGroupBytes); for every output, a group's kernel rows are
		// one item with one run of input positions per row.
		group := max(1, gatherGroupBytes/(kw*c*os*4))
		for i0 := 0; i0 < kh; i0 += group {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					item := len(op.gsegs)
					op.gsegs = append(op.gsegs, 0, int32((oy*ow+ox)*os))
					x0 := ox*sw - pw
					lo, hi := max(x0, 0), min(x0+kw, w)
					for i := i0; i < min(kh, i0+group); i++ {
						y := oy*sh - ph + i
						if y < 0 || y >= h || lo >= hi {
							continue
						}
						// Entry (p, c) names row (p*cs+c)*os; input (y, x) meets
						// tap (i, x-x0), weight row ((i*kw+x-x0)*cs+c)*os.
						base := ((i*kw-x0)*cs - y*w*cs) * os
						op.gsegs = append(op.gsegs, int32(y*w+lo), int32(y*w+hi), int32(base))
						op.gsegs[item]++
					}
					op.gitems++
				}
			}
		}
	default:
		// A row per (input channel, tap), os wide (zero padded), so every
		// update is whole vectors.
		op.wevent = make([]float32, c*kh*kw*os)
		for ch := 0; ch < c; ch++ {
			for t := 0; t < kh*kw; t++ {
				for oc := 0; oc < o; oc++ {
					op.wevent[(ch*kh*kw+t)*os+oc] = weight(ch, oc, t)
				}
			}
		}
		if c == 1 && cs == 1 && kh == kw && sh == 1 && sw == 1 && tensor.HasWindowKernel(kh, os) {
			// Inputs whose taps all land inside the output skip the tables:
			// output (y+ph-i, x+pw-j) for tap (i, j).
			op.winK, op.winOW = kh, ow
			op.winBase = make([]int32, h*w)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					op.winBase[y*w+x] = -1
					if y+ph-(kh-1) >= 0 && y+ph < oh && x+pw-(kw-1) >= 0 && x+pw < ow {
						op.winBase[y*w+x] = int32(((y+ph)*ow + x + pw) * os)
					}
				}
			}
		}
		op.tapIdx = make([]int32, h*w*cs+1)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for ch := 0; ch < cs; ch++ {
					e := (y*w+x)*cs + ch
					if ch < c {
						g.forTaps(y, x, func(t, o int) {
							op.taps = append(op.taps, int32(o*os), int32((ch*kh*kw+t)*os))
						})
					}
					op.tapIdx[e+1] = int32(len(op.taps) / 2)
				}
			}
		}
	}
}

// convShape is a convolution's geometry, for its event tables.
type convShape struct{ h, w, oh, ow, kh, kw, sh, sw, ph, pw int }

// forTaps calls f(t, o) for every tap t = i·kw+j through which input
// position (y, x) reaches an output position o = oy·ow+ox
// (oy·sh - ph + i = y, ox·sw - pw + j = x).
func (g convShape) forTaps(y, x int, f func(t, o int)) {
	for i := 0; i < g.kh; i++ {
		ty := y + g.ph - i
		if ty < 0 || ty%g.sh != 0 || ty/g.sh >= g.oh {
			continue
		}
		for j := 0; j < g.kw; j++ {
			tx := x + g.pw - j
			if tx < 0 || tx%g.sw != 0 || tx/g.sw >= g.ow {
				continue
			}
			f(i*g.kw+j, ty/g.sh*g.ow+tx/g.sw)
		}
	}
}

// tapsPerPosition returns how many taps an input position reaches on
// average.
func (g convShape) tapsPerPosition() float64 {
	n := 0
	for y := 0; y < g.h; y++ {
		for x := 0; x < g.w; x++ {
			g.forTaps(y, x, func(int, int) { n++ })
		}
	}
	return float64(n) / float64(max(1, g.h*g.w))
}

// compileLinear prepares a linear layer as a 1×1 "convolution" of one
// position whose depth offsets follow the input's layout.
func compileLinear(op *fastOp, l *nn.Linear, in *layout) {
	ni, no := l.Config.In, l.Config.Out
	np := op.out.n // outputs padded to whole vectors
	op.kind, op.outCh, op.frameLen = opConv, no, in.n
	op.rows = []int{0}
	op.koffs = make([]int, ni)
	dense := make([]float32, ni*np)
	op.wevent = make([]float32, in.n*np) // a row per engine input position, for every event form
	wt := l.Weight.Value.Data            // [out][in]
	isInput := make([]bool, in.n)
	for i := 0; i < ni; i++ {
		e := in.index(i) // engine position of NCHW-flat input i
		op.koffs[i] = e
		isInput[e] = true
		for o := 0; o < no; o++ {
			dense[i*np+o] = wt[o*ni+i]
			op.wevent[e*np+o] = wt[o*ni+i]
		}
	}
	op.packed = tensor.PackConvWeights(dense, ni, np)
	if l.Bias != nil {
		op.bias = l.Bias.Value.Data
	}
	op.event, op.tapsPerInput, op.pcs = eventForm(in.n, np, in.n), 1, in.n
	switch op.event {
	case eventGather:
		op.gsegs, op.gitems = []int32{1, 0, 0, 1, 0}, 1
	default:
		op.tapIdx = make([]int32, in.n+1)
		for e := 0; e < in.n; e++ {
			if isInput[e] {
				op.taps = append(op.taps, 0, int32(e*np))
			}
			op.tapIdx[e+1] = int32(len(op.taps) / 2)
		}
	}
}

// eventProp propagates the non-zero inputs of one frame
// (tensor.Scatterer or tensor.Gatherer).
type eventProp interface {
	Apply(out, w, x []float32) error
}

// Event forms of a weighted layer (fastOp.event).
const (
	eventScatter = iota // event by event (tensor.Scatterer)
	eventGather         // output by output (tensor.Gatherer)
)

// eventForm chooses how the events of a weighted layer with cs channels per
// input position, outputs of os channels and inLen inputs per frame
// propagate: positions of several channels are gathered where a SIMD
// kernel covers the output width (entries name weight rows by int32
// offsets up to inputs × channels); one-channel positions, and everything
// without SIMD, go event by event.
func eventForm(cs, os, inLen int) int {
	if cs >= 8 && tensor.HasGatherKernel(os) && int64(inLen)*int64(os) < 1<<31 {
		return eventGather
	}
	return eventScatter
}

// costs fills the cost model, calibrated with BenchmarkEventCost and the
// Conv*Op benchmarks (with SNNKIT_NOAVX512=1 and SNNKIT_NOASM=1 for the
// other machine kinds). A dense frame costs rows×depth×(channels rounded
// up to 32) multiply-adds at about 105 per ns on an AVX-512 core and 52
// with AVX2 (75 % of that for depths below 64, as conv1's 25), and
// rows×depth×channels at 1.6 per ns in pure Go. Event-driven, a frame costs
// a fixed part (listing its non-zero inputs, about 0.1 ns per input, 1 ns
// in pure Go, and for gathered layers about 2.5 ns per item and 1.2 ns per
// run) and then, per non-zero input: gathered, about 1 ns plus 0.28 ns per
// 16-float vector (0.22 per 8-float one with AVX2) of each tap it reaches
// and 1.5 ns per further block of 8 vectors; event by event, 5 ns
// plus 1.1 ns per 16-, 8- or 4-float part (0.6 with AVX2) of each tap (a
// read-modify-write of the output), half that with the weights in
// registers (window scatter), four times that where the last vector needs
// a mask (masked stores stall the loads that follow); in pure Go, 10 ns
// plus 0.55 ns per channel of each tap.
func (op *fastOp) costs(rows, depth, ch int) {
	tapsPerInput := op.tapsPerInput
	width := tensor.VectorWidth()
	switch width {
	case 1:
		op.denseNs = float64(rows*depth*ch)/1.6 + 100
	default:
		rate := 105.0
		if width == 8 {
			rate = 52
		}
		op.denseNs = float64(rows*depth*((ch+31)/32*32))/rate + 100
		if depth < 64 {
			op.denseNs /= 0.75
		}
	}
	op.eventFrameNs = 20 + 0.1*float64(op.inLen)
	if width == 1 {
		op.eventFrameNs = 20 + float64(op.inLen)
	}
	switch {
	case op.event == eventGather:
		runs := (len(op.gsegs) - 2*op.gitems) / 3
		op.eventFrameNs += 2.5*float64(op.gitems) + 1.2*float64(runs)
		perVec := 0.28
		if width == 8 {
			perVec = 0.22
		}
		vecs := ch / width
		blocks := (vecs + 7) / 8 // the kernels take 8 vectors at a time
		op.eventNs = 1 + tapsPerInput*(perVec*float64(vecs)+1.5*float64(blocks-1))
	case !tensor.HasScatterKernel(ch): // pure-Go event propagation
		op.eventNs = 10 + 0.55*tapsPerInput*float64(ch)
	case width == 8:
		op.eventNs = 5 + 0.6*tapsPerInput*float64(ch/8+ch%8/4)
	default:
		perVec, vecs := 1.1, float64(ch/16)
		switch {
		case ch%4 == 0 && ch < 128: // exact-width kernels: 16-, 8- and 4-float parts
			r := ch % 16
			vecs += float64(r/8 + r%8/4)
		case ch%16 != 0:
			perVec, vecs = 4.4, vecs+1
		}
		if op.winBase != nil {
			perVec /= 2 // weights in registers (BenchmarkConv1Op)
		}
		op.eventNs = 5 + perVec*tapsPerInput*vecs
	}
}

// fastTask holds one worker's buffers.
type fastTask struct {
	events map[*fastOp]eventProp // per-task event propagators (own work buffers)
	sums   []opSum               // input sums of the current sample, by op (zeroed per sample)
	sumN   []float32
	a, b   []float32
	padded []float32
	rows   []int
	nchwIn []float32
	nchwOu []float32
	trace  []float32
}

// opSum is an op's input summed over a sample's frames.
type opSum struct {
	op  *fastOp
	sum []float32
}

// sumFor returns the task's input-sum accumulator for op, zeroed when new.
func (t *fastTask) sumFor(op *fastOp) []float32 {
	for _, s := range t.sums {
		if s.op == op && len(s.sum) == op.inLen {
			return s.sum
		}
	}
	t.sums = append(t.sums, opSum{op: op, sum: make([]float32, op.inLen)})
	return t.sums[len(t.sums)-1].sum
}

// release returns a task's buffers for the next run.
func (p *fastPlan) release(t *fastTask) {
	p.mu.Lock()
	p.tasks = append(p.tasks, t)
	p.mu.Unlock()
}

// task returns work buffers for frames frames of one image.
func (p *fastPlan) task(frames int) *fastTask {
	p.mu.Lock()
	var t *fastTask
	if n := len(p.tasks); n > 0 {
		t, p.tasks = p.tasks[n-1], p.tasks[:n-1]
	}
	p.mu.Unlock()
	if t == nil {
		t = &fastTask{}
	}
	n := frames * p.maxLen
	if cap(t.a) < n {
		t.a, t.b = make([]float32, n), make([]float32, n)
	}
	t.a, t.b = t.a[:n], t.b[:n]
	return t
}
