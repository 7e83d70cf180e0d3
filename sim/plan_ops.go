package sim

import (
	"math"

	"github.com/snnkit/snnkit/internal/kernels"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// The steps of the plan other than weighted layers (plan_weighted.go).

// spikeOp is a spiking population.
type spikeOp struct {
	opBase
	neuron *snn.Neuron
	fused  *fusedJoin // the Add (and Scale) it steps itself, or nil
}

func (*spikeOp) stateful() {}

// run steps the image's population through n frames, handing the membrane
// potentials to the state monitors.
func (op *spikeOp) run(r *opRun, n int) {
	x, y, s, t := r.x(&op.opBase, n), r.y(&op.opBase, n), r.s, r.t
	st := s.fstate.pop[op.index]
	size := op.outLen
	sub := snn.State{V: st.V[r.b*size : (r.b+1)*size]}
	if st.I != nil {
		sub.I = st.I[r.b*size : (r.b+1)*size]
	}
	trace := len(s.stateMons) > 0
	if trace {
		t.trace = grow32(t.trace, n*size)
	}
	count := len(s.watch) > 0 && len(s.watch[op.index].counters) > 0
	var a, b []float32 // a fused join's inputs (fuseJoins)
	if r.fused {
		a, b = t.bufs[op.liveSlot[0]][:n*size], t.bufs[op.liveSlot[1]][:n*size]
	}
	stride := size // of the input frames: 0 when one stands for all
	if r.oneFrame {
		stride = 0
	}
	if !trace && op.neuron.StepsSum2() {
		// All the chunk's frames in one pass, the potentials in registers
		// (and the spike sums the synaptic-operation count wants).
		sum := op.presum(r)
		if r.fused {
			t.popSpikes[op.index] = op.neuron.StepFrames(&sub, a, size, b, op.fused.factor, y, n, sum)
		} else {
			t.popSpikes[op.index] = op.neuron.StepFrames(&sub, x, stride, nil, 0, y, n, sum)
		}
		return
	}
	spikes := 0.0
	for f := 0; f < n; f++ {
		yf := y[f*size : (f+1)*size]
		xf := x[f*stride : f*stride+size]
		switch {
		case r.fused:
			spikes += op.neuron.StepSum2(&sub, a[f*size:(f+1)*size], b[f*size:(f+1)*size], op.fused.factor, yf)
		case count:
			spikes += op.neuron.StepCount(&sub, xf, yf)
		default:
			op.neuron.Step(&sub, xf, yf)
		}
		if trace {
			copy(t.trace[f*size:(f+1)*size], sub.V)
		}
	}
	if r.fused || count {
		t.popSpikes[op.index] = spikes
	}
	if trace {
		r.mu.Lock()
		v := s.observeTensor(t, &op.out, t.trace[:n*size], n, false)
		for _, m := range s.stateMons {
			m.ObserveState(op.index, v, r.c)
		}
		r.mu.Unlock()
	}
}

// presum returns the accumulator of the input sum of the op that reads
// the population's output (Simulator.sumReaders), for the population to
// add its spikes to as it steps, and marks that sum done for this chunk;
// nil when no monitor wants one.
func (op *spikeOp) presum(r *opRun) []float32 {
	s, t := r.s, r.t
	j := s.sumReader[op.index]
	if j < 0 {
		return nil
	}
	acc, adds := t.sumFor(s.fast.ops[j].base())
	if !adds {
		return nil
	}
	t.presummed[op.index] = true
	return acc
}

// addOp sums its inputs (nn.Add).
type addOp struct {
	opBase
	direct []bool // per input: stored as the output is (a vector add)
}

// run sums the inputs in input order, as nn.Add does, element by element
// through the index tables for an input stored otherwise.
func (op *addOp) run(r *opRun, n int) {
	y := r.y(&op.opBase, n)
	first := 1
	if len(op.ins) > 1 && op.direct[1] {
		// The first two in one pass.
		invariant(tensor.Sum2(y, r.x(&op.opBase, n), r.input(&op.opBase, 1, n)))
		first = 2
	} else {
		copy(y, r.x(&op.opBase, n))
	}
	for k := first; k < len(op.ins); k++ {
		l := &op.ins[k]
		x := r.input(&op.opBase, k, n)
		if op.direct[k] {
			invariant(tensor.Add(y, x))
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

// catOp concatenates its inputs on channels (nn.Concat).
type catOp struct {
	opBase
	offs []int // each input's channel (spatial) or element (flat) offset
}

// run joins the inputs on channels (spatial: per position, each input's
// channels at its offset) or end to end (flat).
func (op *catOp) run(r *opRun, n int) {
	y := r.y(&op.opBase, n)
	clear(y)
	spatial := len(op.out.shape) == 3
	for k := range op.ins {
		l := &op.ins[k]
		x := r.input(&op.opBase, k, n)
		off := op.offs[k]
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

// maxPoolOp is a spiking max-pool (SpikingMaxPool).
type maxPoolOp struct {
	opBase
	geom tensor.ConvGeom // with padding and ceil mode; C is the channel stride
}

func (*maxPoolOp) stateful() {}

// run steps n frames of the image's spiking max-pool over channels-last
// frames, as SpikingMaxPool.step does in NCHW: the image's counts grow by
// each frame, and every output takes the frame's value at its window's
// highest count, the first such input in row-major order on a tie.
func (op *maxPoolOp) run(r *opRun, n int) {
	x, y, t := r.x(&op.opBase, n), r.y(&op.opBase, n), r.t
	counts := r.s.fstate.counts[op.index][r.b*op.inLen : (r.b+1)*op.inLen]
	g := op.geom
	cs := g.C
	if cap(t.best) < cs {
		t.best, t.bestAt = make([]float32, cs), make([]int32, cs)
	}
	best, at := t.best[:cs], t.bestAt[:cs]
	for f := 0; f < n; f++ {
		frame := x[f*op.inLen : (f+1)*op.inLen]
		invariant(tensor.Add(counts, frame))
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

// poolOp is unpadded average, sum or max pooling of analog values.
type poolOp struct {
	opBase
	pool *nn.Pool2d
	geom tensor.ConvGeom // C is the channel stride
}

// run pools n channels-last frames, summing each window in row-major order
// like the NCHW layer (so results match it exactly).
func (op *poolOp) run(r *opRun, n int) {
	x, y := r.x(&op.opBase, n), r.y(&op.opBase, n)
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

// bnOp is an evaluation-mode BatchNorm2d that was not folded.
type bnOp struct {
	opBase
	bn *nn.BatchNorm2d
}

// run applies the BatchNorm2d to channels-last frames with the same
// arithmetic as nn.BatchNorm2d.
func (op *bnOp) run(r *opRun, n int) {
	x, y := r.x(&op.opBase, n), r.y(&op.opBase, n)
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

// gapOp is global average pooling (nn.GlobalAvgPool2d).
type gapOp struct{ opBase }

// run averages every channel of channels-last frames over its positions,
// summing in float64 in position order as nn.GlobalAvgPool2d does in NCHW
// (so the results are the same).
func (op *gapOp) run(r *opRun, n int) {
	x, y, t := r.x(&op.opBase, n), r.y(&op.opBase, n), r.t
	cs := op.in.cs
	plane := op.in.shape[1] * op.in.shape[2]
	if cap(t.gap) < cs {
		t.gap = make([]float64, cs)
	}
	acc := t.gap[:cs]
	for f := 0; f < n; f++ {
		kernels.ChannelSums(acc, x[f*op.inLen:(f+1)*op.inLen], cs, plane)
		out := y[f*op.outLen : (f+1)*op.outLen]
		for ch, s := range acc {
			out[ch] = float32(s / float64(plane))
		}
	}
}

// normOp is per-channel input normalisation (nn.Normalize).
type normOp struct {
	opBase
	norm *nn.Normalize
}

// run computes (x - mean) / std per channel on channels-last frames, as
// nn.Normalize does; padding lanes stay zero.
func (op *normOp) run(r *opRun, n int) {
	x, y := r.x(&op.opBase, n), r.y(&op.opBase, n)
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

// scaleOp multiplies by a constant (nn.Scale).
type scaleOp struct {
	opBase
	factor float32
}

func (op *scaleOp) run(r *opRun, n int) {
	invariant(tensor.Scale(r.y(&op.opBase, n), r.x(&op.opBase, n), op.factor))
}

// layerOp runs a layer the engine has no channels-last kernel for (padded
// pooling, say) through its own NCHW Forward, on a copy per task.
type layerOp struct {
	opBase
	layer nn.Layer
}

func (op *layerOp) run(r *opRun, n int) {
	x, y, t := r.x(&op.opBase, n), r.y(&op.opBase, n), r.t
	l := t.layer(op)
	t.nchwIn = grow32(t.nchwIn, n*tensor.Numel(op.in.shape))
	toNCHW(&op.in, x, t.nchwIn, n)
	out, err := l.Forward(&tensor.Tensor{Shape: append([]int{n}, op.in.shape...), Data: t.nchwIn}, false)
	invariant(err)
	toEngine(&op.out, out.Data, y, n)
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
