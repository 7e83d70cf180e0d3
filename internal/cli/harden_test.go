package cli

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/internal/golden"
	"github.com/snnkit/snnkit/modelio"
	"github.com/snnkit/snnkit/safetensors"
)

// tutorialANN writes the tutorial ANN with random weights (no MNIST, no
// ../shared needed) and returns its path.
func tutorialANN(t *testing.T, dir string) string {
	t.Helper()
	spec, err := arch.Lookup("tutorial")
	if err != nil {
		t.Fatal(err)
	}
	net, err := spec.Build(rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ann.safetensors")
	if err := modelio.Save(p, spec, net, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOutputPaths checks that no output flag can destroy an input or a
// special file, and that every refusal names the flag.
func TestOutputPaths(t *testing.T) {
	dir := t.TempDir()
	model := tutorialANN(t, dir)
	before, _ := os.ReadFile(model)
	input := filepath.Join(dir, "in.safetensors")
	if err := safetensors.WriteFile(input, []safetensors.Tensor{safetensors.U8Tensor("input", []int{1, 2, 1, 28, 28}, make([]byte, 2*784))}, nil); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro.safetensors")
	_ = os.WriteFile(readOnly, []byte("keep"), 0o444)
	_ = os.Symlink("ann.safetensors", filepath.Join(dir, "alias"))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"convert", "-m", model, "-o", model}, "-o/--output: " + model + " is the input"},
		{[]string{"convert", "-m", model, "-o", filepath.Join(dir, "alias")}, "is the input"},
		{[]string{"simulate", "-m", model, "--input", input, "-o", input}, "-o/--output: " + input + " is the input"},
		{[]string{"simulate", "-m", model, "--input", input + ":input", "-o", input}, "is the input"},
		{[]string{"--cpuprofile", model, "run", "-m", model}, "--cpuprofile: " + model + " is the input"},
		{[]string{"--cpuprofile", filepath.Join(dir, "p"), "convert", "-m", model, "-o", filepath.Join(dir, "p")}, "is the output of --cpuprofile too"},
		{[]string{"convert", "-m", model, "-o", ""}, "-o/--output: empty path"},
		{[]string{"convert", "-m", model, "-o", dir}, "-o/--output: " + dir + " is a folder"},
		{[]string{"convert", "-m", model, "-o", readOnly}, "-o/--output: " + readOnly + " is read-only"},
		{[]string{"convert", "-m", model, "-o", filepath.Join(dir, "nodir", "x")}, "-o/--output"},
		{[]string{"train", "-o", dir}, "-o/--output: " + dir + " is a folder"},
		{[]string{"--dataset", input, "convert", "-m", model, "-o", input}, "is the input"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, errs, code := run(c.args...)
			if code == 0 || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, stderr %q, want an error containing %q", code, errs, c.want)
			}
		})
	}
	if after, _ := os.ReadFile(model); string(after) != string(before) {
		t.Fatal("the model file was changed")
	}
	if b, _ := os.ReadFile(readOnly); string(b) != "keep" {
		t.Fatal("the read-only file was changed")
	}
	// Through a symlink to a new name, convert writes the link's target.
	_ = os.Symlink("snn_target", filepath.Join(dir, "snn_link"))
	if _, errs, code := run("convert", "-m", model, "-o", filepath.Join(dir, "snn_link")); code != 0 {
		t.Fatalf("convert through a symlink: %s", errs)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "snn_link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced")
	}
	if _, err := safetensors.ReadFile(filepath.Join(dir, "snn_target")); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedFlags lists absurd flag values that must be refused up front,
// naming the flag, before any data is loaded or memory allocated.
func TestRefusedFlags(t *testing.T) {
	dir := t.TempDir()
	model := tutorialANN(t, dir)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--threads", "100000", "bench"}, "--threads 100000: at most 1024"},
		{[]string{"--threads", "10000000", "run", "-m", model}, "--threads 10000000"},
		{[]string{"tutorial", "--timesteps", "0"}, "--timesteps 0: must be at least 1"},
		{[]string{"tutorial", "--timesteps", "1000001"}, "--timesteps 1000001: at most 1000000"},
		{[]string{"tutorial", "--epochs", "0"}, "--epochs 0"},
		{[]string{"tutorial", "--batch", "0"}, "--batch 0"},
		{[]string{"tutorial", "--recipe", "fast"}, `--recipe "fast": want classic or low-latency`},
		{[]string{"tutorial", "--qcfs-epochs", "0"}, "--qcfs-epochs 0"},
		{[]string{"tutorial", "--qcfs-levels", "100000"}, "--qcfs-levels 100000: at most 65536"},
		{[]string{"tutorial", "--qcfs-timesteps", "2000000"}, "--qcfs-timesteps 2000000: at most 1000000"},
		{[]string{"tutorial", "--synops-penalty", "NaN"}, "--synops-penalty NaN"},
		{[]string{"tutorial", "--energy-ac", "-1"}, "--energy-ac -1"},
		{[]string{"tutorial", "--samples", "-1"}, "--samples -1"},
		{[]string{"tutorial", "--lr", "NaN"}, "--lr NaN"},
		{[]string{"run", "-m", model, "--timesteps", "1000001"}, "--timesteps 1000001"},
		{[]string{"run", "-m", model, "--threshold", "1e-40"}, "--threshold 1e-40: below 1e-06"},
		{[]string{"run", "-m", model, "--min-v-mem", "3e38"}, "--min-v-mem 3e38: must be below --threshold 1"},
		{[]string{"convert", "-m", model, "-o", filepath.Join(dir, "x"), "--threshold", "0.5", "--min-v-mem", "0.5"}, "--min-v-mem 0.5: must be below --threshold 0.5"},
		{[]string{"train", "--momentum", "NaN", "--optimizer", "sgd"}, "--momentum NaN"},
		{[]string{"train", "--momentum", "0.9"}, "--momentum 0.9: applies to --optimizer sgd only"},
		{[]string{"train", "--weight-decay", "-1"}, "--weight-decay -1"},
		{[]string{"bench", "snn", "-m", model, "--engines", ""}, "--engines \"\": name at least one"},
		{[]string{"bench", "snn", "-m", model, "--timesteps", "1000001"}, "--timesteps 1000001: at most 1000000"},
		{[]string{"bench", "snn", "-m", model, "--samples", "0"}, "--samples 0"},
		{[]string{"train", "--activation", "qcfs:0"}, "--activation: activation \"qcfs:0\""},
		{[]string{"train", "--activation", "qcfs:4:-2"}, "--activation: activation \"qcfs:4:-2\""},
		{[]string{"train", "--activation", "gelu"}, "want relu, qcfs:L"},
		{[]string{"train", "--augment", "shift:-1"}, "--augment: augmentation \"shift:-1\""},
		{[]string{"train", "--augment", "rotate:5"}, "want none or shift:N"},
		{[]string{"train", "--synops-penalty", "-1"}, "--synops-penalty -1"},
		{[]string{"train", "--synops-penalty", "1e-8", "--limit", "100", "--epochs", "1"}, "has no QCFS activation"},
		{[]string{"run", "-m", model, "--readout", "logits"}, "--readout \"logits\": want spikes or membrane"},
		{[]string{"run", "-m", model, "--readout", "membrane", "--spiking-output=true"}, "--readout membrane contradicts --spiking-output=true"},
		{[]string{"run", "-m", model, "--early-exit", "1.5"}, "--early-exit \"1.5\": early exit: confidence 1.5 outside (0, 1]"},
		{[]string{"run", "-m", model, "--early-exit", "0.9:0"}, "patience 0 outside"},
		{[]string{"run", "-m", model, "--early-exit", "x"}, "want CONF[:PATIENCE]"},
		{[]string{"run", "-m", model, "--energy-ac", "-1"}, "--energy-ac -1: want an energy in pJ"},
		{[]string{"run", "-m", model, "--energy-mac", "NaN"}, "--energy-mac NaN"},
		{[]string{"run", "-m", model, "--early-exit", "0.9:two"}, "PATIENCE a whole number"},
		{[]string{"run", "-m", model, "--calibrate", "64", "--timesteps", "4", "--encoding", "current", "--calibrate-thresholds", "neuron"}, `--calibrate-thresholds "neuron": channel or layer`},
		{[]string{"convert", "-m", model, "-o", filepath.Join(dir, "c.safetensors"), "--calibrate", "64"}, "--calibrate: needs --timesteps"},
		{[]string{"run", "-m", model, "--calibrate", "64", "--timesteps", "4", "--encoding", "current", "--normalize", "percentile:99"}, "--calibrate: replaces --normalize"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, errs, code := run(c.args...)
			if code == 0 || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, stderr %q, want an error containing %q", code, errs, c.want)
			}
		})
	}
}

// TestSNNFileWhereANNExpected gives a converted network to the commands
// that take an ANN: the message says what the file is and what to run.
func TestSNNFileWhereANNExpected(t *testing.T) {
	dir := t.TempDir()
	model := tutorialANN(t, dir)
	snnPath := filepath.Join(dir, "snn.safetensors")
	if _, errs, code := run("convert", "-m", model, "-o", snnPath); code != 0 {
		t.Fatal(errs)
	}
	for _, args := range [][]string{{"eval", "-m", snnPath}, {"bench", "snn", "-m", snnPath}} {
		_, errs, code := run(args...)
		if code == 0 || !strings.Contains(errs, "is a spiking network") || strings.Contains(errs, "--arch") {
			t.Errorf("%v: exit %d, %s", args, code, errs)
		}
	}
}

// TestInputWithColon reads a --input file whose name holds a colon, and
// still splits FILE:TENSOR when no such file exists.
func TestInputWithColon(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "co:lon.st")
	if err := safetensors.WriteFile(p, []safetensors.Tensor{safetensors.U8Tensor("x", []int{1, 1, 1, 28, 28}, make([]byte, 784))}, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ spec, path, tensor string }{
		{p, p, ""},
		{p + ":x", p, "x"},
		{filepath.Join(dir, "a.st:b"), filepath.Join(dir, "a.st"), "b"},
	}
	for _, c := range cases {
		if path, tn := splitInputSpec(c.spec); path != c.path || tn != c.tensor {
			t.Errorf("splitInputSpec(%q) = %q, %q", c.spec, path, tn)
		}
	}
	if in, err := readInput(p); err != nil || in.Name != "x" {
		t.Fatalf("readInput: %v", err)
	}
}

// TestJSONNotFinite checks that a report holding infinities still prints,
// as valid JSON with nulls, and warns on stderr.
func TestJSONNotFinite(t *testing.T) {
	e, out, errb := newEnv()
	rep := &RunReport{Accuracy: 0.5, SynOpsPerSample: map[string]float64{"total": math.Inf(1), "0": 3}, AccuracyByT: []float64{0.1, math.NaN()}}
	if err := e.writeJSON(rep); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if back["accuracy"] != 0.5 || back["synops_per_sample"].(map[string]any)["total"] != nil || back["synops_per_sample"].(map[string]any)["0"] != 3.0 {
		t.Fatalf("report %v", back)
	}
	if !strings.Contains(errb.String(), "synops_per_sample.total") || !strings.Contains(errb.String(), "accuracy_by_t[1]") {
		t.Fatalf("warning %q", errb)
	}
}

// TestSimulateOverflow feeds input values near the float32 limit: the
// membrane potentials overflow, which must be an error naming the stage,
// not a file of silent zeros.
func TestSimulateOverflow(t *testing.T) {
	dir := t.TempDir()
	model := tutorialANN(t, dir)
	in := filepath.Join(dir, "big.safetensors")
	v := make([]float32, 2*784)
	for i := range v {
		v[i] = 3e38
	}
	if err := safetensors.WriteFile(in, []safetensors.Tensor{safetensors.F32Tensor("input", []int{1, 2, 1, 28, 28}, v)}, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.safetensors")
	_, errs, code := run("simulate", "-m", model, "--input", in, "-o", out)
	if code == 0 || !strings.Contains(errs, "stage 1") || !strings.Contains(errs, "overflow") {
		t.Fatalf("exit %d, %s", code, errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written: %v", err)
	}
}

// TestSimulateWindowsSameFile checks that simulating window by window (as
// long inputs are, to bound memory) writes byte for byte the file one
// window writes, membrane potentials included.
func TestSimulateWindowsSameFile(t *testing.T) {
	_, sd := goldenStateDict(t)
	input := golden.Sets()[0].Path + ":input"
	var files [][]byte
	for _, budget := range []int{0, 20000, 70000} {
		out := filepath.Join(t.TempDir(), "out.safetensors")
		e, _, _ := newEnv()
		e.simBudget = budget
		root := newRoot(e)
		root.SetArgs([]string{"simulate", "-m", sd, "--arch", "tutorial", "--input", input, "-o", out, "--record-v"})
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	for i := 1; i < len(files); i++ {
		if string(files[i]) != string(files[0]) {
			t.Fatalf("budget %d wrote a different file", i)
		}
	}
	f, err := safetensors.Parse(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Get("4.v_mem"); !ok || len(f.Tensors) != 10 {
		t.Fatalf("tensors %v", f.Names())
	}
}

// TestEvalTestSetOnly runs eval with --data naming a folder that holds only
// the t10k files: eval reads no training image, so it must not want them.
func TestEvalTestSetOnly(t *testing.T) {
	needMNIST(t)
	src, _ := mnist.Locate("")
	dir := t.TempDir()
	for _, name := range []string{mnist.TestImages, mnist.TestLabels} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	model := tutorialANN(t, t.TempDir())
	if _, errs, code := run("eval", "-m", model, "--data", dir, "--limit", "100"); code != 0 {
		t.Fatalf("eval with the test set only: %s", errs)
	}
	if _, errs, code := run("train", "--data", dir, "--epochs", "1"); code == 0 || !strings.Contains(errs, mnist.TrainImages) {
		t.Fatalf("train without training files: exit %d, %s", code, errs)
	}
}

// TestRunResidualONNX converts and simulates the residual fixture, a graph
// with joins, with the flags of the issue, on a few images.
func TestRunResidualONNX(t *testing.T) {
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist"); err != nil {
		t.Skip("SKIP: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
	}
	model := filepath.Join(golden.Root(), "testdata", "onnx", "resnet_fmnist.onnx")
	out, errs, code := run("run", "-m", model, "--dataset", "fashion-mnist", "--input-norm", "0.2860,0.3530", "--encoding", "current",
		"--timesteps", "24", "--normalize", "percentile:99.9", "--normalize-samples", "64", "--v-init", "0.5", "--samples", "24", "--json", "-q")
	if code != 0 {
		t.Fatal(errs)
	}
	var r RunReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, c := range r.Conversion {
		actions[c.Node] = c.Action
	}
	if actions["blocks.0.Add"] != "kept" || actions["stem.2"] != "converted" || actions["spike_output"] != "added" || len(r.Normalization) != 7 {
		t.Fatalf("conversion %+v, normalisation %+v", r.Conversion, r.Normalization)
	}
	if r.ANNAccuracy < 0.8 || r.Accuracy < 0.6 {
		t.Fatalf("ANN %v, SNN %v on 24 images at T=24", r.ANNAccuracy, r.Accuracy)
	}
}

// TestEvalONNX evaluates the PyTorch-exported fixtures through the CLI and
// requires PyTorch's test accuracy exactly, and refuses bad flag values.
func TestEvalONNX(t *testing.T) {
	needMNIST(t)
	dir := filepath.Join(golden.Root(), "testdata", "onnx")
	cases := []struct {
		args []string
		want int // correct of 10000
	}{
		{[]string{"eval", "-m", filepath.Join(dir, "tutorial_mnist.onnx"), "--json"}, 9748},
		{[]string{"eval", "-m", filepath.Join(dir, "vgg_mnist.onnx"), "--json"}, 9907},
		{[]string{"eval", "-m", filepath.Join(dir, "resnet_fmnist.onnx"), "--dataset", "fashion-mnist", "--input-norm", "0.2860,0.3530", "--json"}, 9106},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.args[2]), func(t *testing.T) {
			if strings.Contains(strings.Join(c.args, " "), "fashion") {
				if _, err := os.Stat("/usr/share/datasets/fashion-mnist"); err != nil {
					t.Skip("SKIP: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
				}
			}
			out, errs, code := run(c.args...)
			if code != 0 {
				t.Fatal(errs)
			}
			var r EvalReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Correct != c.want || r.TestSamples != 10000 {
				t.Fatalf("%d/%d correct, PyTorch %d/10000", r.Correct, r.TestSamples, c.want)
			}
		})
	}
	model := filepath.Join(dir, "tutorial_mnist.onnx")
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"eval", "-m", model, "--input-norm", "0.5"}, "--input-norm \"0.5\": want MEAN,STD"},
		{[]string{"eval", "-m", model, "--input-norm", "0.1,0.2,0.3/0.5,0.5,0.5"}, "input_norm"},
		{[]string{"eval", "-m", model, "--input-norm", "0.1,0"}, "positive std"},
		{[]string{"eval", "-m", model, "--arch", "tutorial"}, "--arch: " + model + " is an ONNX model"},
		{[]string{"eval", "-m", model, "--dataset", "cifar-100"}, "--dataset \"cifar-100\": not a known data set"},
		{[]string{"run", "-m", filepath.Join(dir, "resnet_fmnist.onnx"), "--input-norm", "0.2860,0.3530"}, "--encoding bernoulli: a model with --input-norm takes the image as a current"},
		{[]string{"run", "-m", filepath.Join(dir, "resnet_fmnist.onnx"), "--v-init", "1.5"}, "--v-init 1.5"},
	}
	for _, c := range bad {
		t.Run(c.want, func(t *testing.T) {
			_, errs, code := run(c.args...)
			if code == 0 || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, errs, c.want)
			}
		})
	}
}

// TestInspect prints the ONNX fixture's graph: nodes, wiring, parameters
// and MACs (9,345,920 per sample, as the ONNX graph's convolutions and
// head count them).
func TestInspect(t *testing.T) {
	out, errs, code := run("inspect", "-m", filepath.Join(golden.Root(), "testdata", "onnx", "resnet_fmnist.onnx"), "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	var r InspectReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Nodes) != 22 || r.MACs != 9345920 || r.Params != 77418 || r.Nodes[5].Name != "blocks.0.Add" || len(r.Nodes[5].Inputs) != 2 {
		t.Fatalf("report %+v", r)
	}
	if _, errs, code := run("inspect", "-m", filepath.Join(t.TempDir(), "none.onnx")); code == 0 || !strings.Contains(errs, "none.onnx") {
		t.Fatalf("missing file: %s", errs)
	}
}

// TestBenchSNNConverted measures one network converted with run's flags:
// the ONNX tutorial network with --normalize and the current encoding, on
// two engines.
func TestBenchSNNConverted(t *testing.T) {
	needMNIST(t)
	model := filepath.Join(golden.Root(), "testdata", "onnx", "tutorial_mnist.onnx")
	out, errs, code := run("bench", "snn", "-m", model, "--encoding", "current", "--normalize", "percentile:99", "--normalize-samples", "32",
		"--v-init", "0.5", "--timesteps", "4", "--samples", "8", "--repeat", "1", "--engines", "reference,event", "--json", "-q")
	if code != 0 {
		t.Fatal(errs)
	}
	var r BenchSNNReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 2 || r.Results[0].Network != "converted" || r.Results[1].Engine != "event" || r.Results[0].Timesteps != 4 || r.Results[0].Samples != 8 {
		t.Fatalf("results %+v", r.Results)
	}
	if r.Results[0].Accuracy != r.Results[1].Accuracy || r.Results[0].SynOpsPerImage <= 0 {
		t.Fatalf("engines disagree or count nothing: %+v", r.Results)
	}
	// Without -m there is no model to convert with the flags.
	if _, errs, code := run("bench", "snn", "--v-init", "0.5"); code == 0 || !strings.Contains(errs, "--v-init: give the model to convert with -m") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}
