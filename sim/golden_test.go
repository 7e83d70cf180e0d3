package sim_test

import (
	"context"
	"github.com/snnkit/snnkit/sim"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/arch"
	goldenset "github.com/snnkit/snnkit/internal/golden"
	"github.com/snnkit/snnkit/modelio"
	"github.com/snnkit/snnkit/monitor"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

type golden struct {
	file  *safetensors.File
	ann   *nn.Sequential
	input *tensor.Tensor
}

// forEachSet runs fn on the trimmed golden set in testdata and on the full
// set in ../shared/golden (skipped with a SKIP line when absent).
func forEachSet(t *testing.T, fn func(t *testing.T, g *golden)) {
	for _, set := range goldenset.Sets() {
		t.Run(set.Name, func(t *testing.T) { fn(t, loadGolden(t, set)) })
	}
}

func loadGolden(t testing.TB, set goldenset.Set) *golden {
	t.Helper()
	f := set.Open(t)
	spec, err := arch.Lookup("tutorial")
	if err != nil {
		t.Fatal(err)
	}
	ann, err := spec.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := modelio.LoadStateDict(ann, f, func(name string) bool { return !strings.HasSuffix(name, ".weight") }); err != nil {
		t.Fatal(err)
	}
	in, _ := f.Get("input")
	v, err := in.Float32(false)
	if err != nil {
		t.Fatal(err)
	}
	return &golden{file: f, ann: ann, input: &tensor.Tensor{Shape: in.Shape, Data: v}}
}

// GoldenCases are the from_model settings of ../shared/golden's four cases.
func goldenCases() map[string]snn.ConvertOptions {
	def := snn.DefaultConvertOptions()
	single := def
	single.Neuron.Spike = snn.SingleSpike
	zero := def
	zero.Neuron.Reset = snn.ResetToValue
	noFloor := def
	noFloor.Neuron.Threshold = 0.75
	noFloor.Neuron.HasFloor = false
	return map[string]snn.ConvertOptions{"default": def, "single_spike": single, "reset_zero": zero, "threshold_0.75_no_floor": noFloor}
}

func (g *golden) want(t *testing.T, name string) []float32 {
	t.Helper()
	tn, ok := g.file.Get(name)
	if !ok {
		t.Fatalf("golden tensor %s missing", name)
	}
	v, err := tn.Float32(false)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func compareSpikes(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	diff, total := 0, 0.0
	first := -1
	for i := range got {
		total += float64(want[i])
		if got[i] != want[i] {
			if first < 0 {
				first = i
			}
			diff++
		}
	}
	if diff > 0 {
		t.Fatalf("%s: %d of %d values differ (first at %d: %v, want %v)", what, diff, len(got), first, got[first], want[first])
	}
	if total == 0 {
		t.Fatalf("%s: the reference has no spikes; the comparison proves nothing", what)
	}
}

var engines = []sim.Engine{sim.EngineReference, sim.EngineDense, sim.EngineEvent, sim.EngineAuto}

// TestGoldenSpikeForSpike runs the four reference cases through Run with
// every engine and compares every spiking layer, spike for spike.
func TestGoldenSpikeForSpike(t *testing.T) { forEachSet(t, goldenSpikeForSpike) }

func goldenSpikeForSpike(t *testing.T, g *golden) {
	for name, opts := range goldenCases() {
		for _, engine := range engines {
			t.Run(name+"/"+engine.String(), func(t *testing.T) {
				net, err := snn.FromModel(g.ann, []int{1, 28, 28}, opts)
				if err != nil {
					t.Fatal(err)
				}
				sm, err := sim.New(net)
				if err != nil {
					t.Fatal(err)
				}
				sm.SetEngine(engine)
				rec, err := monitor.NewRecorder(net, nil, g.input.Shape[0], g.input.Shape[1])
				if err != nil {
					t.Fatal(err)
				}
				sm.AddMonitor(rec)
				sm.SetChunkFrames(48) // several chunks of time
				out, err := sm.Run(context.Background(), g.input)
				if err != nil {
					t.Fatal(err)
				}
				for k, i := range rec.Stages {
					stage := net.Stages[i].Name
					compareSpikes(t, name+"/"+stage, rec.Outputs[k].Data, g.want(t, name+"/"+stage))
				}
				compareSpikes(t, name+" output", out.Data, g.want(t, name+"/spike_output"))
			})
		}
	}
}

// TestStreamingEqualsSequence feeds the reference input one step at a time
// and requires the same spikes as the whole-sequence run.
func TestStreamingEqualsSequence(t *testing.T) {
	forEachSet(t, func(t *testing.T, g *golden) { streamingEqualsSequence(t, g) })
}

func streamingEqualsSequence(t *testing.T, g *golden) {
	net, err := snn.FromModel(g.ann, []int{1, 28, 28}, snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) { streaming(t, g, net, engine) })
	}
}

func streaming(t *testing.T, g *golden, net *snn.Network, engine sim.Engine) {
	sm, _ := sim.New(net)
	sm.SetEngine(engine)
	batch, steps := g.input.Shape[0], g.input.Shape[1]
	rec, _ := monitor.NewRecorder(net, nil, batch, steps)
	sm.AddMonitor(rec)
	frame := tensor.New(batch, 1, 28, 28)
	for step := 0; step < steps; step++ {
		for b := 0; b < batch; b++ {
			copy(frame.Data[b*784:(b+1)*784], g.input.Data[(b*steps+step)*784:(b*steps+step+1)*784])
		}
		if _, err := sm.Step(frame); err != nil {
			t.Fatal(err)
		}
	}
	for k, i := range rec.Stages {
		compareSpikes(t, "streaming "+net.Stages[i].Name, rec.Outputs[k].Data, g.want(t, "default/"+net.Stages[i].Name))
	}
	// Reset and run again as a whole sequence: same result.
	sm.Reset()
	out, err := sm.Run(context.Background(), g.input)
	if err != nil {
		t.Fatal(err)
	}
	compareSpikes(t, "after reset", out.Data, g.want(t, "default/spike_output"))
}

func TestConvertPrint(t *testing.T) {
	g := loadGolden(t, goldenset.Sets()[0])
	net, err := snn.FromModel(g.ann, []int{1, 28, 28}, snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := net.String()
	for _, want := range []string{"(1): IAF(spike_threshold=1.0, min_v_mem=-1.0)", "(spike_output): IAF(spike_threshold=1.0, min_v_mem=-1.0)", "(0): Conv2d(1, 20, kernel_size=(5, 5)", "(12): Linear(in_features=500, out_features=10, bias=False)"} {
		if !strings.Contains(s, want) {
			t.Errorf("printed network lacks %q:\n%s", want, s)
		}
	}
}
