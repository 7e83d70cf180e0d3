package snn

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	goldenset "github.com/snnkit/snnkit/internal/golden"
)

type neuronCase struct {
	Name       string               `json:"name"`
	Layer      string               `json:"layer"`
	Kwargs     map[string]any       `json:"kwargs"`
	InputScale float64              `json:"input_scale"`
	Output     []float64            `json:"output"`
	States     map[string][]float64 `json:"states"`
}

// neuronFromKwargs maps the sinabs constructor arguments of a golden case to
// a Neuron. sinabs' layers default to no floor (min_v_mem=None).
func neuronFromKwargs(t *testing.T, layer string, kw map[string]any) Neuron {
	n := Neuron{Threshold: 1, Spike: MultiSpike, Reset: ResetSubtract}
	switch layer {
	case "IAF":
		n.Kind = IAF
	case "LIF":
		n.Kind = LIF
		n.NormInput = true // sinabs' LIF default
	case "ExpLeak":
		n.Kind = ExpLeak
	default:
		t.Fatalf("unknown layer %q", layer)
	}
	for k, v := range kw {
		s, _ := v.(string)
		switch k {
		case "min_v_mem":
			n.HasFloor, n.MinVMem = true, float32(v.(float64))
		case "spike_fn":
			switch {
			case strings.Contains(s, "SingleSpike"):
				n.Spike = SingleSpike
			case strings.Contains(s, "MaxSpike(max_num_spikes_per_bin=2)"):
				n.Spike, n.MaxSpikes = MaxSpike, 2
			default:
				t.Fatalf("spike_fn %q", s)
			}
		case "reset_fn":
			if s != "MembraneReset(reset_value=0.0)" {
				t.Fatalf("reset_fn %q", s)
			}
			n.Reset = ResetToValue
		case "spike_threshold":
			if s != "tensor(0.5000)" {
				t.Fatalf("threshold %q", s)
			}
			n.Threshold = 0.5
		case "tau_syn":
			n.TauSyn = float32(v.(float64))
		case "tau_mem":
			n.TauMem = float32(v.(float64))
		case "norm_input":
			n.NormInput = v.(bool)
		default:
			t.Fatalf("unknown kwarg %q", k)
		}
	}
	return n
}

// TestNeuronCases reproduces sinabs' neuron_cases.json (testdata/golden and
// ../shared/golden) within 1e-5.
func TestNeuronCases(t *testing.T) {
	for _, set := range goldenset.Sets() {
		t.Run(set.Name, func(t *testing.T) { neuronCases(t, set.ReadNeuronCases(t)) })
	}
}

func neuronCases(t *testing.T, b []byte) {
	var doc struct {
		Input []float64    `json:"input"`
		Cases []neuronCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 10 {
		t.Fatalf("only %d cases", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		t.Run(c.Name, func(t *testing.T) {
			n := neuronFromKwargs(t, c.Layer, c.Kwargs)
			if err := n.Validate(); err != nil {
				t.Fatal(err)
			}
			st := n.NewState(1)
			for step, in := range doc.Input {
				x := []float32{float32(in * c.InputScale)}
				out := []float32{0}
				n.Step(st, x, out)
				check := func(what string, got float32, want float64) {
					if math.Abs(float64(got)-want) > 1e-5 {
						t.Errorf("step %d: %s = %v, want %v", step, what, got, want)
					}
				}
				check("output", out[0], c.Output[step])
				check("v_mem", st.V[0], c.States["v_mem"][step])
				if is, ok := c.States["i_syn"]; ok {
					check("i_syn", st.I[0], is[step])
				}
			}
		})
	}
}

// TestIAFFastPath checks the SIMD IAF path (MultiSpike, subtract) against
// the general one (MaxSpike with an unreachable maximum) for thresholds 1
// and 0.75, with and without floor.
func TestIAFFastPath(t *testing.T) {
	for _, th := range []float32{1, 0.75} {
		for _, floor := range []bool{false, true} {
			fast := DefaultIAF()
			fast.HasFloor, fast.Threshold = floor, th
			general := fast
			general.Spike = MaxSpike
			general.MaxSpikes = 1 << 30
			sf, sg := fast.NewState(67), general.NewState(67)
			x := make([]float32, 67)
			of, og := make([]float32, 67), make([]float32, 67)
			for step := 0; step < 50; step++ {
				for j := range x {
					x[j] = float32((j*7+step*13)%23)/4.3 - 2.7
				}
				fast.Step(sf, x, of)
				general.Step(sg, x, og)
				for j := range of {
					if of[j] != og[j] || sf.V[j] != sg.V[j] {
						t.Fatalf("θ=%v floor=%v step %d neuron %d: fast (%v, %v), general (%v, %v)", th, floor, step, j, of[j], sf.V[j], og[j], sg.V[j])
					}
				}
			}
		}
	}
}

func TestNeuronValidateAndString(t *testing.T) {
	n := DefaultIAF()
	if got := n.String(); got != "IAF(spike_threshold=1.0, min_v_mem=-1.0)" {
		t.Errorf("String() = %q", got)
	}
	n.Threshold = 0.75
	n.HasFloor = false
	if got := n.String(); got != "IAF(spike_threshold=0.75, min_v_mem=None)" {
		t.Errorf("String() = %q", got)
	}
	bad := []Neuron{
		{Kind: IAF, Threshold: 0},
		{Kind: IAF, Threshold: -1},
		{Kind: IAF, Threshold: float32(math.NaN())},
		{Kind: IAF, Threshold: 1, Spike: MaxSpike},
		{Kind: LIF, Threshold: 1},
		{Kind: IAF, Threshold: 1, TauSyn: -1},
	}
	for _, b := range bad {
		if err := b.Validate(); err == nil {
			t.Errorf("%+v accepted", b)
		}
	}
}

// TestResetToNonZeroValue checks the documented difference from sinabs:
// only neurons that spiked are set to the reset value.
func TestResetToNonZeroValue(t *testing.T) {
	n := Neuron{Kind: IAF, Threshold: 1, Spike: MultiSpike, Reset: ResetToValue, ResetValue: 0.25}
	st := n.NewState(2)
	out := make([]float32, 2)
	n.Step(st, []float32{1.5, 0.5}, out)
	if out[0] != 1 || out[1] != 0 || st.V[0] != 0.25 || st.V[1] != 0.5 {
		t.Fatalf("spikes %v, v %v; want [1 0], [0.25 0.5]", out, st.V)
	}
}

func TestNeuronJSONRoundTrip(t *testing.T) {
	ns := []Neuron{DefaultIAF(), {Kind: IAF, Threshold: 0.75, Spike: MaxSpike, MaxSpikes: 3, Reset: ResetToValue, ResetValue: 0.5},
		{Kind: LIF, Threshold: 1, TauMem: 10, TauSyn: 2, NormInput: true}, {Kind: ExpLeak, TauMem: 5}}
	for _, n := range ns {
		b, err := n.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var m Neuron
		if err := m.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if m != n {
			t.Fatalf("%s read back as %+v, want %+v", b, m, n)
		}
	}
	for _, bad := range []string{`{"type":"IAF"}`, `{"type":"Izhikevich","spike_threshold":1}`, `{"type":"IAF","spike_threshold":1,"spike_fn":"max:0"}`, `{"type":"IAF","spike_threshold":1,"colour":"red"}`} {
		var m Neuron
		if err := m.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
