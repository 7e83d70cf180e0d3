package snn_test

import (
	"fmt"

	"github.com/snnkit/snnkit/snn"
)

// One integrate-and-fire neuron with sinabs' defaults for converted
// networks: threshold 1, as many spikes as whole thresholds in v, subtract
// reset, v never below -1.
func ExampleNeuron_Step() {
	n := snn.DefaultIAF()
	st := n.NewState(1)
	out := make([]float32, 1)
	for _, x := range []float32{0.5, 0.7, 2.6, -3, 0.2, 1} {
		n.Step(st, []float32{x}, out)
		fmt.Printf("input %4.1f  spikes %v  v %.1f\n", x, out[0], st.V[0])
	}
	// Output:
	// input  0.5  spikes 0  v 0.5
	// input  0.7  spikes 1  v 0.2
	// input  2.6  spikes 2  v 0.8
	// input -3.0  spikes 0  v -1.0
	// input  0.2  spikes 0  v -0.8
	// input  1.0  spikes 0  v 0.2
}
