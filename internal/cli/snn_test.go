package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/internal/golden"
	"github.com/snnkit/snnkit/safetensors"
)

// goldenStateDict writes the golden weights (the same in the trimmed and
// the full set) as a plain PyTorch state_dict.
func goldenStateDict(t *testing.T) (*safetensors.File, string) {
	t.Helper()
	g := golden.Sets()[0].Open(t)
	var w []safetensors.Tensor
	for _, tn := range g.Tensors {
		if strings.HasSuffix(tn.Name, ".weight") {
			w = append(w, tn)
		}
	}
	path := filepath.Join(t.TempDir(), "golden_sd.safetensors")
	if err := safetensors.WriteFile(path, w, nil); err != nil {
		t.Fatal(err)
	}
	return g, path
}

// TestSimulateGolden runs the four reference cases through `snnkit simulate`
// and compares every spiking layer spike for spike.
func TestSimulateGolden(t *testing.T) {
	_, sd := goldenStateDict(t)
	for _, set := range golden.Sets() {
		t.Run(set.Name, func(t *testing.T) {
			g := set.Open(t)
			for _, budget := range []int{0, 20000, 100000} { // one window; one sample and one step at a time; both samples, 3 steps at a time
				simulateGolden(t, g, sd, set.Path, budget)
			}
		})
	}
}

func simulateGolden(t *testing.T, g *safetensors.File, sd, input string, budget int) {
	cases := map[string][]string{
		"default":                 nil,
		"single_spike":            {"--spike", "single"},
		"reset_zero":              {"--reset", "zero"},
		"threshold_0.75_no_floor": {"--threshold", "0.75", "--min-v-mem", "none"},
	}
	for name, flags := range cases {
		t.Run(fmt.Sprintf("%s/budget=%d", name, budget), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.safetensors")
			args := append([]string{"simulate", "-m", sd, "--arch", "tutorial", "--input", input + ":input", "-o", out, "--dtype", "u8"}, flags...)
			e, _, _ := newEnv()
			e.simBudget = budget
			root := newRoot(e)
			root.SetArgs(args)
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, layer := range []string{"1", "4", "7", "11", "spike_output"} {
				got, ok := f.Get(layer)
				want, _ := g.Get(name + "/" + layer)
				if !ok || got.DType != safetensors.U8 || safetensors.ShapeString(got.Shape) != safetensors.ShapeString(want.Shape) {
					t.Fatalf("layer %s: %+v", layer, got)
				}
				for i := range want.Data {
					if got.Data[i] != want.Data[i] {
						t.Fatalf("layer %s: value %d is %d, sinabs %d", layer, i, got.Data[i], want.Data[i])
					}
				}
			}
		})
	}
}

// TestConvertRunSNNFile converts, saves, and runs the spiking network file.
func TestConvertRunSNNFile(t *testing.T) {
	needMNIST(t)
	_, sd := goldenStateDict(t)
	snnPath := filepath.Join(t.TempDir(), "snn.safetensors")
	out, errs, code := run("convert", "-m", sd, "--arch", "tutorial", "-o", snnPath)
	if code != 0 || !strings.Contains(out, "(spike_output): IAF(spike_threshold=1.0, min_v_mem=-1.0)") {
		t.Fatalf("convert exit %d: %s %s", code, out, errs)
	}
	out, errs, code = run("run", "-m", snnPath, "--samples", "64", "--timesteps", "20", "--json", "-q")
	if code != 0 {
		t.Fatalf("run exit %d: %s", code, errs)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("run --json: %v\n%s", err, out)
	}
	for _, k := range []string{"ann_accuracy", "accuracy", "accuracy_by_t", "samples", "timesteps", "seconds", "samples_per_second", "synops_per_sample", "firing_rates"} {
		if _, ok := r[k]; !ok {
			t.Errorf("run JSON lacks %q", k)
		}
	}
	if n := len(r["accuracy_by_t"].([]any)); n != 20 {
		t.Errorf("accuracy_by_t has %d entries, want 20", n)
	}
	syn := r["synops_per_sample"].(map[string]any)
	for _, k := range []string{"0", "3", "6", "10", "12", "total"} {
		if _, ok := syn[k]; !ok {
			t.Errorf("synops_per_sample lacks %q", k)
		}
	}
	if acc := r["accuracy"].(float64); acc < 0.8 {
		t.Errorf("SNN accuracy %v on 64 images at T=20", acc)
	}
	// The same network converted on the fly gives the same result.
	out2, errs, code := run("run", "-m", sd, "--arch", "tutorial", "--samples", "64", "--timesteps", "20", "--json", "-q")
	if code != 0 {
		t.Fatalf("run exit %d: %s", code, errs)
	}
	var r2 map[string]any
	_ = json.Unmarshal([]byte(out2), &r2)
	if r2["accuracy"] != r["accuracy"] {
		t.Errorf("accuracy %v from the ANN file, %v from the SNN file", r2["accuracy"], r["accuracy"])
	}
	if _, errs, code := run("run", "-m", snnPath, "--threshold", "2"); code == 0 || !strings.Contains(errs, "already a spiking network") {
		t.Errorf("conversion flag on an SNN file: exit %d, %s", code, errs)
	}
}

func TestSNNBadInput(t *testing.T) {
	g, sd := goldenStateDict(t)
	dir := t.TempDir()
	in, _ := g.Get("input")
	write := func(name string, ts ...safetensors.Tensor) string {
		p := filepath.Join(dir, name)
		if err := safetensors.WriteFile(p, ts, nil); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrongShape := write("wrong_shape.safetensors", safetensors.U8Tensor("input", []int{2, 4, 1, 27, 28}, make([]byte, 2*4*27*28)))
	wrongDtype := write("wrong_dtype.safetensors", safetensors.I64Tensor("input", []int{1, 1, 1, 28, 28}, make([]int64, 784)))
	zeroT := write("zero_t.safetensors", safetensors.U8Tensor("input", []int{2, 0, 1, 28, 28}, nil))
	noReLU := filepath.Join(dir, "norelu.json")
	_ = os.WriteFile(noReLU, []byte(`{"format":"snnkit.arch/v1","input":[1,28,28],"layers":[{"type":"Flatten"},{"type":"Linear","in_features":784,"out_features":10,"bias":false}]}`), 0o644)
	linSD := write("lin.safetensors", safetensors.F32Tensor("1.weight", []int{10, 784}, make([]float32, 7840)))
	good := write("good_input.safetensors", *in)
	out := filepath.Join(dir, "out.safetensors")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"simulate", "-m", sd, "--arch", "tutorial", "--input", wrongShape, "-o", out}, "shape [2, 4, 1, 27, 28]"},
		{[]string{"simulate", "-m", sd, "--arch", "tutorial", "--input", wrongDtype, "-o", out}, "dtype I64 not supported"},
		{[]string{"simulate", "-m", sd, "--arch", "tutorial", "--input", zeroT, "-o", out}, "T must be at least 1"},
		{[]string{"simulate", "-m", sd, "--arch", "tutorial", "--input", good + ":nosuch", "-o", out}, "no tensor \"nosuch\""},
		{[]string{"convert", "-m", linSD, "--arch", noReLU, "-o", out}, "no ReLU"},
		{[]string{"convert", "-m", sd, "--arch", "tutorial", "-o", out, "--threshold", "0"}, "--threshold 0"},
		{[]string{"convert", "-m", sd, "--arch", "tutorial", "-o", out, "--threshold", "-1"}, "--threshold -1"},
		{[]string{"convert", "-m", sd, "--arch", "tutorial", "-o", out, "--spike", "triple"}, "unknown spike function \"triple\""},
		{[]string{"convert", "-m", sd, "--arch", "tutorial", "-o", out, "--spike", "max:0"}, "max:N"},
		{[]string{"convert", "-m", sd, "--arch", "tutorial", "-o", out, "--reset", "half"}, "--reset \"half\""},
		{[]string{"convert", "-m", sd, "--arch", "tutorial", "-o", out, "--min-v-mem", "low"}, "--min-v-mem"},
		{[]string{"convert", "-m", sd, "--arch", "tutorial", "-o", out, "--normalize", "max"}, "--normalize \"max\""},
		{[]string{"convert", "-m", sd, "--arch", "tutorial", "-o", out, "--bias-rescaling", "0"}, "--bias-rescaling"},
		{[]string{"convert", "-m", linSD, "--arch", "tutorial", "-o", out}, "weights do not fit the architecture"},
		{[]string{"run", "-m", sd, "--arch", "tutorial", "--timesteps", "0"}, "--timesteps 0"},
		{[]string{"run", "-m", sd, "--arch", "tutorial", "--encoding", "morse"}, "unknown encoding \"morse\""},
		{[]string{"run", "-m", sd, "--arch", "tutorial", "--at", "x"}, "--at"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[:1], " ")+" "+c.want, func(t *testing.T) {
			_, errs, code := run(c.args...)
			if code == 0 || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, stderr %q, want an error containing %q", code, errs, c.want)
			}
		})
	}
}

func TestBenchSNNJSON(t *testing.T) {
	needMNIST(t)
	if testing.Short() {
		t.Skip("trains and simulates for a few seconds")
	}
	model := filepath.Join(t.TempDir(), "ann.safetensors")
	if _, errs, code := run("train", "--limit", "1000", "--test-limit", "100", "--epochs", "1", "-o", model, "-q"); code != 0 {
		t.Fatalf("train: %s", errs)
	}
	out, errs, code := run("bench", "snn", "-m", model, "--samples", "16", "--timesteps", "5", "--repeat", "2", "--json", "-q")
	if code != 0 {
		t.Fatalf("bench snn: %s", errs)
	}
	var r BenchSNNReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.Results) != 8 || r.PeakGFLOPS <= 0 || r.EventVsDense["default"] <= 0 || r.EventVsDense["normalized"] <= 0 {
		t.Fatalf("report %+v", r)
	}
	for _, res := range r.Results {
		if res.ImagesPerSecond <= 0 || res.Samples != 16 || res.Timesteps != 5 {
			t.Fatalf("result %+v", res)
		}
	}
	if _, errs, code := run("bench", "snn", "-m", model, "--engines", "gpu"); code == 0 || !strings.Contains(errs, "unknown engine") {
		t.Fatalf("unknown engine: %s", errs)
	}
}
