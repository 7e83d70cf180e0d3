package tutorial

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/data/mnist"

	"github.com/snnkit/snnkit/safetensors"
)

func needMNIST(t *testing.T) {
	if _, err := mnist.Locate(""); err != nil {
		t.Skip("MNIST not available: ", err)
	}
}

func small(dir string, out *bytes.Buffer) Config {
	c := Defaults()
	c.OutDir, c.Epochs, c.TrainLimit, c.Samples, c.Timesteps, c.Quiet, c.Stdout = dir, 1, 1500, 96, 12, true, out
	return c
}

// TestSmallTutorial runs the whole flow on a small subset and checks what it
// prints, in order, and the files it writes.
func TestSmallTutorial(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	var out bytes.Buffer
	res, err := Run(context.Background(), small(dir, &out))
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	order := []string{"ANN accuracy", "Spiking network", "(spike_output): IAF", "SNN accuracy at T=12", "SNN accuracy\n5 ", "synops/image", "spikes/neuron/step", "Files in"}
	pos := 0
	for _, w := range order {
		i := strings.Index(text[pos:], w)
		if i < 0 {
			t.Fatalf("output lacks %q after position %d:\n%s", w, pos, text)
		}
		pos += i
	}
	for _, name := range []string{"ann.safetensors", "snn.safetensors", "input_raster.png", "input_raster.svg", "output_spikes.png", "accuracy.svg", "firing_rates.png", "synops.png", "pareto.png", "pareto.svg", "report.html", "summary.json"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty", name)
		}
	}
	if res.SNN.Samples != 96 || len(res.SNN.AccuracyByT) != 12 || res.SampleLabel != 0 {
		t.Errorf("result %+v", res.SNN)
	}
	// The Pareto points: the tabulated steps up to T, and T.
	if pts := res.Classic.Points; len(pts) != 3 || pts[0].Steps != 5 || pts[1].Steps != 10 || pts[2].Steps != 12 || pts[2].Accuracy != res.SNN.Accuracy {
		t.Errorf("points %+v", pts)
	}
	if e := res.Classic.Energy; e.AnalogMACs != 0 || e.SNN != e.SpikeSynOps*0.9e-12 || e.ANN != float64(res.Classic.ANNMACs)*4.6e-12 {
		t.Errorf("energy %+v of a rate-coded run", e)
	}
	if bin, err := exec.LookPath("chromium"); err == nil {
		cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+filepath.Join(t.TempDir(), "p"), "--virtual-time-budget=5000", "--dump-dom", "file://"+filepath.Join(dir, "report.html"))
		dom, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(dom), `data-images-loaded="6"`) {
			t.Errorf("report did not load its 6 figures in chromium")
		}
	}
}

// TestInterrupt cancels the tutorial from its progress callback at known
// points, during training and during the simulation, and checks that it
// stops there with the context's error (no further batch runs) and leaves
// no output folder behind.
func TestInterrupt(t *testing.T) {
	needMNIST(t)
	for _, stage := range []string{"train", "simulate"} {
		t.Run(stage, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out bytes.Buffer
			c := small(dir, &out)
			c.SimBatch = 16
			calls, after := 0, 0
			c.Progress = func(s string, done, total int) {
				if ctx.Err() != nil {
					after++
				}
				if s == stage {
					if calls++; calls == 2 {
						cancel()
					}
				}
			}
			_, err := Run(ctx, c)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want the context's", err)
			}
			if calls != 2 || after != 0 {
				t.Errorf("%d %s batches reported, %d after the cancellation", calls, stage, after)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("output folder left behind: %v", err)
			}
		})
	}
}

// TestBadConfig checks that settings which cannot run are refused, naming
// the field, before anything is trained or written.
func TestBadConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	// A data set of 3×4×4 images, which the tutorial network cannot take.
	rgb := filepath.Join(t.TempDir(), "rgb.safetensors")
	img := safetensors.U8Tensor("", []int{1, 3, 4, 4}, make([]byte, 48))
	lab := safetensors.U8Tensor("", []int{1}, []byte{1})
	var ts []safetensors.Tensor
	for _, which := range []string{"test", "train"} {
		i, l := img, lab
		i.Name, l.Name = which+"_images", which+"_labels"
		ts = append(ts, i, l)
	}
	if err := safetensors.WriteFile(rgb, ts, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		edit func(c *Config)
		want string
	}{
		{func(c *Config) { c.Epochs = -1 }, "Epochs -1"},
		{func(c *Config) { c.Timesteps = 1_000_001 }, "Timesteps 1000001"},
		{func(c *Config) { c.Samples = -1 }, "Samples -1"},
		{func(c *Config) { c.Sample = -3 }, "Sample -3"},
		{func(c *Config) { c.LR = -1 }, "LR -1"},
		{func(c *Config) { c.Encoding = "morse" }, "Encoding"},
		{func(c *Config) { c.Recipe = "fast" }, `Recipe "fast"`},
		{func(c *Config) { c.QCFSEpochs = -2 }, "QCFSEpochs -2"},
		{func(c *Config) { c.QCFSLevels = 1 << 20 }, "QCFSLevels 1048576"},
		{func(c *Config) { c.QCFSTimesteps = -1 }, "QCFSTimesteps -1"},
		{func(c *Config) { c.EnergyAC = math.Inf(1) }, "EnergyAC +Inf"},
		{func(c *Config) { c.Dataset = rgb }, "the tutorial network takes images of [1, 28, 28], the data set " + rgb + " holds [3, 4, 4]"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			c := small(dir, &bytes.Buffer{})
			tc.edit(&c)
			if _, err := Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("output folder created: %v", err)
			}
		})
	}
}

// TestOneStep runs the tutorial for a single time step, which made the
// accuracy figure's log axis panic.
func TestOneStep(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	c := small(dir, &bytes.Buffer{})
	c.TrainLimit, c.Samples, c.Timesteps = 300, 16, 1
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SNN.AccuracyByT) != 1 || len(res.Files) != 16 {
		t.Fatalf("accuracy by t %v, files %v", res.SNN.AccuracyByT, res.Files)
	}
}

// TestLowLatencyTutorial runs both recipes on a small subset: the QCFS
// network is trained, converted and simulated with the image as a current,
// both recipes are printed side by side, and the report and summary.json
// hold the low-latency recipe's accuracy, points and energy.
func TestLowLatencyTutorial(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	var out bytes.Buffer
	c := small(dir, &out)
	c.Recipe, c.QCFSEpochs, c.QCFSTimesteps = RecipeLowLatency, 1, 4
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	pos := 0
	for _, w := range []string{"SNN accuracy at T=12", "energy per image at T=12", "Low-latency recipe", "QCFS ANN accuracy", "with the image as a constant current", "SNN accuracy at T=4", "energy per image at T=4", "side by side", "low-latency ", "SNN accuracy against time step", "Files in"} {
		i := strings.Index(text[pos:], w)
		if i < 0 {
			t.Fatalf("output lacks %q after position %d:\n%s", w, pos, text)
		}
		pos += i
	}
	ll := res.LowLatency
	if ll == nil || ll.SNN.Steps != 4 || len(ll.Points) != 4 || ll.Points[3].Accuracy != ll.SNN.Accuracy {
		t.Fatalf("low-latency result %+v", ll)
	}
	// The first layer reads the current: its MACs count once per image.
	if ll.Energy.AnalogMACs != 288000 || !(ll.Energy.SNN > 0) || ll.ANNAccuracy < 0.2 {
		t.Errorf("low-latency energy %+v, ANN accuracy %v", ll.Energy, ll.ANNAccuracy)
	}
	for _, name := range []string{"qcfs_ann.safetensors", "qcfs_snn.safetensors", "accuracy_compare.png", "accuracy_compare.svg", "pareto.png"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty", name)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.LowLatency == nil || sum.LowLatency.Accuracy != ll.SNN.Accuracy || len(sum.LowLatency.Points) != 4 || sum.LowLatency.EnergyPerSample != ll.Energy || sum.LowLatency.Encoding != "current" || len(sum.Points) != 3 {
		t.Errorf("summary.json: %s", b)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"The two recipes side by side", "Accuracy against synaptic operations", "Both recipes against time", "Energy per image", "Accuracy and cost against T", `data-figures="7"`} {
		if !strings.Contains(string(page), w) {
			t.Errorf("report.html lacks %q", w)
		}
	}
}
