package nir

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/monitor"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// sharedDir is ../shared/interop/nir beside the repository.
const sharedDir = "../../shared/interop/nir"

// fixture finds a NIR fixture: in ../shared, or in testdata (trimmed:
// sinabs' spikes of one sample's first 20 steps).
func fixture(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{sharedDir, "testdata"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s is in neither testdata nor %s", name, sharedDir)
	return ""
}

// simulate runs net on the [B, T, ...] input and returns every stage's
// output, by stage name, on every engine in turn.
func simulate(t *testing.T, net *snn.Network, in *tensor.Tensor, engine sim.Engine) map[string]*tensor.Tensor {
	t.Helper()
	sm, err := sim.New(net)
	if err != nil {
		t.Fatal(err)
	}
	sm.SetEngine(engine)
	var stages []int
	for i := range net.Stages {
		stages = append(stages, i)
	}
	rec, err := monitor.NewRecorder(net, stages, in.Shape[0], in.Shape[1])
	if err != nil {
		t.Fatal(err)
	}
	sm.AddMonitor(rec)
	if _, err := sm.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	out := map[string]*tensor.Tensor{}
	for k, i := range stages {
		out[net.Stages[i].Name] = rec.Outputs[k]
	}
	return out
}

// TestSpikesAsSinabs reads each NIR fixture, builds the network sinabs'
// from_nir builds, feeds it the fixture's input and compares the spikes
// of every spiking node with sinabs' own: all of them on the exact
// (dyadic) fixtures, on every engine; at least 99.9 % of the values on
// the float ones, where summation order can flip a spike.
func TestSpikesAsSinabs(t *testing.T) {
	cases := []struct {
		name  string
		exact bool
	}{
		{"tutorial_sinabs", true},
		{"cnn_sinabs_dyadic", true},
		{"cnn_sinabs", false},
		{"lif_norse", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Read(fixture(t, tc.name+".nir"))
			if err != nil {
				t.Fatal(err)
			}
			net, err := g.Network()
			if err != nil {
				t.Fatal(err)
			}
			exp, err := safetensors.ReadFile(fixture(t, tc.name+".expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			it, ok := exp.Get("input")
			if !ok {
				t.Fatal("no input tensor")
			}
			vals, err := it.Float32(false)
			if err != nil {
				t.Fatal(err)
			}
			in := &tensor.Tensor{Shape: it.Shape, Data: vals}
			engines := []sim.Engine{sim.EngineReference, sim.EngineAuto}
			if tc.exact {
				engines = append(engines, sim.EngineDense, sim.EngineEvent)
			}
			for _, e := range engines {
				out := simulate(t, net, in, e)
				total, diff := 0, 0
				for _, name := range exp.Names() {
					if name == "input" {
						continue
					}
					want, _ := exp.Get(name)
					wv, err := want.Float32(false)
					if err != nil {
						t.Fatal(err)
					}
					got := out[name]
					if got == nil {
						t.Fatalf("%v: no stage %s in the network", e, name)
					}
					if len(got.Data) != len(wv) {
						t.Fatalf("%v: node %s: %d values, sinabs %d (shape %v)", e, name, len(got.Data), len(wv), want.Shape)
					}
					for i, v := range wv {
						total++
						if got.Data[i] != v {
							diff++
						}
					}
				}
				t.Logf("%v: %d of %d spike values differ from sinabs'", e, diff, total)
				if tc.exact && diff > 0 || float64(diff) > 0.001*float64(total) {
					t.Errorf("%v: %d of %d spike values differ from sinabs'", e, diff, total)
				}
			}
		})
	}
}

// TestParseOnly reads the fixtures sinabs cannot simulate: each reads,
// and each builds a network or fails with an error that says why.
func TestParseOnly(t *testing.T) {
	cases := []struct{ name, want string }{
		{"two_lif_neurons", "node lif1 (LIF): v_leak must be 0, as sinabs requires (1.2)"},
		{"braille_noDelay_bias_zero", "node lif1.lif: sinabs' from_nir does not read a CubaLIF"},
		{"braille_noDelay_noBias_subtract", "node lif1.lif: sinabs' from_nir does not read a CubaLIF"},
		{"lif_rockpool", "node output (Output) has shape [1 1 1], but 1_LIFNeuronTorch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Read(fixture(t, tc.name+".nir"))
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Nodes) == 0 || len(g.Edges) == 0 {
				t.Errorf("%d nodes, %d edges", len(g.Nodes), len(g.Edges))
			}
			_, err = g.Network()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if tc.name != "lif_rockpool" {
				// NIR's own dynamics take its v_leak.
				if _, err := g.NetworkWith(ReadOptions{Dynamics: Reference, DT: 1e-3}); err != nil {
					t.Errorf("with the nir dynamics: %v", err)
				}
			}
		})
	}
}

// FuzzParse reads arbitrary bytes as a NIR file and builds its network:
// errors are fine, panics and hangs are not.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/lif_norse.nir", "testdata/lif_rockpool.nir"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Parse(b, "fuzz.nir")
		if err != nil {
			return
		}
		_ = g.String()
		if net, err := g.Network(); err == nil {
			if _, err := FromNetwork(net, WriteOptions{}); err != nil {
				return
			}
		}
	})
}
