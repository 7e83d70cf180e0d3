package onnx

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/snnkit/snnkit/data"
	"github.com/snnkit/snnkit/internal/golden"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/tensor"
)

// fixtures holds PyTorch-exported models with PyTorch's own logits and
// predictions: a copy of ../shared/interop/onnx (see its README.json).
var fixtures = filepath.Join(golden.Root(), "testdata", "onnx")

// TestFixturesMatchPyTorch imports each fixture, runs the test set through
// it and compares with PyTorch: the logits of the first 256 images within
// 1e-4 relative, and the predictions on all 10,000 (a handful of near-ties
// may differ; each is listed with its logit margin).
func TestFixturesMatchPyTorch(t *testing.T) {
	for _, name := range []string{"tutorial_mnist", "vgg_mnist", "resnet_fmnist"} {
		t.Run(name, func(t *testing.T) {
			exp, err := safetensors.ReadFile(filepath.Join(fixtures, name+".expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			g, err := ReadFile(filepath.Join(fixtures, name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			test, err := data.LoadTest(exp.Metadata["dataset"], "")
			if err != nil {
				t.Skipf("SKIP: %v", err) // fashion-mnist is a Debian package
			}
			if m, _ := strconv.ParseFloat(exp.Metadata["mean"], 32); m != 0 {
				s, _ := strconv.ParseFloat(exp.Metadata["std"], 32)
				norm, err := nn.NewNormalize([]float32{float32(m)}, []float32{float32(s)})
				if err != nil {
					t.Fatal(err)
				}
				if err := g.Prepend("input_norm", norm); err != nil {
					t.Fatal(err)
				}
			}
			lt, _ := exp.Get("logits")
			wantLogits, _ := lt.Float32(false)
			pt, _ := exp.Get("predictions")
			var x tensor.Tensor
			var worst float64
			differ := 0
			for lo := 0; lo < test.N; lo += 256 {
				hi := min(lo+256, test.N)
				idx := make([]int, hi-lo)
				for i := range idx {
					idx[i] = lo + i
				}
				test.Batch(idx, &x, nil)
				y, err := g.Forward(&x, false)
				if err != nil {
					t.Fatal(err)
				}
				for j := 0; j < hi-lo; j++ {
					row := y.Data[j*10 : (j+1)*10]
					if lo == 0 {
						for c, v := range row {
							w := wantLogits[j*10+c]
							worst = math.Max(worst, math.Abs(float64(v-w))/math.Max(1, math.Abs(float64(w))))
						}
					}
					if p := tensor.ArgMax(row); p != int(pt.Data[lo+j]) {
						differ++
						margin := float64(row[p] - row[pt.Data[lo+j]])
						t.Logf("image %d: predicted %d, PyTorch %d, logit margin %.3g", lo+j, p, pt.Data[lo+j], margin)
						if margin > 1e-3 {
							t.Errorf("image %d: not a near-tie (margin %.3g)", lo+j, margin)
						}
					}
				}
			}
			if worst > 1e-4 {
				t.Errorf("logits of the first 256 images differ from PyTorch's by %.3g relative", worst)
			}
			t.Logf("%s: logits within %.2g relative, %d of %d predictions differ", name, worst, differ, test.N)
		})
	}
}
