package sim_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// recurrentNet is Linear → Add(·, its population's spikes through a
// recurrent Linear, a step late) → IAF → recurrent Linear.
func recurrentNet(t *testing.T) *snn.Network {
	t.Helper()
	r := rand.New(rand.NewPCG(2, 3))
	fc := nn.NewLinear(nn.LinearConfig{In: 3, Out: 4, Bias: true}, r)
	rec := nn.NewLinear(nn.LinearConfig{In: 4, Out: 4}, r)
	for _, p := range append(fc.Params(), rec.Params()...) {
		for i := range p.Value.Data {
			p.Value.Data[i] = float32(r.IntN(65)-24) / 32
		}
	}
	n := snn.DefaultIAF()
	return &snn.Network{Input: []int{3}, Stages: []snn.Stage{
		{Name: "fc", Layer: fc, Inputs: []string{snn.Input}, In: []int{3}, Out: []int{4}},
		{Name: "sum", Join: nn.NewAdd(), Inputs: []string{"fc", "rec"}, Delayed: []string{"rec"}, In: []int{4}, Out: []int{4}},
		{Name: "pop", Neuron: &n, Inputs: []string{"sum"}, In: []int{4}, Out: []int{4}},
		{Name: "rec", Layer: rec, Inputs: []string{"pop"}, In: []int{4}, Out: []int{4}},
	}}
}

// TestRecurrent runs a network with a recurrent connection: every engine
// falls back to the reference engine; a whole run equals the same steps
// one by one and a hand-written loop in which the population reads its
// own spikes of the step before; Reset starts that over from zeros.
func TestRecurrent(t *testing.T) {
	net := recurrentNet(t)
	if _, err := net.Sources(); err == nil {
		t.Fatal("Sources accepted a recurrent network")
	}
	r := rand.New(rand.NewPCG(5, 6))
	const batch, steps = 2, 40
	in := tensor.New(batch, steps, 3)
	for i := range in.Data {
		in.Data[i] = float32(r.IntN(3))
	}
	// The loop, by hand (dyadic values: exact).
	fc, rec := net.Stages[0].Layer.(*nn.Linear), net.Stages[3].Layer.(*nn.Linear)
	lin := func(l *nn.Linear, x []float32) []float32 {
		y := make([]float32, l.Config.Out)
		for j := range y {
			if l.Bias != nil {
				y[j] = l.Bias.Value.Data[j]
			}
			for k, v := range x {
				y[j] += l.Weight.Value.Data[j*l.Config.In+k] * v
			}
		}
		return y
	}
	want := make([]float32, batch*steps*4)
	for b := 0; b < batch; b++ {
		v, s := make([]float32, 4), make([]float32, 4)
		for k := 0; k < steps; k++ {
			cur, back := lin(fc, in.Data[(b*steps+k)*3:(b*steps+k+1)*3]), lin(rec, s)
			for j := range v {
				v[j] += cur[j] + back[j]
				s[j] = 0
				if v[j] > 0 {
					s[j] = float32(int(v[j]))
				}
				v[j] -= s[j]
				v[j] = max(v[j], -1)
			}
			copy(want[(b*steps+k)*4:], lin(rec, s)) // the output: the last stage, rec
		}
	}
	if tensor.Sum(want) == 0 {
		t.Fatal("no output")
	}
	for _, e := range []sim.Engine{sim.EngineReference, sim.EngineAuto, sim.EngineEvent} {
		sm, err := sim.New(net)
		if err != nil {
			t.Fatal(err)
		}
		sm.SetEngine(e)
		if sim.FastEngine(sm) {
			t.Fatalf("%v: a fast engine took a recurrent network", e)
		}
		for round := 0; round < 2; round++ { // the second after Reset
			sm.Reset()
			out, err := sm.Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Data, want) {
				t.Fatalf("%v, round %d: spikes %v, want %v", e, round, out.Data[:16], want[:16])
			}
		}
		sm.Reset()
		frame := tensor.New(batch, 3)
		for k := 0; k < steps; k++ {
			for b := 0; b < batch; b++ {
				copy(frame.Data[b*3:(b+1)*3], in.Data[(b*steps+k)*3:(b*steps+k+1)*3])
			}
			out, err := sm.Step(frame)
			if err != nil {
				t.Fatal(err)
			}
			for b := 0; b < batch; b++ {
				if !slices.Equal(out.Data[b*4:(b+1)*4], want[(b*steps+k)*4:(b*steps+k+1)*4]) {
					t.Fatalf("%v: step %d differs from the run", e, k)
				}
			}
		}
	}
}
