package sim

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Chunk locates the frames a monitor receives: samples [Sample,
// Sample+Batch) of the simulated batch and time steps [T0, T0+Steps), T0
// counting from the last reset. Frames are laid out [Batch*Steps, ...] in
// (sample, step) order.
type Chunk struct {
	Sample, Batch, T0, Steps int
}

// Monitor observes a simulation: after a stage has processed a chunk,
// Observe receives the stage's input and output frames in the network's
// layout (NCHW). The simulator never calls a monitor concurrently, but the
// order of chunks of different samples is unspecified; monitors must not
// modify the tensors.
type Monitor interface {
	Observe(stage int, in, out *tensor.Tensor, c Chunk)
}

// StageFilter is implemented by monitors that watch only some stages; the
// simulator calls Observe only for those. It asks once per stage, when the
// monitor is added.
type StageFilter interface {
	Observes(stage int) bool
}

// InputSummer is implemented by monitors that need only, for some stages,
// the stage's input summed over the frames of a chunk (in NCHW order), such
// as synaptic-operation counters. The simulator calls ObserveInputSum
// instead of Observe for the stages InputSum reports (asked once per stage,
// when the monitor is added), which is much cheaper than handing over every
// frame.
type InputSummer interface {
	InputSum(stage int) bool
	ObserveInputSum(stage int, sum []float32, c Chunk)
}

// SpikeCounter is implemented by monitors that need only, for some
// spiking stages, the number of spikes in a chunk's frames (the sum of the
// stage's output), such as firing-rate counters. The simulator calls
// ObserveSpikes instead of Observe for the stages SpikeCount reports
// (asked once per stage, when the monitor is added); the fast engine
// counts while the neurons step, without another pass over their output.
type SpikeCounter interface {
	SpikeCount(stage int) bool
	ObserveSpikes(stage int, spikes float64, c Chunk)
}

// LayoutFree is implemented by monitors that only reduce over all values of
// the frames they receive (such as firing rates), so the fast engine can
// hand them its channels-last buffers without reordering. Such buffers may
// hold padding (zeros) beyond Numel(Shape) values.
type LayoutFree interface {
	LayoutFree()
}

// StateMonitor is a Monitor that also receives the membrane potential of
// every spiking stage after each step (v after spike, reset and floor, as
// sinabs records v_mem), laid out like the stage's output.
type StateMonitor interface {
	Monitor
	ObserveState(stage int, v *tensor.Tensor, c Chunk)
}

// DefaultChunkFrames is the number of frames (samples × time steps) the
// simulator pushes through each layer at once, fewer for networks whose
// stages hold more than chunkValues values a chunk.
const DefaultChunkFrames = 1024

// chunkValues bounds the stage outputs of one chunk: 2^24 float32, 64 MiB.
const chunkValues = 1 << 24

// Simulator runs spike trains through a Network. Each layer processes all
// frames of a chunk of time in one call (one large matrix product per
// layer), then each spiking population steps through the chunk's time steps
// in order. Results do not depend on the chunk size or on the number of
// threads: every frame is computed the same way and every neuron's time loop
// runs in order.
//
// State persists across calls to Run and Step, so a long input can be fed in
// pieces; call Reset between independent samples. A change of batch size
// resets the state.
type Simulator struct {
	net       *snn.Network
	layers    []nn.Layer       // per stage: a private copy of the layer (nil for spiking stages and joins)
	joins     []nn.Join        // per stage: a private copy of the join
	srcs      [][]int          // per stage: the stages it reads (-1: the input)
	delayed   [][]bool         // per stage and input: read one step late (a recurrent network)
	prev      []*tensor.Tensor // per stage read one step late: its output of the step before
	stageOut  []*tensor.Tensor
	counts    [][]float32  // per stage: a spiking max-pool's running spike counts [batch × inputs]
	states    []*snn.State // per stage: population state [batch × neurons] (nil for layers)
	outs      []tensor.Tensor
	batch     int
	t         int // time steps since the last reset
	chunk     int
	monitors  []Monitor
	watch     []stageWatch // per stage: the monitors that want it
	sumReader []int        // per op of the fast plan: the first op whose input sum a monitor wants and that reads its output, or -1 (sumReaders)
	stateMons []StateMonitor
	vtrace    tensor.Tensor
	frames    tensor.Tensor

	engine  Engine
	stepIn  tensor.Tensor
	stepOut tensor.Tensor
	fast    *fastPlan
	fstate  *fastState
	trusted bool
}

// SetTrustedInput skips the check for NaN and infinite input values, for
// callers whose input is finite by construction (encoded images).
func (s *Simulator) SetTrustedInput(trusted bool) { s.trusted = trusted }

// New returns a simulator for net running the fastest engine
// (EngineAuto). The layers are copied, so several simulators can run the
// same network concurrently.
func New(net *snn.Network) (*Simulator, error) {
	s := &Simulator{net: net, chunk: DefaultChunkFrames}
	// The reference engine holds every stage's output for a chunk of
	// frames: bound that to chunkValues floats for large networks.
	act := 0
	for _, st := range net.Stages {
		act += tensor.Numel(st.Out)
	}
	s.chunk = min(DefaultChunkFrames, max(1, chunkValues/max(act, 1)))
	var err error
	if s.srcs, s.delayed, err = net.DelayedSources(); err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	// A network with a stage the fast engine has no kernel for runs on
	// the reference engine, whatever engine is selected.
	if s.fast, err = compileFast(net); errors.Is(err, errNoFast) {
		s.fast = nil
	} else if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	s.layers = make([]nn.Layer, len(net.Stages))
	s.joins = make([]nn.Join, len(net.Stages))
	s.states = make([]*snn.State, len(net.Stages))
	s.outs = make([]tensor.Tensor, len(net.Stages))
	s.counts = make([][]float32, len(net.Stages))
	for i, st := range net.Stages {
		switch {
		case st.Layer != nil:
			if s.layers[i], err = nn.CloneLayer(st.Layer); err != nil {
				return nil, fmt.Errorf("simulator: stage %s: %w", st.Name, err)
			}
		case st.Join != nil:
			if s.joins[i], err = nn.CloneJoin(st.Join); err != nil {
				return nil, fmt.Errorf("simulator: stage %s: %w", st.Name, err)
			}
		}
	}
	return s, nil
}

// SetEngine selects the engine and resets the state.
func (s *Simulator) SetEngine(e Engine) {
	s.engine = e
	s.fstate = nil
	s.batch = 0
	s.Reset()
}

// Engine returns the selected engine.
func (s *Simulator) Engine() Engine { return s.engine }

// fastEngine reports whether runs go through the fast (channels-last)
// engine: every engine but EngineReference. Without SIMD kernels (pure Go)
// EngineAuto still does, its cost model then choosing event-driven layers
// wherever inputs are not nearly all non-zero.
func (s *Simulator) fastEngine() bool { return s.engine != EngineReference && s.fast != nil }

// SetChunkFrames sets how many frames go through a layer at once (at least
// the batch size is used). Smaller chunks use less memory.
func (s *Simulator) SetChunkFrames(n int) {
	s.chunk = max(n, 1)
}

// AddMonitor attaches a monitor. A StateMonitor also receives membrane
// potentials, which costs a copy of every spiking stage's state per step.
func (s *Simulator) AddMonitor(m Monitor) {
	s.monitors = append(s.monitors, m)
	if sm, ok := m.(StateMonitor); ok {
		s.stateMons = append(s.stateMons, sm)
	}
	s.sumReader = nil // sumReaders finds them again
	// What the monitor wants of each stage, resolved once for both engines.
	if len(s.watch) != len(s.net.Stages) {
		s.watch = make([]stageWatch, len(s.net.Stages))
	}
	for i := range s.watch {
		w := &s.watch[i]
		if sm, ok := m.(InputSummer); ok && sm.InputSum(i) {
			w.summers = append(w.summers, sm)
			continue
		}
		if sc, ok := m.(SpikeCounter); ok && sc.SpikeCount(i) {
			w.counters = append(w.counters, sc)
			continue
		}
		if f, ok := m.(StageFilter); ok && !f.Observes(i) {
			continue
		}
		if _, free := m.(LayoutFree); free {
			w.free = append(w.free, m)
		} else {
			w.frames = append(w.frames, m)
		}
	}
}

// stageWatch lists the monitors of one stage by what they want: its input
// summed over a chunk's frames per image (InputSummer), its frames as the
// engine stores them (LayoutFree), or its frames in NCHW order.
type stageWatch struct {
	summers      []InputSummer
	counters     []SpikeCounter
	free, frames []Monitor
}

// watched reports whether any monitor wants stage i.
func (w *stageWatch) watched() bool {
	return len(w.summers)+len(w.counters)+len(w.free)+len(w.frames) > 0
}

// Network returns the simulated network.
func (s *Simulator) Network() *snn.Network { return s.net }

// Reset sets every population's state back to its start (v = VInit·θ,
// zero by default) and the time back to 0.
func (s *Simulator) Reset() {
	s.t = 0
	if s.fstate != nil {
		// In parallel, in pieces: a batch's potentials are megabytes, and
		// a pass on one core left the others idle between batches.
		for i, st := range s.fstate.pop {
			n := s.fast.ops[i].(*spikeOp).neuron
			parallel.Chunks(len(st.V), stateChunk, func(lo, hi int) {
				part := snn.State{V: st.V[lo:hi]}
				if st.I != nil {
					part.I = st.I[lo:hi]
				}
				n.ResetState(&part)
			})
		}
		for _, c := range s.fstate.counts {
			clear(c)
		}
	}
	for i, st := range s.states {
		if st != nil {
			s.net.Stages[i].Neuron.ResetState(st)
		}
	}
	for _, c := range s.counts {
		clear(c)
	}
	for _, p := range s.prev {
		if p != nil {
			clear(p.Data)
		}
	}
}

func (s *Simulator) ensureState(batch int) {
	if batch == s.batch && s.states != nil {
		ok := true
		for i, st := range s.net.Stages {
			if st.Spiking() && s.states[i] == nil {
				ok = false
			}
		}
		if ok {
			return
		}
	}
	s.batch, s.t = batch, 0
	s.prev = nil // new ones, zero, for the new batch
	for i, st := range s.net.Stages {
		if st.Spiking() {
			s.states[i] = st.Neuron.NewState(batch * tensor.Numel(st.Out))
		}
		if st.MaxPool != nil {
			s.counts[i] = make([]float32, batch*tensor.Numel(st.In))
		}
	}
}

// Run feeds input [batch, T, ...input shape] and returns the output of the
// last stage, [batch, T, ...output shape], in a new tensor. It checks ctx
// between chunks.
func (s *Simulator) Run(ctx context.Context, input *tensor.Tensor) (*tensor.Tensor, error) {
	in := s.net.Input
	if len(input.Shape) != len(in)+2 || !tensor.SameShape(input.Shape[2:], in) {
		return nil, fmt.Errorf("simulator: input has shape %s, want [batch, time%s]", tensor.ShapeString(input.Shape), shapeTail(in))
	}
	batch, steps := input.Shape[0], input.Shape[1]
	if batch < 1 || steps < 1 {
		return nil, fmt.Errorf("simulator: input has shape %s: batch and time must be at least 1", tensor.ShapeString(input.Shape))
	}
	if !s.trusted {
		if err := input.CheckFinite(); err != nil {
			return nil, fmt.Errorf("simulator: input: %w", err)
		}
	}
	if s.fastEngine() {
		return s.runFast(ctx, input, batch, steps, nil)
	}
	s.ensureState(batch)
	outShape := s.net.OutputShape()
	result := tensor.New(append([]int{batch, steps}, outShape...)...)
	tc := max(1, min(steps, s.chunk/batch))
	if s.net.Recurrent() {
		tc = 1 // a step reads the step before's outputs
	}
	frameLen := tensor.Numel(in)
	outLen := tensor.Numel(outShape)
	for t0 := 0; t0 < steps; t0 += tc {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(tc, steps-t0)
		s.frames.Resize(append([]int{batch * n}, in...)...)
		for b := 0; b < batch; b++ {
			copy(s.frames.Data[b*n*frameLen:(b+1)*n*frameLen], input.Data[(b*steps+t0)*frameLen:(b*steps+t0+n)*frameLen])
		}
		out, err := s.chunkForward(&s.frames, batch, n)
		if err != nil {
			return nil, err
		}
		for b := 0; b < batch; b++ {
			copy(result.Data[(b*steps+t0)*outLen:(b*steps+t0+n)*outLen], out.Data[b*n*outLen:(b+1)*n*outLen])
		}
	}
	return result, nil
}

// Step feeds one time step, frame [batch, ...input shape], and returns the
// last stage's output [batch, ...output shape] (owned by the simulator,
// valid until the next call).
func (s *Simulator) Step(frame *tensor.Tensor) (*tensor.Tensor, error) {
	in := s.net.Input
	if len(frame.Shape) != len(in)+1 || !tensor.SameShape(frame.Shape[1:], in) || frame.Shape[0] < 1 {
		return nil, fmt.Errorf("simulator: frame has shape %s, want [batch%s]", tensor.ShapeString(frame.Shape), shapeTail(in))
	}
	if err := frame.CheckFinite(); err != nil {
		return nil, fmt.Errorf("simulator: frame: %w", err)
	}
	if s.fastEngine() {
		// One step is a run of length 1 into a reused output tensor.
		b := frame.Shape[0]
		s.stepIn.Shape = append(append(s.stepIn.Shape[:0], b, 1), in...)
		s.stepIn.Data = frame.Data
		s.stepOut.Resize(append([]int{b}, s.net.OutputShape()...)...)
		if _, err := s.runFast(context.Background(), &s.stepIn, b, 1, &s.stepOut); err != nil {
			return nil, err
		}
		return &s.stepOut, nil
	}
	s.ensureState(frame.Shape[0])
	return s.chunkForward(frame, frame.Shape[0], 1)
}

// CheckState reports the first spiking stage whose membrane potential or
// synaptic current is NaN or infinite: inputs, weights or neuron settings
// that overflow float32. A run that overflows otherwise goes on silently
// (an infinite potential gives no spikes after its first reset), so callers
// check after each run.
func (s *Simulator) CheckState() error {
	check := func(stage int, st *snn.State) error {
		for _, v := range [][]float32{st.V, st.I} {
			if allFinite(v) {
				continue
			}
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return fmt.Errorf("stage %s: a membrane potential or current is %v after %d steps: the input, the weights or the neuron settings overflow float32", s.net.Stages[stage].Name, x, s.t)
				}
			}
		}
		return nil
	}
	if s.fastEngine() && s.fstate != nil {
		// Pieces of every population's state checked in parallel (a batch's
		// states are megabytes: a pass on one core between batches, the
		// other waiting, took 0.04 s of a 1.9 s run of 1000 resnet_fmnist
		// images), then the first population with a bad piece named as
		// the serial check names it.
		type piece struct {
			op     int
			v      []float32
			finite bool
		}
		var pieces []piece
		for i := range s.fast.ops {
			if st := s.fstate.pop[i]; st != nil {
				for _, v := range [][]float32{st.V, st.I} {
					for lo := 0; lo < len(v); lo += stateChunk {
						pieces = append(pieces, piece{op: i, v: v[lo:min(lo+stateChunk, len(v))]})
					}
				}
			}
		}
		parallel.Run(len(pieces), func(k int) { pieces[k].finite = allFinite(pieces[k].v) })
		for _, p := range pieces {
			if !p.finite {
				return check(p.op, s.fstate.pop[p.op])
			}
		}
		return nil
	}
	for i, st := range s.states {
		if st != nil {
			if err := check(i, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// allFinite reports whether no element of v is NaN or infinite, from the
// exponent bits without a branch per element: an all-ones exponent plus
// one carries into the sign bit. (Checking element by element through
// math.IsNaN and math.IsInf took 4 % of a resnet_fmnist run.)
// stateChunk is the piece of a state array that Reset and CheckState
// give one task.
const stateChunk = 1 << 16

func allFinite(v []float32) bool {
	var acc uint32
	for len(v) >= 4 {
		w := v[:4:4]
		acc |= math.Float32bits(w[0])&0x7f800000 + 0x00800000
		acc |= math.Float32bits(w[1])&0x7f800000 + 0x00800000
		acc |= math.Float32bits(w[2])&0x7f800000 + 0x00800000
		acc |= math.Float32bits(w[3])&0x7f800000 + 0x00800000
		v = v[4:]
	}
	for _, x := range v {
		acc |= math.Float32bits(x)&0x7f800000 + 0x00800000
	}
	return acc&0x80000000 == 0
}

// Time returns the number of steps simulated since the last reset.
func (s *Simulator) Time() int { return s.t }

// chunkForward runs frames [batch*n, ...] (sample-major) through all stages
// and advances the time by n.
func (s *Simulator) chunkForward(x *tensor.Tensor, batch, n int) (*tensor.Tensor, error) {
	t0 := s.t
	s.t += n
	if len(s.stageOut) != len(s.net.Stages) {
		s.stageOut = make([]*tensor.Tensor, len(s.net.Stages))
	}
	input := x
	get := func(j int) *tensor.Tensor {
		if j < 0 {
			return input
		}
		return s.stageOut[j]
	}
	if s.net.Recurrent() && n != 1 {
		return nil, fmt.Errorf("simulator: a recurrent network runs one step at a time, not %d", n)
	}
	for i := range s.net.Stages {
		st := &s.net.Stages[i]
		x = get(s.srcs[i][0])
		var out *tensor.Tensor
		switch {
		case st.Spiking():
			out = &s.outs[i]
			out.Resize(append([]int{batch * n}, st.Out...)...)
			var trace *tensor.Tensor
			if len(s.stateMons) > 0 {
				trace = &s.vtrace
				trace.Resize(out.Shape...)
			}
			s.spikingStep(st.Neuron, s.states[i], x, out, trace, batch, n)
			for _, m := range s.stateMons {
				m.ObserveState(i, trace, Chunk{Batch: batch, T0: t0, Steps: n})
			}
		case st.MaxPool != nil:
			out = &s.outs[i]
			out.Resize(append([]int{batch * n}, st.Out...)...)
			if err := s.runMaxPool(i, x, out, batch, n); err != nil {
				return nil, fmt.Errorf("stage %s: %w", st.Name, err)
			}
		case st.Join != nil:
			xs := make([]*tensor.Tensor, len(s.srcs[i]))
			for k, j := range s.srcs[i] {
				xs[k] = get(j)
				if s.delayed[i][k] {
					xs[k] = s.prevOut(j, batch)
				}
			}
			var err error
			if out, err = s.joins[i].Forward(xs, false); err != nil {
				return nil, fmt.Errorf("stage %s: %w", st.Name, err)
			}
		default:
			var err error
			if out, err = s.layers[i].Forward(x, false); err != nil {
				return nil, fmt.Errorf("stage %s: %w", st.Name, err)
			}
		}
		s.stageOut[i] = out
		if len(s.watch) == 0 || !s.watch[i].watched() {
			continue
		}
		w := &s.watch[i]
		if len(w.summers) > 0 {
			size := len(x.Data) / (batch * n)
			for b := 0; b < batch; b++ {
				sum := make([]float32, size)
				for f := 0; f < n; f++ {
					invariant(tensor.Add(sum, x.Data[(b*n+f)*size:(b*n+f+1)*size]))
				}
				for _, sm := range w.summers {
					sm.ObserveInputSum(i, sum, Chunk{Sample: b, Batch: 1, T0: t0, Steps: n})
				}
			}
		}
		c := Chunk{Batch: batch, T0: t0, Steps: n}
		if len(w.counters) > 0 {
			spikes := tensor.Sum(out.Data)
			for _, sc := range w.counters {
				sc.ObserveSpikes(i, spikes, c)
			}
		}
		for _, ms := range [][]Monitor{w.free, w.frames} {
			for _, m := range ms {
				m.Observe(i, x, out, c)
			}
		}
	}
	// The outputs read one step late, kept for the next step.
	for j, p := range s.prev {
		if p != nil {
			copy(p.Data, s.stageOut[j].Data)
		}
	}
	return s.stageOut[len(s.net.Stages)-1], nil
}

// prevOut returns stage j's output of the step before, zeros at the first
// (after Reset or a change of batch).
func (s *Simulator) prevOut(j, batch int) *tensor.Tensor {
	if s.prev == nil {
		s.prev = make([]*tensor.Tensor, len(s.net.Stages))
	}
	if p := s.prev[j]; p == nil || p.Shape[0] != batch {
		s.prev[j] = tensor.New(append([]int{batch}, s.net.Stages[j].Out...)...)
	}
	return s.prev[j]
}

// spikingStep advances every sample's population through the n steps of the
// chunk, samples in parallel.
// With trace set, v after each step is copied into it.
func (s *Simulator) spikingStep(neuron *snn.Neuron, state *snn.State, x, out, trace *tensor.Tensor, batch, n int) {
	size := len(state.V) / batch
	parallel.Run(batch, func(b int) {
		sub := snn.State{V: state.V[b*size : (b+1)*size]}
		if state.I != nil {
			sub.I = state.I[b*size : (b+1)*size]
		}
		for t := 0; t < n; t++ {
			f := (b*n + t) * size
			neuron.Step(&sub, x.Data[f:f+size], out.Data[f:f+size])
			if trace != nil {
				copy(trace.Data[f:f+size], sub.V)
			}
		}
	})
}

func shapeTail(s []int) string {
	var b []byte
	for _, d := range s {
		b = fmt.Appendf(b, ", %d", d)
	}
	return string(b)
}
