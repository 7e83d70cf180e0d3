package graph

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

func conv(in, out, k, s, p int, rng *rand.Rand) *nn.Conv2d {
	return nn.NewConv2d(nn.Conv2dConfig{In: in, Out: out, Kernel: k, Stride: s, Padding: p, Bias: true}, rng)
}

// residual builds a small graph with a residual Add, a projection shortcut,
// a 3-way Concat that reads one node twice, and a fan-out of the input.
func residual(rng *rand.Rand) *Graph {
	g := New([]int{2, 6, 6})
	g.AddLayer("stem", conv(2, 4, 3, 1, 1, rng), Input)
	g.AddLayer("c1", conv(4, 4, 3, 1, 1, rng), "stem")
	g.AddLayer("short", conv(2, 4, 1, 1, 0, rng), Input)
	g.AddJoin("sum", nn.NewAdd(), "c1", "stem", "short")
	g.AddLayer("down", conv(4, 3, 3, 2, 1, rng), "sum")
	g.AddLayer("pool", nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}), "sum")
	g.AddJoin("cat", nn.NewConcat(), "down", "pool", "down")
	g.AddLayer("gap", nn.NewGlobalAvgPool2d(), "cat")
	g.AddLayer("flat", nn.NewFlatten(), "gap")
	g.AddLayer("fc", nn.NewLinear(nn.LinearConfig{In: 10, Out: 3, Bias: true}, rng), "flat")
	return g
}

func TestCheckShapes(t *testing.T) {
	g := residual(rand.New(rand.NewPCG(1, 1)))
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"sum": "[4, 6, 6]", "down": "[3, 3, 3]", "cat": "[10, 3, 3]", "fc": "[3]"}
	for name, s := range want {
		n, _ := g.Node(name)
		if tensor.ShapeString(n.Shape) != s {
			t.Errorf("%s: shape %v, want %s", name, n.Shape, s)
		}
	}
	if _, ok := g.Chain(); ok {
		t.Error("a residual graph reported as a chain")
	}
}

func TestCheckErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	cases := []struct {
		name  string
		build func(g *Graph)
		want  string
	}{
		{"later input", func(g *Graph) {
			g.AddLayer("a", nn.NewReLU(), "b")
			g.AddLayer("b", nn.NewReLU(), Input)
		}, `node "a" reads "b", which comes later`},
		{"missing input", func(g *Graph) { g.AddLayer("a", nn.NewReLU(), "nope") }, `reads "nope", which does not exist`},
		{"duplicate", func(g *Graph) {
			g.AddLayer("a", nn.NewReLU(), Input)
			g.AddLayer("a", nn.NewReLU(), "a")
		}, `node "a": the name is used twice`},
		{"self loop", func(g *Graph) { g.AddLayer("a", nn.NewReLU(), "a") }, `comes later`},
		{"shape mismatch", func(g *Graph) {
			g.AddLayer("a", conv(2, 3, 3, 1, 0, rng), Input)
			g.AddJoin("s", nn.NewAdd(), "a", Input)
		}, `node "s": Add: input shapes`},
		{"bad channels", func(g *Graph) { g.AddLayer("a", conv(3, 3, 3, 1, 0, rng), Input) }, `node "a"`},
		{"spaced name", func(g *Graph) { g.AddLayer("a b", nn.NewReLU(), Input) }, `without spaces`},
		{"named input", func(g *Graph) { g.AddLayer(Input, nn.NewReLU(), Input) }, `not "input"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := New([]int{2, 5, 5})
			c.build(g)
			if err := g.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestGraphGradients compares the graph's backward pass with central finite
// differences of L = Σ r·y, for every parameter and through every join.
func TestGraphGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	g := residual(rng)
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	x := tensor.New(3, 2, 6, 6)
	for i := range x.Data {
		x.Data[i] = rng.Float32()*2 - 1
	}
	loss := func() float64 {
		y, err := g.Forward(x, true)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, v := range y.Data {
			s += float64(v) * float64(i%7-3)
		}
		return s
	}
	loss()
	dy := tensor.New(3, 3)
	for i := range dy.Data {
		dy.Data[i] = float32(i%7 - 3)
	}
	g.ZeroGrad()
	if err := g.Backward(dy); err != nil {
		t.Fatal(err)
	}
	const eps = 1e-2
	for _, e := range g.StateDict() {
		if e.Param.Grad == nil {
			continue
		}
		p := e.Param
		for _, i := range rng.Perm(len(p.Value.Data))[:min(8, len(p.Value.Data))] {
			old := p.Value.Data[i]
			p.Value.Data[i] = old + eps
			lp := loss()
			p.Value.Data[i] = old - eps
			lm := loss()
			p.Value.Data[i] = old
			num := (lp - lm) / (2 * eps)
			if ana := float64(p.Grad.Data[i]); math.Abs(num-ana) > 2e-3+2e-2*math.Abs(num) {
				t.Errorf("d/d%s[%d]: analytical %.6g, numerical %.6g", e.Name, i, ana, num)
			}
		}
	}
}

// TestSequentialRoundTrip checks that a Sequential becomes a chain named
// like its state_dict, and back, computing the same output.
func TestSequentialRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	seq := nn.NewSequential(conv(1, 2, 3, 1, 0, rng), nn.NewReLU(), nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 18, Out: 4}, rng))
	g, err := FromSequential(seq, []int{1, 5, 5})
	if err != nil {
		t.Fatal(err)
	}
	back, ok := g.Chain()
	if !ok || len(back.Layers) != 4 {
		t.Fatal("a chain not recognised")
	}
	var names []string
	for _, e := range g.StateDict() {
		names = append(names, e.Name)
	}
	var want []string
	for _, e := range seq.StateDict() {
		want = append(want, e.Name)
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("state_dict %v, Sequential's %v", names, want)
	}
	x := tensor.New(2, 1, 5, 5)
	for i := range x.Data {
		x.Data[i] = float32(i%5) - 2
	}
	a, _ := g.Forward(x, false)
	a = a.Clone()
	b, _ := seq.Forward(x, false)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("graph %v, Sequential %v", a.Data, b.Data)
		}
	}
}

// TestNodeAfterAdd finds nodes added after the graph was checked (the name
// index used to go stale until the next Check).
func TestNodeAfterAdd(t *testing.T) {
	g := New([]int{3})
	g.AddLayer("a", nn.NewReLU(), Input)
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	g.AddLayer("b", nn.NewReLU(), "a")
	g.AddJoin("c", nn.NewAdd(), "a", "b")
	for _, name := range []string{"a", "b", "c"} {
		if _, ok := g.Node(name); !ok {
			t.Errorf("node %s not found", name)
		}
	}
}
