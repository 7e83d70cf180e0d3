package calibrate

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/internal/testnets"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

func images(rng *rand.Rand, n int) *tensor.Tensor {
	x := tensor.New(n, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	return x
}

// TestSearchThreshold checks the threshold search on activations it can
// represent exactly (0.3 four times over T=4: θ = 0.3 errs by nothing) and
// that the error it reports is the clip-floor error of its θ.
func TestSearchThreshold(t *testing.T) {
	vals := []float32{0, 0.3, 0.3, 0, 0.3, 0.3}
	visit := func(each func([]float32)) error { each(vals); return nil }
	th, mse, err := searchThreshold(visit, 4)
	if err != nil || math.Abs(th-0.3) > 1e-7 || mse > 1e-12 {
		t.Fatalf("θ %v, error %v, %v; want 0.3 and 0", th, mse, err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals = make([]float32, 5000)
	for i := range vals {
		vals[i] = float32(rng.ExpFloat64())
	}
	th, mse, err = searchThreshold(visit, 8)
	if err != nil {
		t.Fatal(err)
	}
	var e float64
	for _, a := range vals {
		q := th / 8 * math.Min(math.Floor(float64(a)*8/th+0.5), 8)
		e += (float64(a) - q) * (float64(a) - q)
	}
	if math.Abs(e/float64(len(vals))-mse) > 1e-9 || th <= 0 {
		t.Fatalf("θ %v: error %v reported, %v recomputed", th, mse, e/float64(len(vals)))
	}
	if _, _, err := searchThreshold(func(each func([]float32)) error { each([]float32{0, -1}); return nil }, 4); err == nil {
		t.Fatal("a silent layer accepted")
	}
}

// TestCalibrationBeatsPercentile converts a residual graph at T=8 by
// calibration and by the 99.9th-percentile normalisation with the same
// neuron, and requires the calibrated network's mean readout to be closer
// to the ANN's logits on held-out images, with the bias correction closer
// than the thresholds alone, on every engine the same.
func TestCalibrationBeatsPercentile(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := testnets.ResGraph(rng)
	calib, test := images(rng, 256), images(rng, 64)
	const steps = 8
	opts := snn.DefaultConvertOptions()
	opts.Neuron, opts.AddSpikingOutput = Neuron(), false
	ctx := context.Background()
	ann, err := g.Forward(test, false)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), ann.Data...)
	// errOf is the mean squared difference between the ANN's logits and the
	// mean readout per step, times scale (the network's readout is the
	// logits divided by the scale of the population that feeds the head).
	errOf := func(net *snn.Network, engine sim.Engine, scale float64) float64 {
		sm, err := sim.New(net)
		if err != nil {
			t.Fatal(err)
		}
		sm.SetEngine(engine)
		frame := 64
		in := tensor.New(64, steps, 1, 8, 8)
		for b := 0; b < 64; b++ {
			encode.Current{}.Start(test.Data[b*frame:(b+1)*frame], b).Next(in.Data[b*steps*frame:(b+1)*steps*frame], steps)
		}
		out, err := sm.Run(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var e float64
		for b := 0; b < 64; b++ {
			for c := 0; c < 3; c++ {
				var s float64
				for k := 0; k < steps; k++ {
					s += float64(out.Data[(b*steps+k)*3+c])
				}
				d := s/steps*scale - float64(want[b*3+c])
				e += d * d
			}
		}
		return e / (64 * 3)
	}
	norm, pct, err := snn.NormalizeGraph(ctx, g, snn.TensorSamples(calib), 99.9)
	if err != nil {
		t.Fatal(err)
	}
	pnet, _, err := snn.FromGraph(norm, opts)
	if err != nil {
		t.Fatal(err)
	}
	base := errOf(pnet, sim.EngineAuto, pct[len(pct)-1].Percentile)
	var prev []float64
	for _, skip := range []bool{true, false} {
		net, _, res, err := Graph(ctx, g, opts, Config{Steps: steps, Samples: snn.TensorSamples(calib), Engine: sim.EngineAuto, SkipBiasCorrection: skip})
		if err != nil {
			t.Fatal(err)
		}
		pops := res.Populations
		if len(pops) != 4 {
			t.Fatalf("%d populations calibrated: %+v", len(pops), pops)
		}
		var errs []float64
		for _, e := range []sim.Engine{sim.EngineReference, sim.EngineAuto} {
			errs = append(errs, errOf(net, e, pops[len(pops)-1].Threshold))
		}
		if math.Abs(errs[0]-errs[1]) > 1e-4*errs[0] { // not dyadic: sums round differently
			t.Fatalf("engines differ on the calibrated network: %v", errs)
		}
		if !(errs[0] < base) {
			t.Errorf("calibrated (bias correction skipped: %v) error %v, percentile normalisation %v", skip, errs[0], base)
		}
		t.Logf("bias correction skipped %v: error %v against the percentile's %v", skip, errs[0], base)
		if prev != nil && !(errs[0] < prev[0]) {
			t.Errorf("bias correction did not help: error %v, thresholds alone %v (%+v)", errs[0], prev[0], pops)
		}
		prev = errs
	}
	// The initial-potential search, without labels: the candidate whose
	// readout is closest to the ANN's on the calibration images.
	_, _, res, err := Graph(ctx, g, opts, Config{Steps: steps, Samples: snn.TensorSamples(calib), Engine: sim.EngineAuto, SearchVInit: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.VInitError) != len(VInitCandidates) || res.VInitAccuracy != nil {
		t.Fatalf("initial potential %v chosen from errors %v, accuracies %v", res.VInit, res.VInitError, res.VInitAccuracy)
	}
	for k, e := range res.VInitError {
		if e < res.VInitError[slices.Index(VInitCandidates, res.VInit)] {
			t.Fatalf("initial potential %v chosen, %v errs less: %v", res.VInit, VInitCandidates[k], res.VInitError)
		}
	}
}
