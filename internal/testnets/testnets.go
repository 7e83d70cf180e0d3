// Package testnets holds the small networks tests of several packages
// share.
package testnets

import (
	"math/rand/v2"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
)

// ResGraph is a small residual network: a stem, a block whose shortcut is
// the identity (an Add of a ReLU's output) and one with a projection, a
// Concat of two branches, BatchNorm after a convolution, global average
// pooling and a Linear head.
func ResGraph(rng *rand.Rand) *graph.Graph {
	conv := func(in, out, k, s, p int) *nn.Conv2d {
		return nn.NewConv2d(nn.Conv2dConfig{In: in, Out: out, Kernel: k, Stride: s, Padding: p, Bias: true}, rng)
	}
	g := graph.New([]int{1, 8, 8})
	g.AddLayer("stem", conv(1, 4, 3, 1, 1), graph.Input)
	bn := nn.NewBatchNorm2d(4)
	for i := range bn.RunningVar.Value.Data {
		bn.RunningVar.Value.Data[i] = 0.5 + float32(i)
		bn.RunningMean.Value.Data[i] = 0.1 * float32(i)
	}
	g.AddLayer("stem_bn", bn, "stem")
	g.AddLayer("r0", nn.NewReLU(), "stem_bn")
	g.AddLayer("c1", conv(4, 4, 3, 1, 1), "r0")
	g.AddLayer("r1", nn.NewReLU(), "c1")
	g.AddLayer("c2", conv(4, 4, 3, 1, 1), "r1")
	g.AddJoin("add", nn.NewAdd(), "c2", "r0")
	g.AddLayer("r2", nn.NewReLU(), "add")
	g.AddLayer("a", conv(4, 3, 3, 2, 1), "r2")
	g.AddLayer("b", conv(4, 2, 1, 2, 0), "r2")
	g.AddJoin("cat", nn.NewConcat(), "a", "b")
	g.AddLayer("r3", nn.NewReLU(), "cat")
	g.AddLayer("drop", nn.NewDropout(0.2, nil), "r3")
	g.AddLayer("gap", nn.NewGlobalAvgPool2d(), "drop")
	g.AddLayer("flat", nn.NewFlatten(), "gap")
	g.AddLayer("head", nn.NewLinear(nn.LinearConfig{In: 5, Out: 3, Bias: true}, rng), "flat")
	return g
}

// FlatResGraph is a residual network of flat vectors: input [6], a Linear
// and its population r1, a second Linear whose output is added to r1's
// (an identity shortcut of 4 values), population r2 and a Linear head of
// 2 outputs.
func FlatResGraph(rng *rand.Rand) *graph.Graph {
	g := graph.New([]int{6})
	g.AddLayer("fc1", nn.NewLinear(nn.LinearConfig{In: 6, Out: 4, Bias: true}, rng), graph.Input)
	g.AddLayer("r1", nn.NewReLU(), "fc1")
	g.AddLayer("fc2", nn.NewLinear(nn.LinearConfig{In: 4, Out: 4, Bias: true}, rng), "r1")
	g.AddJoin("add", nn.NewAdd(), "fc2", "r1")
	g.AddLayer("r2", nn.NewReLU(), "add")
	g.AddLayer("head", nn.NewLinear(nn.LinearConfig{In: 4, Out: 2, Bias: true}, rng), "r2")
	return g
}
