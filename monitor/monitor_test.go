package monitor

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/internal/testnets"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// synopsOf converts ann (which must start with a ReLU, so that the input
// passes through an IAF population unchanged for 0/1 spikes), runs input
// [1, T, ...] and returns the synops per weighted stage.
func synopsOf(t *testing.T, ann *nn.Sequential, inShape []int, input *tensor.Tensor) []LayerSynOps {
	t.Helper()
	net, err := snn.FromModel(ann, inShape, snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	sm, err := sim.New(net)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSynOps(net)
	sm.AddMonitor(s)
	if _, err := sm.Run(context.Background(), input); err != nil {
		t.Fatal(err)
	}
	res, _ := s.Result()
	return res
}

func TestSynOpsHandCounted(t *testing.T) {
	conv := func() *nn.Sequential {
		return nn.NewSequential(nn.NewReLU(), nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 2, Kernel: 3}, nil))
	}
	oneHot := func(y, x int) *tensor.Tensor {
		in := tensor.New(1, 1, 1, 5, 5)
		in.Data[y*5+x] = 1
		return in
	}
	cases := []struct {
		name  string
		ann   *nn.Sequential
		shape []int
		input *tensor.Tensor
		want  []float64
	}{
		// A spike in the corner of a 5×5 image reaches only output (0,0) of a
		// 3×3 convolution, in each of 2 channels.
		{"conv corner", conv(), []int{1, 5, 5}, oneHot(0, 0), []float64{2}},
		// The centre is under all 9 output positions: 2 × 9.
		{"conv centre", conv(), []int{1, 5, 5}, oneHot(2, 2), []float64{18}},
		// An edge pixel (0, 2) is under 3 output positions: 2 × 3.
		{"conv edge", conv(), []int{1, 5, 5}, oneHot(0, 2), []float64{6}},
		// Linear 4 → 3: 1 + 2 spikes, 3 synapses each.
		{"linear", nn.NewSequential(nn.NewReLU(), nn.NewLinear(nn.LinearConfig{In: 4, Out: 3}, nil)), []int{4},
			&tensor.Tensor{Shape: []int{1, 1, 4}, Data: []float32{1, 0, 2, 0}}, []float64{9}},
		// Four spikes in one 2×2 window, average-pooled to 1, then a linear
		// layer with 3 outputs: sinabs multiplies by k² = 4, so 4 × 3 = 12.
		{"pooled", nn.NewSequential(nn.NewReLU(), nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}), nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 4, Out: 3}, nil)), []int{1, 4, 4},
			func() *tensor.Tensor {
				in := tensor.New(1, 1, 1, 4, 4)
				in.Data[0], in.Data[1], in.Data[4], in.Data[5] = 1, 1, 1, 1
				return in
			}(), []float64{12}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := synopsOf(t, c.ann, c.shape, c.input)
			if len(got) != len(c.want) {
				t.Fatalf("%d weighted layers, want %d", len(got), len(c.want))
			}
			for i, w := range c.want {
				if math.Abs(got[i].PerSample-w) > 1e-9 {
					t.Errorf("layer %s: %v synops, want %v", got[i].Name, got[i].PerSample, w)
				}
			}
		})
	}
}

func TestConvFanoutWithPaddingAndStride(t *testing.T) {
	l := nn.NewConv2d(nn.Conv2dConfig{In: 2, Out: 3, Kernel: 3, Stride: 2, Padding: 1}, nil)
	in := []int{2, 5, 5}
	out, _ := l.OutShape(in)
	fan := convFanout(l, in, out)
	// Count directly: output (oy, ox) reads input (2oy-1+i, 2ox-1+j).
	for y := 0; y < 5; y++ {
		for x := 0; x < 5; x++ {
			n := 0
			for oy := 0; oy < out[1]; oy++ {
				for ox := 0; ox < out[2]; ox++ {
					if dy, dx := y-(2*oy-1), x-(2*ox-1); dy >= 0 && dy < 3 && dx >= 0 && dx < 3 {
						n++
					}
				}
			}
			for c := 0; c < 2; c++ {
				if got := fan[c*25+y*5+x]; got != float32(3*n) {
					t.Fatalf("fan-out at (%d,%d,%d) = %v, want %d", c, y, x, got, 3*n)
				}
			}
		}
	}
}

func TestFiringRatesAndMACs(t *testing.T) {
	ann := nn.NewSequential(nn.NewReLU(), nn.NewLinear(nn.LinearConfig{In: 4, Out: 3}, nil))
	net, _ := snn.FromModel(ann, []int{4}, snn.DefaultConvertOptions())
	sm, _ := sim.New(net)
	fr := NewFiringRates(net)
	sm.AddMonitor(fr)
	in := &tensor.Tensor{Shape: []int{2, 2, 4}, Data: []float32{1, 0, 0, 0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}}
	if _, err := sm.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	r := fr.Result()
	// 5 spikes over 2 samples × 2 steps × 4 neurons.
	if r[0].Name != "0" || math.Abs(r[0].Rate-5.0/16) > 1e-9 || r[0].Neurons != 4 {
		t.Fatalf("rates %+v", r)
	}
	if m := MACs(net.Stages[1].Layer, []int{4}, []int{3}); m != 12 {
		t.Fatalf("linear MACs %d", m)
	}
	conv := nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 20, Kernel: 5}, nil)
	if m := MACs(conv, []int{1, 28, 28}, []int{20, 24, 24}); m != 288000 {
		t.Fatalf("conv MACs %d, want 288000", m)
	}
}

// TestStateRecorder records v of a single IAF neuron driven by the golden
// neuron input and compares with the values sinabs records.
func TestStateRecorder(t *testing.T) {
	ann := nn.NewSequential(nn.NewReLU())
	opts := snn.DefaultConvertOptions()
	opts.AddSpikingOutput = false
	net, err := snn.FromModel(ann, []int{1}, opts)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := sim.New(net)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := NewStateRecorder(net, nil, 1, 6)
	if err != nil {
		t.Fatal(err)
	}
	sm.AddMonitor(rec)
	in := &tensor.Tensor{Shape: []int{1, 6, 1}, Data: []float32{0.5, 0.7, 2.6, -3.0, 0.2, 1.0}}
	if _, err := sm.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	wantV := []float64{0.5, 0.2, 0.8, -1.0, -0.8, 0.2} // iaf_min_v_mem_-1 in neuron_cases.json
	wantS := []float32{0, 1, 2, 0, 0, 0}
	for i := range wantV {
		if math.Abs(float64(rec.VMem[0].Data[i])-wantV[i]) > 1e-6 || rec.Outputs[0].Data[i] != wantS[i] {
			t.Fatalf("step %d: v %v spikes %v, want %v %v", i, rec.VMem[0].Data[i], rec.Outputs[0].Data[i], wantV[i], wantS[i])
		}
	}
}

// TestPoolScaleFollowsGraphPaths: in a graph, the average pools that scale a
// weighted stage's input are those on the path its inputs name, not those
// before it in stage order.
func TestPoolScaleFollowsGraphPaths(t *testing.T) {
	conv := func(in, out, k, s, p int) *nn.Conv2d {
		return nn.NewConv2d(nn.Conv2dConfig{In: in, Out: out, Kernel: k, Stride: s, Padding: p}, nil)
	}
	g := graph.New([]int{1, 4, 4})
	g.AddLayer("c0", conv(1, 2, 1, 1, 0), graph.Input)
	g.AddLayer("r0", nn.NewReLU(), "c0")
	g.AddLayer("pool", nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}), "r0") // [2, 2, 2]
	g.AddLayer("direct", conv(2, 2, 3, 2, 1), "r0")                     // after the pool in stage order, but reads r0
	g.AddLayer("pooled", conv(2, 2, 1, 1, 0), "pool")
	g.AddJoin("add", nn.NewAdd(), "direct", "pooled")
	g.AddLayer("r1", nn.NewReLU(), "add")
	g.AddLayer("gap", nn.NewGlobalAvgPool2d(), "r1")
	g.AddLayer("flat", nn.NewFlatten(), "gap")
	g.AddLayer("head", nn.NewLinear(nn.LinearConfig{In: 2, Out: 3}, nil), "flat")
	net, _, err := snn.FromGraph(g, snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := NewSynOps(net)
	want := map[string]float64{"c0": 1, "direct": 1, "pooled": 4, "head": 4}
	for k, i := range s.layers {
		name := net.Stages[i].Name
		if s.scale[k] != want[name] {
			t.Errorf("stage %s: pooling factor %v, want %v", name, s.scale[k], want[name])
		}
	}
}

// TestSynOpsSameOnEveryEngine counts the synaptic operations and firing
// rates of a residual graph, whose strided convolution and projection read
// the same spikes (the fast engines share one input sum between them, and
// count spikes while the neurons step), on every engine: the counts are
// sums of spike counts, so they must agree exactly.
func TestSynOpsSameOnEveryEngine(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	net, _, err := snn.FromGraph(testnets.ResGraph(rng), snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	input := tensor.New(2, 20, 1, 8, 8)
	for i := range input.Data {
		input.Data[i] = rng.Float32() * 2
	}
	var want []LayerSynOps
	var wantRates []LayerRate
	for _, engine := range []sim.Engine{sim.EngineReference, sim.EngineDense, sim.EngineEvent, sim.EngineAuto} {
		sm, err := sim.New(net)
		if err != nil {
			t.Fatal(err)
		}
		sm.SetEngine(engine)
		s, fr := NewSynOps(net), NewFiringRates(net)
		sm.AddMonitor(s)
		sm.AddMonitor(fr)
		if _, err := sm.Run(context.Background(), input); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Result()
		gotRates := fr.Result()
		if want == nil {
			want, wantRates = got, gotRates
			if len(got) < 5 || got[3].PerSample == 0 || len(gotRates) < 4 || gotRates[1].Rate == 0 {
				t.Fatalf("synops %+v, rates %+v: too few layers or no spikes to count", got, gotRates)
			}
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%v: layer %s: %+v, reference engine %+v", engine, want[i].Name, got[i], want[i])
			}
		}
		for i := range wantRates {
			if gotRates[i] != wantRates[i] {
				t.Errorf("%v: firing rate %+v, reference engine %+v", engine, gotRates[i], wantRates[i])
			}
		}
	}
}
