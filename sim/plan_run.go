package sim

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// fastState is the fast engine's state: per spiking op, the populations of
// all samples in channels-last order, plus the time since the last reset.
type fastState struct {
	pop    map[int]*snn.State // by op index
	counts map[int][]float32  // spiking max-pools' spike counts, by op index: [batch × input frame]
	batch  int
}

// fastFrames is the number of frames of one sample that go through the
// plan at once: 8 (so that per-frame products fill whole 8-row tiles) when
// two such buffers fit a core's L2 cache, fewer for larger activations.
// (Chunks of half that size ran 3-9 % faster on resnet_fmnist with the
// position kernels of the day, and no faster once the row sweeps came.)
func (p *fastPlan) fastFrames(steps int) int {
	return max(1, min(steps, 8, (1<<17)/max(p.maxLen, 1)))
}

// runFast simulates input [batch, steps, ...] (NCHW frames) with per-sample
// tasks and returns the last stage's output [batch, steps, ...] (NCHW).
func (s *Simulator) runFast(ctx context.Context, input *tensor.Tensor, batch, steps int, result *tensor.Tensor) (*tensor.Tensor, error) {
	p := s.fast
	if s.fstate == nil || s.fstate.batch != batch {
		s.fstate = &fastState{pop: map[int]*snn.State{}, counts: map[int][]float32{}, batch: batch}
		for i, op := range p.ops {
			switch op := op.(type) {
			case *spikeOp:
				s.fstate.pop[i] = op.neuron.NewState(batch * op.outLen)
			case *maxPoolOp:
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
	s.sumReaders()
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
	r := &opRun{s: s, t: t, b: b, c: c, mu: mu}
	if cap(t.constant) < len(p.ops)+1 {
		t.constant = make([]bool, len(p.ops)+1)
	}
	constant := t.constant[:len(p.ops)+1] // constant[j+1]: op j's output (0: the input)
	constant[0] = n > 1 && sameFrames(t.bufs[0][:n*p.inLen], n)
	if len(t.skip) < len(p.ops) {
		t.skip, t.fuse = make([]bool, len(p.ops)), make([]bool, len(p.ops))
	}
	if len(t.oneFrame) < len(p.ops) {
		t.oneFrame = make([]bool, len(p.ops))
	}
	if len(t.presummed) < len(p.ops) {
		t.presummed = make([]bool, len(p.ops))
		t.popSpikes = make([]float64, len(p.ops))
	}
	for i := range t.popSpikes {
		t.popSpikes[i] = -1
	}
	skip, fuse, oneFrame := t.skip[:len(p.ops)], t.fuse[:len(p.ops)], t.oneFrame[:len(p.ops)]
	clear(skip)
	clear(fuse)
	clear(oneFrame)
	clear(t.presummed)
	for i, op := range p.ops {
		if sp, ok := op.(*spikeOp); ok && sp.fused != nil && s.fusionOn(sp) {
			fuse[i], skip[sp.fused.add] = true, true
			if sp.fused.scale >= 0 {
				skip[sp.fused.scale] = true
			}
		}
	}
	for i, op := range p.ops {
		o := op.base()
		constant[i+1] = false
		if skip[i] {
			continue // stepped by the population it feeds
		}
		r.fused = fuse[i]
		r.oneFrame = oneFrame[i]
		if _, keeps := op.(stateful); n > 1 && !keeps {
			all := true
			for _, j := range o.srcs {
				all = all && constant[j+1]
			}
			constant[i+1] = all
		}
		_, alias := op.(*aliasOp)
		switch {
		case alias:
		case constant[i+1]:
			if w, ok := op.(*weightedOp); ok {
				w.runCached(r)
			} else {
				op.run(r, 1)
			}
			if j := p.soleSpike[i]; j >= 0 && !fuse[j] && !s.framesWatched(i, false) && !s.framesWatched(j, true) {
				// Its only reader, a population, steps on the one
				// frame n times: no copies to write and read back.
				oneFrame[j] = true
				break
			}
			y := r.y(o, n)
			for f := 1; f < n; f++ {
				copy(y[f*o.outLen:(f+1)*o.outLen], y[:o.outLen])
			}
		default:
			op.run(r, n)
		}
		if len(s.watch) > 0 && s.watch[i].watched() {
			s.notify(t, o, r.x(o, n), r.y(o, n), n, c, mu)
		}
	}
	return t.bufs[p.outSlot][:n*p.out.n]
}

// fusionOn reports whether population sp steps its residual Add (and
// Scale) itself in this run: no monitor watches them, nor wants more of
// the population than its spike counts.
func (s *Simulator) fusionOn(sp *spikeOp) bool {
	if len(s.watch) == 0 {
		return true
	}
	f, w := sp.fused, &s.watch[sp.index]
	return !s.watch[f.add].watched() && (f.scale < 0 || !s.watch[f.scale].watched()) &&
		len(w.summers)+len(w.free)+len(w.frames) == 0
}

// notify hands one op's frames to the monitors that want them: input sums
// to InputSummers, raw channels-last frames to LayoutFree monitors, NCHW
// frames to the others.
func (s *Simulator) notify(t *fastTask, op *opBase, x, y []float32, n int, c Chunk, mu *sync.Mutex) {
	w := &s.watch[op.index]
	if len(w.summers) > 0 {
		// Sum over the sample's frames in the task (unless the population
		// that fires them summed them as it stepped: spikeOp.presum);
		// handed over once per Run by flushSums.
		if acc, adds := t.sumFor(op); adds && (op.srcs[0] < 0 || !t.presummed[op.srcs[0]]) {
			invariant(tensor.AddFrames(acc, x[:n*op.inLen]))
		}
	}
	if len(w.free)+len(w.frames)+len(w.counters) == 0 {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	for _, sc := range w.counters {
		sc.ObserveSpikes(op.index, t.popSpikes[op.index], c)
	}
	if len(w.free) > 0 {
		a := &tensor.Tensor{Shape: append([]int{n}, op.in.shape...), Data: x}
		b := &tensor.Tensor{Shape: append([]int{n}, op.out.shape...), Data: y}
		for _, m := range w.free {
			m.Observe(op.index, a, b, c)
		}
	}
	if len(w.frames) > 0 {
		a := s.observeTensor(t, &op.in, x, n, true)
		b := s.observeTensor(t, &op.out, y, n, false)
		for _, m := range w.frames {
			m.Observe(op.index, a, b, c)
		}
	}
}

// sumReaders finds, for every op of the fast plan, the first op that
// reads its output as its (first) input, of the same size, and whose input
// sum an InputSummer wants: a population stepping through a chunk adds its
// spikes to that sum itself (spikeOp.presum).
func (s *Simulator) sumReaders() {
	p := s.fast
	if len(s.sumReader) == len(p.ops) {
		return
	}
	s.sumReader = make([]int, len(p.ops))
	for i := range s.sumReader {
		s.sumReader[i] = -1
	}
	if len(s.watch) == 0 {
		return
	}
	for j, op := range p.ops {
		o := op.base()
		if len(o.srcs) == 0 || len(s.watch[o.index].summers) == 0 {
			continue
		}
		if src := o.srcs[0]; src >= 0 && s.sumReader[src] < 0 && p.ops[src].base().outLen == o.inLen {
			s.sumReader[src] = j
		}
	}
}

// flushSums hands the input sums a task accumulated over a sample's run to
// the InputSummer monitors, in NCHW order.
func (s *Simulator) flushSums(t *fastTask, c Chunk, mu *sync.Mutex) {
	if len(t.sums) == 0 {
		return
	}
	// In NCHW order first, outside the lock the other tasks' flushes
	// wait on.
	total := 0
	for _, ps := range t.sums {
		total += tensor.Numel(ps.ops[0].in.shape)
	}
	t.sumN = grow32(t.sumN, total)
	off := 0
	for _, ps := range t.sums {
		in := &ps.ops[0].in
		size := tensor.Numel(in.shape)
		toNCHW(in, ps.sum, t.sumN[off:off+size], 1)
		off += size
	}
	mu.Lock()
	defer mu.Unlock()
	off = 0
	for _, ps := range t.sums {
		size := tensor.Numel(ps.ops[0].in.shape)
		for _, op := range ps.ops {
			for _, sm := range s.watch[op.index].summers {
				sm.ObserveInputSum(op.index, t.sumN[off:off+size], c)
			}
		}
		off += size
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
		buf = &t.nchwOut
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

// framesWatched reports whether a monitor reads op i's frames, input and
// output (or, with input set, sums its input): then they must all be
// there. A sum of op i's input (a synaptic-operation count) does not need
// its output's frames.
func (s *Simulator) framesWatched(i int, input bool) bool {
	if len(s.watch) == 0 {
		return false
	}
	w := &s.watch[i]
	n := len(w.free) + len(w.frames)
	if input {
		n += len(w.summers)
	}
	return n > 0
}

// runCached computes one frame of a weighted op whose input is constant,
// or copies it from the task's cache when the input frame is the one of the
// chunk before (bit for bit): a constant current's first layer then runs
// once per image, not once per chunk of time.
func (op *weightedOp) runCached(r *opRun) {
	x, y := r.x(&op.opBase, 1), r.y(&op.opBase, 1)
	c := r.t.cached[op]
	if c != nil && sameBits(c.in, x) {
		copy(y, c.out)
		return
	}
	op.run(r, 1)
	if c == nil {
		if r.t.cached == nil {
			r.t.cached = map[*weightedOp]*frameCache{}
		}
		c = &frameCache{in: make([]float32, len(x)), out: make([]float32, len(y))}
		r.t.cached[op] = c
	}
	copy(c.in, x)
	copy(c.out, y)
}

// frameCache is a weighted op's last constant input frame and its output.
type frameCache struct{ in, out []float32 }

// sameBits reports whether a and b hold the same float32 bits.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if math.Float32bits(v) != math.Float32bits(b[k]) {
			return false
		}
	}
	return true
}

// sameFrames reports whether the n frames of x are bit for bit the same.
func sameFrames(x []float32, n int) bool {
	size := len(x) / n
	for f := 1; f < n; f++ {
		if !sameBits(x[:size], x[f*size:(f+1)*size]) {
			return false
		}
	}
	return true
}

// invariant panics on an error from a checked operation whose arguments the
// engine computed itself: such an error is a bug in snnkit, not bad input,
// and continuing would produce wrong spikes silently.
func invariant(err error) {
	if err != nil {
		panic("snn: internal error: " + err.Error())
	}
}
