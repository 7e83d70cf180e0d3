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
	th, _, mse, err := searchThresholds(visit, []int{6}, 4, false)
	if err != nil || math.Abs(th-0.3) > 1e-7 || mse > 1e-12 {
		t.Fatalf("θ %v, error %v, %v; want 0.3 and 0", th, mse, err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals = make([]float32, 5000)
	for i := range vals {
		vals[i] = float32(rng.ExpFloat64())
	}
	th, _, mse, err = searchThresholds(visit, []int{5000}, 8, false)
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
	if _, _, _, err := searchThresholds(func(each func([]float32)) error { each([]float32{0, -1}); return nil }, []int{2}, 4, false); err == nil {
		t.Fatal("a silent layer accepted")
	}
}

// TestSearchChannelThresholds gives two channels values each represents
// exactly at its own θ (0.3 and 0.8 over T=4, the second channel zero in
// one sample) and a third that is never positive: the search must find
// each θ, give the silent channel the population's, and err by nothing.
func TestSearchChannelThresholds(t *testing.T) {
	// Two samples of shape [3, 2]: channel c holds values [2c, 2c+2).
	vals := []float32{0.3, 0.3, 0.8, 0.4, 0, 0, 0.3, 0, 0.8, 0, -1, 0}
	visit := func(each func([]float32)) error { each(vals); return nil }
	layer, th, mse, err := searchThresholds(visit, []int{3, 2}, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(th) != 3 || math.Abs(th[0]-0.3) > 1e-7 || math.Abs(th[1]-0.8) > 1e-7 || th[2] != layer {
		t.Fatalf("thresholds %v (population %v); want [0.3 0.8 %v]", th, layer, layer)
	}
	// 0.4 on θ = 0.8 over T=4: floor(2 + 0.5)·0.2 = 0.4 exactly.
	if mse > 1e-12 {
		t.Fatalf("per-channel error %v", mse)
	}
	_, _, layerMSE, _ := searchThresholds(visit, []int{3, 2}, 4, false)
	if !(layerMSE > mse) {
		t.Fatalf("one θ errs by %v, one per channel by %v", layerMSE, mse)
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
	cases := []struct {
		layer, skip bool
	}{{true, true}, {true, false}, {false, true}, {false, false}}
	errOfCase := map[[2]bool]float64{}
	for _, c := range cases {
		net, _, res, err := Graph(ctx, g, opts, Config{Steps: steps, Samples: snn.TensorSamples(calib), Engine: sim.EngineAuto, SkipBiasCorrection: c.skip, LayerThresholds: c.layer})
		if err != nil {
			t.Fatal(err)
		}
		pops := res.Populations
		if len(pops) != 4 {
			t.Fatalf("%d populations calibrated: %+v", len(pops), pops)
		}
		if (pops[0].Thresholds == nil) != c.layer || !c.layer && len(pops[3].Thresholds) != 5 {
			t.Fatalf("layer thresholds %v: populations %+v", c.layer, pops)
		}
		var errs []float64
		for _, e := range []sim.Engine{sim.EngineReference, sim.EngineAuto} {
			errs = append(errs, errOf(net, e, res.OutputScale))
		}
		if math.Abs(errs[0]-errs[1]) > 1e-4*errs[0] { // not dyadic: sums round differently
			t.Fatalf("engines differ on the calibrated network: %v", errs)
		}
		if !(errs[0] < base) {
			t.Errorf("calibrated (%+v) error %v, percentile normalisation %v", c, errs[0], base)
		}
		t.Logf("%+v: error %v against the percentile's %v", c, errs[0], base)
		errOfCase[[2]bool{c.layer, c.skip}] = errs[0]
	}
	if e, th := errOfCase[[2]bool{true, false}], errOfCase[[2]bool{true, true}]; !(e < th) {
		t.Errorf("bias correction did not help: error %v, thresholds alone %v", e, th)
	}
	if ch, l := errOfCase[[2]bool{false, true}], errOfCase[[2]bool{true, true}]; !(ch < l) {
		t.Errorf("thresholds per channel err by %v, per population by %v", ch, l)
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

// TestFlatJoinFallsBack calibrates a flat residual network, whose Add could
// not carry a factor per value: every population then takes one threshold.
func TestFlatJoinFallsBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	g := testnets.FlatResGraph(rng)
	x := tensor.New(64, 6)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	opts := snn.DefaultConvertOptions()
	opts.Neuron, opts.AddSpikingOutput = Neuron(), false
	_, _, res, err := Graph(context.Background(), g, opts, Config{Steps: 4, Samples: snn.TensorSamples(x), Engine: sim.EngineAuto})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Populations {
		if p.Thresholds != nil {
			t.Fatalf("%s has thresholds per channel %v", p.ReLU, p.Thresholds)
		}
	}
}
