package sim_test

import (
	"context"
	"fmt"
	"github.com/snnkit/snnkit/sim"
	"math"
	"math/rand/v2"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Every engine computes the same spikes: here a small convolutional network
// with weights that are multiples of 1/64 (so every sum is exact in any
// order) runs 20 steps of sparse input through each engine, and each
// prints the same output spike counts.
func ExampleSimulator_SetEngine() {
	rng := rand.New(rand.NewPCG(7, 7))
	ann := nn.NewSequential(
		nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 16, Kernel: 3}, rng), nn.NewReLU(),
		nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}),
		nn.NewConv2d(nn.Conv2dConfig{In: 16, Out: 32, Kernel: 3}, rng), nn.NewReLU(),
		nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 32 * 2 * 2, Out: 4}, rng))
	for _, p := range ann.Params() {
		for i := range p.Value.Data {
			p.Value.Data[i] = float32(math.Round((rng.Float64()*2-1)*48)) / 64 // in [-0.75, 0.75]
		}
	}
	net, err := snn.FromModel(ann, []int{1, 10, 10}, snn.DefaultConvertOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	in := tensor.New(1, 20, 1, 10, 10) // batch 1, 20 steps
	for i := range in.Data {
		if rng.IntN(5) == 0 {
			in.Data[i] = 1
		}
	}
	for _, e := range []sim.Engine{sim.EngineReference, sim.EngineDense, sim.EngineEvent, sim.EngineAuto} {
		sm, err := sim.New(net)
		if err != nil {
			fmt.Println(err)
			return
		}
		sm.SetEngine(e)
		out, err := sm.Run(context.Background(), in)
		if err != nil {
			fmt.Println(err)
			return
		}
		counts := make([]float32, 4)
		for t := 0; t < 20; t++ {
			for j := range counts {
				counts[j] += out.Data[t*4+j]
			}
		}
		fmt.Printf("%-9s %v\n", e, counts)
	}
	// Output:
	// reference [20 77 74 0]
	// dense     [20 77 74 0]
	// event     [20 77 74 0]
	// auto      [20 77 74 0]
}
