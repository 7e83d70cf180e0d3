package sim_test

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/snnkit/snnkit/onnx"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// A PyTorch model exported to ONNX, converted and simulated: the whole path
// of `snnkit run -m model.onnx` in the library. The image, a bright square
// on black, is fed as a constant current for 32 steps, and the output
// population's spikes are counted per class.
func Example_onnxModel() {
	g, err := onnx.ReadFile(filepath.Join("..", "testdata", "onnx", "tutorial_mnist.onnx"))
	if err != nil {
		fmt.Println(err)
		return
	}
	net, _, err := snn.FromGraph(g, snn.DefaultConvertOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := sim.New(net)
	if err != nil {
		fmt.Println(err)
		return
	}
	const steps = 32
	in := tensor.New(1, steps, 1, 28, 28)
	for t := 0; t < steps; t++ {
		for y := 8; y < 20; y++ {
			for x := 8; x < 20; x++ {
				in.Data[t*784+y*28+x] = 1
			}
		}
	}
	out, err := s.Run(context.Background(), in) // [1, 32, 10]
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
	fmt.Println("output spikes per class:", counts)
	fmt.Println("predicted class:", tensor.ArgMax(counts))
	// Output:
	// output spikes per class: [0 0 40 0 53 0 0 14 69 28]
	// predicted class: 8
}
