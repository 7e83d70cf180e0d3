package modelio

import (
	"context"
	"github.com/snnkit/snnkit/sim"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/internal/golden"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/onnx"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

func TestSNNRoundTrip(t *testing.T) {
	spec, err := arch.Parse([]byte(small))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	ann, _ := spec.Build(rng)
	opts := snn.DefaultConvertOptions()
	opts.Neuron.Threshold = 0.5
	opts.Neuron.Spike, opts.Neuron.MaxSpikes = snn.MaxSpike, 3
	net, err := snn.FromModel(ann, spec.Input, opts)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "snn.safetensors")
	if err := SaveSNN(path, net, map[string]string{"note": "x"}); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !IsSNN(f) {
		t.Fatal("not marked as a spiking network")
	}
	back, err := SNNFromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != net.String() {
		t.Fatalf("structure changed:\n%s\n%s", net, back)
	}
	in := tensor.New(3, 7, 1, 6, 6)
	for i := range in.Data {
		in.Data[i] = float32(rng.IntN(2))
	}
	run := func(n *snn.Network) *tensor.Tensor {
		sm, err := sim.New(n)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sm.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := run(net), run(back)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("output %d differs after the round trip", i)
		}
	}
	// A file whose weights do not fit.
	bad := []safetensors.Tensor{}
	for _, tn := range f.Tensors {
		if tn.Name == "0.weight" {
			tn = safetensors.F32Tensor("0.weight", []int{3, 1, 2, 2}, make([]float32, 12))
		}
		bad = append(bad, tn)
	}
	badPath := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := safetensors.WriteFile(badPath, bad, f.Metadata); err != nil {
		t.Fatal(err)
	}
	g, _ := safetensors.ReadFile(badPath)
	if _, err := SNNFromFile(g); err == nil || !strings.Contains(err.Error(), "0.weight has shape [3, 1, 2, 2]") {
		t.Fatalf("mismatched weights: %v", err)
	}
}

func FuzzSNNFromFile(f *testing.F) {
	spec, _ := arch.Parse([]byte(small))
	ann, _ := spec.Build(rand.New(rand.NewPCG(1, 1)))
	net, _ := snn.FromModel(ann, spec.Input, snn.DefaultConvertOptions())
	path := filepath.Join(f.TempDir(), "s.safetensors")
	if err := SaveSNN(path, net, nil); err != nil {
		f.Fatal(err)
	}
	file, _ := safetensors.ReadFile(path)
	f.Add(file.Metadata[MetaSNN])
	f.Add(`{"format":"snnkit.snn/v1","input":[4],"stages":[{"name":"a","neuron":{"type":"IAF","spike_threshold":0,"min_v_mem":null}}]}`)
	f.Add(`{"format":"snnkit.snn/v1","input":[65536,65536],"stages":[{"name":"0","layer":{"type":"Linear","in_features":65536,"out_features":65536}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		g := &safetensors.File{Metadata: map[string]string{MetaKind: "snn", MetaSNN: doc}}
		n, err := SNNFromFile(g)
		if err != nil {
			return
		}
		if len(n.SpikingStages()) == 0 {
			t.Fatal("accepted a network without spiking stages")
		}
		for _, st := range n.Stages {
			if st.Spiking() {
				if err := st.Neuron.Validate(); err != nil {
					t.Fatalf("accepted an invalid neuron: %v", err)
				}
			}
		}
	})
}

// TestSNNGraphRoundTrip saves a network converted from a graph with joins
// (the residual ONNX fixture, with an input Normalize and v_init) and loads
// it back: the same stages, wiring and spikes.
func TestSNNGraphRoundTrip(t *testing.T) {
	g, err := onnx.ReadFile(filepath.Join(golden.Root(), "testdata", "onnx", "resnet_fmnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	norm, _ := nn.NewNormalize([]float32{0.286}, []float32{0.353})
	if err := g.Prepend("input_norm", norm); err != nil {
		t.Fatal(err)
	}
	opts := snn.DefaultConvertOptions()
	opts.Neuron.VInit = 0.5
	net, _, err := snn.FromGraph(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "g.safetensors")
	if err := SaveSNN(p, net, nil); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := SNNFromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != net.String() || back.IsChain() {
		t.Fatalf("loaded\n%v\nsaved\n%v", back, net)
	}
	in := tensor.New(2, 6, 1, 28, 28)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range in.Data {
		in.Data[i] = rng.Float32()
	}
	var outs []*tensor.Tensor
	for _, n := range []*snn.Network{net, back} {
		sm, err := sim.New(n)
		if err != nil {
			t.Fatal(err)
		}
		o, err := sm.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, o)
	}
	for i := range outs[0].Data {
		if outs[0].Data[i] != outs[1].Data[i] {
			t.Fatalf("output %d: %v after loading, %v before", i, outs[1].Data[i], outs[0].Data[i])
		}
	}
}
