package nir_test

import (
	"context"
	"fmt"

	"github.com/snnkit/snnkit/nir"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/tensor"
)

// Read a NIR file written by Norse (an Affine feeding a LIF neuron),
// build the network sinabs' from_nir would build from it, and feed it a
// few input spikes: the output spikes are named by the NIR node, "1".
func Example() {
	g, err := nir.Read("testdata/lif_norse.nir")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("NIR version", g.Version, "with", len(g.Nodes), "nodes")
	net, err := g.Network() // --nir-dynamics sinabs
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(net.Stages[1].Name, net.Stages[1].Neuron)
	sm, err := sim.New(net)
	if err != nil {
		fmt.Println(err)
		return
	}
	in := tensor.New(1, 6, 1) // one sample, 6 steps, one input
	copy(in.Data, []float32{1, 0, 0, 1, 1, 0})
	out, err := sm.Run(context.Background(), in)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("spikes per step:", out.Data)
	// Output:
	// NIR version 0.1.1 with 4 nodes
	// 1 LIF(tau_mem=0.0025, spike_threshold=0.1, min_v_mem=None)
	// spikes per step: [10 0 0 10 10 0]
}
