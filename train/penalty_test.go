package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
)

// TestSynopsPenaltyGraph checks the fan-outs a graph's QCFS layers are
// charged for: the sum over the weighted layers each one's spikes reach
// through pooling, Flatten and joins, stopping at the next population.
func TestSynopsPenaltyGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	conv := func(in, out, k, s, groups int) *nn.Conv2d {
		return nn.NewConv2d(nn.Conv2dConfig{In: in, Out: out, Kernel: k, Stride: s, Padding: k / 2, Groups: groups}, rng)
	}
	g := graph.New([]int{4, 8, 8})
	g.AddLayer("stem", conv(4, 4, 3, 1, 1), graph.Input)
	g.AddLayer("q0", nn.NewQCFS(4, 2, 0), "stem")
	g.AddLayer("a", conv(4, 4, 3, 1, 1), "q0")     // 4·9 synapses a spike
	g.AddLayer("d", conv(4, 4, 3, 2, 4), "q0")     // depthwise at stride 2: 1·9/4
	g.AddJoin("add", nn.NewAdd(), "a", "q0")       // the shortcut: no synapse
	g.AddLayer("q1", nn.NewQCFS(4, 0.5, 0), "add") // stops the walk
	g.AddLayer("pool", nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}), "q1")
	g.AddLayer("flat", nn.NewFlatten(), "pool")
	g.AddLayer("fc", nn.NewLinear(nn.LinearConfig{In: 64, Out: 5}, rng), "flat")
	g.AddJoin("cat", nn.NewConcat(), "d", "d")
	g.AddLayer("q2", nn.NewQCFS(4, 1, 0), "cat")
	g.AddLayer("gap", nn.NewGlobalAvgPool2d(), "q2")
	g.AddLayer("flat2", nn.NewFlatten(), "gap")
	g.AddLayer("fc2", nn.NewLinear(nn.LinearConfig{In: 8, Out: 3}, rng), "flat2")
	g.Output = "fc"
	const a = 1e-3
	n, err := SetSynopsPenaltyGraph(g, a)
	if err != nil || n != 3 {
		t.Fatalf("%d layers set, %v", n, err)
	}
	tests := []struct {
		node string
		fan  float64
		lam  float64
	}{
		{"q0", 36 + 9.0/4, 2},
		{"q1", 5, 0.5},
		{"q2", 3, 1},
	}
	for _, tt := range tests {
		nd, _ := g.Node(tt.node)
		got := float64(nd.Layer.(*nn.QCFS).Penalty)
		if want := a * tt.fan / tt.lam; math.Abs(got-want) > 1e-6*want {
			t.Errorf("%s: penalty %v, want %v (fan-out %v over λ %v)", tt.node, got, want, tt.fan, tt.lam)
		}
	}
}
