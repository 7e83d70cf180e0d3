package snn

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// fastState is the fast engine's state: per spiking op, the populations of
// all samples in channels-last order, plus the time since the last reset.
type fastState struct {
	pop    map[int]*State    // by op index
	counts map[int][]float32 // spiking max-pools' spike counts, by op index: [batch × input frame]
	batch  int
}

// fastFrames is the number of frames of one sample that go through the
// plan at once: 8 (so that per-frame products fill whole 8-row tiles) when
// two such buffers fit a core's L2 cache, fewer for larger activations.
func (p *fastPlan) fastFrames(steps int) int {
	return max(1, min(steps, 8, (1<<17)/max(p.maxLen, 1)))
}

// runFast simulates input [batch, steps, ...] (NCHW frames) with per-sample
// tasks and returns the last stage's output [batch, steps, ...] (NCHW).
func (s *Simulator) runFast(ctx context.Context, input *tensor.Tensor, batch, steps int, result *tensor.Tensor) (*tensor.Tensor, error) {
	p := s.fast
	if s.fstate == nil || s.fstate.batch != batch {
		s.fstate = &fastState{pop: map[int]*State{}, counts: map[int][]float32{}, batch: batch}
		for i, op := range p.ops {
			switch op.kind {
			case opSpike:
				s.fstate.pop[i] = op.neuron.NewState(batch * op.outLen)
			case opSpikeMax:
				s.fstate.counts[i] = make([]float32, batch*op.inLen)
			}
		}
		s.t = 0
	}
	outShape := s.net.OutputShape()
	outLen := tensor.Numel(outShape)
	if result == nil {
		result = tensor.New(append([]int{batch, steps}, outShape...)...)
	}
	t0 := s.t
	var failed atomic.Bool
	var mu sync.Mutex
	parallel.Run(batch, func(b int) {
		tc := p.fastFrames(steps)
		t := p.task(tc)
		defer p.release(t)
		for i := range t.sums {
			clear(t.sums[i].sum)
		}
		defer s.flushSums(t, Chunk{Sample: b, Batch: 1, T0: t0, Steps: steps}, &mu)
		for c0 := 0; c0 < steps; c0 += tc {
			if failed.Load() || ctx.Err() != nil {
				failed.Store(true)
				return
			}
			n := min(tc, steps-c0)
			toEngine(&p.in, input.Data[(b*steps+c0)*p.inLen:(b*steps+c0+n)*p.inLen], t.bufs[0][:n*p.inLen], n)
			y := s.runOps(t, b, n, Chunk{Sample: b, Batch: 1, T0: t0 + c0, Steps: n}, &mu)
			toNCHW(&p.out, y, result.Data[(b*steps+c0)*outLen:(b*steps+c0+n)*outLen], n)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.t += steps
	return result, nil
}

// runOps pushes n frames of sample b (in the task's input slot) through
// every op and returns the last output (in one of the task's slots).
//
// An op whose inputs hold the same frame n times (a constant current, and
// every stateless op after it) computes the first frame only and copies
// it: the same values, up to n times cheaper.
func (s *Simulator) runOps(t *fastTask, b int, n int, c Chunk, mu *sync.Mutex) []float32 {
	p := s.fast
	if cap(t.constant) < len(p.ops)+1 {
		t.constant = make([]bool, len(p.ops)+1)
	}
	constant := t.constant[:len(p.ops)+1] // constant[j+1]: op j's output (0: the input)
	constant[0] = n > 1 && sameFrames(t.bufs[0][:n*p.inLen], n)
	for i := range p.ops {
		op := &p.ops[i]
		x := t.bufs[op.inSlot[0]][:n*op.inLen]
		y := t.bufs[op.slot][:n*op.outLen]
		constant[i+1] = false
		if n > 1 && op.kind != opSpike && op.kind != opSpikeMax {
			all := true
			for _, j := range op.srcs {
				all = all && constant[j+1]
			}
			if all {
				constant[i+1] = true
				if op.kind != opCopy {
					s.computeOp(t, op, i, b, 1, c, mu)
					for f := 1; f < n; f++ {
						copy(y[f*op.outLen:(f+1)*op.outLen], y[:op.outLen])
					}
				}
				if len(s.monitors) > 0 {
					s.notify(t, op, x, y, n, c, mu)
				}
				continue
			}
		}
		s.computeOp(t, op, i, b, n, c, mu)
		if len(s.monitors) > 0 {
			s.notify(t, op, x, y, n, c, mu)
		}
	}
	return t.bufs[p.outSlot][:n*p.out.n]
}

// scaleFrames sets y = f·x, eight values at a time (the factor in a
// register, no bounds checks in the loop).
func scaleFrames(y, x []float32, f float32) {
	y = y[:len(x)]
	m := len(x) &^ 7
	for k := 0; k < m; k += 8 {
		xs, ys := x[k:k+8:k+8], y[k:k+8:k+8]
		ys[0], ys[1], ys[2], ys[3] = f*xs[0], f*xs[1], f*xs[2], f*xs[3]
		ys[4], ys[5], ys[6], ys[7] = f*xs[4], f*xs[5], f*xs[6], f*xs[7]
	}
	for k := m; k < len(x); k++ {
		y[k] = f * x[k]
	}
}

// sameFrames reports whether the n frames of x are bit for bit the same.
func sameFrames(x []float32, n int) bool {
	size := len(x) / n
	first := x[:size]
	for f := 1; f < n; f++ {
		for k, v := range x[f*size : (f+1)*size] {
			if math.Float32bits(v) != math.Float32bits(first[k]) {
				return false
			}
		}
	}
	return true
}

// computeOp runs op i on n frames of sample b from its input slots into its
// output slot.
func (s *Simulator) computeOp(t *fastTask, op *fastOp, i, b, n int, c Chunk, mu *sync.Mutex) {
	{
		x := t.bufs[op.inSlot[0]][:n*op.inLen]
		y := t.bufs[op.slot][:n*op.outLen]
		switch op.kind {
		case opCopy:
		case opConv:
			s.convOp(op, t, x, y, n)
		case opPool:
			poolNHWC(op, x, y, n)
		case opBN:
			bnNHWC(op, x, y, n)
		case opAdd:
			addOp(op, t, y, n)
		case opCat:
			catOp(op, t, y, n)
		case opScale:
			scaleFrames(y, x, op.scale)
		case opNorm:
			normNHWC(op, x, y)
		case opGAP:
			gapNHWC(op, t, x, y, n)
		case opLayer:
			l := t.layer(op)
			t.nchwIn = grow32(t.nchwIn, n*tensor.Numel(op.in.shape))
			toNCHW(&op.in, x, t.nchwIn, n)
			out, err := l.Forward(&tensor.Tensor{Shape: append([]int{n}, op.in.shape...), Data: t.nchwIn}, false)
			invariant(err)
			toEngine(&op.out, out.Data, y, n)
		case opSpikeMax:
			size := op.inLen
			counts := s.fstate.counts[i][b*size : (b+1)*size]
			spikingMaxNHWC(op, t, counts, x, y, n)
		case opSpike:
			st := s.fstate.pop[i]
			size := op.outLen
			sub := State{V: st.V[b*size : (b+1)*size]}
			if st.I != nil {
				sub.I = st.I[b*size : (b+1)*size]
			}
			trace := len(s.states2) > 0
			if trace {
				t.trace = grow32(t.trace, n*size)
			}
			for f := 0; f < n; f++ {
				op.neuron.Step(&sub, x[f*size:(f+1)*size], y[f*size:(f+1)*size])
				if trace {
					copy(t.trace[f*size:(f+1)*size], sub.V)
				}
			}
			if trace {
				mu.Lock()
				v := s.observeTensor(t, &op.out, t.trace[:n*size], n, false)
				for _, m := range s.states2 {
					m.ObserveState(op.stage, v, c)
				}
				mu.Unlock()
			}
		}
	}
}

// sameLayout reports whether two layouts store a frame identically.
func sameLayout(a, b *layout) bool {
	if !tensor.SameShape(a.shape, b.shape) || a.cs != b.cs || a.n != b.n || (a.perm == nil) != (b.perm == nil) {
		return false
	}
	for i := range a.perm {
		if a.perm[i] != b.perm[i] {
			return false
		}
	}
	return true
}

// addOp sums the op's inputs into y in input order (as nn.Add), element
// by element through the index tables for an input stored otherwise.
func addOp(op *fastOp, t *fastTask, y []float32, n int) {
	y = y[:n*op.outLen]
	copy(y, t.bufs[op.inSlot[0]][:n*op.outLen])
	for k := 1; k < len(op.ins); k++ {
		l := &op.ins[k]
		x := t.bufs[op.inSlot[k]][:n*l.n]
		if sameLayout(l, &op.out) {
			_ = tensor.Add(y, x)
			continue
		}
		src, dst := l.table(), op.out.table()
		for f := 0; f < n; f++ {
			xf, yf := x[f*l.n:(f+1)*l.n], y[f*op.outLen:(f+1)*op.outLen]
			for i, e := range src {
				yf[dst[i]] += xf[e]
			}
		}
	}
}

// catOp joins the op's inputs on channels (spatial: per position, each
// input's channels at its offset) or end to end (flat).
func catOp(op *fastOp, t *fastTask, y []float32, n int) {
	clear(y)
	spatial := len(op.out.shape) == 3
	for k := range op.ins {
		l := &op.ins[k]
		x := t.bufs[op.inSlot[k]][:n*l.n]
		off := op.catOff[k]
		for f := 0; f < n; f++ {
			xf, yf := x[f*l.n:(f+1)*l.n], y[f*op.outLen:(f+1)*op.outLen]
			if spatial {
				c, positions := l.shape[0], l.shape[1]*l.shape[2]
				for pos := 0; pos < positions; pos++ {
					copy(yf[pos*op.out.cs+off:pos*op.out.cs+off+c], xf[pos*l.cs:pos*l.cs+c])
				}
				continue
			}
			for i, e := range l.table() {
				yf[off+i] = xf[e]
			}
		}
	}
}

// gapNHWC averages every channel of channels-last frames over its
// positions, summing in float64 in position order as nn.GlobalAvgPool2d
// does in NCHW (so the results are the same).
func gapNHWC(op *fastOp, t *fastTask, x, y []float32, n int) {
	cs := op.in.cs
	plane := op.in.shape[1] * op.in.shape[2]
	if cap(t.gap) < cs {
		t.gap = make([]float64, cs)
	}
	acc := t.gap[:cs]
	for f := 0; f < n; f++ {
		clear(acc)
		for pos := 0; pos < plane; pos++ {
			for ch, v := range x[f*op.inLen+pos*cs : f*op.inLen+(pos+1)*cs] {
				acc[ch] += float64(v)
			}
		}
		out := y[f*op.outLen : (f+1)*op.outLen]
		for ch, s := range acc {
			out[ch] = float32(s / float64(plane))
		}
	}
}

// normNHWC computes (x - mean) / std per channel on channels-last frames,
// as nn.Normalize does; padding lanes stay zero.
func normNHWC(op *fastOp, x, y []float32) {
	mean, std := op.norm.Mean.Value.Data, op.norm.Std.Value.Data
	c, cs := op.out.shape[0], op.out.cs
	for i, v := range x {
		ch := i % cs
		if ch >= c {
			y[i] = 0
			continue
		}
		k := 0
		if len(mean) > 1 {
			k = ch
		}
		y[i] = (v - mean[k]) / std[k]
	}
}

// spikingMaxNHWC runs n steps of a spiking max-pool over one sample's
// channels-last frames, as SpikingMaxPool.step does in NCHW: counts grow by
// each frame, and every output takes the frame's value at its window's
// highest count, the first such input in row-major order on a tie.
func spikingMaxNHWC(op *fastOp, t *fastTask, counts, x, y []float32, n int) {
	g := op.geom
	cs := g.C
	if cap(t.best) < cs {
		t.best, t.bestAt = make([]float32, cs), make([]int32, cs)
	}
	best, at := t.best[:cs], t.bestAt[:cs]
	for f := 0; f < n; f++ {
		frame := x[f*op.inLen : (f+1)*op.inLen]
		_ = tensor.Add(counts, frame)
		out := y[f*op.outLen : (f+1)*op.outLen]
		for oy := 0; oy < g.OH; oy++ {
			y0 := oy*g.SH - g.PH
			for ox := 0; ox < g.OW; ox++ {
				x0 := ox*g.SW - g.PW
				first := true
				for yy := max(y0, 0); yy < min(y0+g.KH, g.H); yy++ {
					for xx := max(x0, 0); xx < min(x0+g.KW, g.W); xx++ {
						pos := (yy*g.W + xx) * cs
						cnt := counts[pos : pos+cs]
						if first {
							copy(best, cnt)
							for ch := range at {
								at[ch] = int32(pos + ch)
							}
							first = false
							continue
						}
						for ch, v := range cnt {
							if v > best[ch] {
								best[ch], at[ch] = v, int32(pos+ch)
							}
						}
					}
				}
				d := out[(oy*g.OW+ox)*cs : (oy*g.OW+ox+1)*cs]
				for ch, e := range at {
					d[ch] = frame[e]
				}
			}
		}
	}
}

// notify hands one op's frames to the monitors that want them: input sums
// to InputSummers, raw channels-last frames to LayoutFree monitors, NCHW
// frames to the others.
func (s *Simulator) notify(t *fastTask, op *fastOp, x, y []float32, n int, c Chunk, mu *sync.Mutex) {
	var in, out *tensor.Tensor
	summed := false
	for _, m := range s.monitors {
		if sm, ok := m.(InputSummer); ok && sm.InputSum(op.stage) {
			if !summed {
				// Sum over the sample's frames in the task; handed over once
				// per Run by flushSums.
				acc := t.sumFor(op)
				for f := 0; f < n; f++ {
					_ = tensor.Add(acc, x[f*op.inLen:(f+1)*op.inLen])
				}
				summed = true
			}
			continue
		}
		if f, ok := m.(StageFilter); ok && !f.Observes(op.stage) {
			continue
		}
		var a, b *tensor.Tensor
		if _, free := m.(LayoutFree); free {
			a = &tensor.Tensor{Shape: append([]int{n}, op.in.shape...), Data: x}
			b = &tensor.Tensor{Shape: append([]int{n}, op.out.shape...), Data: y}
		} else {
			if in == nil {
				in = s.observeTensor(t, &op.in, x, n, true)
				out = s.observeTensor(t, &op.out, y, n, false)
			}
			a, b = in, out
		}
		mu.Lock()
		m.Observe(op.stage, a, b, c)
		mu.Unlock()
	}
}

// flushSums hands the input sums a task accumulated over a sample's run to
// the InputSummer monitors, in NCHW order.
func (s *Simulator) flushSums(t *fastTask, c Chunk, mu *sync.Mutex) {
	if len(t.sums) == 0 {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ps := range t.sums {
		size := tensor.Numel(ps.op.in.shape)
		t.sumN = grow32(t.sumN, size)
		toNCHW(&ps.op.in, ps.sum, t.sumN, 1)
		for _, m := range s.monitors {
			if sm, ok := m.(InputSummer); ok && sm.InputSum(ps.op.stage) {
				sm.ObserveInputSum(ps.op.stage, t.sumN[:size], c)
			}
		}
	}
}

// observeTensor returns frames in NCHW order for monitors, reusing a task
// buffer (first: the input buffer, else the output one).
func (s *Simulator) observeTensor(t *fastTask, l *layout, data []float32, n int, first bool) *tensor.Tensor {
	shape := append([]int{n}, l.shape...)
	if l.identity() {
		return &tensor.Tensor{Shape: shape, Data: data}
	}
	var buf *[]float32
	if first {
		buf = &t.nchwIn
	} else {
		buf = &t.nchwOu
	}
	*buf = grow32(*buf, n*tensor.Numel(l.shape))
	toNCHW(l, data, *buf, n)
	return &tensor.Tensor{Shape: shape, Data: *buf}
}

func grow32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// toEngine copies n NCHW frames into the engine's layout (padding zero).
func toEngine(l *layout, src, dst []float32, n int) {
	if l.identity() {
		copy(dst, src)
		return
	}
	idx := l.table()
	size := len(idx)
	for f := 0; f < n; f++ {
		s, d := src[f*size:(f+1)*size], dst[f*l.n:(f+1)*l.n]
		clear(d)
		for i, e := range idx {
			d[e] = s[i]
		}
	}
}

// toNCHW copies n frames from the engine's layout into NCHW order.
func toNCHW(l *layout, src, dst []float32, n int) {
	if l.identity() {
		copy(dst, src)
		return
	}
	idx := l.table()
	size := len(idx)
	for f := 0; f < n; f++ {
		s, d := src[f*l.n:(f+1)*l.n], dst[f*size:(f+1)*size]
		for i, e := range idx {
			d[i] = s[e]
		}
	}
}

// convOp runs a convolution or linear layer on n frames, dense or
// event-driven as the simulator's engine and the input's density decide.
func (s *Simulator) convOp(op *fastOp, t *fastTask, x, y []float32, n int) {
	event := s.engine == EngineEvent
	if s.engine == EngineAuto {
		// Event-driven pays below limit non-zero inputs; count no further.
		limit := int(float64(n) * (op.denseNs - op.eventFrameNs) / op.eventNs)
		event = limit >= 0 && tensor.CountNonzero(x[:n*op.inLen], limit) <= limit
	}
	o := op.outLen / len(op.rows) // output channel stride
	if event {
		ev := t.events[op]
		if ev == nil {
			if t.events == nil {
				t.events = map[*fastOp]eventProp{}
			}
			ev = op.newEvent()
			t.events[op] = ev
		}
		fillRows(y[:n*op.outLen], op.biasRow)
		for f := 0; f < n; f++ {
			invariant(ev.Apply(y[f*op.outLen:(f+1)*op.outLen], op.wevent, x[f*op.inLen:(f+1)*op.inLen]))
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
			_ = tensor.Add(y[r*o:(r+1)*o], op.biasRow)
		}
	}
}

// fillRows sets y to copies of row (zeros without one), by doubling
// copies: a few large moves instead of one per output position.
func fillRows(y, row []float32) {
	if row == nil {
		clear(y)
		return
	}
	k := copy(y, row)
	for k < len(y) {
		k += copy(y[k:], y[:k])
	}
}

// poolNHWC pools n channels-last frames, summing each window in row-major
// order like the NCHW layer (so results match it exactly).
func poolNHWC(op *fastOp, x, y []float32, n int) {
	g := op.geom
	scale := float32(1)
	if op.pool.Kind == nn.PoolAvg {
		scale = 1 / float32(g.KH*g.KW)
	}
	isMax := op.pool.Kind == nn.PoolMax
	c := g.C
	if !isMax && g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 {
		row := g.W * c
		for f := 0; f < n; f++ {
			in := x[f*op.inLen : (f+1)*op.inLen]
			out := y[f*op.outLen : (f+1)*op.outLen]
			for oy := 0; oy < g.OH; oy++ {
				invariant(tensor.Pool2x2(out[oy*g.OW*c:], in[2*oy*row:], in[(2*oy+1)*row:], g.OW, c, scale))
			}
		}
		return
	}
	for f := 0; f < n; f++ {
		in := x[f*op.inLen : (f+1)*op.inLen]
		out := y[f*op.outLen : (f+1)*op.outLen]
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				d := out[(oy*g.OW+ox)*c : (oy*g.OW+ox+1)*c]
				first := true
				for i := 0; i < g.KH; i++ {
					for j := 0; j < g.KW; j++ {
						s := in[((oy*g.SH+i)*g.W+ox*g.SW+j)*c : ((oy*g.SH+i)*g.W+ox*g.SW+j+1)*c]
						switch {
						case first:
							copy(d, s)
						case isMax:
							for k, v := range s {
								if v > d[k] {
									d[k] = v
								}
							}
						default:
							for k, v := range s {
								d[k] += v
							}
						}
						first = false
					}
				}
				if !isMax {
					for k := range d {
						d[k] *= scale
					}
				}
			}
		}
	}
}

// bnNHWC applies an evaluation-mode BatchNorm2d to channels-last frames with
// the same arithmetic as nn.BatchNorm2d.
func bnNHWC(op *fastOp, x, y []float32, n int) {
	bn := op.bn
	c := bn.Features
	cs := op.in.cs
	for i, v := range x[:n*op.inLen] {
		ch := i % cs
		if ch >= c {
			y[i] = 0 // padding stays zero
			continue
		}
		inv := 1 / math.Sqrt(float64(bn.RunningVar.Value.Data[ch])+bn.Eps)
		xh := float32((float64(v) - float64(bn.RunningMean.Value.Data[ch])) * inv)
		y[i] = xh*bn.Weight.Value.Data[ch] + bn.Bias.Value.Data[ch]
	}
}

// invariant panics on an error from a checked operation whose arguments the
// engine computed itself: such an error is a bug in snnkit, not bad input,
// and continuing would produce wrong spikes silently.
func invariant(err error) {
	if err != nil {
		panic("snn: internal error in the fast engine: " + err.Error())
	}
}
