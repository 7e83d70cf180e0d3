// Package monitor holds values that watch a spiking simulation
// (snn.Monitor): spike and state recorders, firing rates and synaptic
// operations counted as sinabs' SNNAnalyzer counts them.
package monitor

import (
	"fmt"

	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Recorder keeps the output of chosen stages for every sample and time
// step: Outputs[i] is [batch, steps, ...stage output shape]. Steps past the
// recorded window are ignored.
type Recorder struct {
	Stages  []int
	Outputs []*tensor.Tensor
	steps   int
	index   map[int]int
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

// Observe implements snn.Monitor.
func (r *Recorder) Observe(stage int, in, out *tensor.Tensor, batch, t0, steps int) {
	k, ok := r.index[stage]
	if !ok {
		return
	}
	rec := r.Outputs[k]
	if rec.Shape[0] != batch {
		return
	}
	size := len(out.Data) / (batch * steps)
	for b := 0; b < batch; b++ {
		for t := 0; t < steps; t++ {
			if tt := t0 + t; tt < r.steps {
				copy(rec.Data[(b*r.steps+tt)*size:(b*r.steps+tt+1)*size], out.Data[(b*steps+t)*size:(b*steps+t+1)*size])
			}
		}
	}
}
