// Package monitor holds values that watch a spiking simulation
// (sim.Monitor): spike and state recorders, firing rates and synaptic
// operations counted as sinabs' SNNAnalyzer counts them.
package monitor

import (
	"fmt"
	"github.com/snnkit/snnkit/sim"

	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Recorder keeps the output of chosen stages for every sample and time
// step: Outputs[i] is [batch, steps, ...stage output shape]. It records the
// window of steps [Offset, Offset+steps) (counted from the simulator's last
// reset) and ignores the others, so a long run can be recorded a window at
// a time by moving Offset. A StateRecorder's VMem[i] holds the membrane
// potential of spiking stages in the same layout.
type Recorder struct {
	Stages  []int
	Outputs []*tensor.Tensor
	VMem    []*tensor.Tensor
	Offset  int
	steps   int
	index   map[int]int
}

// StateRecorder is a Recorder that also records membrane potentials
// (sim.StateMonitor).
type StateRecorder struct{ *Recorder }

// ObserveState implements sim.StateMonitor.
func (r StateRecorder) ObserveState(stage int, v *tensor.Tensor, c sim.Chunk) {
	if k, ok := r.index[stage]; ok && r.VMem[k] != nil {
		copyFrames(r.VMem[k], v, r.steps, r.Offset, c)
	}
}

// NewStateRecorder records outputs and membrane potentials of the given
// stages (all spiking stages when nil).
func NewStateRecorder(net *snn.Network, stages []int, batch, steps int) (StateRecorder, error) {
	r, err := NewRecorder(net, stages, batch, steps)
	if err != nil {
		return StateRecorder{}, err
	}
	r.VMem = make([]*tensor.Tensor, len(r.Stages))
	for k, i := range r.Stages {
		if net.Stages[i].Spiking() {
			r.VMem[k] = tensor.New(r.Outputs[k].Shape...)
		}
	}
	return StateRecorder{r}, nil
}

// NewRecorder records the given stages of net (all spiking stages when
// stages is nil) for batch samples and steps time steps.
func NewRecorder(net *snn.Network, stages []int, batch, steps int) (*Recorder, error) {
	if stages == nil {
		stages = net.SpikingStages()
	}
	r := &Recorder{Stages: stages, steps: steps, index: map[int]int{}}
	for k, i := range stages {
		if i < 0 || i >= len(net.Stages) {
			return nil, fmt.Errorf("recorder: no stage %d", i)
		}
		r.index[i] = k
		r.Outputs = append(r.Outputs, tensor.New(append([]int{batch, steps}, net.Stages[i].Out...)...))
	}
	return r, nil
}

// Observe implements sim.Monitor.
func (r *Recorder) Observe(stage int, in, out *tensor.Tensor, c sim.Chunk) {
	k, ok := r.index[stage]
	if !ok {
		return
	}
	copyFrames(r.Outputs[k], out, r.steps, r.Offset, c)
}

// Observes implements sim.StageFilter.
func (r *Recorder) Observes(stage int) bool {
	_, ok := r.index[stage]
	return ok
}

// copyFrames copies chunk frames [batch*steps, ...] into rec [batch, total,
// ...], step t of the run going to rec's step t-offset.
func copyFrames(rec, chunk *tensor.Tensor, total, offset int, c sim.Chunk) {
	if c.Sample+c.Batch > rec.Shape[0] {
		return
	}
	size := len(chunk.Data) / (c.Batch * c.Steps)
	for b := 0; b < c.Batch; b++ {
		for t := 0; t < c.Steps; t++ {
			if tt := c.T0 + t - offset; tt >= 0 && tt < total {
				sb := c.Sample + b
				copy(rec.Data[(sb*total+tt)*size:(sb*total+tt+1)*size], chunk.Data[(b*c.Steps+t)*size:(b*c.Steps+t+1)*size])
			}
		}
	}
}
