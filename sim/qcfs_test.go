package sim_test

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// TestQCFSConversionIsExactOverLSteps converts Conv2d → QCFS(L=4, λ=2) →
// AvgPool → Flatten → Linear and checks the conversion's semantics: the
// population has threshold λ, SingleSpike, subtract reset, no floor and
// starts at λ/2; the spikes' amplitude λ is folded into the Linear's
// weights; and on a constant current, over T = L steps, every neuron's spike
// count times λ/T is the QCFS output exactly (dyadic weights: no rounding),
// on every engine.
func TestQCFSConversionIsExactOverLSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const levels, lambda = 4, 2
	seq := nn.NewSequential(
		nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 3, Kernel: 3, PaddingHW: [2]int{1, 1}, Bias: true}, rng),
		nn.NewQCFS(levels, lambda, 0),
		nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}),
		nn.NewFlatten(),
		nn.NewLinear(nn.LinearConfig{In: 12, Out: 3, Bias: true}, rng),
	)
	for _, p := range seq.Params() {
		if p.Name != "lambda" {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(math.Round((rng.Float64()*2-1)*32)) / 32
			}
		}
	}
	opts := snn.DefaultConvertOptions()
	opts.AddSpikingOutput = false // the membrane readout
	net, err := snn.FromModel(seq, []int{1, 4, 4}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(net.Stages) != 5 {
		t.Fatalf("%d stages, want 5 (the amplitude folded): %v", len(net.Stages), net)
	}
	n := net.Stages[1].Neuron
	if n == nil || n.Threshold != lambda || n.Spike != snn.SingleSpike || n.Reset != snn.ResetSubtract || n.HasFloor || n.VInit != 0.5 {
		t.Fatalf("QCFS became %v, v_init %v", n, n.VInit)
	}
	fc := net.Stages[4].Layer.(*nn.Linear)
	ann := seq.Layers[4].(*nn.Linear)
	for i, w := range fc.Weight.Value.Data {
		if w != lambda*ann.Weight.Value.Data[i] {
			t.Fatalf("Linear weight %d: %v, want λ times %v", i, w, ann.Weight.Value.Data[i])
		}
	}
	// The population alone, on a constant current for L steps.
	x := tensor.New(2, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(rng.IntN(17)) / 8
	}
	z, err := seq.Layers[0].Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	want, err := seq.Layers[1].Forward(z, false)
	if err != nil {
		t.Fatal(err)
	}
	pop := &snn.Network{Input: net.Input, Stages: net.Stages[:2], Options: net.Options}
	in := tensor.New(2, levels, 1, 4, 4)
	for b := 0; b < 2; b++ {
		for s := 0; s < levels; s++ {
			copy(in.Data[(b*levels+s)*16:], x.Data[b*16:(b+1)*16])
		}
	}
	for _, e := range []sim.Engine{sim.EngineReference, sim.EngineDense, sim.EngineEvent, sim.EngineAuto} {
		sm, err := sim.New(pop)
		if err != nil {
			t.Fatal(err)
		}
		sm.SetEngine(e)
		out, err := sm.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		spikes := 0
		for b := 0; b < 2; b++ {
			for j := 0; j < 48; j++ {
				count := float32(0)
				for s := 0; s < levels; s++ {
					count += out.Data[(b*levels+s)*48+j]
				}
				spikes += int(count)
				if got := count * lambda / levels; got != want.Data[b*48+j] {
					t.Fatalf("%v: sample %d neuron %d: %v spikes, %v × λ/T against QCFS %v (current %v)", e, b, j, count, got, want.Data[b*48+j], z.Data[b*48+j])
				}
			}
		}
		if spikes == 0 {
			t.Fatal("no spikes: the test checks nothing")
		}
	}
}

// TestEnginesAgreeOnQCFSGraphs is TestEnginesAgreeOnDyadicGraphs with every
// ReLU a QCFS layer (λ a power of two, so spike amplitudes stay dyadic) and
// the membrane readout: the converted populations and their amplitude
// scales (folded into weights, or kept before joins) spike identically on
// every engine.
func TestEnginesAgreeOnQCFSGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 23))
	graphs := randomGraphs(rng)
	names := slices.Sorted(maps.Keys(graphs))
	for _, name := range names {
		g := graphs[name]
		for _, p := range g.Params() {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(math.Round((rng.Float64()*2-1)*48)) / 64
			}
		}
		for _, n := range g.Nodes {
			if _, ok := n.Layer.(*nn.ReLU); ok {
				n.Layer = nn.NewQCFS(4, float32(math.Ldexp(1, rng.IntN(3)-1)), 0)
			}
		}
		if err := g.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		opts := snn.DefaultConvertOptions()
		opts.AddSpikingOutput = false
		net, report, err := snn.FromGraph(g, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		amps := 0
		for _, r := range report {
			if r.Op == "Scale" && (r.Action == "folded" || r.Action == "added") {
				amps++
			}
		}
		if amps == 0 {
			t.Fatalf("%s: no spike amplitude in the report %+v", name, report)
		}
		checkEngines(t, name+" (QCFS)", net, rng, 0)
	}
}

// TestEnginesAgreeOnChannelLambdas is TestEnginesAgreeOnQCFSGraphs with one
// λ per channel (powers of two), folded into the weights by the conversion:
// every engine spikes the same. Graphs whose flat joins or unfoldable
// BatchNorms cannot take factors per channel must say so.
func TestEnginesAgreeOnChannelLambdas(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 31))
	graphs := randomGraphs(rng)
	names := slices.Sorted(maps.Keys(graphs))
	converted := 0
	for _, name := range names {
		g := graphs[name]
		for _, p := range g.Params() {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(math.Round((rng.Float64()*2-1)*48)) / 64
			}
		}
		if err := g.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, n := range g.Nodes {
			if _, ok := n.Layer.(*nn.ReLU); ok {
				q := nn.NewQCFS(4, 1, n.Shape[0])
				for c := range q.Lambda.Value.Data {
					q.Lambda.Value.Data[c] = float32(math.Ldexp(1, rng.IntN(4)-2))
				}
				n.Layer = q
			}
		}
		if err := g.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		opts := snn.DefaultConvertOptions()
		opts.AddSpikingOutput = false
		net, _, err := snn.FromGraph(g, opts)
		if err != nil {
			if !strings.Contains(err.Error(), "one λ per channel") {
				t.Fatalf("%s: %v", name, err)
			}
			t.Logf("%s: %v", name, err)
			continue
		}
		for _, st := range net.Stages {
			if st.Neuron != nil && st.Neuron.Threshold != 1 {
				t.Fatalf("%s: population %s has threshold %v", name, st.Name, st.Neuron.Threshold)
			}
		}
		checkEngines(t, name+" (λ per channel)", net, rng, 0)
		converted++
	}
	if converted < len(graphs)/2 {
		t.Fatalf("only %d of %d graphs converted", converted, len(graphs))
	}
}

// TestChannelLambdasConvertExactly converts Conv2d → QCFS(L=4, λ = 2, 1/2,
// 1 per channel) → AvgPool → Flatten → Linear with dyadic weights: over
// T = L steps of a constant current the mean membrane readout per step is
// the ANN's output exactly, on every engine, and the population has one
// threshold, 1 (each λ folded into the weights around it).
func TestChannelLambdasConvertExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 7))
	const levels = 4
	q := nn.NewQCFS(levels, 1, 3)
	copy(q.Lambda.Value.Data, []float32{2, 0.5, 1})
	seq := nn.NewSequential(
		nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 3, Kernel: 3, PaddingHW: [2]int{1, 1}, Bias: true}, rng),
		q,
		nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}),
		nn.NewFlatten(),
		nn.NewLinear(nn.LinearConfig{In: 12, Out: 3, Bias: true}, rng),
	)
	for _, p := range seq.Params() {
		if p.Name != "lambda" {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(math.Round((rng.Float64()*2-1)*32)) / 32
			}
		}
	}
	opts := snn.DefaultConvertOptions()
	opts.AddSpikingOutput = false
	net, err := snn.FromModel(seq, []int{1, 4, 4}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := net.Stages[1].Neuron; n == nil || n.Threshold != 1 {
		t.Fatalf("QCFS became %v", net.Stages[1])
	}
	x := tensor.New(3, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(rng.IntN(17)) / 8
	}
	want, err := seq.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	in := tensor.New(3, levels, 1, 4, 4)
	for b := 0; b < 3; b++ {
		for s := 0; s < levels; s++ {
			copy(in.Data[(b*levels+s)*16:], x.Data[b*16:(b+1)*16])
		}
	}
	for _, e := range []sim.Engine{sim.EngineReference, sim.EngineDense, sim.EngineEvent, sim.EngineAuto} {
		sm, err := sim.New(net)
		if err != nil {
			t.Fatal(err)
		}
		sm.SetEngine(e)
		out, err := sm.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for b := 0; b < 3; b++ {
			for c := 0; c < 3; c++ {
				var sum float32
				for s := 0; s < levels; s++ {
					sum += out.Data[(b*levels+s)*3+c]
				}
				if got := sum / levels; got != want.Data[b*3+c] {
					t.Fatalf("%v: sample %d output %d: mean readout %v, ANN %v", e, b, c, got, want.Data[b*3+c])
				}
			}
		}
	}
}
