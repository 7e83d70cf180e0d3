package figures

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleFigures(t *testing.T) map[string]*Figure {
	t.Helper()
	img := make([]float32, 28*28)
	for r := 0; r < 28; r++ {
		for c := 0; c < 28; c++ {
			if d := math.Hypot(float64(r-14), float64(c-14)); d > 6 && d < 10 {
				img[r*28+c] = float32(int(100 - 8*d))
			}
		}
	}
	steps := 100
	out := make([]float32, steps*10)
	for t := 0; t < steps; t++ {
		out[t*10+7] = float32(1 + t%2)
		if t%5 == 0 {
			out[t*10+2] = 1
		}
	}
	acc := make([]float64, steps)
	for i := range acc {
		acc[i] = 0.97 - 0.2*math.Exp(-float64(i)/5)
	}
	must := func(f *Figure, err error) *Figure {
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	return map[string]*Figure{
		"input_raster":     must(InputRaster(img, 28, 28, "Input spikes of test image 10, summed over 100 steps")),
		"output_spikes":    must(OutputSpikes(out, steps, 10, 7, 7)),
		"accuracy":         must(AccuracyByT(acc, 0.975)),
		"firing_rates":     must(FiringRates([]string{"1", "4", "7", "11", "spike_output"}, []float64{0.19, 0.88, 0.8, 0.65, 1.26})),
		"accuracy_compare": must(AccuracyCompare([]AccuracyCurve{{Name: "classic", Accuracy: acc, ANN: 0.975}, {Name: "low latency", Accuracy: []float64{0.8, 0.97, 0.985, 0.99, 0.992, 0.994, 0.995, 0.995}, ANN: 0.995}})),
		"pareto": must(Pareto([]ParetoCurve{
			{Name: "classic", Steps: []int{5, 10, 20, 50, 100}, Ops: []float64{9.8e6, 2e7, 3.9e7, 9.8e7, 1.96e8}, Accuracy: []float64{0.9607, 0.97, 0.972, 0.973, 0.9734}, ANNOps: 1.53e6, ANN: 0.9738},
			{Name: "low latency", Steps: []int{1, 2, 4, 8}, Ops: []float64{0.8e6, 1.4e6, 2.6e6, 4.9e6}, Accuracy: []float64{0.9, 0.98, 0.9952, 0.9956}, ANNOps: 1.53e6, ANN: 0.9947},
		})),
		"synops": must(SynOps([]string{"0", "3", "6", "10", "12"}, []float64{5.1e6, 1.16e8, 5.6e7, 2.1e7, 3.3e5}, []float64{288000, 1024000, 147456, 64000, 5000}, 100)),
	}
}

func TestFiguresEncode(t *testing.T) {
	dir := os.Getenv("SNNKIT_FIGURES_DIR") // set to keep the files for a look
	if dir == "" {
		dir = t.TempDir()
	}
	for name, f := range sampleFigures(t) {
		b, err := f.Encode("png")
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: PNG does not decode: %v", name, err)
		}
		if img.Bounds().Dx() < 500 {
			t.Errorf("%s: PNG only %d pixels wide", name, img.Bounds().Dx())
		}
		s, err := f.Encode("svg")
		if err != nil || !strings.Contains(string(s), "<svg") {
			t.Fatalf("%s: SVG: %v", name, err)
		}
		if err := f.Save(filepath.Join(dir, name+".png")); err != nil {
			t.Fatal(err)
		}
		if err := f.Save(filepath.Join(dir, name+".svg")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := (&Figure{}).Encode("gif"); err == nil {
		t.Error("unknown format accepted")
	}
	for name, bad := range map[string]func() (*Figure, error){
		"raster size": func() (*Figure, error) { return InputRaster(make([]float32, 5), 2, 2, "") },
		"no curves":   func() (*Figure, error) { return Pareto(nil) },
		"empty curve": func() (*Figure, error) { return AccuracyCompare([]AccuracyCurve{{Name: "x"}}) },
		"lengths": func() (*Figure, error) {
			return Pareto([]ParetoCurve{{Name: "x", Steps: []int{1, 2}, Ops: []float64{1}, Accuracy: []float64{1, 1}, ANNOps: 1}})
		},
		"zero operations": func() (*Figure, error) {
			return Pareto([]ParetoCurve{{Name: "x", Steps: []int{1}, Ops: []float64{0}, Accuracy: []float64{1}, ANNOps: 1}})
		},
		"no ANN operation": func() (*Figure, error) {
			return Pareto([]ParetoCurve{{Name: "x", Steps: []int{1}, Ops: []float64{1}, Accuracy: []float64{1}}})
		},
	} {
		if _, err := bad(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// TestDegenerateLengths draws runs of one step (a log axis with one point
// made gonum/plot panic) up to very long ones (binned to a bounded size).
func TestDegenerateLengths(t *testing.T) {
	for _, steps := range []int{1, 2, 9, 10, 100000} {
		acc := make([]float64, steps)
		out := make([]float32, steps*10)
		for i := range acc {
			acc[i] = 0.9
			out[i*10+i%10] = 1
		}
		must := func(f *Figure, err error) *Figure {
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		for name, f := range map[string]*Figure{"accuracy": must(AccuracyByT(acc, 0.95)), "output_spikes": must(OutputSpikes(out, steps, 10, 1, 2))} {
			for _, format := range []string{"png", "svg"} {
				b, err := f.Encode(format)
				if err != nil {
					t.Fatalf("%s, %d steps, %s: %v", name, steps, format, err)
				}
				if len(b) > 8<<20 {
					t.Errorf("%s, %d steps, %s: %d bytes", name, steps, format, len(b))
				}
			}
		}
	}
}
