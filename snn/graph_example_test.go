package snn_test

import (
	"fmt"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
)

// A residual block converts like any PyTorch model exported to a graph:
// every ReLU becomes a population, the Add stays a join of currents and
// spikes, the BatchNorm that follows a convolution is folded into it, and
// the Dropout disappears. The report says what became of every node.
func ExampleFromGraph() {
	conv := func(in, out int) *nn.Conv2d {
		return nn.NewConv2d(nn.Conv2dConfig{In: in, Out: out, Kernel: 3, Padding: 1}, nil)
	}
	g := graph.New([]int{1, 8, 8})
	g.AddLayer("stem", conv(1, 4), graph.Input)
	g.AddLayer("relu0", nn.NewReLU(), "stem")
	g.AddLayer("c1", conv(4, 4), "relu0")
	g.AddLayer("bn1", nn.NewBatchNorm2d(4), "c1")
	g.AddLayer("relu1", nn.NewReLU(), "bn1")
	g.AddJoin("add", nn.NewAdd(), "relu1", "relu0")
	g.AddLayer("relu2", nn.NewReLU(), "add")
	g.AddLayer("drop", nn.NewDropout(0.5, nil), "relu2")
	g.AddLayer("gap", nn.NewGlobalAvgPool2d(), "drop")
	g.AddLayer("flat", nn.NewFlatten(), "gap")
	g.AddLayer("head", nn.NewLinear(nn.LinearConfig{In: 4, Out: 3}, nil), "flat")
	net, report, err := snn.FromGraph(g, snn.DefaultConvertOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range report {
		fmt.Printf("%-12s %-9s %s\n", r.Node, r.Action, r.Detail)
	}
	fmt.Println(len(net.Stages), "stages; the add reads", net.Stages[4].Inputs)
	// Output:
	// stem         kept      applied at every step
	// relu0        converted ReLU -> IAF
	// c1           kept      applied at every step
	// bn1          folded    into c1
	// relu1        converted ReLU -> IAF
	// add          kept      joins currents and spikes
	// relu2        converted ReLU -> IAF
	// drop         dropped   identity in evaluation
	// gap          kept      applied at every step
	// flat         kept      applied at every step
	// head         kept      applied at every step
	// spike_output added     spiking output (sinabs' add_spiking_output)
	// 10 stages; the add reads [relu1 relu0]
}
