package tutorial

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	for _, name := range []string{"ann.safetensors", "snn.safetensors", "input_raster.png", "input_raster.svg", "output_spikes.png", "accuracy.svg", "firing_rates.png", "synops.png", "report.html", "summary.json"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty", name)
		}
	}
	if res.SNN.Samples != 96 || len(res.SNN.AccuracyByT) != 12 || res.SampleLabel != 0 {
		t.Errorf("result %+v", res.SNN)
	}
	if bin, err := exec.LookPath("chromium"); err == nil {
		cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+filepath.Join(t.TempDir(), "p"), "--virtual-time-budget=5000", "--dump-dom", "file://"+filepath.Join(dir, "report.html"))
		dom, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(dom), `data-images-loaded="5"`) {
			t.Errorf("report did not load its 5 figures in chromium")
		}
	}
}

// TestInterrupt cancels the tutorial part-way and checks that it stops with
// the context's error and leaves no partial or temporary file behind.
func TestInterrupt(t *testing.T) {
	needMNIST(t)
	for _, after := range []time.Duration{300 * time.Millisecond, 1500 * time.Millisecond} {
		dir := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), after)
		var out bytes.Buffer
		start := time.Now()
		c := small(dir, &out)
		c.TrainLimit = 20000
		_, err := Run(ctx, c)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("after %v: error %v, want the context's", after, err)
		}
		if late := time.Since(start) - after; late > 2*time.Second {
			t.Errorf("stopped %v after the cancellation", late)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("temporary file %s left behind", e.Name())
			}
			if strings.HasSuffix(e.Name(), ".safetensors") {
				if _, err := safetensors.ReadFile(filepath.Join(dir, e.Name())); err != nil {
					t.Errorf("partial file: %v", err)
				}
			}
		}
	}
}
