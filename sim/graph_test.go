package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/snnkit/snnkit/graph"
	goldenset "github.com/snnkit/snnkit/internal/golden"
	"github.com/snnkit/snnkit/internal/testnets"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/onnx"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// TestFromGraphGolden converts PyTorch's ONNX export of the golden network
// (testdata/onnx/tutorial_mnist.onnx holds the golden weights) with
// snn.FromGraph and requires sinabs' spikes, every layer, every engine.
func TestFromGraphGolden(t *testing.T) {
	g, err := onnx.ReadFile(filepath.Join(goldenset.Root(), "testdata", "onnx", "tutorial_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	set := goldenset.Sets()[0]
	f := set.Open(t)
	in, _ := f.Get("input")
	v, _ := in.Float32(false)
	input := &tensor.Tensor{Shape: in.Shape, Data: v}
	net, report, err := snn.FromGraph(g, snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !net.IsChain() || len(report) != len(g.Nodes)+1 || report[1].Action != "converted" {
		t.Fatalf("report %+v", report)
	}
	for _, engine := range []Engine{EngineReference, EngineDense, EngineEvent, EngineAuto} {
		sm, err := New(net)
		if err != nil {
			t.Fatal(err)
		}
		sm.SetEngine(engine)
		out, err := sm.Run(context.Background(), input)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := f.Get("default/spike_output")
		wv, _ := want.Float32(false)
		for i := range wv {
			if out.Data[i] != wv[i] {
				t.Fatalf("%v: output %d is %v, sinabs %v", engine, i, out.Data[i], wv[i])
			}
		}
	}
}

// normalizedResGraph is testnets.ResGraph normalised at the 99.9th
// percentile on 20 random images, which it returns too.
func normalizedResGraph(t *testing.T, rng *rand.Rand) (*graph.Graph, *tensor.Tensor) {
	t.Helper()
	x := tensor.New(20, 1, 8, 8)
	g := testnets.ResGraph(rng)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	ng, _, err := snn.NormalizeGraph(context.Background(), g, snn.TensorSamples(x), 99.9)
	if err != nil {
		t.Fatal(err)
	}
	return ng, x
}

// TestFromGraphResidual converts the residual graph and checks the report,
// the stages' wiring, and that a long constant current reproduces the
// ANN's prediction (rates approximate activations).
func TestFromGraphResidual(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	ng, x := normalizedResGraph(t, rng)
	opts := snn.DefaultConvertOptions()
	opts.Neuron.VInit = 0.5
	net, report, err := snn.FromGraph(ng, opts)
	if err != nil {
		t.Fatal(err)
	}
	if net.IsChain() {
		t.Fatal("a residual network reported as a chain")
	}
	actions := map[string]string{}
	for _, r := range report {
		actions[r.Node] = r.Action
	}
	if actions["r1"] != "converted" || actions["drop"] != "dropped" || actions["add"] != "kept" || actions["spike_output"] != "added" {
		t.Fatalf("report %+v", report)
	}
	ann, _ := ng.Forward(x, false)
	const steps = 400
	in := tensor.New(20, steps, 1, 8, 8)
	for b := 0; b < 20; b++ {
		for s := 0; s < steps; s++ {
			copy(in.Data[(b*steps+s)*64:(b*steps+s+1)*64], x.Data[b*64:(b+1)*64])
		}
	}
	sm, err := New(net)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sm.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for b := 0; b < 20; b++ {
		counts := make([]float32, 3)
		for s := 0; s < steps; s++ {
			_ = tensor.Add(counts, out.Data[(b*steps+s)*3:(b*steps+s+1)*3])
		}
		if tensor.ArgMax(counts) == tensor.ArgMax(ann.Data[b*3:(b+1)*3]) {
			agree++
		}
	}
	if agree < 16 {
		t.Errorf("the spiking network agrees with the ANN on %d of 20 samples", agree)
	}
}

// TestSpikingMaxPool checks sinabs' SpikingMaxPooling2dLayer semantics on a
// hand-made train: each step passes the spikes of the input with the most
// spikes so far (this step's included), ties to the first; and a reset
// forgets the counts.
func TestSpikingMaxPool(t *testing.T) {
	net := &snn.Network{Input: []int{1, 2, 2}, Stages: []snn.Stage{{Name: "0", MaxPool: &snn.SpikingMaxPool{Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}, In: []int{1, 2, 2}, Out: []int{1, 1, 1}}}}
	// Frames in row-major order (0,0) (0,1) (1,0) (1,1).
	frames := [][]float32{{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 2, 0}}
	// counts after each step: (0,1)=1 -> 1; (0,0)=1 ties, first -> 1;
	// (1,1)=1, max still (0,0) -> 0; (0,1)=2 -> 1; (1,0)=2 ties with (0,1),
	// (0,1) first -> 0.
	want := []float32{1, 1, 0, 1, 0}
	in := tensor.New(1, len(frames), 1, 2, 2)
	for i, f := range frames {
		copy(in.Data[i*4:], f)
	}
	sm, err := New(net)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		out, err := sm.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if out.Data[i] != w {
				t.Fatalf("round %d: output %v, want %v", round, out.Data, want)
			}
		}
		sm.Reset()
	}
}

// TestPaddedPoolsAndGeneralConvs converts chains with a padded average pool
// and with grouped, dilated convolutions, with dyadic weights and input:
// the fast engines take them and give the reference engine's output.
func TestPaddedPoolsAndGeneralConvs(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	anns := []*nn.Sequential{
		nn.NewSequential(nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 3, Kernel: 3, Bias: true}, rng), nn.NewReLU(),
			nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2, Stride: 2, PaddingHW: [2]int{1, 1}}),
			nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 3 * 4 * 4, Out: 4}, rng)),
		// Depthwise and dilated convolutions take the general path.
		nn.NewSequential(nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 2, Kernel: 3, Bias: true}, rng), nn.NewReLU(),
			nn.NewConv2d(nn.Conv2dConfig{In: 2, Out: 2, Kernel: 3, Groups: 2, DilationHW: [2]int{2, 2}, Padding: 2}, rng), nn.NewReLU(),
			nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 2 * 7 * 7, Out: 4}, rng)),
	}
	for k, ann := range anns {
		opts := snn.DefaultConvertOptions()
		opts.AddSpikingOutput = false // the output is the Linear's currents
		for _, p := range ann.Params() {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(math.Round((rng.Float64()*2-1)*48)) / 64
			}
		}
		net, err := snn.FromModel(ann, []int{1, 9, 9}, opts)
		if err != nil {
			t.Fatal(err)
		}
		in := tensor.New(2, 40, 1, 9, 9)
		for i := range in.Data {
			in.Data[i] = float32(rng.IntN(256)) / 64
		}
		var ref *tensor.Tensor
		for _, e := range []Engine{EngineReference, EngineAuto, EngineDense, EngineEvent} {
			sm, err := New(net)
			if err != nil {
				t.Fatal(err)
			}
			sm.SetEngine(e)
			if sm.fastEngine() != (e != EngineReference) {
				t.Fatalf("network %d, %v: fast engine %v", k, e, sm.fastEngine())
			}
			out, err := sm.Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if ref == nil {
				ref = out
				if tensor.Sum(out.Data) == 0 {
					t.Fatalf("network %d: no output", k)
				}
				continue
			}
			for i := range ref.Data {
				if out.Data[i] != ref.Data[i] {
					t.Fatalf("network %d: %v differs from the reference engine", k, e)
				}
			}
		}
	}
}

// TestSpikingMaxPoolPadding: with padding 1 a 2×2 window at stride 2 over a
// 2×2 input holds one input each, whose spikes it passes.
func TestSpikingMaxPoolPadding(t *testing.T) {
	mp := &snn.SpikingMaxPool{Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}
	out, err := mp.OutShape([]int{1, 2, 2})
	if err != nil || fmt.Sprint(out) != "[1 2 2]" {
		t.Fatalf("shape %v, %v", out, err)
	}
	net := &snn.Network{Input: []int{1, 2, 2}, Stages: []snn.Stage{{Name: "0", MaxPool: mp, In: []int{1, 2, 2}, Out: out}}}
	in := &tensor.Tensor{Shape: []int{1, 2, 1, 2, 2}, Data: []float32{1, 0, 2, 0, 0, 3, 0, 1}}
	sm, _ := New(net)
	y, err := sm.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(y.Data) != fmt.Sprint(in.Data) {
		t.Fatalf("output %v, want the input %v", y.Data, in.Data)
	}
}

// TestFusedJoinMatchesUnfused runs a normalised residual graph, whose
// identity shortcut gets a Scale before its Add, on the event engine with
// the Add watched (each op on its own) and unwatched (the population steps
// a + f·b itself): the spikes must be the same bit for bit, the Scale's
// rounding included.
func TestFusedJoinMatchesUnfused(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	ng, _ := normalizedResGraph(t, rng)
	net, _, err := snn.FromGraph(ng, snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	in := tensor.New(4, 30, 1, 8, 8)
	for i := range in.Data {
		in.Data[i] = rng.Float32() * 2
	}
	var outs [2]*tensor.Tensor
	for k, watched := range []bool{true, false} {
		sm, err := New(net)
		if err != nil {
			t.Fatal(err)
		}
		sm.SetEngine(EngineEvent)
		scaled := 0
		for _, op := range sm.fast.ops {
			if sp, ok := op.(*spikeOp); ok && sp.fused != nil && sp.fused.scale >= 0 && sp.fused.factor != 1 {
				scaled++
				if watched {
					sm.AddMonitor(stageWatcher{sp.fused.add})
				}
			}
		}
		if scaled != 1 {
			t.Fatalf("%d populations step a scaled Add, want 1", scaled)
		}
		if outs[k], err = sm.Run(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	if tensor.Sum(outs[0].Data) == 0 {
		t.Fatal("no output spikes: the comparison would prove little")
	}
	for i := range outs[0].Data {
		if outs[0].Data[i] != outs[1].Data[i] {
			t.Fatalf("output %d: %v stepped op by op, %v by the population", i, outs[0].Data[i], outs[1].Data[i])
		}
	}
}

// stageWatcher is a monitor of one stage that does nothing.
type stageWatcher struct{ stage int }

func (w stageWatcher) Observe(int, *tensor.Tensor, *tensor.Tensor, Chunk) {}
func (w stageWatcher) Observes(stage int) bool                            { return stage == w.stage }
