package monitor

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// SynOps counts synaptic operations as sinabs' SNNAnalyzer does: for every
// Conv2d and Linear stage, each input event (spike count, or analog value)
// times the exact number of synapses leaving its position (the connection
// map of a transposed convolution, so border positions count fewer), times
// the window size k² of every AvgPool2d (H·W of a global average pool)
// between the stage and the population whose spikes reach it (average
// pooling divides the spikes it passes on; the factor restores them).
type SynOps struct {
	net     *snn.Network
	layers  []int       // weighted stages
	fanout  [][]float32 // per weighted stage: synapses per input position
	scale   []float64   // per weighted stage: product of AvgPool k²
	index   map[int]int
	samples map[int]int // samples seen per weighted stage (at t0 == 0)
	// byEnd holds, per weighted stage, the synaptic operations (before
	// scale) of the chunks that ended at each step: what ResultAt sums.
	byEnd []map[int]float64
}

// NewSynOps prepares a counter for net.
func NewSynOps(net *snn.Network) *SynOps {
	s := &SynOps{net: net, index: map[int]int{}, samples: map[int]int{}}
	srcs, err := net.Sources()
	if err != nil {
		srcs = nil // a network no simulator runs: count as a chain
	}
	for i, st := range net.Stages {
		var fan []float32
		switch l := st.Layer.(type) {
		case *nn.Conv2d:
			fan = convFanout(l, st.In, st.Out)
		case *nn.Linear:
			fan = make([]float32, l.Config.In)
			for j := range fan {
				fan[j] = float32(l.Config.Out)
			}
		default:
			continue
		}
		s.index[i] = len(s.layers)
		s.layers = append(s.layers, i)
		s.fanout = append(s.fanout, fan)
		s.scale = append(s.scale, poolScale(net, srcs, i))
		s.byEnd = append(s.byEnd, map[int]float64{})
	}
	return s
}

// poolScale returns the factor that turns stage i's input back into the
// events that reach it: the product of the window sizes of the average
// pools (k², and H·W for global average pooling) on the path from the
// spiking population, weighted stage, join or network input that feeds it,
// through the layers in between (in a graph, the path its inputs name,
// srcs from Network.Sources, not the stage order).
func poolScale(net *snn.Network, srcs [][]int, i int) float64 {
	source := func(k int) int { // the first stage k reads, -1 for the input
		if srcs == nil {
			return k - 1
		}
		return srcs[k][0]
	}
	scale := 1.0
	for k := source(i); k >= 0; k = source(k) {
		st := &net.Stages[k]
		if st.Spiking() || st.Join != nil || st.MaxPool != nil {
			break
		}
		switch l := st.Layer.(type) {
		case *nn.Conv2d, *nn.Linear:
			return scale
		case *nn.Pool2d:
			if l.Kind == nn.PoolAvg {
				scale *= float64(l.Config.KernelHW[0] * l.Config.KernelHW[1])
			}
		case *nn.GlobalAvgPool2d:
			if len(st.In) == 3 {
				scale *= float64(st.In[1] * st.In[2])
			}
		}
	}
	return scale
}

// convFanout returns, for every input position (c, y, x), the number of
// synapses it drives: out channels × output positions whose window covers it.
func convFanout(l *nn.Conv2d, in, out []int) []float32 {
	cfg := l.Config.Norm()
	c, h, w := in[0], in[1], in[2]
	oh, ow := out[1], out[2]
	perGroup := float32(cfg.Out / cfg.Groups) // an input drives its group's outputs
	d := cfg.DilationHW
	plane := make([]float32, h*w)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			for i := 0; i < cfg.KernelHW[0]; i++ {
				for j := 0; j < cfg.KernelHW[1]; j++ {
					iy := y*cfg.StrideHW[0] - cfg.PaddingHW[0] + i*d[0]
					ix := x*cfg.StrideHW[1] - cfg.PaddingHW[1] + j*d[1]
					if iy >= 0 && iy < h && ix >= 0 && ix < w {
						plane[iy*w+ix] += perGroup
					}
				}
			}
		}
	}
	fan := make([]float32, c*h*w)
	for ch := 0; ch < c; ch++ {
		copy(fan[ch*h*w:], plane)
	}
	return fan
}

// Observe implements sim.Monitor (the simulator uses ObserveInputSum instead).
func (s *SynOps) Observe(stage int, in, out *tensor.Tensor, c sim.Chunk) {}

// Observes implements sim.StageFilter: SynOps needs no frames, only sums.
func (s *SynOps) Observes(stage int) bool { return false }

// InputSum implements sim.InputSummer: the weighted stages.
func (s *SynOps) InputSum(stage int) bool {
	_, ok := s.index[stage]
	return ok
}

// ObserveInputSum implements sim.InputSummer.
func (s *SynOps) ObserveInputSum(stage int, sum []float32, c sim.Chunk) {
	k, ok := s.index[stage]
	if !ok {
		return
	}
	if c.T0 == 0 {
		s.samples[k] += c.Batch
	}
	fan := s.fanout[k][:len(sum)] // once, not s.fanout[k] per element
	// Four sums, so the additions do not wait on each other. (This runs
	// under the simulator's lock: on resnet_fmnist it took 120 µs a
	// sample while it also kept a float64 sum per input position, 40 µs
	// without them.)
	// Spike counts times fan-outs are integers, exact in any order; an
	// analog input rounds as this fixed order does, on every run.
	var o [4]float64
	j := 0
	for ; j+4 <= len(sum); j += 4 {
		v, f := sum[j:j+4:j+4], fan[j:j+4:j+4]
		o[0] += float64(v[0]) * float64(f[0])
		o[1] += float64(v[1]) * float64(f[1])
		o[2] += float64(v[2]) * float64(f[2])
		o[3] += float64(v[3]) * float64(f[3])
	}
	for ; j < len(sum); j++ {
		o[0] += float64(sum[j]) * float64(fan[j])
	}
	s.byEnd[k][c.T0+c.Steps] += (o[0] + o[1]) + (o[2] + o[3])
}

// LayerSynOps is the count of one weighted stage.
type LayerSynOps struct {
	Name      string  // the stage name ("0", "3", ...)
	Layer     string  // e.g. Conv2d(1, 20, ...)
	PerSample float64 // synaptic operations per sample over the whole run
	Total     float64
	ANNMACs   int64 // multiply-accumulates of one ANN pass
}

// Result returns the counts per weighted stage and their total per sample.
func (s *SynOps) Result() ([]LayerSynOps, float64) { return s.ResultAt(math.MaxInt) }

// ResultAt is Result over the first t steps of every sample: the chunks
// that ended by step t. It is exact when t is a chunk boundary of the run
// (snneval.Config.Checkpoints cuts chunks there), and counts the chunks
// that ended before t otherwise.
func (s *SynOps) ResultAt(t int) ([]LayerSynOps, float64) {
	return s.result(func(k int) float64 {
		var ops float64
		// In step order: a map's order would change the sum's rounding
		// from run to run.
		for _, end := range slices.Sorted(maps.Keys(s.byEnd[k])) {
			if end <= t {
				ops += s.byEnd[k][end]
			}
		}
		return ops
	})
}

// result builds the counts per weighted stage from ops(k), the synaptic
// operations of weighted stage k before its pooling scale.
func (s *SynOps) result(ops func(k int) float64) ([]LayerSynOps, float64) {
	var out []LayerSynOps
	var total float64
	for k, i := range s.layers {
		st := s.net.Stages[i]
		n := ops(k) * s.scale[k]
		per := 0.0
		if m := s.samples[k]; m > 0 {
			per = n / float64(m)
		}
		out = append(out, LayerSynOps{Name: st.Name, Layer: st.Layer.String(), PerSample: per, Total: n, ANNMACs: MACs(st.Layer, st.In, st.Out)})
		total += per
	}
	return out, total
}

// MACs returns the multiply-accumulates of one ANN pass through a Conv2d or
// Linear layer (0 for other layers).
func MACs(l nn.Layer, in, out []int) int64 {
	switch v := l.(type) {
	case *nn.Conv2d:
		return int64(tensor.Numel(out)) * int64(v.Config.In/max(v.Config.Groups, 1)*v.Config.KernelHW[0]*v.Config.KernelHW[1])
	case *nn.Linear:
		return int64(v.Config.In) * int64(v.Config.Out)
	}
	return 0
}

// FiringRates measures the mean output of every spiking stage: spikes per
// neuron per time step.
type FiringRates struct {
	net    *snn.Network
	sums   map[int]float64
	counts map[int]float64
}

// NewFiringRates prepares a firing-rate monitor for net.
func NewFiringRates(net *snn.Network) *FiringRates {
	return &FiringRates{net: net, sums: map[int]float64{}, counts: map[int]float64{}}
}

// Observe implements sim.Monitor; the simulator hands FiringRates spike
// counts instead (ObserveSpikes), and frames of no stage.
func (f *FiringRates) Observe(stage int, in, out *tensor.Tensor, c sim.Chunk) {}

// SpikeCount implements sim.SpikeCounter: the spiking stages.
func (f *FiringRates) SpikeCount(stage int) bool { return f.net.Stages[stage].Spiking() }

// ObserveSpikes implements sim.SpikeCounter.
func (f *FiringRates) ObserveSpikes(stage int, spikes float64, c sim.Chunk) {
	f.sums[stage] += spikes
	f.counts[stage] += float64(tensor.Numel(f.net.Stages[stage].Out) * c.Batch * c.Steps)
}

// LayerRate is the firing rate of one spiking stage.
type LayerRate struct {
	Name    string
	Neurons int     // neurons per sample
	Rate    float64 // spikes per neuron per step
}

// Observes implements sim.StageFilter: no frames, only spike counts.
func (f *FiringRates) Observes(stage int) bool { return false }

// Result returns the rate of every spiking stage.
func (f *FiringRates) Result() []LayerRate {
	var out []LayerRate
	for _, i := range f.net.SpikingStages() {
		st := f.net.Stages[i]
		r := 0.0
		if c := f.counts[i]; c > 0 {
			r = f.sums[i] / c
		}
		out = append(out, LayerRate{Name: st.Name, Neurons: tensor.Numel(st.Out), Rate: r})
	}
	return out
}

// Merge adds the counts of o, a counter of the same network that watched
// other samples (one per simulator of a parallel run), into s.
func (s *SynOps) Merge(o *SynOps) error {
	if o.net != s.net {
		return fmt.Errorf("synops: merging the counts of another network")
	}
	for k, n := range o.samples {
		s.samples[k] += n
	}
	for k, m := range o.byEnd {
		for end, v := range m {
			s.byEnd[k][end] += v
		}
	}
	return nil
}

// Merge adds the counts of o, a monitor of the same network that watched
// other samples, into f.
func (f *FiringRates) Merge(o *FiringRates) error {
	if o.net != f.net {
		return fmt.Errorf("firing rates: merging the counts of another network")
	}
	for i, v := range o.sums {
		f.sums[i] += v
	}
	for i, v := range o.counts {
		f.counts[i] += v
	}
	return nil
}
