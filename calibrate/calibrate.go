// Package calibrate converts a ReLU network into a spiking network that is
// accurate at a given, small number of time steps, with no retraining: SNN
// calibration after Li et al. ("A free lunch from ANN: towards efficient,
// accurate spiking neural networks calibration", ICML 2021).
//
// On a few hundred to a few thousand training images:
//
//  1. Thresholds. Each channel of each spiking population gets the
//     threshold θ minimising the mean squared error between the ReLU's
//     activations a and what a population starting at θ/2 and firing at
//     most once a step gives over T steps of a constant input, θ/T ·
//     min(floor(a·T/θ + 1/2), T) (Config.LayerThresholds: one θ for all of
//     a population's channels). The network is rescaled so that every
//     threshold is 1, exactly (snn.ScaleGraphChannels).
//  2. Bias correction. Population by population, in order, the simulated
//     spike rate of every channel is compared with the ANN's activation
//     (scaled and clipped to [0, 1]) on the same images, and the mean
//     difference is added to the bias of the layer that feeds it, so that
//     each layer corrects what the ones before it left.
//  3. Optionally (Config.SearchVInit), the initial potential of every
//     population: each of VInitCandidates with its own bias correction,
//     the one whose readout is closest to the ANN's kept.
//
// Calibration data is training data: never the images the result is
// measured on.
package calibrate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Config holds a calibration's settings.
type Config struct {
	Steps   int         // T, the number of time steps the network will run
	Samples snn.Samples // calibration images (training data)
	Engine  sim.Engine  // the engine that simulates them
	// LayerThresholds searches one threshold per population instead of
	// one per channel. (Per channel, resnet_fmnist at T=16 reaches
	// 90.4 % where one per population gives 90.0 %: channels of one
	// layer differ in range, and a single θ rounds the small ones
	// coarsely.)
	LayerThresholds bool
	// SkipBiasCorrection stops after the threshold search (and the
	// initial-potential search).
	SkipBiasCorrection bool
	// SearchVInit chooses the membrane's initial potential, one fraction of
	// the threshold for every population, among VInitCandidates: the one
	// whose mean readout per step, after its own bias correction, is
	// closest to the ANN's output on the calibration images (the accuracy
	// on them, with labels, is reported but does not choose: on 1024
	// images it is too coarse, and picked 0.4 for the tutorial network at
	// T=8, which did worse on the test images than the 0.5 the readout
	// picks).
	SearchVInit bool
}

// Labeled is implemented by calibration samples that know their classes.
type Labeled interface {
	Label(i int) int
}

// VInitCandidates are the initial potentials (fractions of the threshold)
// Config.SearchVInit tries. 0.5 centres the rounding and is the tutorial
// network's choice; resnet_fmnist at T=16 chooses 0.6 (90.46 % on the
// 10,000 test images with thresholds per channel; with one per population
// 89.96 %, against 89.68 % at 0.5).
var VInitCandidates = []float32{0.4, 0.5, 0.6, 0.7}

// Result is what a calibration chose beyond each population's threshold
// and bias.
type Result struct {
	Populations []Population `json:"populations"`
	// OutputScale divides the ANN's output in the calibrated network: its
	// mean readout per step times OutputScale estimates the ANN's logits.
	OutputScale float64 `json:"output_scale"`
	// VInit is the initial potential, a fraction of the threshold, of
	// every population; VInitError, per candidate tried (in
	// VInitCandidates order), the mean squared difference between the
	// network's mean readout and the ANN's output that chose it.
	VInit      float32   `json:"v_init"`
	VInitError []float64 `json:"v_init_error,omitempty"`
	// VInitAccuracy is, per candidate, the accuracy on the calibration
	// images (with labels).
	VInitAccuracy []float64 `json:"v_init_accuracy,omitempty"`
}

// Population is what calibration did at one spiking population.
type Population struct {
	ReLU string `json:"relu"`
	// Threshold is the best single θ in the ANN's units; Thresholds, when
	// searched, one per channel, which the network then uses.
	Threshold  float64   `json:"threshold"`
	Thresholds []float64 `json:"thresholds,omitempty"`
	// MSE is the clip-floor error at the thresholds used, per activation
	// (zeros included).
	MSE float64 `json:"mse"`
	// Corrected names the layer whose bias took the correction ("" when
	// none could: no weighted layer right before the population).
	Corrected string `json:"corrected,omitempty"`
	// MeanShift is the mean absolute bias correction over channels.
	MeanShift float64 `json:"mean_shift"`
}

// Neuron is the population calibration converts every ReLU to: threshold
// 1 (the network is rescaled to it), one spike a step at most, subtract
// reset, no floor, the membrane starting at half the threshold.
func Neuron() snn.Neuron {
	n := snn.DefaultQCFSNeuron()
	n.Threshold = 1
	return n
}

// Graph calibrates g for cfg.Steps steps and converts it with opts (whose
// Neuron should be Neuron(), or one close to it: the threshold search
// assumes its rounding and clip). g is not modified.
func Graph(ctx context.Context, g *graph.Graph, opts snn.ConvertOptions, cfg Config) (*snn.Network, []snn.NodeReport, *Result, error) {
	if cfg.Steps < 1 {
		return nil, nil, nil, fmt.Errorf("calibrate: %d time steps", cfg.Steps)
	}
	if cfg.Samples == nil || cfg.Samples.Len() < 1 {
		return nil, nil, nil, fmt.Errorf("calibrate: no calibration images")
	}
	pops, scaled, outScale, err := scaleGraph(ctx, g, cfg, !cfg.LayerThresholds)
	if errors.Is(err, snn.ErrChannelScales) {
		// A flat join cannot take a factor per value: one threshold per
		// population then.
		pops, scaled, outScale, err = scaleGraph(ctx, g, cfg, false)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("calibrate: %w", err)
	}
	net, report, err := snn.FromGraph(scaled, opts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("calibrate: %w", err)
	}
	res := &Result{Populations: pops, VInit: opts.Neuron.VInit, OutputScale: outScale}
	var want map[string][]float64 // the bias correction's aim, the same for every initial potential
	if !cfg.SkipBiasCorrection {
		if want, err = annMeans(ctx, scaled, net, pops, cfg); err != nil {
			return nil, nil, nil, fmt.Errorf("calibrate: %w", err)
		}
	}
	if cfg.SearchVInit {
		if err := searchVInit(ctx, scaled, net, res, want, cfg); err != nil {
			return nil, nil, nil, fmt.Errorf("calibrate: %w", err)
		}
		return net, report, res, nil
	}
	if want != nil {
		if err := correctBiases(ctx, net, pops, want, cfg); err != nil {
			return nil, nil, nil, fmt.Errorf("calibrate: %w", err)
		}
	}
	return net, report, res, nil
}

// scaleGraph searches every population's threshold (one per channel with
// perChannel) and returns them, g rescaled to thresholds of 1, and the
// scale of its output (the rescaled output is the original's divided by
// it).
func scaleGraph(ctx context.Context, g *graph.Graph, cfg Config, perChannel bool) ([]Population, *graph.Graph, float64, error) {
	var pops []Population
	out := g.OutputName()
	scaled, scales, err := snn.ScaleGraphChannels(ctx, g, cfg.Samples, func(relu string, shape []int, visit snn.Visit) ([]float64, error) {
		// An output population keeps one scale: its channels are classes.
		th, chans, mse, err := searchThresholds(visit, shape, cfg.Steps, perChannel && relu != out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", relu, err)
		}
		pops = append(pops, Population{ReLU: relu, Threshold: th, Thresholds: chans, MSE: mse})
		if chans != nil {
			return chans, nil
		}
		return []float64{th}, nil
	})
	if err != nil {
		return nil, nil, 0, err
	}
	if !slices.Equal(scales, slices.Repeat(scales[:1], len(scales))) {
		return nil, nil, 0, fmt.Errorf("the output's channels are at different scales (%v)", scales)
	}
	return pops, scaled, scales[0], nil
}

// biases returns the biases the bias correction may change (correctedBy),
// by stage, giving a layer without one a bias of zeros (which changes
// nothing): the others, such as a shortcut's depthwise scaling, keep none.
func biases(net *snn.Network) (map[int][]float32, error) {
	src, err := net.Sources()
	if err != nil {
		return nil, err
	}
	b := map[int][]float32{}
	for i := range net.Stages {
		if f := correctedBy(net, src, i); f >= 0 {
			if v := nn.EnsureBias(net.Stages[f].Layer); v != nil {
				b[f] = v
			}
		}
	}
	return b, nil
}

// correctedBy returns the stage whose bias corrects population stage st:
// the one feeding it, or an Add's first input; -1 when st is no population
// or reads the input.
func correctedBy(net *snn.Network, src [][]int, st int) int {
	if !net.Stages[st].Spiking() {
		return -1
	}
	feed := src[st][0]
	if feed >= 0 && net.Stages[feed].Join != nil {
		feed = src[feed][0]
	}
	return feed
}

// searchVInit tries every candidate initial potential on all of net's
// populations, each with its own bias correction (unless skipped), and
// keeps the one whose mean readout per step is closest (mean squared
// difference) to the output of scaled, the ANN net was converted from, on
// the calibration images: its potential, its biases and its populations'
// record. aim is the bias correction's (annMeans; nil: no correction).
func searchVInit(ctx context.Context, scaled *graph.Graph, net *snn.Network, res *Result, aim map[string][]float64, cfg Config) error {
	var want []float32
	var x tensor.Tensor
	for lo := 0; lo < cfg.Samples.Len(); lo += snn.NormalizeBatch {
		cfg.Samples.Batch(lo, min(lo+snn.NormalizeBatch, cfg.Samples.Len()), &x)
		out, err := scaled.Forward(&x, false)
		if err != nil {
			return err
		}
		want = append(want, out.Data...)
	}
	live, err := biases(net)
	if err != nil {
		return err
	}
	orig := map[int][]float32{}
	for i, b := range live {
		orig[i] = append([]float32(nil), b...)
	}
	var bestBias map[int][]float32
	var bestPops []Population
	best := -1
	for k, v := range VInitCandidates {
		for i, b := range orig {
			copy(live[i], b)
		}
		for i := range net.Stages {
			if n := net.Stages[i].Neuron; n != nil {
				n.VInit = v
			}
		}
		pops := append([]Population(nil), res.Populations...)
		if aim != nil {
			// Each candidate with its own bias correction: the potential
			// that is best once corrected is not the best uncorrected.
			if err := correctBiases(ctx, net, pops, aim, cfg); err != nil {
				return err
			}
		}
		var e float64
		right := 0
		classes := tensor.Numel(net.OutputShape())
		labeled, hasLabels := cfg.Samples.(Labeled)
		err := simulateOutputs(ctx, net, cfg, func(sample int, mean []float64) {
			top := 0
			for c, m := range mean {
				d := m - float64(want[sample*classes+c])
				e += d * d
				if m > mean[top] {
					top = c
				}
			}
			if hasLabels && top == labeled.Label(sample) {
				right++
			}
		})
		if err != nil {
			return err
		}
		res.VInitError = append(res.VInitError, e/float64(cfg.Samples.Len()))
		if hasLabels {
			res.VInitAccuracy = append(res.VInitAccuracy, float64(right)/float64(cfg.Samples.Len()))
		}
		if best < 0 || res.VInitError[k] < res.VInitError[best] {
			best, bestPops = k, pops
			bestBias = map[int][]float32{}
			for i, b := range live {
				bestBias[i] = append([]float32(nil), b...)
			}
		}
	}
	res.VInit, res.Populations = VInitCandidates[best], bestPops
	for i, b := range bestBias {
		copy(live[i], b)
	}
	for i := range net.Stages {
		if n := net.Stages[i].Neuron; n != nil {
			n.VInit = res.VInit
		}
	}
	return nil
}

// maxSearchValues bounds the activations a threshold search weighs: beyond
// it, every k-th positive one (a fixed stride, so the result is the same
// run after run).
const maxSearchValues = 1 << 21

// thresholdCandidates is the resolution of the search: θ = max·k/K.
const thresholdCandidates = 400

// searchThresholds returns the θ in (0, max] minimising the clip-floor
// error of the visited activations (batches of samples of shape) at T
// steps, and that error per value; with perChannel, also one θ for every
// channel (shape[0] of them), each searched on that channel's values
// alone, and the error per value that they give together. A channel that
// is never positive takes the population's θ.
func searchThresholds(visit snn.Visit, shape []int, steps int, perChannel bool) (float64, []float64, float64, error) {
	chans, inner := 1, 1
	if perChannel && len(shape) > 0 {
		chans, inner = shape[0], tensor.Numel(shape[1:])
	}
	var top float64
	total, pos := 0, 0
	topC := make([]float64, chans)
	posC := make([]int, chans)
	if err := visit(func(v []float32) {
		total += len(v)
		for i, a := range v {
			if a > 0 {
				c := i / inner % chans
				pos++
				posC[c]++
				top = max(top, float64(a))
				topC[c] = max(topC[c], float64(a))
			}
		}
	}); err != nil {
		return 0, nil, 0, err
	}
	if pos == 0 || math.IsInf(top, 0) || math.IsNaN(top) {
		return 0, nil, 0, fmt.Errorf("its activations are never positive and finite on the calibration images (%d values)", total)
	}
	// Every stride-th positive value: one subsample of the population,
	// one of each channel (a fixed stride, the same run after run).
	stride := (pos + maxSearchValues - 1) / maxSearchValues
	per := max(maxSearchValues/chans, 1)
	strideC := make([]int, chans)
	valsC := make([][]float64, chans)
	for c := range chans {
		strideC[c] = max((posC[c]+per-1)/per, 1)
		valsC[c] = make([]float64, 0, min(posC[c], per))
	}
	vals := make([]float64, 0, min(pos, maxSearchValues))
	k := 0
	kC := make([]int, chans)
	if err := visit(func(v []float32) {
		for i, a := range v {
			if a <= 0 {
				continue
			}
			if k%stride == 0 {
				vals = append(vals, float64(a))
			}
			k++
			if chans > 1 {
				c := i / inner % chans
				if kC[c]%strideC[c] == 0 {
					valsC[c] = append(valsC[c], float64(a))
				}
				kC[c]++
			}
		}
	}); err != nil {
		return 0, nil, 0, err
	}
	errs := make([]float64, thresholdCandidates)
	t := float64(steps)
	parallel.Run(thresholdCandidates, func(c int) {
		errs[c] = clipFloorError(vals, top*float64(c+1)/thresholdCandidates, t)
	})
	best := 0
	for c, e := range errs {
		if e < errs[best] {
			best = c
		}
	}
	// Zeros err by nothing; the subsample stands for stride values each.
	layer := top * float64(best+1) / thresholdCandidates
	mse := errs[best] * float64(stride) / float64(total)
	if chans == 1 {
		return layer, nil, mse, nil
	}
	th := make([]float64, chans)
	errC := make([]float64, chans)
	parallel.Run(chans, func(c int) {
		th[c] = layer
		if len(valsC[c]) == 0 || math.IsInf(topC[c], 0) {
			return
		}
		bestE := math.Inf(1)
		for k := range thresholdCandidates {
			cand := topC[c] * float64(k+1) / thresholdCandidates
			if e := clipFloorError(valsC[c], cand, t); e < bestE {
				bestE, th[c] = e, cand
			}
		}
		errC[c] = bestE * float64(strideC[c])
	})
	var sum float64
	for _, e := range errC {
		sum += e
	}
	return layer, th, sum / float64(total), nil
}

// clipFloorError is the squared error, summed over vals, of a population
// with threshold th starting at θ/2 against constant inputs over t steps.
func clipFloorError(vals []float64, th, t float64) float64 {
	var e float64
	for _, a := range vals {
		q := th / t * min(math.Floor(a*t/th+0.5), t)
		e += (a - q) * (a - q)
	}
	return e
}

// channelMeans accumulates, per channel of a stage's output [C, ...] (a
// flat [F] has F channels of one value), the sum of its values over every
// frame it is handed.
type channelMeans struct {
	stage    int
	channels int
	inner    int
	sum      []float64
	frames   float64
}

func newChannelMeans(stage int, shape []int) *channelMeans {
	c := &channelMeans{stage: stage, channels: shape[0], inner: tensor.Numel(shape[1:])}
	c.sum = make([]float64, c.channels)
	return c
}

func (m *channelMeans) add(data []float32) {
	per := m.channels * m.inner
	for f := 0; f+per <= len(data); f += per {
		for ch := 0; ch < m.channels; ch++ {
			var s float64
			for _, v := range data[f+ch*m.inner : f+(ch+1)*m.inner] {
				s += float64(v)
			}
			m.sum[ch] += s
		}
		m.frames++
	}
}

func (m *channelMeans) means() []float64 {
	out := make([]float64, m.channels)
	for ch, s := range m.sum {
		out[ch] = s / (m.frames * float64(m.inner))
	}
	return out
}

// Observe implements sim.Monitor for the one stage it watches.
func (m *channelMeans) Observe(stage int, in, out *tensor.Tensor, c sim.Chunk) {
	m.add(out.Data)
}

// Observes implements sim.StageFilter.
func (m *channelMeans) Observes(stage int) bool { return stage == m.stage }

// annMeans returns, for every population of pops, the per-channel mean of
// its ReLU's output in the rescaled graph scaled (net's ANN), clipped to
// [0, 1]: the rates the bias correction aims at.
func annMeans(ctx context.Context, scaled *graph.Graph, net *snn.Network, pops []Population, cfg Config) (map[string][]float64, error) {
	index := map[string]int{}
	for i, st := range net.Stages {
		index[st.Name] = i
	}
	want := map[string]*channelMeans{}
	for _, p := range pops {
		st, ok := index[p.ReLU]
		if !ok {
			return nil, fmt.Errorf("population %s is not in the network", p.ReLU)
		}
		want[p.ReLU] = newChannelMeans(st, net.Stages[st].Out)
	}
	var x tensor.Tensor
	var clip []float32
	for lo := 0; lo < cfg.Samples.Len(); lo += snn.NormalizeBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cfg.Samples.Batch(lo, min(lo+snn.NormalizeBatch, cfg.Samples.Len()), &x)
		if _, err := scaled.Forward(&x, false); err != nil {
			return nil, err
		}
		for name, m := range want {
			// The rate the population should have: the activation clipped
			// to [0, 1]. (Aiming at what it can give a constant input,
			// floor(a·T + v_init)/T, did no better on resnet_fmnist at T=16
			// and worse on the tutorial network at T=8: 97.28 against
			// 97.35 %.)
			out := scaled.NodeOutput(name).Data
			clip = append(clip[:0], out...)
			for i, v := range clip {
				clip[i] = min(max(v, 0), 1)
			}
			m.add(clip)
		}
	}
	out := map[string][]float64{}
	for name, m := range want {
		out[name] = m.means()
	}
	return out, nil
}

// correctBiases runs the bias correction on net: population by population,
// the bias of the layer that feeds it moves by its channels' mean
// difference between want (annMeans) and the simulated rates.
func correctBiases(ctx context.Context, net *snn.Network, pops []Population, want map[string][]float64, cfg Config) error {
	index := map[string]int{}
	for i, st := range net.Stages {
		index[st.Name] = i
	}
	src, err := net.Sources()
	if err != nil {
		return err
	}
	in := tensor.New(0)
	for k := range pops {
		p := &pops[k]
		st := index[p.ReLU]
		// The layer whose bias takes the correction: the Conv2d or Linear
		// feeding the population, or an Add's first input.
		feed := correctedBy(net, src, st)
		if feed < 0 {
			continue
		}
		bias := nn.EnsureBias(net.Stages[feed].Layer)
		if bias == nil {
			continue
		}
		got := newChannelMeans(st, net.Stages[st].Out)
		if err := simulate(ctx, net, got, in, cfg); err != nil {
			return err
		}
		w, g := want[p.ReLU], got.means()
		if len(bias) != len(w) {
			continue // a layer that does not map one bias to one channel
		}
		var shift float64
		for ch := range bias {
			d := w[ch] - g[ch]
			bias[ch] += float32(d)
			shift += math.Abs(d)
		}
		p.Corrected, p.MeanShift = net.Stages[feed].Name, shift/float64(len(bias))
	}
	return nil
}

// simulate runs net on the calibration images, each a constant current for
// cfg.Steps steps, handing the watched stage's frames to m.
func simulate(ctx context.Context, net *snn.Network, m *channelMeans, in *tensor.Tensor, cfg Config) error {
	return run(ctx, net, m, in, cfg, nil)
}

// simulateOutputs runs net on the calibration images and hands each
// sample's mean output per step to each.
func simulateOutputs(ctx context.Context, net *snn.Network, cfg Config, each func(sample int, mean []float64)) error {
	return run(ctx, net, nil, tensor.New(0), cfg, each)
}

// run simulates the calibration images (a constant current each for
// cfg.Steps steps), handing a watched stage to m (if any) and each sample's
// mean output per step to each (if set).
func run(ctx context.Context, net *snn.Network, m *channelMeans, in *tensor.Tensor, cfg Config, each func(sample int, mean []float64)) error {
	sm, err := sim.New(net)
	if err != nil {
		return err
	}
	sm.SetEngine(cfg.Engine)
	sm.SetTrustedInput(true)
	if m != nil {
		sm.AddMonitor(m)
	}
	classes := tensor.Numel(net.OutputShape())
	mean := make([]float64, classes)
	var x tensor.Tensor
	frame := tensor.Numel(net.Input)
	const batch = 64
	for lo := 0; lo < cfg.Samples.Len(); lo += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+batch, cfg.Samples.Len())
		cfg.Samples.Batch(lo, hi, &x)
		in.Resize(append([]int{hi - lo, cfg.Steps}, net.Input...)...)
		for b := 0; b < hi-lo; b++ {
			s := encode.Current{}.Start(x.Data[b*frame:(b+1)*frame], lo+b)
			s.Next(in.Data[b*cfg.Steps*frame:(b+1)*cfg.Steps*frame], cfg.Steps)
		}
		sm.Reset()
		out, err := sm.Run(ctx, in)
		if err != nil {
			return err
		}
		if each != nil {
			for b := 0; b < hi-lo; b++ {
				clear(mean)
				for t := 0; t < cfg.Steps; t++ {
					for c, v := range out.Data[(b*cfg.Steps+t)*classes : (b*cfg.Steps+t+1)*classes] {
						mean[c] += float64(v)
					}
				}
				for c := range mean {
					mean[c] /= float64(cfg.Steps)
				}
				each(lo+b, mean)
			}
		}
	}
	return sm.CheckState()
}
