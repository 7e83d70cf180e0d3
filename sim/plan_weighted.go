package sim

import (
	"github.com/snnkit/snnkit/internal/event"
	"github.com/snnkit/snnkit/internal/kernels"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// weightedOp is a Conv2d or a Linear layer (a linear layer is a 1×1
// "convolution" of one position): a dense direct convolution over offset
// tables, and event propagation by one of three forms.
type weightedOp struct {
	opBase

	// dense: per group, a product of the frames' patches with packed
	// weights, written at output channel offset g·outCh/groups
	rows     []int // per output position of one frame: offset of its patch in the (padded) input frame
	koffs    []int // the first group's depth offsets (gkoffs[0])
	packed   []float32
	groups   int
	gkoffs   [][]int
	gpacked  [][]float32
	bias     []float32
	biasRow  []float32 // the bias padded to the output channel stride
	outCh    int
	frameLen int      // floats per (padded) input frame
	pad      *padSpec // zero padding copy for dense convolutions

	// events
	event        int       // how events propagate (eventForm): eventScatter or eventGather
	wevent       []float32 // event weights: a row of the output channel stride per (input channel, tap) for eventScatter, per (tap, input channel) for eventGather
	taps         []int32   // eventScatter: (out offset, weight offset) pairs per input element
	tapIdx       []int32   // eventScatter: input element i has taps tapIdx[i] to tapIdx[i+1]-1
	winK         int       // eventScatter window path (stride 1): kernel size
	winOW        int       // output width
	winBase      []int32   // per input position: output offset of tap (0, 0), or -1 near the border
	posWin       bool      // eventScatter by positions (event.PositionScatterer); else one input channel's window (event.Scatterer.SetWindow)
	posGeom      event.PosGeometry
	pcs          int     // eventGather: channels per input position
	gsegs        []int32 // eventGather: item stream (event.Gatherer)
	gitems       int
	tapsPerInput float64          // taps an input element reaches on average
	reach        float64          // the share of input positions that reach an output
	newEvent     func() eventProp // a propagator with its own work buffers

	// table convolution of spike counts (event.Table), where it fits in
	// cache: the event engines' other form, chosen per chunk by cost
	table   *event.Table
	tableNs float64 // one frame by table

	// cost model (auto)
	denseNs      float64 // one frame dense
	eventNs      float64 // one non-zero input
	eventFrameNs float64 // one frame event-driven, before its events
}

// padSpec describes the zero-padded copy of a frame a dense convolution
// reads: c channels of h×w placed at (ph, pw) in a frame of hp×wp.
type padSpec struct{ c, h, w, ph, pw, hp, wp int }

// propagators checks the event tables once and prepares the propagators
// tasks copy.
func (op *weightedOp) propagators() error {
	ch := op.outLen / len(op.rows)
	switch op.event {
	case eventGather:
		g, err := event.NewGatherer(op.pcs, op.inLen/op.pcs, ch, op.gsegs, op.gitems, op.outLen, len(op.wevent))
		if err != nil {
			return err
		}
		op.newEvent = func() eventProp { return g.Clone() }
		return nil
	}
	if op.posWin {
		ps, err := event.NewPositionScatterer(op.posGeom, op.in.cs, op.in.shape[0], ch, op.outLen, len(op.wevent))
		if err != nil {
			return err
		}
		op.newEvent = func() eventProp { return ps.Clone() }
		return nil
	}
	sc, err := event.NewScatterer(op.taps, op.tapIdx, ch, op.outLen, len(op.wevent))
	if err != nil {
		return err
	}
	if op.winBase != nil {
		if err := sc.SetWindow(op.winK, op.winOW, op.winBase); err != nil {
			return err
		}
	}
	op.newEvent = func() eventProp { return sc.Clone() }
	return nil
}

// tableMaxFloats bounds a table convolution's table (256 KiB): a table
// that does not stay in a core's L2 cache costs more than it saves.
const tableMaxFloats = 1 << 16

// gatherGroupBytes bounds the weights one group of gathered kernel rows
// reads (BenchmarkGatherConv2: groups of ~25 KB were fastest on a 48 KB
// L1 data cache).
const gatherGroupBytes = 32 << 10

// compileConv prepares a convolution in channels-last layout: dense offsets
// and packed weights (depth order i, j, c; one set per group) and event
// taps. Grouped and dilated convolutions propagate events one by one.
func (op *weightedOp) compileConv(l *nn.Conv2d, in, out []int) {
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
	op.outCh, op.groups = o, groups
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
	// Square kernels with a position kernel (event.PositionScatterer: row
	// sweeps for 3×3 with padding 1 at strides 1 and 2, positions for the
	// others it has) go by positions, all of a position's channels summed
	// per tap in registers: gathering spends more on walking its runs,
	// three per output whose lengths the branch predictor cannot know.
	// On resnet_fmnist the row sweeps took the 16-channel layers to 9-10
	// µs a frame (23 by positions with the border event by event); the
	// rest gathers.
	pg := event.PosGeometry{H: h, W: w, OH: oh, OW: ow, K: kh, S: sh, PH: ph, PW: pw}
	posWin := !general && cs > 1 && kh == kw && sh == sw && (event.HasPositionKernel(kh, sh, os) || event.SweepsRows(pg, c, os) || event.Pointwise(pg, c, os))
	if general || posWin {
		op.event = eventScatter
	}
	g := event.ConvGeometry{H: h, W: w, OH: oh, OW: ow, KH: kh, KW: kw, SH: sh, SW: sw, PH: ph, PW: pw, DH: dh, DW: dw}
	op.tapsPerInput, op.reach = g.TapsPerPosition()
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
		// outside the channel's group), so every update is whole vectors;
		// the position kernels' zero channels after the last
		// (event.WeightChannels).
		chans := c
		if posWin {
			chans = event.WeightChannels(pg, c, os)
		}
		op.wevent = make([]float32, chans*kh*kw*os)
		for ch := 0; ch < c; ch++ {
			for t := 0; t < kh*kw; t++ {
				for oc := 0; oc < o; oc++ {
					op.wevent[(ch*kh*kw+t)*os+oc] = weight(ch, oc, t)
				}
			}
		}
		op.winK, op.winOW = kh, ow
		if posWin {
			op.posWin = true
			op.posGeom = pg
			break
		}
		if !general && c == 1 && cs == 1 && kh == kw && sh == 1 && sw == 1 && event.HasWindowKernel(kh, os) {
			// Inputs whose taps all land inside the output skip the tables:
			// output (y+ph-i, x+pw-j) for tap (i, j).
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
						g.ForTaps(y, x, func(t, o int) {
							op.taps = append(op.taps, int32(o*os), int32((ch*kh*kw+t)*os))
						})
					}
					op.tapIdx[e+1] = int32(len(op.taps) / 2)
				}
			}
		}
	}
	op.inLen, op.outLen = op.in.n, op.out.n
	if op.spikes && groups == 1 && event.HasTableKernel(cs, os) {
		geom := event.ConvGeometry{H: h, W: w, OH: oh, OW: ow, KH: kh, KW: kw, SH: sh, SW: sw, PH: ph, PW: pw, DH: dh, DW: dw}
		if event.TableFloats(geom, cs, os) <= tableMaxFloats {
			tb, err := event.NewTable(geom, cs, c, os, func(ch, t int, row []float32) {
				for oc := range o {
					row[oc] = weight(ch, oc, t)
				}
			})
			invariant(err)
			op.table = tb
		}
	}
	op.costs(len(op.rows), k, ncol)
	if groups > 1 {
		op.denseNs = (op.denseNs-100)*float64(groups) + 100
	}
}

// compileLinear prepares a linear layer as a 1×1 "convolution" of one
// position whose depth offsets follow the input's layout.
func (op *weightedOp) compileLinear(l *nn.Linear) {
	in := &op.in
	ni, no := l.Config.In, l.Config.Out
	np := op.out.n // outputs padded to whole vectors
	op.outCh, op.frameLen = no, in.n
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
// (event.Scatterer or event.Gatherer).
type eventProp interface {
	Apply(out, w, x []float32) error
}

// Event forms of a weighted layer (weightedOp.event).
const (
	eventScatter = iota // event by event (event.Scatterer)
	eventGather         // output by output (event.Gatherer)
)

// eventForm chooses how the events of a weighted layer with cs channels per
// input position, outputs of os channels and inLen inputs per frame
// propagate: positions of several channels are gathered where a SIMD
// kernel covers the output width (entries name weight rows by int32
// offsets up to inputs × channels); one-channel positions, and everything
// without SIMD, go event by event.
func eventForm(cs, os, inLen int) int {
	if cs >= 8 && event.HasGatherKernel(os) && int64(inLen)*int64(os) < 1<<31 {
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
func (op *weightedOp) costs(rows, depth, ch int) {
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
	case op.posWin && (event.SweepsRows(op.posGeom, op.in.shape[0], ch) || event.Pointwise(op.posGeom, op.in.shape[0], ch)):
		// Row sweeps and pointwise convolutions find the non-zero inputs
		// themselves: about 0.15 ns per input of the positions that reach
		// the output, then per non-zero input 0.3 ns and 0.5 ns per
		// vector of each tap (BenchmarkPositionScatterer at 0, 10 and 40 %
		// density: 16-channel rows at 28×28 2.0 µs empty, 7.2 at 10 %).
		op.eventFrameNs = 20 + 0.15*float64(op.inLen)*op.reach
		op.eventNs = 0.3*op.reach + 0.5*tapsPerInput*float64(ch/16)
	case op.posWin:
		// By position classes: only positions that reach the output are
		// listed; per listed non-zero input about 1.5 ns and 0.55 ns per
		// vector of each tap.
		op.eventFrameNs = 20 + 0.1*float64(op.inLen)*op.reach
		op.eventNs = 1.5*op.reach + 0.55*tapsPerInput*float64(ch/16)
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
	case !event.HasScatterKernel(ch): // pure-Go event propagation
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
	if op.table != nil {
		// The bitmap, about 0.15 ns per input, and 1 ns per 16-float row
		// added (BenchmarkTable: 0.74 on resnet_fmnist's 3×3 layers, where
		// the table already spills from L1; inside the engine, with the
		// input frame in L2, its shortcuts took 2.2-4 µs a frame).
		op.tableNs = 50 + 0.15*float64(op.inLen) + 1.0*float64(op.table.Lookups()*(ch/16))
	}
}

// run computes n frames, dense or event-driven as the simulator's engine
// and the input's density decide.
func (op *weightedOp) run(r *opRun, n int) {
	spikes := -1.0
	if src := op.srcs[0]; src >= 0 {
		spikes = r.t.popSpikes[src]
	}
	op.compute(r.s.engine, r.t, r.x(&op.opBase, n), r.y(&op.opBase, n), n, spikes)
}

// compute runs the layer on n frames x into y with task t's buffers.
// spikes, when not negative, are the chunk's input spikes as the
// population that fired them counted them: what auto chooses its form by,
// and, per frame and input position, a row sweep its slots.
func (op *weightedOp) compute(engine Engine, t *fastTask, x, y []float32, n int, spikes float64) {
	form := formDense
	switch {
	case engine == engineTables && op.table != nil:
		form = formTable
	case engine == EngineEvent || engine == engineTables:
		form = formEvent
	}
	if engine == EngineAuto || (engine == EngineEvent && op.table != nil) {
		// Event-driven pays below limit non-zero inputs a frame. The
		// spikes a population counted as it fired them decide; other
		// inputs are counted, no further than the limit, in the chunk's
		// first and last frames only (the density of spike trains changes
		// slowly from step to step; counting every frame left auto 1-10 %
		// behind event on resnet_fmnist). The event engine's other form is
		// the table, auto's the cheaper of the table and dense.
		other, otherNs := formDense, op.denseNs
		if op.table != nil && (engine == EngineEvent || op.tableNs < op.denseNs) {
			other, otherNs = formTable, op.tableNs
		}
		limit := int((otherNs - op.eventFrameNs) / op.eventNs)
		form = other
		if spikes >= 0 {
			// A spike of 2 counts twice: an input a little denser than
			// it is, against the limit of its frames.
			if limit >= 0 && spikes <= float64(limit)*float64(n) {
				form = formEvent
			}
		} else {
			count := tensor.CountNonzero(x[:op.inLen], limit+1)
			if n > 1 {
				count += tensor.CountNonzero(x[(n-1)*op.inLen:n*op.inLen], limit+1)
				limit *= 2
			}
			if limit >= 0 && count <= limit {
				form = formEvent
			}
		}
	}
	o := op.outLen / len(op.rows) // output channel stride
	switch form {
	case formEvent:
		ev := t.events[op]
		if ev == nil {
			if t.events == nil {
				t.events = map[*weightedOp]eventProp{}
			}
			ev = op.newEvent()
			t.events[op] = ev
		}
		if ps, ok := ev.(*event.PositionScatterer); ok {
			mean := -1.0
			if spikes >= 0 {
				mean = spikes / float64(n*op.posGeom.H*op.posGeom.W)
			}
			ps.SetDensity(mean)
		}
		if bs, ok := ev.(biasSetter); ok {
			for f := 0; f < n; f++ {
				invariant(bs.SetBias(y[f*op.outLen:(f+1)*op.outLen], op.wevent, op.biasRow, x[f*op.inLen:(f+1)*op.inLen]))
			}
			return
		}
		kernels.FillRows(y[:n*op.outLen], op.biasRow)
		for f := 0; f < n; f++ {
			invariant(ev.Apply(y[f*op.outLen:(f+1)*op.outLen], op.wevent, x[f*op.inLen:(f+1)*op.inLen]))
		}
		return
	case formTable:
		tb := t.tables[op]
		if tb == nil {
			if t.tables == nil {
				t.tables = map[*weightedOp]*event.Table{}
			}
			tb = op.table.Clone()
			t.tables[op] = tb
		}
		kernels.FillRows(y[:n*op.outLen], op.biasRow)
		for f := 0; f < n; f++ {
			invariant(tb.Apply(y[f*op.outLen:(f+1)*op.outLen], x[f*op.inLen:(f+1)*op.inLen]))
		}
		return
	}
	src := x
	if op.pad != nil {
		t.padded = grow32(t.padded, n*op.frameLen)
		clear(t.padded)
		pd := op.pad
		for f := 0; f < n; f++ {
			for yy := 0; yy < pd.h; yy++ {
				copy(t.padded[f*op.frameLen+((yy+pd.ph)*pd.wp+pd.pw)*pd.c:], x[f*op.inLen+yy*pd.w*pd.c:f*op.inLen+(yy+1)*pd.w*pd.c])
			}
		}
		src = t.padded
	}
	rows := len(op.rows)
	if cap(t.rows) < n*rows {
		t.rows = make([]int, n*rows)
	}
	t.rows = t.rows[:n*rows]
	for f := 0; f < n; f++ {
		for r, off := range op.rows {
			t.rows[f*rows+r] = f*op.frameLen + off
		}
	}
	if op.groups > 1 {
		// One product per group, each writing its own output channels.
		og := op.outCh / op.groups
		if og*op.groups < o {
			clear(y) // the padded output channels
		}
		for g := range op.groups {
			invariant(tensor.ConvRowsSerial(n*rows, og, src, t.rows, op.gkoffs[g], op.gpacked[g], y[g*og:], o, false))
		}
	} else {
		invariant(tensor.ConvRowsSerial(n*rows, o, src, t.rows, op.koffs, op.packed, y, o, false))
	}
	if op.bias != nil {
		for r := 0; r < n*rows; r++ {
			invariant(tensor.Add(y[r*o:(r+1)*o], op.biasRow))
		}
	}
}

// biasSetter is an event propagator that sets its output frame to the
// bias plus the frame's contribution itself (event.PositionScatterer),
// faster than a fill and an Apply.
type biasSetter interface {
	SetBias(out, w, bias, x []float32) error
}

// The forms of a weighted layer's frame.
const (
	formDense = iota
	formEvent
	formTable
)
