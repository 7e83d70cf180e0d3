package modelio

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/tensor"
)

const small = `{"format":"snnkit.arch/v1","input":[1,6,6],"layers":[
 {"type":"Conv2d","in_channels":1,"out_channels":3,"kernel_size":3,"bias":true},
 {"type":"BatchNorm2d","num_features":3},{"type":"ReLU"},{"type":"AvgPool2d","kernel_size":2},
 {"type":"Flatten"},{"type":"Dropout","p":0.2},{"type":"Linear","in_features":12,"out_features":4}]}`

func TestSaveLoadRoundTrip(t *testing.T) {
	spec, err := arch.Parse([]byte(small))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	net, err := spec.Build(rng)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(5, 1, 6, 6)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	if _, err := net.Forward(x, true); err != nil { // moves BatchNorm's running statistics
		t.Fatal(err)
	}
	want, _ := net.Forward(x, false)
	want = want.Clone()
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, spec, net, map[string]string{"test_accuracy": "0.5"}); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata["test_accuracy"] != "0.5" || m.Metadata[MetaKind] != "ann" {
		t.Errorf("metadata %v", m.Metadata)
	}
	got, err := m.Net.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("output %d: %v after loading, %v before", i, got.Data[i], want.Data[i])
		}
	}
	f, _ := safetensors.ReadFile(path)
	nb, ok := f.Get("1.num_batches_tracked")
	if !ok || nb.DType != safetensors.I64 || len(nb.Shape) != 0 {
		t.Errorf("num_batches_tracked stored as %+v", nb)
	}
}

func TestLoadErrors(t *testing.T) {
	spec, _ := arch.Lookup("tutorial")
	dir := t.TempDir()
	write := func(name string, ts ...safetensors.Tensor) string {
		p := filepath.Join(dir, name)
		if err := safetensors.WriteFile(p, ts, nil); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zeros := func(name string, shape ...int) safetensors.Tensor {
		return safetensors.F32Tensor(name, shape, make([]float32, tensor.Numel(shape)))
	}
	full := []safetensors.Tensor{zeros("0.weight", 20, 1, 5, 5), zeros("3.weight", 32, 20, 5, 5), zeros("6.weight", 128, 32, 3, 3), zeros("10.weight", 500, 128), zeros("12.weight", 10, 500)}
	p := write("plain.safetensors", full...)
	if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), "--arch") {
		t.Errorf("plain state_dict without architecture: %v", err)
	}
	if _, err := Load(p, spec); err != nil {
		t.Errorf("plain state_dict with --arch tutorial: %v", err)
	}
	bad := append([]safetensors.Tensor{}, full[:4]...)
	bad[1] = zeros("3.weight", 32, 20, 3, 3)
	bad = append(bad, zeros("12.bias", 10))
	_, err := Load(write("bad.safetensors", bad...), spec)
	for _, want := range []string{"bad.safetensors", "3.weight has shape [32, 20, 3, 3], the architecture needs [32, 20, 5, 5]", "missing tensors: 12.weight", "unexpected tensors: 12.bias"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	nan := append([]safetensors.Tensor{}, full...)
	nan[4] = safetensors.F32Tensor("12.weight", []int{10, 500}, append([]float32{float32(zeroDiv())}, make([]float32, 4999)...))
	if _, err := Load(write("nan.safetensors", nan...), spec); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN weight: %v", err)
	}
}

func zeroDiv() float64 {
	z := 0.0
	return z / z
}

// TestLyingMetadata loads files whose metadata declares far more than they
// hold: the check against the architecture must come before any layer is
// allocated, and the error must stay short however many tensors are wrong.
func TestLyingMetadata(t *testing.T) {
	dir := t.TempDir()
	huge := `{"format":"snnkit.arch/v1","input":[1,28,28],"layers":[{"type":"Flatten"},{"type":"Linear","in_features":784,"out_features":65536},{"type":"ReLU"},{"type":"Linear","in_features":65536,"out_features":3300}]}`
	var junk []safetensors.Tensor
	for i := 0; i < 20000; i++ {
		junk = append(junk, safetensors.U8Tensor(fmt.Sprintf("t%d", i), []int{1}, []byte{0}))
	}
	cases := []struct {
		name    string
		tensors []safetensors.Tensor
		want    []string
	}{
		{"no tensors", nil, []string{"missing tensors: 1.bias, 1.weight, 3.bias, 3.weight"}},
		{"many wrong tensors", junk, []string{"unexpected tensors: t0, t1, t2", "… and 19990 more"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, "m.safetensors")
			if err := safetensors.WriteFile(p, c.tensors, map[string]string{MetaArch: huge, MetaKind: "ann"}); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Load(p, nil)
			runtime.ReadMemStats(&after)
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("error %v lacks %q", err, w)
				}
			}
			if len(err.Error()) > 2000 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("refusing the file allocated %d MB", grew>>20)
			}
		})
	}
}

// TestBatchNormStatistics refuses running statistics no batch can have,
// which would make every output NaN.
func TestBatchNormStatistics(t *testing.T) {
	spec, err := arch.Parse([]byte(small))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float32{-1, float32(math.Inf(1))} {
		net, _ := spec.Build(rand.New(rand.NewPCG(1, 2)))
		bn := net.Layers[1].(*nn.BatchNorm2d)
		bn.RunningVar.Value.Data[2] = v
		p := filepath.Join(t.TempDir(), "bn.safetensors")
		if err := Save(p, spec, net, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), "1.running_var") {
			t.Errorf("running_var %v: error %v, want one naming 1.running_var", v, err)
		}
	}
}

// FuzzFromFile loads ANN files whose architecture metadata is arbitrary:
// lies about sizes must be refused before anything they declare is
// allocated, and whatever loads must run.
func FuzzFromFile(f *testing.F) {
	f.Add(small, true)
	f.Add(arch.Tutorial, false)
	f.Add(`{"format":"snnkit.arch/v1","input":[1,28,28],"layers":[{"type":"Flatten"},{"type":"Linear","in_features":784,"out_features":65536},{"type":"ReLU"},{"type":"Linear","in_features":65536,"out_features":3300}]}`, false)
	spec, _ := arch.Parse([]byte(small))
	net, _ := spec.Build(rand.New(rand.NewPCG(1, 1)))
	weights := StateTensors(net)
	f.Fuzz(func(t *testing.T, doc string, withWeights bool) {
		g := &safetensors.File{Metadata: map[string]string{MetaKind: "ann", MetaArch: doc}}
		if withWeights {
			var b bytes.Buffer
			if err := safetensors.Write(&b, weights, g.Metadata); err != nil {
				t.Fatal(err)
			}
			var err error
			if g, err = safetensors.Parse(b.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
		m, err := FromFile(g, nil)
		if err != nil {
			return
		}
		x := tensor.New(append([]int{1}, m.Spec.Input...)...)
		if _, err := m.Net.Forward(x, false); err != nil {
			t.Fatalf("a loaded model does not run: %v", err)
		}
	})
}

// TestGraphModelRoundTrip saves a resnet-small graph model and loads it
// back: the same graph architecture and outputs.
func TestGraphModelRoundTrip(t *testing.T) {
	spec := arch.ResNetSmall()
	g, err := spec.Build(rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(3, 1, 28, 28)
	for i := range x.Data {
		x.Data[i] = float32(i%17) / 17
	}
	if _, err := g.Forward(x, true); err != nil { // moves the running statistics
		t.Fatal(err)
	}
	want, _ := g.Forward(x, false)
	want = want.Clone()
	p := filepath.Join(t.TempDir(), "g.safetensors")
	if err := SaveGraph(p, spec, g, map[string]string{"note": "x"}); err != nil {
		t.Fatal(err)
	}
	m, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Graph == nil || m.Net != nil || m.Metadata["note"] != "x" || string(m.GraphSpec.JSON()) != string(spec.JSON()) {
		t.Fatalf("loaded %+v", m)
	}
	got, err := m.Graph.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("output %d: %v after loading, %v before", i, got.Data[i], want.Data[i])
		}
	}
}
