package sim

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/snnkit/snnkit/internal/event"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Engine selects how a Simulator computes.
type Engine int

// Engines. All give the same spikes on networks whose sums are exact (such
// as weights that are multiples of 1/64); see ../README for how rarely
// summation order changes a spike otherwise.
const (
	// EngineAuto runs the fast engine and picks, for every weighted layer,
	// sample and chunk of time, dense, event-driven or table computation
	// (see EngineEvent) from the density of the layer's input (in the
	// chunk's first and last frames) and a cost model of this machine's
	// kernels (AVX-512, AVX2 or pure Go).
	EngineAuto Engine = iota
	// EngineDense runs the fast engine with every weighted layer dense: one
	// direct convolution (or matrix product) over all frames of a chunk.
	EngineDense
	// EngineEvent runs the fast engine with every weighted layer
	// event-driven: only non-zero inputs are propagated. A convolution of
	// spike counts whose look-up table fits in cache may instead add, per
	// output, the table's precomputed weight sums for its window's spike
	// pattern (event.Table), in the chunks where the cost model finds that
	// cheaper than the chunk's events.
	EngineEvent
	// EngineReference runs the layers of the converted network one time
	// step at a time (NCHW, batched over samples): the plainest engine, the
	// one the others are checked against.
	EngineReference
)

// engineTables is EngineEvent with every table convolution taken (tests).
const engineTables Engine = 100

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

// planOp is one step of the dense and event engines' plan (the channels-
// last "fast" engines): a layer, join or population applied to the frames
// of one image. Each kind of step is its own type.
type planOp interface {
	base() *opBase
	// run computes n frames of the running image from the op's input
	// slots into its output slot.
	run(r *opRun, n int)
}

// opBase is what every step has: where it sits in the network and the
// graph, and how its frames are stored.
type opBase struct {
	index  int // in the plan, which is also the stage index
	inLen  int
	outLen int
	in     layout // the first input's layout
	out    layout

	// The graph: the ops whose outputs this op reads (-1: the network's
	// input), their layouts, and the buffers (slots of a task) the inputs
	// and the output live in. An aliasOp shares its input's slot.
	srcs   []int
	ins    []layout
	inSlot []int
	slot   int

	// spikes: the first input holds spike counts (the output of a
	// population, or a spiking max-pool or a view of one), which a
	// table convolution takes.
	spikes bool

	// liveSrcs are further ops whose outputs this op may read (a
	// population that steps a residual Add's inputs itself), kept alive by
	// the slot assignment, in the slots liveSlot.
	liveSrcs []int
	liveSlot []int
}

func (o *opBase) base() *opBase { return o }

// stateful is implemented by ops whose output depends on earlier frames
// (populations, spiking max-pools): they never take the constant-frame
// shortcut.
type stateful interface{ stateful() }

// opRun is what an op needs while it runs: the simulator (engine, state,
// monitors), the worker's task, the image and its chunk of time.
type opRun struct {
	s  *Simulator
	t  *fastTask
	b  int // the image's index in the batch
	c  Chunk
	mu *sync.Mutex

	fused bool // the population running steps its residual Add (fuseJoins)
	// oneFrame: the op's input holds one frame that stands for all n (a
	// constant output not copied, plan.soleSpike).
	oneFrame bool
}

// x returns the op's first input, n frames.
func (r *opRun) x(o *opBase, n int) []float32 { return r.t.bufs[o.inSlot[0]][:n*o.inLen] }

// input returns the op's input k, n frames.
func (r *opRun) input(o *opBase, k, n int) []float32 {
	return r.t.bufs[o.inSlot[k]][:n*o.ins[k].n]
}

// y returns the op's output, n frames.
func (r *opRun) y(o *opBase, n int) []float32 { return r.t.bufs[o.slot][:n*o.outLen] }

// aliasOp is Flatten, Identity or Dropout: the data stays where it is (in
// its input's slot) and only the layout changes.
type aliasOp struct{ opBase }

func (*aliasOp) run(*opRun, int) {}

// fastPlan is a Network compiled for the dense and event engines.
type fastPlan struct {
	ops     []planOp
	in      layout
	out     layout
	maxLen  int // floats of the largest activation of one frame
	inLen   int
	slots   int // task buffers (slot 0 holds the input)
	outSlot int
	mu      sync.Mutex
	tasks   []*fastTask // idle work buffers, kept across runs (at most one per worker in use)
	// soleSpike[i] is the population that is the only reader of op i's
	// output (-1: none, or other readers): a constant output it reads
	// need not be copied to every frame.
	soleSpike []int
}

// errNoFast marks networks the fast engine does not run (they run on the
// reference engine, whatever engine is selected).
var errNoFast = errors.New("not supported by the fast engine")

// compileFast builds the plan. The channel strides and feature counts of
// weighted layers are rounded up to whole 16-float vectors where that adds
// little (padCheap): the gathering event kernels need whole vectors, but
// every later layer also handles the padding.
func compileFast(net *snn.Network) (*fastPlan, error) {
	if net.Recurrent() {
		return nil, errNoFast // the plan runs chunks of steps stage by stage
	}
	srcs, err := net.Sources()
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
		return p.ops[j].base().out
	}
	p.maxLen = p.inLen
	for i := range net.Stages {
		st := &net.Stages[i]
		b := opBase{index: i, srcs: srcs[i]}
		for _, j := range srcs[i] {
			b.ins = append(b.ins, layoutOf(j))
		}
		b.in = b.ins[0]
		b.spikes = len(srcs[i]) > 0 && p.spikeCounts(srcs[i][0])
		op, err := compileStage(st, b)
		if err != nil {
			return nil, err
		}
		o := op.base()
		o.inLen, o.outLen = o.in.n, o.out.n
		p.maxLen = max(p.maxLen, o.outLen)
		if w, ok := op.(*weightedOp); ok {
			p.maxLen = max(p.maxLen, w.frameLen)
		}
		p.ops = append(p.ops, op)
	}
	p.out = p.ops[len(p.ops)-1].base().out
	p.fuseJoins()
	p.assignSlots()
	for _, op := range p.ops {
		if w, ok := op.(*weightedOp); ok {
			if err := w.propagators(); err != nil {
				return nil, fmt.Errorf("fast engine: stage %s: %w", net.Stages[w.index].Name, err)
			}
		}
	}
	readers := make([][]int, len(p.ops))
	for j, op := range p.ops {
		o := op.base()
		for _, k := range append(append([]int(nil), o.srcs...), o.liveSrcs...) {
			if k >= 0 && !slices.Contains(readers[k], j) {
				readers[k] = append(readers[k], j)
			}
		}
	}
	p.soleSpike = make([]int, len(p.ops))
	for i := range p.ops {
		p.soleSpike[i] = -1
		if len(readers[i]) == 1 && i != len(p.ops)-1 {
			if sp, ok := p.ops[readers[i][0]].(*spikeOp); ok && sp.fused == nil {
				p.soleSpike[i] = readers[i][0]
			}
		}
	}
	// Build the index tables now: tasks read them concurrently.
	p.in.table()
	p.out.table()
	for _, op := range p.ops {
		o := op.base()
		o.in.table()
		o.out.table()
		for k := range o.ins {
			o.ins[k].table()
		}
	}
	return p, nil
}

// spikeCounts reports whether op j's output holds spike counts: it is a
// population that spikes, or a spiking max-pool or a view (Flatten,
// Identity) of such an output.
func (p *fastPlan) spikeCounts(j int) bool {
	for j >= 0 {
		switch op := p.ops[j].(type) {
		case *spikeOp:
			return op.neuron.Kind != snn.ExpLeak
		case *maxPoolOp, *aliasOp:
			j = op.base().srcs[0]
		default:
			return false
		}
	}
	return false
}

// fuseJoins lets a population step the residual Add that feeds it: the
// Add of two inputs stored as its output is, read by nothing else, right
// before the population, and at most one of them the output of a Scale
// read by nothing else. The population then adds a + f·b into its
// potentials in one pass (snn.Neuron.StepSum2), rounding as the Scale and
// the Add would, and neither of them runs, unless a monitor watches them
// or wants the population's input (fusedRun decides, per run).
func (p *fastPlan) fuseJoins() {
	readers := make([]int, len(p.ops))
	for _, op := range p.ops {
		for _, j := range op.base().srcs {
			if j >= 0 {
				readers[j]++
			}
		}
	}
	for i, op := range p.ops {
		sp, ok := op.(*spikeOp)
		if !ok || i == 0 || !sp.neuron.StepsSum2() || len(sp.srcs) != 1 || sp.srcs[0] != i-1 {
			continue
		}
		add, ok := p.ops[i-1].(*addOp)
		if !ok || len(add.srcs) != 2 || !add.direct[1] || readers[i-1] != 1 {
			continue
		}
		f := &fusedJoin{add: i - 1, scale: -1, factor: 1, srcs: [2]int{add.srcs[0], add.srcs[1]}}
		for k, j := range add.srcs {
			if j < 0 || readers[j] != 1 || f.scale >= 0 {
				continue
			}
			sc, ok := p.ops[j].(*scaleOp)
			if !ok {
				continue
			}
			// b is the scaled input: a + f·b equals f·b + a exactly.
			f.scale, f.factor = j, sc.factor
			f.srcs = [2]int{add.srcs[1-k], sc.srcs[0]}
		}
		sp.fused = f
		sp.liveSrcs = f.srcs[:]
	}
}

// fusedJoin is a population's residual Add (and Scale) stepped by the
// population itself (fuseJoins): its input is srcs[0] + factor·srcs[1].
type fusedJoin struct {
	add, scale int // op indices (scale -1: none)
	factor     float32
	srcs       [2]int
}

// compileStage makes the step of one stage, whose inputs b describes.
func compileStage(st *snn.Stage, b opBase) (planOp, error) {
	cur := b.in
	spatial := len(cur.shape) == 3
	switch {
	case st.Spiking():
		b.out = cur
		return &spikeOp{opBase: b, neuron: st.Neuron}, nil
	case st.MaxPool != nil:
		if !spatial {
			return nil, fmt.Errorf("fast engine: stage %s: spiking max-pool of a flat input", st.Name)
		}
		g, err := st.MaxPool.Geom(st.In)
		if err != nil {
			return nil, fmt.Errorf("fast engine: stage %s: %w", st.Name, err)
		}
		g.C = cur.cs
		b.out = spatialLayout(st.Out, cur.cs)
		return &maxPoolOp{opBase: b, geom: g}, nil
	case st.Join != nil:
		return compileJoin(st, b)
	}
	switch l := st.Layer.(type) {
	case *nn.Conv2d:
		if !spatial {
			return nil, fmt.Errorf("fast engine: stage %s: convolution of a flat input", st.Name)
		}
		b.out = spatialLayout(st.Out, padCheap(st.Out[0], st.Out[1]*st.Out[2]))
		op := &weightedOp{opBase: b}
		op.compileConv(l, st.In, st.Out)
		return op, nil
	case *nn.Linear:
		b.out = flatLayout(st.Out, nil, padCheap(l.Config.Out, 1))
		op := &weightedOp{opBase: b}
		op.compileLinear(l)
		return op, nil
	case *nn.Pool2d:
		if l.Padded() || !spatial {
			break
		}
		b.out = spatialLayout(st.Out, cur.cs)
		g := tensor.ConvGeom{C: cur.cs, H: st.In[1], W: st.In[2], KH: l.Config.KernelHW[0], KW: l.Config.KernelHW[1], SH: l.Config.StrideHW[0], SW: l.Config.StrideHW[1]}
		g.OutSize()
		return &poolOp{opBase: b, pool: l, geom: g}, nil
	case *nn.BatchNorm2d:
		if !spatial {
			break
		}
		b.out = cur
		return &bnOp{opBase: b, bn: l}, nil
	case *nn.Flatten:
		// Channels-last data stays where it is; record where each
		// NCHW-flat element now lives for the next Linear.
		perm := make([]int, tensor.Numel(st.In))
		for j := range perm {
			perm[j] = cur.index(j)
		}
		b.out = flatLayout(st.Out, perm, cur.n)
		return &aliasOp{b}, nil
	case *nn.Identity, *nn.Dropout:
		b.out = cur
		return &aliasOp{b}, nil
	case *nn.Scale:
		b.out = cur
		return &scaleOp{opBase: b, factor: l.Factor}, nil
	case *nn.GlobalAvgPool2d:
		if !spatial {
			break
		}
		b.out = spatialLayout(st.Out, cur.cs)
		return &gapOp{b}, nil
	case *nn.Normalize:
		if !spatial {
			break
		}
		b.out = cur
		return &normOp{opBase: b, norm: l}, nil
	}
	// Padded pooling and whatever else: the layer's own arithmetic, in
	// NCHW.
	return compileLayer(st, b)
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
	for i, op := range p.ops {
		root[i+1] = i + 1
		if _, alias := op.(*aliasOp); alias {
			root[i+1] = rootOf(op.base().srcs[0])
		}
	}
	last := make([]int, n+1)
	for i, op := range p.ops {
		for _, j := range op.base().srcs {
			last[rootOf(j)] = i
		}
		for _, j := range op.base().liveSrcs {
			last[rootOf(j)] = i
		}
	}
	last[rootOf(n-1)] = n // the output lives to the end
	slotOf := make([]int, n+1)
	var free []int
	p.slots = 1 // slot 0 holds the input
	for i, op := range p.ops {
		o := op.base()
		o.inSlot, o.liveSlot = o.inSlot[:0], o.liveSlot[:0]
		for _, j := range o.srcs {
			o.inSlot = append(o.inSlot, slotOf[rootOf(j)])
		}
		for _, j := range o.liveSrcs {
			o.liveSlot = append(o.liveSlot, slotOf[rootOf(j)])
		}
		if r := rootOf(i); r != i+1 {
			o.slot = slotOf[r]
		} else if k := len(free); k > 0 {
			o.slot, free = free[k-1], free[:k-1]
		} else {
			o.slot = p.slots
			p.slots++
		}
		slotOf[i+1] = o.slot
		for _, j := range append(o.srcs[:len(o.srcs):len(o.srcs)], o.liveSrcs...) {
			if r := rootOf(j); last[r] == i {
				free = append(free, slotOf[r])
				last[r] = -1 // read twice by this op: free once
			}
		}
	}
	p.outSlot = slotOf[rootOf(n-1)]
}

// compileJoin prepares an Add or a Concat of the op's inputs.
func compileJoin(st *snn.Stage, b opBase) (planOp, error) {
	switch st.Join.(type) {
	case *nn.Add:
		b.out = b.in
		op := &addOp{opBase: b}
		for k := range b.ins {
			op.direct = append(op.direct, sameLayout(&b.ins[k], &b.out))
		}
		return op, nil
	case *nn.Concat:
		spatial := len(st.Out) == 3
		off := 0
		var offs []int
		for _, l := range b.ins {
			if (len(l.shape) == 3) != spatial {
				return nil, fmt.Errorf("fast engine: stage %s: concatenation of spatial and flat inputs", st.Name)
			}
			offs = append(offs, off)
			if spatial {
				off += l.shape[0]
			} else {
				off += tensor.Numel(l.shape)
			}
		}
		if spatial {
			b.out = spatialLayout(st.Out, padCheap(st.Out[0], st.Out[1]*st.Out[2]))
		} else {
			b.out = flatLayout(st.Out, nil, padCheap(off, 1))
		}
		return &catOp{opBase: b, offs: offs}, nil
	}
	return nil, fmt.Errorf("fast engine: stage %s: %w: join %v", st.Name, errNoFast, st.Join)
}

// compileLayer runs a layer the engine has no channels-last kernel for
// through its own NCHW Forward (on a copy per task).
func compileLayer(st *snn.Stage, b opBase) (planOp, error) {
	if _, err := nn.CloneLayer(st.Layer); err != nil {
		return nil, fmt.Errorf("fast engine: stage %s: %w", st.Name, err)
	}
	if len(st.Out) == 3 {
		b.out = spatialLayout(st.Out, st.Out[0])
	} else {
		b.out = flatLayout(st.Out, nil, tensor.Numel(st.Out))
	}
	return &layerOp{opBase: b, layer: st.Layer}, nil
}

// fastTask holds one worker's buffers.
type fastTask struct {
	events    map[*weightedOp]eventProp // per-task event propagators (own work buffers)
	tables    map[*weightedOp]*event.Table
	sums      []opSum   // input sums of the current sample, by op (zeroed per sample)
	skip      []bool    // per op, this chunk: stepped by the population it feeds
	fuse      []bool    // per op, this chunk: a population stepping its Add
	oneFrame  []bool    // per op, this chunk: its input is one frame standing for all (plan.soleSpike)
	presummed []bool    // per op, this chunk: the population summed its output for its reader's InputSummers (spikeOp.presum)
	popSpikes []float64 // per op, this chunk: the spikes a population fired (-1: not counted, or not a population; counted when StepFrames steps it or a monitor counts it)
	sumN      []float32
	bufs      [][]float32                 // the plan's slots, frames × maxLen floats each
	layers    map[*layerOp]nn.Layer       // per-task copies of layerOp layers
	gap       []float64                   // global average pooling: per-channel sums
	cached    map[*weightedOp]*frameCache // constant inputs' last outputs (runCached)
	constant  []bool                      // in runOps, per op (and the input): the chunk's frames are all the same
	best      []float32                   // spiking max-pool: the window's highest count per channel
	bestAt    []int32                     // and where it is
	padded    []float32
	rows      []int
	nchwIn    []float32
	nchwOut   []float32
	trace     []float32
}

// opSum is an op's input summed over a sample's frames.
type opSum struct {
	src int       // the op whose output is summed (-1: the network input)
	ops []*opBase // the ops reading it whose InputSummers want the sum; the first adds to it
	sum []float32
}

// sumFor returns the task's accumulator of op's (first) input, zeroed when
// new, and whether op is the one that adds to it: ops that read the same
// output (a residual block's convolution and shortcut) share one sum.
func (t *fastTask) sumFor(op *opBase) ([]float32, bool) {
	src := op.srcs[0]
	for i := range t.sums {
		s := &t.sums[i]
		if s.src != src || len(s.sum) != op.inLen {
			continue
		}
		if !slices.Contains(s.ops, op) {
			s.ops = append(s.ops, op)
		}
		return s.sum, s.ops[0] == op
	}
	t.sums = append(t.sums, opSum{src: src, ops: []*opBase{op}, sum: make([]float32, op.inLen)})
	return t.sums[len(t.sums)-1].sum, true
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

// layer returns the task's own copy of a layerOp's layer.
func (t *fastTask) layer(op *layerOp) nn.Layer {
	if l := t.layers[op]; l != nil {
		return l
	}
	if t.layers == nil {
		t.layers = map[*layerOp]nn.Layer{}
	}
	l, err := nn.CloneLayer(op.layer)
	invariant(err) // compileFast cloned it once already
	t.layers[op] = l
	return l
}
