package snn

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/snnkit/snnkit/tensor"
)

// Kind selects the neuron model.
type Kind int

// Neuron models.
const (
	IAF     Kind = iota // integrate-and-fire: v += i
	LIF                 // leaky integrate-and-fire: v = a·v + i (or (1-a)·i)
	ExpLeak             // leaky integrator without spikes: the output is v
)

// String describes the Kind as snnkit prints it.
func (k Kind) String() string {
	switch k {
	case LIF:
		return "LIF"
	case ExpLeak:
		return "ExpLeak"
	}
	return "IAF"
}

// SpikeFn selects how many spikes a neuron emits from its membrane
// potential v and threshold θ (sinabs.activation.spike_generation).
type SpikeFn int

// Spike functions.
const (
	MultiSpike  SpikeFn = iota // trunc(v/θ) spikes when v > 0
	SingleSpike                // one spike when v >= θ
	MaxSpike                   // min(MaxSpikes, trunc(v/θ))
)

// Reset selects what a spike does to the membrane potential.
type Reset int

// Reset mechanisms.
const (
	ResetSubtract Reset = iota // v -= spikes·θ (sinabs MembraneSubtract)
	ResetToValue               // v = ResetValue where the neuron spiked (sinabs MembraneReset)
)

// Neuron holds the parameters of a population of identical neurons. The
// zero value is not useful; start from DefaultIAF.
//
// One time step, all in float32, exactly as sinabs 3 computes it:
//
//  1. synaptic current: i = a_syn·(i + x) with TauSyn > 0 (a_syn = exp(-1/TauSyn)), else i = x
//  2. membrane: v = a_mem·v + ((1-a_mem)·i if NormInput else i); IAF has a_mem = 1
//  3. spikes s from v: MultiSpike trunc(v/θ) if v > 0; SingleSpike 1 if v >= θ;
//     MaxSpike min(MaxSpikes, MultiSpike)
//  4. reset: v -= s·θ (subtract) or v = ResetValue where s > 0
//  5. floor: v = max(v, MinVMem) when HasFloor
//
// ExpLeak stops after step 2 and outputs v (before the floor).
//
// Where snnkit deliberately differs from sinabs:
//   - MembraneReset with a non-zero reset value: sinabs also adds the reset
//     value to neurons that did not spike; snnkit sets only the neurons that
//     spiked.
//   - Floor: sinabs computes relu(v - min) + min, which can round v by one
//     unit in the last place for values that are not exactly representable
//     sums; snnkit computes max(v, min) exactly. On dyadic values (as in
//     ../shared/golden) the two agree.
//   - min_v_mem = 0: sinabs tests `if min_v_mem:` and so applies no floor at
//     0; snnkit applies the floor whenever HasFloor is set.
type Neuron struct {
	Kind       Kind
	Threshold  float32 // θ, > 0
	Spike      SpikeFn
	MaxSpikes  int // for MaxSpike, >= 1
	Reset      Reset
	ResetValue float32 // for ResetToValue
	HasFloor   bool
	MinVMem    float32 // lower bound of v when HasFloor
	TauMem     float32 // LIF and ExpLeak membrane time constant in steps (> 0)
	TauSyn     float32 // synaptic time constant in steps; 0: no synaptic current state
	NormInput  bool    // LIF: scale the input by (1 - a_mem)
	// VInit is the membrane potential at the start, and after every reset
	// of the simulation, as a fraction of the threshold (0, sinabs' state,
	// by default; 0.5 centres the rounding of rates, as QCFS and
	// calibration methods start their neurons).
	VInit float32
}

// DefaultIAF is the neuron sinabs' from_model puts in place of a ReLU:
// threshold 1, MultiSpike, subtract reset, min_v_mem -1.
func DefaultIAF() Neuron {
	return Neuron{Kind: IAF, Threshold: 1, Spike: MultiSpike, Reset: ResetSubtract, HasFloor: true, MinVMem: -1}
}

// Validate checks the parameters.
// MinThreshold is the smallest spike threshold accepted. MultiSpike emits
// v/θ spikes a step, so every layer multiplies the scale of its input by
// about 1/θ: below 1e-6 a network of a few layers overflows float32, and
// spike counts and synaptic operations become infinite.
const MinThreshold = 1e-6

func (n *Neuron) Validate() error {
	if n.Kind != ExpLeak && !(n.Threshold > 0) || math.IsInf(float64(n.Threshold), 0) {
		return fmt.Errorf("spike threshold %v must be a positive number", n.Threshold)
	}
	if n.Kind != ExpLeak && n.Threshold < MinThreshold {
		return fmt.Errorf("spike threshold %v is below %v: spike counts v/θ would overflow float32", n.Threshold, MinThreshold)
	}
	if n.Kind != ExpLeak && n.HasFloor && n.MinVMem >= n.Threshold {
		return fmt.Errorf("min_v_mem %v must be below the spike threshold %v: a floor at or above it makes every neuron spike at every step", n.MinVMem, n.Threshold)
	}
	if math.IsInf(float64(n.MinVMem), 0) && n.HasFloor {
		return fmt.Errorf("min_v_mem %v must be finite", n.MinVMem)
	}
	if n.Spike == MaxSpike && n.MaxSpikes < 1 {
		return fmt.Errorf("MaxSpike needs a maximum of at least 1 spike per step, have %d", n.MaxSpikes)
	}
	if n.Spike < MultiSpike || n.Spike > MaxSpike {
		return fmt.Errorf("unknown spike function %d", n.Spike)
	}
	if n.Kind != IAF && !(n.TauMem > 0) {
		return fmt.Errorf("%v needs tau_mem > 0, have %v", n.Kind, n.TauMem)
	}
	if n.TauSyn < 0 || math.IsNaN(float64(n.TauSyn)) {
		return fmt.Errorf("tau_syn %v must be >= 0 (0: none)", n.TauSyn)
	}
	if math.IsNaN(float64(n.MinVMem)) || math.IsNaN(float64(n.ResetValue)) {
		return fmt.Errorf("min_v_mem and reset value must be numbers")
	}
	if !(n.VInit >= 0 && n.VInit <= 1) {
		return fmt.Errorf("v_init %v must be a fraction of the threshold in [0, 1]", n.VInit)
	}
	return nil
}

// decay returns exp(-1/tau) rounded to float32, as torch.exp on a float32 tensor.
func decay(tau float32) float32 { return float32(math.Exp(-1 / float64(tau))) }

// State is the state of a population: membrane potential and, with TauSyn,
// synaptic current, one value per neuron and sample.
type State struct {
	V, I []float32
}

// NewState returns the initial state for size neurons: v = VInit·θ, no
// current.
func (n *Neuron) NewState(size int) *State {
	s := &State{V: make([]float32, size)}
	if n.TauSyn > 0 {
		s.I = make([]float32, size)
	}
	n.ResetState(s)
	return s
}

// ResetState sets s back to the initial state: v = VInit·θ, no current.
func (n *Neuron) ResetState(s *State) {
	clear(s.I)
	v := n.VInit * n.Threshold
	if v == 0 || len(s.V) == 0 {
		clear(s.V)
		return
	}
	// A doubling copy: memmove's speed, not an element loop's (a
	// simulator resets every population once per batch, and at a few
	// time steps that was 6 % of a run).
	s.V[0] = v
	for k := 1; k < len(s.V); k *= 2 {
		copy(s.V[k:], s.V[:k])
	}
}

// Reset sets the state back to zero.
func (s *State) Reset() {
	clear(s.V)
	clear(s.I)
}

// Step advances st by one time step with input x and writes the output
// (spike counts, or v for ExpLeak) into out. len(x) and len(out) must equal
// the state size.
func (n *Neuron) Step(st *State, x, out []float32) {
	v := st.V
	x = x[:len(v)]
	out = out[:len(v)]
	if n.TauSyn > 0 {
		a := decay(n.TauSyn)
		is := st.I[:len(v)]
		for j := range is {
			is[j] = a * (is[j] + x[j])
		}
		x = is
	}
	switch n.Kind {
	case IAF:
		if n.Spike == MultiSpike && n.Reset == ResetSubtract {
			invariant(tensor.IAF(v, x, out, n.Threshold, n.floorV()))
			return
		}
		if n.Spike == SingleSpike && n.Reset == ResetSubtract {
			_, err := tensor.IAFSingleCount(v, x, out, n.Threshold, n.floorV())
			invariant(err)
			return
		}
		for j := range v {
			v[j] += x[j]
		}
	case LIF, ExpLeak:
		a := decay(n.TauMem)
		if n.NormInput {
			b := 1 - a
			for j := range v {
				v[j] = float32(a*v[j]) + float32(b*x[j])
			}
		} else {
			for j := range v {
				v[j] = float32(a*v[j]) + x[j]
			}
		}
	}
	if n.Kind == ExpLeak {
		copy(out, v)
		if n.HasFloor {
			for j := range v {
				v[j] = max(v[j], n.MinVMem)
			}
		}
		return
	}
	n.fire(v, out)
}

// floorV is the lower bound of the potential the IAF kernels take: the
// floor, or -Inf for none.
func (n *Neuron) floorV() float32 {
	if n.HasFloor {
		return n.MinVMem
	}
	return float32(math.Inf(-1))
}

// StepsSum2 reports whether StepSum2 takes this neuron (and StepCount
// counts while it steps): IAF with MultiSpike, subtract reset and no
// synaptic current.
func (n *Neuron) StepsSum2() bool {
	return n.TauSyn == 0 && n.Kind == IAF && n.Spike == MultiSpike && n.Reset == ResetSubtract
}

// StepSum2 is StepCount with input a + f·b (the product rounded to float32
// before the sum): a population fed by a residual Add, one input of which
// a Scale multiplies, in one pass. The neuron must be one StepsSum2 takes.
func (n *Neuron) StepSum2(st *State, a, b []float32, f float32, out []float32) float64 {
	if !n.StepsSum2() {
		panic("snn: StepSum2 of a neuron it does not take")
	}
	size := len(st.V)
	c, err := tensor.IAFSum2Count(st.V, a[:size], b[:size], out[:size], n.Threshold, n.floorV(), f)
	invariant(err)
	return c
}

// StepFrames is StepCount (StepSum2 when b is not nil) through frames
// steps in one pass: the input of step k is x[k·xStride:][:size] (xStride
// 0: the same at every step) plus f·b[k·size:] when b is not nil, its
// output goes to out[k·size:], and the spikes of each neuron are added to
// sum when it is not nil. It returns the spikes emitted. The neuron must
// be one StepsSum2 takes.
func (n *Neuron) StepFrames(st *State, x []float32, xStride int, b []float32, f float32, out []float32, frames int, sum []float32) float64 {
	if !n.StepsSum2() {
		panic("snn: StepFrames of a neuron it does not take")
	}
	c, err := tensor.IAFFrames(st.V, x, xStride, b, f, out, frames, n.Threshold, n.floorV(), sum)
	invariant(err)
	return c
}

// StepCount is Step that also returns the sum of out, the spikes emitted
// (for IAF neurons with MultiSpike and subtract reset counted while they
// step, without another pass over the output).
func (n *Neuron) StepCount(st *State, x, out []float32) float64 {
	if n.StepsSum2() {
		c, err := tensor.IAFCount(st.V, x[:len(st.V)], out[:len(st.V)], n.Threshold, n.floorV())
		invariant(err)
		return c
	}
	if n.Kind == IAF && n.TauSyn == 0 && n.Spike == SingleSpike && n.Reset == ResetSubtract {
		c, err := tensor.IAFSingleCount(st.V, x[:len(st.V)], out[:len(st.V)], n.Threshold, n.floorV())
		invariant(err)
		return c
	}
	n.Step(st, x, out)
	return tensor.Sum(out[:len(st.V)])
}

// fire computes spikes from v, applies the reset and the floor.
func (n *Neuron) fire(v, out []float32) {
	th := n.Threshold
	for j, vj := range v {
		var s float32
		switch n.Spike {
		case SingleSpike:
			if vj >= th {
				s = 1
			}
		default:
			if vj > 0 {
				s = float32(math.Trunc(float64(vj / th)))
				if n.Spike == MaxSpike {
					s = min(s, float32(n.MaxSpikes))
				}
			}
		}
		if s > 0 {
			if n.Reset == ResetSubtract {
				vj -= float32(s * th)
			} else {
				vj = n.ResetValue
			}
		}
		if n.HasFloor {
			vj = max(vj, n.MinVMem)
		}
		v[j] = vj
		out[j] = s
	}
}

// String prints the neuron like sinabs' layers print themselves, e.g.
// IAF(spike_threshold=1.0, min_v_mem=-1.0).
func (n *Neuron) String() string {
	var parts []string
	if n.Kind != IAF {
		parts = append(parts, "tau_mem="+pyFloat(n.TauMem))
	}
	if n.TauSyn > 0 {
		parts = append(parts, "tau_syn="+pyFloat(n.TauSyn))
	}
	if n.Kind != ExpLeak {
		parts = append(parts, "spike_threshold="+pyFloat(n.Threshold))
		switch n.Spike {
		case SingleSpike:
			parts = append(parts, "spike_fn=SingleSpike")
		case MaxSpike:
			parts = append(parts, fmt.Sprintf("spike_fn=MaxSpike(max_num_spikes_per_bin=%d)", n.MaxSpikes))
		}
		if n.Reset == ResetToValue {
			parts = append(parts, "reset_fn=MembraneReset(reset_value="+pyFloat(n.ResetValue)+")")
		}
	}
	if n.HasFloor {
		parts = append(parts, "min_v_mem="+pyFloat(n.MinVMem))
	} else {
		parts = append(parts, "min_v_mem=None")
	}
	if n.Kind == LIF && n.NormInput {
		parts = append(parts, "norm_input=True")
	}
	if n.VInit != 0 {
		// Not a sinabs argument: the membrane's start, a fraction of the
		// threshold (sinabs' networks start at 0 and print without it).
		parts = append(parts, "v_init="+pyFloat(n.VInit)+"θ")
	}
	return n.Kind.String() + "(" + strings.Join(parts, ", ") + ")"
}

// pyFloat formats like Python's repr of a float: 1.0, 0.75, -1.0.
func pyFloat(f float32) string {
	s := strconv.FormatFloat(float64(f), 'g', -1, 32)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// invariant panics on an error from a checked operation whose arguments
// the caller sized itself: such an error is a bug, not bad input.
func invariant(err error) {
	if err != nil {
		panic("snn: internal error: " + err.Error())
	}
}
