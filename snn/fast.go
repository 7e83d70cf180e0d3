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
	kind   int // opConv, opPool, opSpike, ...
	inLen  int
	outLen int
	in     layout // the first input's layout
	out    layout

	// The graph: the ops whose outputs this op reads (-1: the network's
	// input), their layouts, and the buffers (slots of a task) the inputs
	// and the output live in. Aliasing ops (opCopy) share their input's
	// slot.
	srcs   []int
	ins    []layout
	inSlot []int
	slot   int
	catOff []int // opCat: each input's channel (spatial) or element (flat) offset

	// general convolutions: one dense product per group, written at output
	// channel offset g·outCh/groups
	groups  int
	gkoffs  [][]int
	gpacked [][]float32

	// weighted layers (conv and linear are both "conv" over offset tables)
	rows         []int // per output position of one frame: offset of its patch in the (padded) input frame
	koffs        []int
	packed       []float32
	bias         []float32
	biasRow      []float32 // the bias padded to the output channel stride
	outCh        int
	frameLen     int       // floats per (padded) input frame
	pad          *padSpec  // zero padding copy for dense convolutions
	event        int       // how events propagate (eventForm): eventScatter or eventGather
	wevent       []float32 // event weights: a row of the output channel stride per (input channel, tap) for eventScatter, per (tap, input channel) for eventGather
	taps         []int32   // eventScatter: (out offset, weight offset) pairs per input element
	tapIdx       []int32   // eventScatter: input element i has taps tapIdx[i] to tapIdx[i+1]-1
	winK         int       // eventScatter window path (one input channel, stride 1): kernel size
	winOW        int       // output width
	winBase      []int32   // per input element (per position with posWin): output offset of tap (0, 0), or -1 near the border
	posWin       bool      // eventScatter by positions (tensor.PositionScatterer)
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

	// spiking max-pool (geom with padding and ceil mode)
	smp *SpikingMaxPool

	scale float32       // opScale
	norm  *nn.Normalize // opNorm
	layer nn.Layer      // opLayer: run in NCHW on a per-task copy

	neuron *Neuron
}

const (
	opConv     = iota
	opPool     // unpadded average, sum or max pooling of analog values
	opSpike    // a spiking population
	opBN       // evaluation-mode BatchNorm2d
	opCopy     // Flatten, Identity: the data stays, the layout changes
	opAdd      // residual sum of two or more inputs
	opCat      // concatenation on channels
	opSpikeMax // spiking max-pool
	opScale    // multiplication by a constant
	opNorm     // per-channel (x - mean) / std
	opGAP      // global average pooling
	opLayer    // any other layer, through its NCHW Forward
)

// padSpec describes the zero-padded copy of a frame a dense convolution
// reads: c channels of h×w placed at (ph, pw) in a frame of hp×wp.
type padSpec struct{ c, h, w, ph, pw, hp, wp int }

// fastPlan is a Network compiled for the fast engine.
type fastPlan struct {
	ops     []fastOp
	in      layout
	out     layout
	maxLen  int // floats of the largest activation of one frame
	inLen   int
	slots   int // task buffers (slot 0 holds the input)
	outSlot int
	mu      sync.Mutex
	tasks   []*fastTask // idle work buffers, kept across runs (at most one per worker in use)
}

// errNoFast marks networks the fast engine does not run (they run on the
// reference engine, whatever engine is selected).
var errNoFast = errors.New("not supported by the fast engine")

// compileFast builds the fast engine's plan. The channel strides and
// feature counts of weighted layers are rounded up to whole 16-float
// vectors where that adds little (padCheap): the gathering event kernels
// need whole vectors, but every later layer also handles the padding.
func compileFast(net *Network) (*fastPlan, error) {
	srcs, err := net.sources()
	if err != nil {
		return nil, fmt.Errorf("fast engine: %w", err)
	}
	p := &fastPlan{inLen: tensor.Numel(net.Input)}
	if len(net.Input) == 3 {
		p.in = spatialLayout(net.Input, net.Input[0])
	} else {
		p.in = flatLayout(net.Input, nil, p.inLen)
	}
	layoutOf := func(j int) layout {
		if j < 0 {
			return p.in
		}
		return p.ops[j].out
	}
	p.maxLen = p.inLen
	for i := range net.Stages {
		st := &net.Stages[i]
		op := fastOp{stage: i, srcs: srcs[i]}
		for _, j := range srcs[i] {
			op.ins = append(op.ins, layoutOf(j))
		}
		op.in = op.ins[0]
		cur := op.in
		switch {
		case st.Spiking():
			op.kind, op.neuron, op.out = opSpike, st.Neuron, cur
		case st.MaxPool != nil:
			if len(cur.shape) != 3 {
				return nil, fmt.Errorf("fast engine: stage %s: spiking max-pool of a flat input", st.Name)
			}
			g, err := st.MaxPool.geom(st.In)
			if err != nil {
				return nil, fmt.Errorf("fast engine: stage %s: %w", st.Name, err)
			}
			g.C = cur.cs
			op.kind, op.smp, op.geom, op.out = opSpikeMax, st.MaxPool, g, spatialLayout(st.Out, cur.cs)
		case st.Join != nil:
			if err := compileJoin(&op, st); err != nil {
				return nil, err
			}
		default:
			switch l := st.Layer.(type) {
			case *nn.Conv2d:
				if len(cur.shape) != 3 {
					return nil, fmt.Errorf("fast engine: stage %s: convolution of a flat input", st.Name)
				}
				op.out = spatialLayout(st.Out, padCheap(st.Out[0], st.Out[1]*st.Out[2]))
				compileConv(&op, l, st.In, st.Out)
			case *nn.Linear:
				op.out = flatLayout(st.Out, nil, padCheap(l.Config.Out, 1))
				compileLinear(&op, l, &cur)
			case *nn.Pool2d:
				if l.Padded() || len(cur.shape) != 3 {
					err = compileLayer(&op, l, st)
					break
				}
				op.kind, op.pool, op.out = opPool, l, spatialLayout(st.Out, cur.cs)
				op.geom = tensor.ConvGeom{C: cur.cs, H: st.In[1], W: st.In[2], KH: l.Config.KernelHW[0], KW: l.Config.KernelHW[1], SH: l.Config.StrideHW[0], SW: l.Config.StrideHW[1]}
				op.geom.OutSize()
			case *nn.BatchNorm2d:
				if len(cur.shape) != 3 {
					err = compileLayer(&op, l, st)
					break
				}
				op.kind, op.bn, op.out = opBN, l, cur
			case *nn.Flatten:
				// Channels-last data stays where it is; record where each
				// NCHW-flat element now lives for the next Linear.
				perm := make([]int, tensor.Numel(st.In))
				for j := range perm {
					perm[j] = cur.index(j)
				}
				op.kind, op.out = opCopy, flatLayout(st.Out, perm, cur.n)
			case *nn.Identity, *nn.Dropout:
				op.kind, op.out = opCopy, cur
			case *nn.Scale:
				op.kind, op.scale, op.out = opScale, l.Factor, cur
			case *nn.GlobalAvgPool2d:
				if len(cur.shape) != 3 {
					err = compileLayer(&op, l, st)
					break
				}
				op.kind, op.out = opGAP, spatialLayout(st.Out, cur.cs)
			case *nn.Normalize:
				if len(cur.shape) != 3 {
					err = compileLayer(&op, l, st)
					break
				}
				op.kind, op.norm, op.out = opNorm, l, cur
			default:
				// Global average pooling and whatever else: the layer's own
				// arithmetic, in NCHW.
				err = compileLayer(&op, st.Layer, st)
			}
		}
		if err != nil {
			return nil, err
		}
		op.inLen, op.outLen = op.in.n, op.out.n
		p.maxLen = max(p.maxLen, op.outLen, op.frameLen)
		p.ops = append(p.ops, op)
	}
	p.out = p.ops[len(p.ops)-1].out
	p.assignSlots()
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
			sc, err = tensor.NewScatterer(op.taps, op.tapIdx, ch, op.outLen, len(op.wevent))
			switch {
			case err != nil:
			case op.posWin:
				var ps *tensor.PositionScatterer
				if ps, err = tensor.NewPositionScatterer(op.in.cs, op.winK, op.in.shape[2], op.winOW, op.winBase, sc); err == nil {
					op.newEvent = func() eventProp { return ps.Clone() }
				}
			default:
				if op.winBase != nil {
					err = sc.SetWindow(op.winK, op.winOW, op.winBase)
				}
				op.newEvent = func() eventProp { return sc.Clone() }
			}
		}
		if err != nil {
			return nil, fmt.Errorf("fast engine: stage %d: %w", op.stage, err)
		}
	}
	// Build the index tables now: tasks read them concurrently.
	p.in.table()
	p.out.table()
	for i := range p.ops {
		op := &p.ops[i]
		op.in.table()
		op.out.table()
		for k := range op.ins {
			op.ins[k].table()
		}
	}
	return p, nil
}

// assignSlots gives every op's output a task buffer by liveness: a buffer
// is free again after the last op that reads it (or an alias of it), so a
// chain needs two and a residual block three, whatever its length.
func (p *fastPlan) assignSlots() {
	n := len(p.ops)
	// root[i+1] is the op whose buffer op i's output lives in (0: the
	// network's input), following aliases.
	root := make([]int, n+1)
	rootOf := func(j int) int { return root[j+1] }
	for i := range p.ops {
		root[i+1] = i + 1
		if p.ops[i].kind == opCopy {
			root[i+1] = rootOf(p.ops[i].srcs[0])
		}
	}
	last := make([]int, n+1)
	for i := range p.ops {
		for _, j := range p.ops[i].srcs {
			last[rootOf(j)] = i
		}
	}
	last[rootOf(n-1)] = n // the output lives to the end
	slotOf := make([]int, n+1)
	var free []int
	p.slots = 1 // slot 0 holds the input
	for i := range p.ops {
		op := &p.ops[i]
		op.inSlot = op.inSlot[:0]
		for _, j := range op.srcs {
			op.inSlot = append(op.inSlot, slotOf[rootOf(j)])
		}
		if r := rootOf(i); r != i+1 {
			op.slot = slotOf[r]
		} else if k := len(free); k > 0 {
			op.slot, free = free[k-1], free[:k-1]
		} else {
			op.slot = p.slots
			p.slots++
		}
		slotOf[i+1] = op.slot
		for _, j := range op.srcs {
			if r := rootOf(j); last[r] == i {
				free = append(free, slotOf[r])
				last[r] = -1 // read twice by this op: free once
			}
		}
	}
	p.outSlot = slotOf[rootOf(n-1)]
}

// compileJoin prepares an Add or a Concat of the op's inputs.
func compileJoin(op *fastOp, st *Stage) error {
	switch st.Join.(type) {
	case *nn.Add:
		op.kind, op.out = opAdd, op.in
	case *nn.Concat:
		op.kind = opCat
		spatial := len(st.Out) == 3
		off := 0
		for _, l := range op.ins {
			if (len(l.shape) == 3) != spatial {
				return fmt.Errorf("fast engine: stage %s: concatenation of spatial and flat inputs", st.Name)
			}
			op.catOff = append(op.catOff, off)
			if spatial {
				off += l.shape[0]
			} else {
				off += tensor.Numel(l.shape)
			}
		}
		if spatial {
			op.out = spatialLayout(st.Out, padCheap(st.Out[0], st.Out[1]*st.Out[2]))
		} else {
			op.out = flatLayout(st.Out, nil, padCheap(off, 1))
		}
	default:
		return fmt.Errorf("fast engine: stage %s: %w: join %v", st.Name, errNoFast, st.Join)
	}
	return nil
}

// compileLayer runs a layer the engine has no channels-last kernel for
// through its own NCHW Forward (on a copy per task).
func compileLayer(op *fastOp, l nn.Layer, st *Stage) error {
	if _, err := nn.CloneLayer(l); err != nil {
		return fmt.Errorf("fast engine: stage %s: %w", st.Name, err)
	}
	op.kind, op.layer = opLayer, l
	if len(st.Out) == 3 {
		op.out = spatialLayout(st.Out, st.Out[0])
	} else {
		op.out = flatLayout(st.Out, nil, tensor.Numel(st.Out))
	}
	return nil
}

// gatherGroupBytes bounds the weights one group of gathered kernel rows
// reads (BenchmarkGatherConv2: groups of ~25 KB were fastest on a 48 KB
// L1 data cache).
const gatherGroupBytes = 32 << 10

// compileConv prepares a convolution in channels-last layout: dense offsets
// and packed weights (depth order i, j, c; one set per group) and event
// taps. Grouped and dilated convolutions propagate events one by one.
func compileConv(op *fastOp, l *nn.Conv2d, in, out []int) {
	cfg := l.Config.Norm()
	c, h, w := in[0], in[1], in[2]
	cs := op.in.cs // input channel stride
	o, oh, ow := out[0], out[1], out[2]
	os := op.out.cs // output channel stride (o rounded up to 16)
	kh, kw := cfg.KernelHW[0], cfg.KernelHW[1]
	sh, sw, ph, pw := cfg.StrideHW[0], cfg.StrideHW[1], cfg.PaddingHW[0], cfg.PaddingHW[1]
	eh, ew := cfg.PadEndHW[0], cfg.PadEndHW[1]
	dh, dw := cfg.DilationHW[0], cfg.DilationHW[1]
	groups := cfg.Groups
	cg, og := c/groups, o/groups
	op.kind, op.outCh, op.groups = opConv, o, groups
	hp, wp := h+ph+eh, w+pw+ew
	op.frameLen = cs * hp * wp
	if ph > 0 || pw > 0 || eh > 0 || ew > 0 {
		op.pad = &padSpec{c: cs, h: h, w: w, ph: ph, pw: pw, hp: hp, wp: wp}
	}
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			op.rows = append(op.rows, (y*sh*wp+x*sw)*cs)
		}
	}
	wt := l.Weight.Value.Data // [o][cg][i][j]
	k := kh * kw * cg
	ncol := os // one group: padded output channels have zero weights
	if groups > 1 {
		ncol = og
	}
	for gi := 0; gi < groups; gi++ {
		var koffs []int
		dense := make([]float32, k*ncol)
		p := 0
		for i := 0; i < kh; i++ {
			for j := 0; j < kw; j++ {
				for ch := 0; ch < cg; ch++ {
					koffs = append(koffs, (i*dh*wp+j*dw)*cs+gi*cg+ch)
					for oc := 0; oc < og; oc++ {
						dense[p*ncol+oc] = wt[(((gi*og+oc)*cg+ch)*kh+i)*kw+j]
					}
					p++
				}
			}
		}
		op.gkoffs = append(op.gkoffs, koffs)
		op.gpacked = append(op.gpacked, tensor.PackConvWeights(dense, k, ncol))
	}
	op.koffs, op.packed = op.gkoffs[0], op.gpacked[0]
	if l.Bias != nil {
		op.bias = l.Bias.Value.Data
		op.biasRow = make([]float32, os)
		copy(op.biasRow, op.bias)
	}
	general := groups > 1 || dh != 1 || dw != 1
	op.event = eventForm(cs, os, h*w*cs)
	// Outputs of one vector (16 channels) from a stride-1 square kernel go
	// position by position (all of a position's channels summed per tap in
	// registers): gathering them spends more on walking its runs, three per
	// output whose lengths the branch predictor cannot know, than on
	// adding. On resnet_fmnist's 16-channel layers at T=64 that took a
	// layer from 25 to 18 µs a frame; at 32 channels gathering stays ahead.
	posWin := !general && cs > 1 && kh == kw && sh == 1 && sw == 1 && ow >= kh && oh >= kh && tensor.HasPositionKernel(kh, os)
	if general || posWin {
		op.event = eventScatter
	}
	g := convShape{h: h, w: w, oh: oh, ow: ow, kh: kh, kw: kw, sh: sh, sw: sw, ph: ph, pw: pw, dh: dh, dw: dw}
	op.tapsPerInput = g.tapsPerPosition()
	// weight returns the weight from input channel ch to output channel oc
	// at tap t (zero across groups).
	weight := func(ch, oc, t int) float32 {
		if ch/cg != oc/og {
			return 0
		}
		return wt[((oc*cg+ch%cg)*kh+t/kw)*kw+t%kw]
	}
	switch op.event {
	case eventGather:
		op.pcs = cs
		op.wevent = make([]float32, kh*kw*cs*os) // a row per (tap, input channel)
		for t := 0; t < kh*kw; t++ {
			for ch := 0; ch < c; ch++ {
				for oc := 0; oc < o; oc++ {
					op.wevent[(t*cs+ch)*os+oc] = weight(ch, oc, t)
				}
			}
		}
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
		// A row per (input channel, tap), os wide (zero padded, and zero
		// outside the channel's group), so every update is whole vectors.
		op.wevent = make([]float32, c*kh*kw*os)
		for ch := 0; ch < c; ch++ {
			for t := 0; t < kh*kw; t++ {
				for oc := 0; oc < o; oc++ {
					op.wevent[(ch*kh*kw+t)*os+oc] = weight(ch, oc, t)
				}
			}
		}
		if posWin || (!general && c == 1 && cs == 1 && kh == kw && sh == 1 && sw == 1 && tensor.HasWindowKernel(kh, os)) {
			op.posWin = posWin
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
	op.inLen, op.outLen = op.in.n, op.out.n
	op.costs(len(op.rows), k, ncol)
	if groups > 1 {
		op.denseNs = (op.denseNs-100)*float64(groups) + 100
	}
}

// convShape is a convolution's geometry, for its event tables.
type convShape struct{ h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw int }

// forTaps calls f(t, o) for every tap t = i·kw+j through which input
// position (y, x) reaches an output position o = oy·ow+ox
// (oy·sh - ph + i·dh = y, ox·sw - pw + j·dw = x).
func (g convShape) forTaps(y, x int, f func(t, o int)) {
	for i := 0; i < g.kh; i++ {
		ty := y + g.ph - i*g.dh
		if ty < 0 || ty%g.sh != 0 || ty/g.sh >= g.oh {
			continue
		}
		for j := 0; j < g.kw; j++ {
			tx := x + g.pw - j*g.dw
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
	op.in = *in
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
		op.biasRow = make([]float32, np)
		copy(op.biasRow, op.bias)
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
	op.groups, op.gkoffs, op.gpacked = 1, [][]int{op.koffs}, [][]float32{op.packed}
	op.inLen, op.outLen = in.n, op.out.n
	op.costs(1, ni, np)
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
	events   map[*fastOp]eventProp // per-task event propagators (own work buffers)
	sums     []opSum               // input sums of the current sample, by op (zeroed per sample)
	sumN     []float32
	bufs     [][]float32          // the plan's slots, frames × maxLen floats each
	layers   map[*fastOp]nn.Layer // per-task copies of opLayer layers
	gap      []float64            // global average pooling: per-channel sums
	constant []bool               // in runOps, per op (and the input): the chunk's frames are all the same
	best     []float32            // spiking max-pool: the window's highest count per channel
	bestAt   []int32              // and where it is
	padded   []float32
	rows     []int
	nchwIn   []float32
	nchwOu   []float32
	trace    []float32
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
	if len(t.bufs) != p.slots {
		t.bufs = make([][]float32, p.slots)
	}
	for i, b := range t.bufs {
		if cap(b) < n {
			b = make([]float32, n)
		}
		t.bufs[i] = b[:n]
	}
	return t
}

// layer returns the task's own copy of an opLayer's layer.
func (t *fastTask) layer(op *fastOp) nn.Layer {
	if l := t.layers[op]; l != nil {
		return l
	}
	if t.layers == nil {
		t.layers = map[*fastOp]nn.Layer{}
	}
	l, err := nn.CloneLayer(op.layer)
	invariant(err) // compileFast cloned it once already
	t.layers[op] = l
	return l
}
