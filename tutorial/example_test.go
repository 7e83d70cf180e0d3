package tutorial_test

import (
	"context"
	"fmt"
	"github.com/snnkit/snnkit/sim"
	"math/rand/v2"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/optim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
	"github.com/snnkit/snnkit/train"
	"github.com/snnkit/snnkit/tutorial"
)

// The tutorial as library code, on a small subset: define the ANN, train it
// briefly, convert it, encode a test image as spikes, simulate, and read the
// class from the output spike counts.
func Example() {
	ctx := context.Background()
	dir, err := mnist.Locate("") // the GoMNIST module in the Go module cache
	if err != nil {
		fmt.Println(err)
		return
	}
	trainSet, testSet, err := mnist.Load(dir)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Define the tutorial's CNN and train it for one epoch on 3000 images.
	spec, _ := arch.Lookup("tutorial")
	ann, _ := spec.Build(rand.New(rand.NewPCG(0, 1)))
	opt, _ := optim.NewAdam(ann.Params(), optim.AdamConfig{LR: 1e-3})
	_, err = train.Fit(ctx, ann, opt, trainSet.Subset(3000), train.Config{Epochs: 1, BatchSize: 128})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Convert: every ReLU becomes an IAF population, a spiking output is added.
	net, _ := snn.FromModel(ann, spec.Input, snn.DefaultConvertOptions())
	fmt.Println("layer 1:", net.Stages[1].Neuron)
	fmt.Println("last layer:", net.Stages[len(net.Stages)-1].Name)

	// Encode test image 0 as 100 steps of Bernoulli spikes: [batch, T, C, H, W].
	const steps = 100
	input := tensor.New(1, steps, 1, 28, 28)
	encode.Bernoulli{Seed: 1}.Encode(input.Data, testSet.Image(0), steps, 0)

	// Simulate and count the output spikes of each class.
	sm, _ := sim.New(net)
	out, err := sm.Run(ctx, input)
	if err != nil {
		fmt.Println(err)
		return
	}
	counts := make([]float32, 10)
	for t := 0; t < steps; t++ {
		for c := range counts {
			counts[c] += out.Data[t*10+c]
		}
	}
	fmt.Println("output shape:", out.Shape)
	fmt.Println("label:", testSet.Label(0), "predicted:", tensor.ArgMax(counts))
	// Output:
	// layer 1: IAF(spike_threshold=1.0, min_v_mem=-1.0)
	// last layer: spike_output
	// output shape: [1 100 10]
	// label: 7 predicted: 7
}

// Run performs the whole tutorial with its defaults (2 epochs, the full
// test set at T=100) and writes figures and report.html to OutDir.
func ExampleRun() {
	cfg := tutorial.Defaults()
	cfg.OutDir = "snnkit-tutorial"
	res, err := tutorial.Run(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("ANN %.2f%%, SNN %.2f%%\n", 100*res.ANNAccuracy, 100*res.SNN.Accuracy)
}
