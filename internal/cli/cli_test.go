package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/internal/golden"
	"github.com/snnkit/snnkit/safetensors"
)

func newEnv() (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdout: &out, stderr: &errb, quiet: true}, &out, &errb
}

func needMNIST(t *testing.T) {
	if _, err := mnist.Locate(""); err != nil {
		t.Skip("MNIST not available: ", err)
	}
}

// run executes the command line as the snnkit binary would.
func run(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestTrainEvalRoundTrip(t *testing.T) {
	needMNIST(t)
	model := filepath.Join(t.TempDir(), "ann.safetensors")
	out, errs, code := run("train", "--limit", "2000", "--test-limit", "1000", "--epochs", "1", "--seed", "4", "-o", model, "--json", "-q")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	var tr map[string]any
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("train --json output is not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"test_accuracy", "epochs", "train_seconds", "train_samples_per_second"} {
		if _, ok := tr[k]; !ok {
			t.Errorf("train JSON lacks %q", k)
		}
	}
	acc := tr["test_accuracy"].(float64)
	if acc <= 0.2 || acc > 1 {
		t.Errorf("test_accuracy %v", acc)
	}
	out, errs, code = run("eval", "-m", model, "--limit", "1000", "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errs)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["test_accuracy"].(float64) != acc {
		t.Errorf("eval accuracy %v, train reported %v on the same images", ev["test_accuracy"], acc)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.safetensors")
	_ = os.WriteFile(corrupt, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--frobnicate"}, "unknown flag: --frobnicate"},
		{[]string{"train", "--epochs", "0"}, "--epochs 0"},
		{[]string{"train", "--lr", "-1"}, "--lr -1"},
		{[]string{"train", "--batch", "x"}, "invalid argument \"x\" for \"--batch\""},
		{[]string{"train", "--arch", "resnet"}, "unknown architecture \"resnet\""},
		{[]string{"train", "--optimizer", "lbfgs"}, "--optimizer"},
		{[]string{"train", "--data", dir}, "--data"},
		{[]string{"eval"}, "\"model\" not set"},
		{[]string{"eval", "-m", corrupt}, corrupt},
		{[]string{"eval", "-m", filepath.Join(dir, "missing.safetensors")}, "missing.safetensors"},
		{[]string{"bench", "--seconds", "0"}, "--seconds"},
		{[]string{"nosuchcommand"}, "unknown command"},
		{[]string{"--threads", "-2", "bench"}, "--threads"},
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

func TestBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("bench takes a few seconds")
	}
	e, out, _ := newEnv()
	if _, err := runBench(context.Background(), e, &benchOptions{seconds: 0.05, json: true}); err != nil {
		t.Fatal(err)
	}
	var r BenchReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.GEMM) != 4 || r.Training.ImagesPerSecond <= 0 || r.Inference.ImagesPerSecond <= 0 {
		t.Fatalf("bench report %+v", r)
	}
}

// TestEvalPyTorchStateDict loads the PyTorch-trained tutorial weights of
// ../shared/golden as a plain state_dict (no snnkit metadata) with --arch
// tutorial and checks the test accuracy sinabs' run reported for them
// (97.48 %, ../shared/REFERENCE.md).
func TestEvalPyTorchStateDict(t *testing.T) {
	needMNIST(t)
	g := golden.Sets()[0].Open(t)
	var weights []safetensors.Tensor
	for _, tn := range g.Tensors {
		if strings.HasSuffix(tn.Name, ".weight") {
			weights = append(weights, tn)
		}
	}
	path := filepath.Join(t.TempDir(), "state_dict.safetensors")
	if err := safetensors.WriteFile(path, weights, nil); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := run("eval", "-m", path); code == 0 || !strings.Contains(errs, "--arch") {
		t.Fatalf("plain state_dict without --arch: exit %d, %s", code, errs)
	}
	out, errs, code := run("eval", "-m", path, "--arch", "tutorial", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r EvalReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Correct != 9748 || r.TestSamples != 10000 {
		t.Fatalf("%d/%d correct, want 9748/10000 (97.48 %%)", r.Correct, r.TestSamples)
	}
}

// TestQCFSTrainAndRun trains tutorial-bn with QCFS activations (a few
// images, one epoch) with shifts and a cosine schedule, then runs it with
// the whole command of the low-latency recipe: the model's QCFS layers set
// the conversion (threshold λ, v_init 0.5, SingleSpike, no floor) and the
// membrane readout; --threshold is refused for them.
func TestQCFSTrainAndRun(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "q.safetensors")
	out, errs, code := run("train", "--arch", "tutorial-bn", "--activation", "qcfs:4", "--augment", "shift:2", "--schedule", "cosine",
		"--limit", "1000", "--test-limit", "200", "--epochs", "1", "--seed", "0", "-o", model, "--json", "-q")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	var tr map[string]any
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatal(err)
	}
	if tr["activation"] != "qcfs:4" || tr["augment"] != "shift:2" || tr["schedule"] != "cosine" {
		t.Fatalf("train JSON %v", tr)
	}
	out, errs, code = run("run", "-m", model, "--encoding", "current", "--timesteps", "4", "--samples", "50", "--json", "-q")
	if code != 0 {
		t.Fatalf("run exit %d: %s", code, errs)
	}
	var rr struct {
		Accuracy   float64 `json:"accuracy"`
		Conversion []struct {
			Node, Op, Action, Detail string
		} `json:"conversion"`
		Network string `json:"network"`
	}
	if err := json.Unmarshal([]byte(out), &rr); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rr.Accuracy <= 0.1 {
		t.Errorf("accuracy %v", rr.Accuracy)
	}
	if !strings.Contains(out, "SingleSpike") || strings.Contains(out, "spike_output") {
		t.Errorf("the conversion of a QCFS model is not the QCFS neuron with the membrane readout: %s", out)
	}
	if _, errs, code := run("run", "-m", model, "--threshold", "2", "--samples", "10", "-q"); code == 0 || !strings.Contains(errs, "trained λ") {
		t.Errorf("--threshold on a QCFS model: exit %d, %s", code, errs)
	}
}
