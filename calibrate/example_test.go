package calibrate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/snnkit/snnkit/calibrate"
	"github.com/snnkit/snnkit/internal/testnets"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Calibrate a small residual ReLU network for 8 time steps on 256 images
// (training images in real use), then simulate it as a constant current.
func ExampleGraph() {
	rng := rand.New(rand.NewPCG(5, 6))
	g := testnets.ResGraph(rng) // any ReLU graph: an ONNX import, graph.FromSequential(...)
	x := tensor.New(256, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	opts := snn.DefaultConvertOptions()
	opts.Neuron, opts.AddSpikingOutput = calibrate.Neuron(), false // the membrane readout
	net, _, res, err := calibrate.Graph(context.Background(), g, opts,
		calibrate.Config{Steps: 8, Samples: snn.TensorSamples(x), Engine: sim.EngineAuto, SearchVInit: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range res.Populations {
		fed := "nothing to correct (a Concat feeds it)"
		if p.Corrected != "" {
			fed = "bias of " + p.Corrected + " corrected"
		}
		// One threshold per channel, folded into the weights around it.
		fmt.Printf("%s: %d thresholds in [%.2f, %.2f], %s\n", p.ReLU, len(p.Thresholds), slices.Min(p.Thresholds), slices.Max(p.Thresholds), fed)
	}
	sm, err := sim.New(net)
	if err != nil {
		fmt.Println(err)
		return
	}
	in := tensor.New(1, 8, 1, 8, 8) // one image as a current for 8 steps
	for t := 0; t < 8; t++ {
		copy(in.Data[t*64:(t+1)*64], x.Data[:64])
	}
	out, err := sm.Run(context.Background(), in)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("readout shape", out.Shape)
	// Output:
	// r0: 4 thresholds in [0.13, 0.89], bias of stem corrected
	// r1: 4 thresholds in [0.00, 0.43], bias of c1 corrected
	// r2: 4 thresholds in [0.01, 0.83], bias of c2 corrected
	// r3: 5 thresholds in [0.12, 0.30], nothing to correct (a Concat feeds it)
	// readout shape [1 8 3]
}
