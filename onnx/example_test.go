package onnx_test

import (
	"fmt"
	"path/filepath"

	"github.com/snnkit/snnkit/onnx"
)

// The tutorial network as torch.onnx.export wrote it (opset 13): the Pad
// node torch writes before each AveragePool folds into the pool's padding
// (none here), the Flatten stays, and each MatMul becomes a Linear layer;
// nodes are named by PyTorch's module paths (here the indices of a
// Sequential).
func ExampleReadFile() {
	g, err := onnx.ReadFile(filepath.Join("..", "testdata", "onnx", "tutorial_mnist.onnx"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("input", g.Input)
	for _, n := range g.Nodes {
		fmt.Printf("%-3s %v %v\n", n.Name, n.Op(), n.Shape)
	}
	// Output:
	// input [1 28 28]
	// 0   Conv2d(1, 20, kernel_size=(5, 5), stride=(1, 1), bias=False) [20 24 24]
	// 1   ReLU() [20 24 24]
	// 2   AvgPool2d(kernel_size=2, stride=2, padding=0) [20 12 12]
	// 3   Conv2d(20, 32, kernel_size=(5, 5), stride=(1, 1), bias=False) [32 8 8]
	// 4   ReLU() [32 8 8]
	// 5   AvgPool2d(kernel_size=2, stride=2, padding=0) [32 4 4]
	// 6   Conv2d(32, 128, kernel_size=(3, 3), stride=(1, 1), bias=False) [128 2 2]
	// 7   ReLU() [128 2 2]
	// 8   AvgPool2d(kernel_size=2, stride=2, padding=0) [128 1 1]
	// 9   Flatten(start_dim=1, end_dim=-1) [128]
	// 10  Linear(in_features=128, out_features=500, bias=False) [500]
	// 11  ReLU() [500]
	// 12  Linear(in_features=500, out_features=10, bias=False) [10]
}
