package snn_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/internal/testnets"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
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

// Divide each channel of every ReLU's activation by its own scale (here
// its channel's largest value on the samples, a per-channel max-norm) and
// see how the rescaling is carried: the weights around each population take
// the factors, and the identity shortcut, which has no weights, gets a
// depthwise 1×1 convolution holding them.
func ExampleScaleGraphChannels() {
	rng := rand.New(rand.NewPCG(5, 6))
	g := testnets.ResGraph(rng)
	x := tensor.New(64, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	scaled, out, err := snn.ScaleGraphChannels(context.Background(), g, snn.TensorSamples(x),
		func(relu string, shape []int, visit snn.Visit) ([]float64, error) {
			top := make([]float64, shape[0])
			inner := 1
			for _, d := range shape[1:] {
				inner *= d
			}
			err := visit(func(v []float32) {
				for i, a := range v {
					c := i / inner % shape[0]
					top[c] = max(top[c], float64(a))
				}
			})
			for c := range top {
				if top[c] == 0 {
					top[c] = 1 // a channel that never fires keeps its scale
				}
			}
			return top, err
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	n, _ := scaled.Node("add.scale1")
	fmt.Println("shortcut:", n.Layer)
	fmt.Printf("the output is the original's divided by %.3f\n", out[0])
	// Output:
	// shortcut: Conv2d(4, 4, kernel_size=(1, 1), stride=(1, 1), groups=4, bias=False)
	// the output is the original's divided by 0.332
}
