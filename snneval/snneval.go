// Package snneval measures a spiking network on a labelled image set: it
// encodes each image as a spike train, simulates the network, and reports
// the accuracy at every time step (the class is the argmax of the output
// spike counts summed so far, ties to the lowest index as torch.argmax),
// synaptic operations and firing rates per layer, and the speed.
package snneval

import (
	"context"
	"fmt"
	"github.com/snnkit/snnkit/sim"
	"io"
	"slices"
	"time"

	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/monitor"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Dataset is a labelled image set; *mnist.Dataset implements it.
type Dataset interface {
	Len() int
	// Image returns the intensities in [0, 1] of sample i.
	Image(i int) []float32
	// Label returns the class of sample i.
	Label(i int) int
}

// Config holds the settings of a run.
type Config struct {
	Steps   int            // time steps per sample (T)
	Batch   int            // samples simulated together (default 64; fewer when MaxChunkValues would not hold one step of them)
	Encoder encode.Encoder // default Bernoulli with seed 0
	Engine  sim.Engine     // default EngineAuto
	// Progress, when set, is called after every batch with the samples done.
	Progress func(done, total int)
	// Monitors are attached to the simulator in addition to the counters.
	Monitors []sim.Monitor
	// ChunkValues bounds the input values simulated at once (default
	// MaxChunkValues); results do not depend on it.
	ChunkValues int
	// EarlyExit, when set, stops each sample once its prediction is
	// confident; Steps is then the upper bound.
	EarlyExit *EarlyExit
	// Checkpoints are time steps (in [1, Steps]) at which the run also
	// reports what the steps so far cost (Result.Checkpoints): time is cut
	// into chunks there, so each count is what a run of that many steps
	// spends (exactly for spikes; a layer reading an analog input sums it
	// in float32 per chunk, so its count agrees to float32 rounding). Not
	// with EarlyExit.
	Checkpoints []int
}

// Checkpoint is a run's state after its first Steps steps: what a run of
// that T would have reported.
type Checkpoint struct {
	Steps       int
	Accuracy    float64
	SynOps      []monitor.LayerSynOps
	SynOpsTotal float64 // per sample
}

// EarlyExit stops a sample's simulation once the softmax of its mean
// readout per step so far gives the top class a probability of at least
// Confidence for Patience consecutive steps. Latency and synaptic
// operations become per sample.
type EarlyExit struct {
	Confidence float64 // in (0, 1]
	Patience   int     // >= 1
}

// Validate checks the settings.
func (e *EarlyExit) Validate() error {
	if !(e.Confidence > 0 && e.Confidence <= 1) {
		return fmt.Errorf("early exit: confidence %v outside (0, 1]", e.Confidence)
	}
	if e.Patience < 1 || e.Patience > MaxSteps {
		return fmt.Errorf("early exit: patience %d outside [1, %d]", e.Patience, MaxSteps)
	}
	return nil
}

// Result is the outcome of Run.
type Result struct {
	Samples          int
	Steps            int
	Correct          int       // at the last step
	Accuracy         float64   // at the last step
	AccuracyByT      []float64 // AccuracyByT[t-1]: accuracy using steps 1..t
	Predictions      []int     // class at the last step, per sample
	Seconds          float64
	SamplesPerSecond float64
	SynOps           []monitor.LayerSynOps
	SynOpsTotal      float64 // per sample
	FiringRates      []monitor.LayerRate
	Checkpoints      []Checkpoint // at Config.Checkpoints, in ascending order
	// With early exit: the steps each sample ran, and their mean, median
	// and maximum. (AccuracyByT[t-1] is then the accuracy had no sample
	// run more than t steps.)
	ExitSteps   []int
	MeanSteps   float64
	MedianSteps float64
	MaxSteps    int
}

// MaxSteps is the largest T Run accepts. Memory does not grow with T (time
// is simulated in chunks); the bound keeps AccuracyByT and run times sane.
const MaxSteps = 1_000_000

// MaxChunkValues bounds the input values (samples × time steps × pixels) Run
// encodes and simulates at once: 8 Mi float32, 32 MiB (the tutorial's
// batch of 64 images at T=100 in one piece).
const MaxChunkValues = 1 << 23

// Run simulates net on every sample of data.
func Run(ctx context.Context, net *snn.Network, data Dataset, cfg Config) (*Result, error) {
	if cfg.Steps < 1 || cfg.Steps > MaxSteps {
		return nil, fmt.Errorf("snneval: time steps %d must be in [1, %d]", cfg.Steps, MaxSteps)
	}
	if cfg.Batch < 1 {
		cfg.Batch = 64
	}
	if cfg.Encoder == nil {
		cfg.Encoder = encode.Bernoulli{}
	}
	n := data.Len()
	if n == 0 {
		return nil, fmt.Errorf("snneval: empty data set")
	}
	in := net.Input
	frame := tensor.Numel(in)
	if len(data.Image(0)) != frame {
		return nil, fmt.Errorf("snneval: images have %d values, the network takes %v", len(data.Image(0)), in)
	}
	out := net.OutputShape()
	classes := tensor.Numel(out)
	checks := slices.Sorted(slices.Values(cfg.Checkpoints))
	checks = slices.Compact(checks)
	for _, t := range checks {
		if t < 1 || t > cfg.Steps {
			return nil, fmt.Errorf("snneval: checkpoint %d outside the run's steps [1, %d]", t, cfg.Steps)
		}
	}
	if cfg.EarlyExit != nil {
		if len(checks) > 0 {
			return nil, fmt.Errorf("snneval: checkpoints need every sample to run every step; early exit stops them")
		}
		return runEarlyExit(ctx, net, data, cfg, classes)
	}
	sm, err := sim.New(net)
	if err != nil {
		return nil, err
	}
	sm.SetEngine(cfg.Engine)
	sm.SetTrustedInput(true) // the encoders produce finite values from finite images
	synops := monitor.NewSynOps(net)
	rates := monitor.NewFiringRates(net)
	sm.AddMonitor(synops)
	sm.AddMonitor(rates)
	for _, m := range cfg.Monitors {
		sm.AddMonitor(m)
	}
	res := &Result{Samples: n, Steps: cfg.Steps, Predictions: make([]int, n)}
	correctByT := make([]int, cfg.Steps)
	start := time.Now()
	// Memory is bounded whatever T and the batch: the batch is cut to the
	// samples there are and to what fits MaxChunkValues per time step, and
	// time is fed in chunks of at most MaxChunkValues input values, each
	// sample's spike train continuing from chunk to chunk (the simulator
	// keeps its state across Run calls).
	chunk := cfg.ChunkValues
	if chunk < 1 {
		chunk = MaxChunkValues
	}
	// The simulator holds every stage's state and output per sample: a
	// batch's worth of that is bounded by four chunks.
	act := frame
	for _, st := range net.Stages {
		act += tensor.Numel(st.Out)
	}
	batch := min(cfg.Batch, n, max(1, chunk/frame), max(1, 4*chunk/act))
	tc := min(cfg.Steps, max(1, chunk/(batch*frame)))
	input := tensor.New(batch, tc, frame)
	counts := make([]float32, batch*classes)
	streams := make([]encode.Stream, batch)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		b := hi - lo
		parallel.Run(b, func(j int) { streams[j] = cfg.Encoder.Start(data.Image(lo+j), lo+j) })
		clear(counts)
		sm.Reset()
		next := 0 // the first checkpoint after t0
		for t0, steps := 0, 0; t0 < cfg.Steps; t0 += steps {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			steps = min(tc, cfg.Steps-t0)
			for next < len(checks) && checks[next] <= t0 {
				next++
			}
			if next < len(checks) {
				steps = min(steps, checks[next]-t0)
			}
			input.Resize(append([]int{b, steps}, in...)...)
			parallel.Run(b, func(j int) { streams[j].Next(input.Data[j*steps*frame:(j+1)*steps*frame], steps) })
			spikes, err := sm.Run(ctx, input)
			if err != nil {
				return nil, err
			}
			if err := sm.CheckState(); err != nil {
				return nil, fmt.Errorf("snneval: samples %d-%d: %w", lo, hi-1, err)
			}
			for j := 0; j < b; j++ {
				label := data.Label(lo + j)
				cnt := counts[j*classes : (j+1)*classes]
				for t := 0; t < steps; t++ {
					row := spikes.Data[(j*steps+t)*classes : (j*steps+t+1)*classes]
					for c, v := range row {
						cnt[c] += v
					}
					if tensor.ArgMax(cnt) == label {
						correctByT[t0+t]++
					}
				}
			}
		}
		for j := 0; j < b; j++ {
			res.Predictions[lo+j] = tensor.ArgMax(counts[j*classes : (j+1)*classes])
		}
		if cfg.Progress != nil {
			cfg.Progress(hi, n)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.SamplesPerSecond = float64(n) / res.Seconds
	res.AccuracyByT = make([]float64, cfg.Steps)
	for t, c := range correctByT {
		res.AccuracyByT[t] = float64(c) / float64(n)
	}
	res.Correct = correctByT[cfg.Steps-1]
	res.Accuracy = res.AccuracyByT[cfg.Steps-1]
	res.SynOps, res.SynOpsTotal = synops.Result()
	res.FiringRates = rates.Result()
	for _, t := range checks {
		c := Checkpoint{Steps: t, Accuracy: res.AccuracyByT[t-1]}
		c.SynOps, c.SynOpsTotal = synops.ResultAt(t)
		res.Checkpoints = append(res.Checkpoints, c)
	}
	return res, nil
}

// WriteTables prints the accuracy at T next to the ANN's, the accuracy at
// the time steps at (each <= Steps), synaptic operations per layer next to
// the ANN's multiply-accumulates, firing rates per layer and the speed.
func (res *Result) WriteTables(w io.Writer, at []int, annAccuracy float64) {
	if res.ExitSteps != nil {
		fmt.Fprintf(w, "SNN accuracy at exit: %.2f%% (%d/%d), ANN %.2f%%; steps run: mean %.2f, median %g, max %d of %d\n",
			100*res.Accuracy, res.Correct, res.Samples, 100*annAccuracy, res.MeanSteps, res.MedianSteps, res.MaxSteps, res.Steps)
		fmt.Fprintf(w, "%-14s %12s\n", "at most T", "SNN accuracy")
	} else {
		fmt.Fprintf(w, "SNN accuracy at T=%d: %.2f%% (%d/%d), ANN %.2f%%\n", res.Steps, 100*res.Accuracy, res.Correct, res.Samples, 100*annAccuracy)
		fmt.Fprintf(w, "%-14s %12s\n", "time steps", "SNN accuracy")
	}
	for _, t := range at {
		if t >= 1 && t <= res.Steps {
			fmt.Fprintf(w, "%-14d %11.2f%%\n", t, 100*res.AccuracyByT[t-1])
		}
	}
	fmt.Fprintf(w, "%-14s %16s %14s %8s\n", "layer", "synops/image", "ANN MACs", "ratio")
	var macs int64
	for _, s := range res.SynOps {
		ratio := 0.0
		if s.ANNMACs > 0 {
			ratio = s.PerSample / float64(s.ANNMACs)
		}
		fmt.Fprintf(w, "%-14s %16.4g %14d %8.1f\n", s.Name, s.PerSample, s.ANNMACs, ratio)
		macs += s.ANNMACs
	}
	fmt.Fprintf(w, "%-14s %16.4g %14d %8.1f\n", "total", res.SynOpsTotal, macs, res.SynOpsTotal/float64(max(macs, 1)))
	fmt.Fprintf(w, "%-14s %10s %22s\n", "spiking layer", "neurons", "spikes/neuron/step")
	for _, r := range res.FiringRates {
		fmt.Fprintf(w, "%-14s %10d %22.4f\n", r.Name, r.Neurons, r.Rate)
	}
	if res.ExitSteps != nil {
		fmt.Fprintf(w, "simulated %d images × up to %d steps (mean %.2f) in %.2f s: %.1f images/s\n", res.Samples, res.Steps, res.MeanSteps, res.Seconds, res.SamplesPerSecond)
		return
	}
	fmt.Fprintf(w, "simulated %d images × %d steps in %.2f s: %.1f images/s\n", res.Samples, res.Steps, res.Seconds, res.SamplesPerSecond)
}
