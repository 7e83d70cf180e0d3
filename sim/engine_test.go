package sim_test

import (
	"context"
	"fmt"
	"github.com/snnkit/snnkit/sim"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/monitor"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// dyadic rounds every parameter to a multiple of 1/64 so that all sums in a
// simulation are exact and no engine's summation order can change a spike.
func dyadic(seq *nn.Sequential, rng *rand.Rand) {
	for _, p := range seq.Params() {
		for i := range p.Value.Data {
			p.Value.Data[i] = float32(math.Round((rng.Float64()*2-1)*48)) / 64
		}
	}
}

type randomNet struct {
	name  string
	input []int
	ann   *nn.Sequential
	opts  snn.ConvertOptions
}

func randomNets(rng *rand.Rand) []randomNet {
	def := snn.DefaultConvertOptions()
	single := def
	single.Neuron.Spike, single.Neuron.Threshold = snn.SingleSpike, 0.75
	maxS := def
	maxS.Neuron.Spike, maxS.Neuron.MaxSpikes, maxS.Neuron.Reset, maxS.Neuron.HasFloor = snn.MaxSpike, 2, snn.ResetToValue, false
	lif := def
	lif.Neuron = snn.Neuron{Kind: snn.LIF, Threshold: 1, TauMem: 8, Spike: snn.MultiSpike, HasFloor: true, MinVMem: -1}
	conv := func(in, out, k, s, p int, bias bool) *nn.Conv2d {
		return nn.NewConv2d(nn.Conv2dConfig{In: in, Out: out, Kernel: k, Stride: s, Padding: p, Bias: bias}, rng)
	}
	return []randomNet{
		{"tutorial-like", []int{1, 16, 16}, nn.NewSequential(conv(1, 20, 5, 1, 0, false), nn.NewReLU(), nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}),
			conv(20, 33, 3, 1, 0, false), nn.NewReLU(), nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}), nn.NewFlatten(),
			nn.NewLinear(nn.LinearConfig{In: 33 * 2 * 2, Out: 40}, rng), nn.NewReLU(), nn.NewLinear(nn.LinearConfig{In: 40, Out: 7}, rng)), def},
		{"padding stride bias", []int{3, 11, 9}, nn.NewSequential(conv(3, 8, 3, 2, 1, true), nn.NewReLU(), conv(8, 40, 2, 1, 1, true), nn.NewReLU(),
			nn.NewSumPool2d(nn.PoolConfig{Kernel: 2}), nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 40 * 3 * 3, Out: 5, Bias: true}, rng)), single},
		{"maxpool maxspike reset", []int{2, 12, 12}, nn.NewSequential(conv(2, 6, 3, 1, 0, true), nn.NewReLU(), nn.NewMaxPool2d(nn.PoolConfig{Kernel: 2}),
			nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 6 * 5 * 5, Out: 70, Bias: true}, rng), nn.NewReLU(), nn.NewLinear(nn.LinearConfig{In: 70, Out: 3}, rng)), maxS},
		{"lif 1x1", []int{4, 6, 6}, nn.NewSequential(conv(4, 16, 1, 1, 0, false), nn.NewReLU(), nn.NewSumPool2d(nn.PoolConfig{Kernel: 3, Stride: 1}),
			conv(16, 9, 3, 1, 1, true), nn.NewReLU(), nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 9 * 4 * 4, Out: 4}, rng)), lif},
		{"gathered convolutions", []int{5, 13, 11}, nn.NewSequential(conv(5, 16, 3, 1, 1, true), nn.NewReLU(), conv(16, 32, 3, 2, 1, true), nn.NewReLU(),
			nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}), conv(32, 16, 2, 1, 1, false), nn.NewReLU(), nn.NewFlatten(),
			nn.NewLinear(nn.LinearConfig{In: 16 * 4 * 4, Out: 5}, rng)), def},
		{"window scatter", []int{1, 9, 10}, nn.NewSequential(conv(1, 12, 3, 1, 1, true), nn.NewReLU(), nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}),
			nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 12 * 4 * 5, Out: 4}, rng)), def},
		{"mlp", []int{30}, nn.NewSequential(nn.NewLinear(nn.LinearConfig{In: 30, Out: 50, Bias: true}, rng), nn.NewReLU(),
			nn.NewLinear(nn.LinearConfig{In: 50, Out: 6}, rng)), def},
	}
}

// TestEnginesAgreeOnDyadicNetworks runs random networks with dyadic weights
// through every engine, with spike and analog (constant-current-like)
// input, in one call and step by step, and requires identical output of
// every stage.
func TestEnginesAgreeOnDyadicNetworks(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	for _, rn := range randomNets(rng) {
		dyadic(rn.ann, rng)
		net, err := snn.FromModel(rn.ann, rn.input, rn.opts)
		if err != nil {
			t.Fatalf("%s: %v", rn.name, err)
		}
		checkEngines(t, rn.name, net, rng, 0)
	}
}

// checkEngines runs net through every engine, with spike, analog and
// constant analog input, whole and step by step, and requires every stage's output to equal the
// reference engine's; the fast engines must take the network.
//
// Every population must spike, except quiet of them (random graphs, whose
// random weights can silence a branch).
func checkEngines(t *testing.T, name string, net *snn.Network, rng *rand.Rand, quiet int) {
	t.Helper()
	for _, input := range []string{"spikes", "analog", "constant"} {
		batch, steps := 3, 23
		in := tensor.New(append([]int{batch, steps}, net.Input...)...)
		size := tensor.Numel(net.Input)
		for i := range in.Data {
			switch {
			case input == "constant" && (i/size)%steps > 0:
				in.Data[i] = in.Data[i-size] // a constant current: every step the first's frame
			case input != "spikes":
				in.Data[i] = float32(rng.IntN(129)) / 64
			case rng.IntN(4) == 0:
				in.Data[i] = float32(1 + rng.IntN(2))
			}
		}
		var ref []*tensor.Tensor
		// The engines, and the event engine with every table convolution
		// taken (its cost model takes them only where they pay).
		for _, engine := range append(engines, -1) {
			for _, stepwise := range []bool{false, true} {
				sm, err := sim.New(net)
				if err != nil {
					t.Fatal(err)
				}
				engName := engine.String()
				if engine == -1 {
					engName = "event with tables"
					sm.SetEngine(sim.EngineEvent)
					if !sim.UseTables(sm) {
						continue
					}
				} else {
					sm.SetEngine(engine)
				}
				name := fmt.Sprintf("%s %s input, %s, stepwise=%v", name, input, engName, stepwise)
				if engine != sim.EngineReference && !sim.FastEngine(sm) {
					t.Fatalf("%s: the fast engine does not take the network", name)
				}
				var stages []int
				for i := range net.Stages {
					stages = append(stages, i)
				}
				rec, _ := monitor.NewRecorder(net, stages, batch, steps)
				sm.AddMonitor(rec)
				if stepwise {
					frame := tensor.New(append([]int{batch}, net.Input...)...)
					n := tensor.Numel(net.Input)
					for s := 0; s < steps; s++ {
						for b := 0; b < batch; b++ {
							copy(frame.Data[b*n:(b+1)*n], in.Data[(b*steps+s)*n:(b*steps+s+1)*n])
						}
						if _, err := sm.Step(frame); err != nil {
							t.Fatal(err)
						}
					}
				} else if _, err := sm.Run(context.Background(), in); err != nil {
					t.Fatal(err)
				}
				if ref == nil {
					ref = rec.Outputs
					q := quiet
					for k, i := range stages {
						if net.Stages[i].Spiking() && tensor.Sum(ref[k].Data) == 0 {
							if q == 0 {
								t.Fatalf("%s: no spikes in stage %s; the comparison would prove little", name, net.Stages[i].Name)
							}
							q--
						}
					}
					continue
				}
				for k := range stages {
					for j, v := range rec.Outputs[k].Data {
						if v != ref[k].Data[j] {
							t.Fatalf("%s: stage %s value %d is %v, reference engine %v", name, net.Stages[stages[k]].Name, j, v, ref[k].Data[j])
						}
					}
				}
				if stepwise {
					continue
				}
				// Unwatched but for spike counts, populations step the
				// residual Adds that feed them (sim.FusedJoins): the output
				// must not change.
				sm, err = sim.New(net)
				if err != nil {
					t.Fatal(err)
				}
				sm.SetEngine(sim.EngineEvent)
				if engine >= 0 {
					sm.SetEngine(engine)
				} else {
					sim.UseTables(sm)
				}
				sm.AddMonitor(monitor.NewFiringRates(net))
				sm.AddMonitor(monitor.NewSynOps(net)) // input sums do not need the frames after them
				out, err := sm.Run(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				last := ref[len(ref)-1]
				for j, v := range out.Data {
					if v != last.Data[j] {
						t.Fatalf("%s, unwatched (%d fused joins): output value %d is %v, reference engine %v", name, sim.FusedJoins(sm), j, v, last.Data[j])
					}
				}
			}
		}
	}
}

// randomGraphs are graphs with every join and operation the fast engines
// run: residual Adds of two and three inputs, 3-way Concats (spatial and
// flat), spiking max-pools (padded, ceil mode), strides, asymmetric
// padding, grouped (depthwise) and dilated convolutions, padded average
// pooling, global average pooling and biases. Planes stay powers of two
// where an average divides them, so that every sum is exact.
func randomGraphs(rng *rand.Rand) map[string]*graph.Graph {
	conv := func(cfg nn.Conv2dConfig) *nn.Conv2d { return nn.NewConv2d(cfg, rng) }
	graphs := map[string]*graph.Graph{}

	g := graph.New([]int{2, 12, 12})
	g.AddLayer("stem", conv(nn.Conv2dConfig{In: 2, Out: 16, Kernel: 3, Padding: 1, Bias: true}), graph.Input)
	g.AddLayer("r0", nn.NewReLU(), "stem")
	g.AddLayer("c1", conv(nn.Conv2dConfig{In: 16, Out: 16, Kernel: 3, Padding: 1}), "r0")
	g.AddLayer("r1", nn.NewReLU(), "c1")
	g.AddLayer("c2", conv(nn.Conv2dConfig{In: 16, Out: 16, Kernel: 3, Padding: 1, Bias: true}), "r1")
	g.AddLayer("c3", conv(nn.Conv2dConfig{In: 16, Out: 16, Kernel: 1}), "r1")
	g.AddJoin("add3", nn.NewAdd(), "c2", "r0", "c3")
	g.AddLayer("r2", nn.NewReLU(), "add3")
	g.AddLayer("mp", nn.NewMaxPool2d(nn.PoolConfig{Kernel: 2}), "r2") // spiking max-pool, [16, 6, 6]
	g.AddLayer("a", conv(nn.Conv2dConfig{In: 16, Out: 8, Kernel: 3, Padding: 1, Bias: true}), "mp")
	g.AddLayer("b", conv(nn.Conv2dConfig{In: 16, Out: 4, Kernel: 1}), "mp")
	g.AddLayer("c", conv(nn.Conv2dConfig{In: 16, Out: 8, Kernel: 3, Groups: 4, DilationHW: [2]int{2, 2}, Padding: 2}), "mp")
	g.AddJoin("cat", nn.NewConcat(), "a", "b", "c") // [20, 6, 6]
	g.AddLayer("r3", nn.NewReLU(), "cat")
	g.AddLayer("asym", conv(nn.Conv2dConfig{In: 20, Out: 12, Kernel: 3, StrideHW: [2]int{2, 1}, PaddingHW: [2]int{0, 1}, PadEndHW: [2]int{1, 0}, HasPadEnd: true, Bias: true}), "r3") // [12, 3, 5]
	g.AddLayer("r4", nn.NewReLU(), "asym")
	g.AddLayer("pool", nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2, Stride: 2, PaddingHW: [2]int{1, 1}, CeilMode: true, ExcludePad: true}), "r4") // [12, 2, 3]
	g.AddLayer("flat", nn.NewFlatten(), "pool")
	g.AddLayer("fc", nn.NewLinear(nn.LinearConfig{In: 72, Out: 24, Bias: true}, rng), "flat")
	g.AddLayer("r5", nn.NewReLU(), "fc")
	g.AddLayer("head", nn.NewLinear(nn.LinearConfig{In: 24, Out: 5}, rng), "r5")
	graphs["residual concat maxpool"] = g

	g = graph.New([]int{3, 8, 8})
	g.AddLayer("dw", conv(nn.Conv2dConfig{In: 3, Out: 6, Kernel: 3, Groups: 3, Bias: true}), graph.Input) // [6, 6, 6]
	g.AddLayer("r0", nn.NewReLU(), "dw")
	g.AddLayer("mp", nn.NewMaxPool2d(nn.PoolConfig{Kernel: 3, Stride: 2, PaddingHW: [2]int{1, 1}, CeilMode: true}), "r0") // [6, 4, 4]
	g.AddLayer("pw", conv(nn.Conv2dConfig{In: 6, Out: 32, Kernel: 1, Bias: true}), "mp")
	g.AddLayer("r1", nn.NewReLU(), "pw")
	g.AddLayer("gap", nn.NewGlobalAvgPool2d(), "r1")
	g.AddLayer("flat", nn.NewFlatten(), "gap")
	g.AddLayer("head", nn.NewLinear(nn.LinearConfig{In: 32, Out: 4, Bias: true}, rng), "flat")
	graphs["depthwise padded spiking max-pool"] = g

	g = graph.New([]int{20})
	g.AddLayer("l1", nn.NewLinear(nn.LinearConfig{In: 20, Out: 30, Bias: true}, rng), graph.Input)
	g.AddLayer("r1", nn.NewReLU(), "l1")
	g.AddLayer("l2", nn.NewLinear(nn.LinearConfig{In: 30, Out: 17}, rng), "r1")
	g.AddLayer("l3", nn.NewLinear(nn.LinearConfig{In: 30, Out: 17, Bias: true}, rng), "r1")
	g.AddJoin("add", nn.NewAdd(), "l2", "l3")
	g.AddLayer("r2", nn.NewReLU(), "add")
	g.AddJoin("cat", nn.NewConcat(), "r2", "r1", "add")
	g.AddLayer("head", nn.NewLinear(nn.LinearConfig{In: 64, Out: 3}, rng), "cat")
	graphs["flat joins"] = g
	return graphs
}

// TestEnginesAgreeOnDyadicGraphs is TestEnginesAgreeOnDyadicNetworks for
// graphs.
func TestEnginesAgreeOnDyadicGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	graphs := randomGraphs(rng)
	names := slices.Sorted(maps.Keys(graphs))
	for _, name := range names {
		g := graphs[name]
		if err := g.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, p := range g.Params() {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(math.Round((rng.Float64()*2-1)*48)) / 64
			}
		}
		net, _, err := snn.FromGraph(g, snn.DefaultConvertOptions())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkEngines(t, name, net, rng, 0)
	}
}

func TestParseEngine(t *testing.T) {
	for _, e := range engines {
		got, err := sim.ParseEngine(e.String())
		if err != nil || got != e {
			t.Errorf("%v: %v %v", e, got, err)
		}
	}
	if _, err := sim.ParseEngine("gpu"); err == nil {
		t.Error("unknown engine accepted")
	}
}

// TestEnginesDeterministicAcrossThreads runs a network with ordinary
// (non-dyadic) float weights, where summation order matters, with one and
// with two threads: every engine must give bit-identical outputs.
func TestEnginesDeterministicAcrossThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	rn := randomNets(rng)[0]
	net, err := snn.FromModel(rn.ann, rn.input, rn.opts)
	if err != nil {
		t.Fatal(err)
	}
	batch, steps := 6, 30
	in := tensor.New(append([]int{batch, steps}, rn.input...)...)
	for i := range in.Data {
		if rng.IntN(3) == 0 {
			in.Data[i] = 1
		}
	}
	run := func(e sim.Engine, threads int) []float32 {
		prev := runtime.GOMAXPROCS(threads)
		defer runtime.GOMAXPROCS(prev)
		sm, err := sim.New(net)
		if err != nil {
			t.Fatal(err)
		}
		sm.SetEngine(e)
		out, err := sm.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return out.Data
	}
	for _, e := range engines {
		a, b := run(e, 1), run(e, 2)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%v: output %d differs between 1 and 2 threads", e, i)
			}
		}
	}
}

// TestFoldBatchNormAndBiasRescaling checks that folding an evaluation-mode
// BatchNorm2d into the convolution before it removes the stage and changes
// the computed currents only by rounding, and that bias rescaling divides
// every bias.
func TestFoldBatchNormAndBiasRescaling(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	bn := nn.NewBatchNorm2d(4)
	for i := 0; i < 4; i++ {
		bn.Weight.Value.Data[i] = 0.5 + rng.Float32()
		bn.Bias.Value.Data[i] = rng.Float32() - 0.5
		bn.RunningMean.Value.Data[i] = rng.Float32()
		bn.RunningVar.Value.Data[i] = 0.5 + rng.Float32()
	}
	ann := nn.NewSequential(nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 4, Kernel: 3, Bias: true}, rng), bn, nn.NewReLU(),
		nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 4 * 4 * 4, Out: 3, Bias: true}, rng))
	x := tensor.New(5, 1, 6, 6)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	want, _ := ann.Forward(x, false)
	want = want.Clone()
	for _, fold := range []bool{false, true} {
		opts := snn.DefaultConvertOptions()
		opts.FoldBatchNorm = fold
		net, err := snn.FromModel(ann, []int{1, 6, 6}, opts)
		if err != nil {
			t.Fatal(err)
		}
		hasBN := false
		for _, st := range net.Stages {
			if _, ok := st.Layer.(*nn.BatchNorm2d); ok {
				hasBN = true
			}
		}
		if hasBN == fold {
			t.Fatalf("fold=%v: BatchNorm stage present = %v", fold, hasBN)
		}
		ann2, err := net.ANN()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := ann2.Forward(x, false)
		for i := range want.Data {
			if math.Abs(float64(got.Data[i]-want.Data[i])) > 1e-4 {
				t.Fatalf("fold=%v: output %d = %v, want %v", fold, i, got.Data[i], want.Data[i])
			}
		}
	}
	opts := snn.DefaultConvertOptions()
	opts.BiasRescaling = 4
	net, _ := snn.FromModel(ann, []int{1, 6, 6}, opts)
	conv := net.Stages[0].Layer.(*nn.Conv2d)
	orig := ann.Layers[0].(*nn.Conv2d)
	for i, b := range conv.Bias.Value.Data {
		if b != orig.Bias.Value.Data[i]/4 {
			t.Fatalf("bias %d = %v, want %v/4", i, b, orig.Bias.Value.Data[i])
		}
	}
	opts.BiasRescaling = 0
	if _, err := snn.FromModel(ann, []int{1, 6, 6}, opts); err == nil {
		t.Fatal("bias rescaling 0 accepted")
	}
}

// TestEventForms checks that the networks named for an event path take it
// where the CPU has its kernel: a silent fallback to another form would
// leave the path untested while the test names promise it.
func TestEventForms(t *testing.T) {
	simd, avx512 := tensor.VectorWidth() > 1, tensor.VectorWidth() == 16
	want := map[string]map[string]string{
		"gathered convolutions": {"2": "scatter/generic", "5": "scatter/generic"},
		"window scatter":        {"0": "scatter/generic"},
	}
	if simd {
		want["gathered convolutions"] = map[string]string{"2": "gathered/simd", "5": "gathered/simd"}
		want["window scatter"]["0"] = "scatter/simd"
	}
	if avx512 {
		want["window scatter"]["0"] = "window/simd"
		want["gathered convolutions"]["0"] = "rows/simd"       // 5 → 16 channels, 3×3, stride 1, padding 1
		want["gathered convolutions"]["2"] = "rows/simd+table" // 3×3 at stride 2, padding 1; spike counts of 16 channels
	}
	rng := rand.New(rand.NewPCG(21, 21))
	for _, rn := range randomNets(rng) {
		w, ok := want[rn.name]
		if !ok {
			continue
		}
		net, err := snn.FromModel(rn.ann, rn.input, rn.opts)
		if err != nil {
			t.Fatal(err)
		}
		sm, err := sim.New(net)
		if err != nil {
			t.Fatal(err)
		}
		got := sim.EventForms(sm)
		for stage, form := range w {
			if got[stage] != form {
				t.Errorf("%s: stage %s propagates as %q, want %q (all: %v)", rn.name, stage, got[stage], form, got)
			}
		}
	}
}

// TestFromModelRefusesBadBatchNorm checks that running statistics no batch
// can have (a negative variance made --fold-batchnorm write NaN weights)
// are refused at conversion, folded or not.
func TestFromModelRefusesBadBatchNorm(t *testing.T) {
	for _, fold := range []bool{false, true} {
		bn := nn.NewBatchNorm2d(2)
		bn.RunningVar.Value.Data[1] = -1
		ann := nn.NewSequential(nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 2, Kernel: 3}, nil), bn, nn.NewReLU())
		opts := snn.DefaultConvertOptions()
		opts.FoldBatchNorm = fold
		if _, err := snn.FromModel(ann, []int{1, 5, 5}, opts); err == nil || !strings.Contains(err.Error(), "running_var[1] is -1") {
			t.Errorf("fold=%v: %v", fold, err)
		}
	}
}

// randomGraph builds a random graph from seed: convolutions of random
// kernels, strides, symmetric or asymmetric padding, dilations, groups and
// biases, residual Adds of two or three branches, Concats of two or three,
// average, sum and (spiking) max pooling with padding and ceil mode, and a
// head through Flatten, or global average pooling where the plane is a
// power of two (so that every sum stays exact).
func randomGraph(seed uint64) (*graph.Graph, error) {
	rng := rand.New(rand.NewPCG(seed, 77))
	type value struct {
		name  string
		shape []int
	}
	input := []int{1 + rng.IntN(3), 6 + rng.IntN(7), 6 + rng.IntN(7)}
	g := graph.New(input)
	vals := []value{{graph.Input, input}}
	id := 0
	name := func(kind string) string { id++; return fmt.Sprintf("%s%d", kind, id) }
	add := func(n string, l nn.Layer, in string) (value, error) {
		node := g.AddLayer(n, l, in)
		if err := g.Check(); err != nil {
			return value{}, err
		}
		return value{n, node.Shape}, nil
	}
	widths := []int{2, 4, 8, 16, 20, 32}
	// conv adds a convolution of v (and a ReLU with probability relu);
	// same keeps the plane (stride 1, "same" padding).
	conv := func(v value, out int, same bool, relu float64) (value, error) {
		c, h, w := v.shape[0], v.shape[1], v.shape[2]
		cfg := nn.Conv2dConfig{In: c, Out: out, Bias: rng.IntN(2) == 0}
		k := []int{1, 3, 3, 5}[rng.IntN(4)]
		for k > min(h, w) {
			k -= 2
		}
		cfg.Kernel, cfg.Padding = k, k/2
		if !same {
			cfg.StrideHW = [2]int{1 + rng.IntN(2), 1 + rng.IntN(2)}
			switch rng.IntN(4) {
			case 0:
				cfg.PaddingHW, cfg.PadEndHW, cfg.HasPadEnd = [2]int{rng.IntN(2), 0}, [2]int{0, rng.IntN(2)}, true
			case 1:
				if k == 3 && min(h, w) >= 5 {
					cfg.DilationHW, cfg.Padding = [2]int{2, 2}, 2
				}
			}
			if gr := []int{1, 2, 4}[rng.IntN(3)]; c%gr == 0 && out%gr == 0 {
				cfg.Groups = gr
			}
		}
		r, err := add(name("conv"), nn.NewConv2d(cfg, rng), v.name)
		if err != nil || rng.Float64() >= relu {
			return r, err
		}
		return add(name("relu"), nn.NewReLU(), r.name)
	}
	spatial := func() value {
		var vs []value
		for _, v := range vals {
			if len(v.shape) == 3 && v.name != graph.Input {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			return vals[0]
		}
		return vs[rng.IntN(len(vs))]
	}
	v, err := conv(vals[0], widths[1+rng.IntN(5)], false, 1)
	if err != nil {
		return nil, err
	}
	vals = append(vals, v)
	for step := 0; step < 3+rng.IntN(4); step++ {
		v := spatial()
		var r value
		switch rng.IntN(4) {
		case 0: // a residual Add of 2 or 3 branches
			ins := []string{v.name}
			for b := 0; b < 1+rng.IntN(2); b++ {
				br, err := conv(v, v.shape[0], true, 0.5)
				if err != nil {
					return nil, err
				}
				ins = append(ins, br.name)
			}
			n := name("add")
			node := g.AddJoin(n, nn.NewAdd(), ins...)
			if err := g.Check(); err != nil {
				return nil, err
			}
			if r, err = add(name("relu"), nn.NewReLU(), n); err != nil {
				return nil, err
			}
			_ = node
		case 1: // a Concat of 2 or 3 branches
			var ins []string
			for b := 0; b < 2+rng.IntN(2); b++ {
				br, err := conv(v, widths[rng.IntN(len(widths))], true, 0.7)
				if err != nil {
					return nil, err
				}
				ins = append(ins, br.name)
			}
			n := name("cat")
			g.AddJoin(n, nn.NewConcat(), ins...)
			if err := g.Check(); err != nil {
				return nil, err
			}
			if r, err = add(name("relu"), nn.NewReLU(), n); err != nil {
				return nil, err
			}
		case 2: // pooling
			if min(v.shape[1], v.shape[2]) < 3 {
				continue
			}
			cfg := nn.PoolConfig{Kernel: 2}
			if rng.IntN(2) == 0 {
				cfg.PaddingHW, cfg.CeilMode = [2]int{rng.IntN(2), rng.IntN(2)}, rng.IntN(2) == 0
			}
			var l nn.Layer
			switch rng.IntN(3) {
			case 0:
				l = nn.NewAvgPool2d(cfg) // divisor 4 (padding counted)
			case 1:
				l = nn.NewSumPool2d(cfg)
			default:
				cfg.Kernel, cfg.Stride = 2+rng.IntN(2), 1+rng.IntN(2)
				l = nn.NewMaxPool2d(cfg) // a spiking max-pool after a ReLU
			}
			if r, err = add(name("pool"), l, v.name); err != nil {
				return nil, err
			}
		default:
			if r, err = conv(v, widths[rng.IntN(len(widths))], false, 0.9); err != nil {
				return nil, err
			}
		}
		vals = append(vals, r)
	}
	last := vals[len(vals)-1]
	if plane := last.shape[1] * last.shape[2]; plane&(plane-1) == 0 && rng.IntN(2) == 0 {
		if last, err = add(name("gap"), nn.NewGlobalAvgPool2d(), last.name); err != nil {
			return nil, err
		}
	}
	if last, err = add(name("flat"), nn.NewFlatten(), last.name); err != nil {
		return nil, err
	}
	hidden := 8 + rng.IntN(30)
	if last, err = add(name("fc"), nn.NewLinear(nn.LinearConfig{In: last.shape[0], Out: hidden, Bias: rng.IntN(2) == 0}, rng), last.name); err != nil {
		return nil, err
	}
	if last, err = add(name("relu"), nn.NewReLU(), last.name); err != nil {
		return nil, err
	}
	if _, err = add(name("head"), nn.NewLinear(nn.LinearConfig{In: hidden, Out: 2 + rng.IntN(8)}, rng), last.name); err != nil {
		return nil, err
	}
	return g, nil
}

// TestEnginesAgreeOnRandomGraphs runs 24 random dyadic graphs through every
// engine (checkEngines), naming the seed of any that fails; 2 with -short
// (the emulated-architecture lane of CI).
func TestEnginesAgreeOnRandomGraphs(t *testing.T) {
	ran, seeds := 0, uint64(24)
	if testing.Short() {
		seeds = 2
	}
	for seed := uint64(0); seed < seeds; seed++ {
		g, err := randomGraph(seed)
		if err != nil {
			t.Fatalf("seed %d: building the graph: %v", seed, err)
		}
		rng := rand.New(rand.NewPCG(seed, 5))
		for _, p := range g.Params() {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(math.Round((rng.Float64()*2-1)*48)) / 64
			}
		}
		net, _, err := snn.FromGraph(g, snn.DefaultConvertOptions())
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		pops := 0
		for _, st := range net.Stages {
			if st.Spiking() {
				pops++
			}
		}
		checkEngines(t, fmt.Sprintf("random graph %d (%d stages)", seed, len(net.Stages)), net, rng, pops/2)
		ran++
	}
	if ran == 0 {
		t.Fatal("no graph ran")
	}
}

// TestCheckStateNamesTheStage overflows one population of a network (its
// input weights huge) and requires every engine's CheckState to name that
// stage, after a batch large enough that the fast engine checks its state
// in many pieces; the same network with small weights passes, and Reset
// brings the overflowed state back.
func TestCheckStateNamesTheStage(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	ann := nn.NewSequential(
		nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 16, Kernel: 3, Padding: 1, Bias: true}, rng), nn.NewReLU(),
		nn.NewConv2d(nn.Conv2dConfig{In: 16, Out: 16, Kernel: 3, Padding: 1, Bias: true}, rng), nn.NewReLU(),
		nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 16 * 20 * 20, Out: 3}, rng))
	for _, tc := range []struct {
		name    string
		scale   float32
		wantErr string
	}{
		{"finite", 1, ""},
		{"overflow", 3e38, "stage 3"},
	} {
		for _, engine := range engines {
			t.Run(fmt.Sprintf("%s %s", tc.name, engine), func(t *testing.T) {
				seq, err := ann.Clone()
				if err != nil {
					t.Fatal(err)
				}
				w := seq.Layers[2].(*nn.Conv2d).Weight.Value.Data
				for i := range w {
					w[i] = (float32(i%5) + 1) * tc.scale
				}
				net, err := snn.FromModel(seq, []int{1, 20, 20}, snn.DefaultConvertOptions())
				if err != nil {
					t.Fatal(err)
				}
				sm, err := sim.New(net)
				if err != nil {
					t.Fatal(err)
				}
				sm.SetEngine(engine)
				in := tensor.New(40, 3, 1, 20, 20)
				for i := range in.Data {
					in.Data[i] = 1
				}
				if _, err := sm.Run(context.Background(), in); err != nil {
					t.Fatal(err)
				}
				err = sm.CheckState()
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatalf("CheckState: %v", err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Fatalf("CheckState: %v, want an error naming %q", err, tc.wantErr)
				}
				sm.Reset()
				if err := sm.CheckState(); err != nil {
					t.Fatalf("after Reset: %v", err)
				}
			})
		}
	}
}
