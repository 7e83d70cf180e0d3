package snneval

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/monitor"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// exitWorker is one simulator of an early-exit run with its counters.
type exitWorker struct {
	sm      *sim.Simulator
	synops  *monitor.SynOps
	rates   *monitor.FiringRates
	in      *tensor.Tensor
	correct []int // per step: samples right had none run longer
}

// runEarlyExit is Run with cfg.EarlyExit: each sample runs alone, a step
// at a time, until it is confident or reaches cfg.Steps, on one simulator
// per worker (a sample's result does not depend on which); the counters of
// the simulators are merged at the end.
func runEarlyExit(ctx context.Context, net *snn.Network, data Dataset, cfg Config, classes int) (*Result, error) {
	ee := cfg.EarlyExit
	if err := ee.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Monitors) > 0 {
		return nil, fmt.Errorf("snneval: early exit runs samples on several simulators and takes no extra monitors")
	}
	n := data.Len()
	workers := min(parallel.Workers(), n)
	free := make(chan *exitWorker, workers)
	all := make([]*exitWorker, workers)
	for i := range all {
		sm, err := sim.New(net)
		if err != nil {
			return nil, err
		}
		sm.SetEngine(cfg.Engine)
		sm.SetTrustedInput(true)
		w := &exitWorker{sm: sm, synops: monitor.NewSynOps(net), rates: monitor.NewFiringRates(net),
			in: tensor.New(append([]int{1, 1}, net.Input...)...), correct: make([]int, cfg.Steps)}
		sm.AddMonitor(w.synops)
		sm.AddMonitor(w.rates)
		all[i] = w
		free <- w
	}
	res := &Result{Samples: n, Steps: cfg.Steps, Predictions: make([]int, n), ExitSteps: make([]int, n)}
	var mu sync.Mutex
	var firstErr error
	done := 0
	start := time.Now()
	parallel.Run(n, func(i int) {
		w := <-free
		defer func() { free <- w }()
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			return
		}
		steps, pred, err := w.sample(ctx, data, cfg, i, classes)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("snneval: sample %d: %w", i, err)
			}
			return
		}
		res.ExitSteps[i], res.Predictions[i] = steps, pred
		done++
		if cfg.Progress != nil {
			cfg.Progress(done, n)
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	res.Seconds = time.Since(start).Seconds()
	res.SamplesPerSecond = float64(n) / res.Seconds
	correctByT := make([]int, cfg.Steps)
	for k, w := range all {
		for t, c := range w.correct {
			correctByT[t] += c
		}
		if k > 0 {
			if err := all[0].synops.Merge(w.synops); err != nil {
				return nil, err
			}
			if err := all[0].rates.Merge(w.rates); err != nil {
				return nil, err
			}
		}
	}
	res.AccuracyByT = make([]float64, cfg.Steps)
	for t, c := range correctByT {
		res.AccuracyByT[t] = float64(c) / float64(n)
	}
	for i, p := range res.Predictions {
		if p == data.Label(i) {
			res.Correct++
		}
	}
	res.Accuracy = float64(res.Correct) / float64(n)
	sorted := append([]int(nil), res.ExitSteps...)
	sort.Ints(sorted)
	sum := 0
	for _, s := range sorted {
		sum += s
	}
	res.MeanSteps = float64(sum) / float64(n)
	res.MedianSteps = float64(sorted[(n-1)/2]+sorted[n/2]) / 2
	res.MaxSteps = sorted[n-1]
	res.SynOps, res.SynOpsTotal = all[0].synops.Result()
	res.FiringRates = all[0].rates.Result()
	return res, nil
}

// sample runs sample i until it exits and returns the steps it ran and its
// prediction, counting in w.correct, per step t, whether the prediction it
// had at min(t, exit) is right.
func (w *exitWorker) sample(ctx context.Context, data Dataset, cfg Config, i, classes int) (int, int, error) {
	w.sm.Reset()
	stream := cfg.Encoder.Start(data.Image(i), i)
	counts := make([]float32, classes)
	preds := make([]int, 0, cfg.Steps)
	label, streak, pred, steps := data.Label(i), 0, 0, cfg.Steps
	for t := 0; t < cfg.Steps; t++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		stream.Next(w.in.Data, 1)
		out, err := w.sm.Run(ctx, w.in)
		if err != nil {
			return 0, 0, err
		}
		for c, v := range out.Data[:classes] {
			counts[c] += v
		}
		pred = tensor.ArgMax(counts)
		preds = append(preds, pred)
		if confidence(counts, t+1) >= cfg.EarlyExit.Confidence {
			streak++
		} else {
			streak = 0
		}
		if streak >= cfg.EarlyExit.Patience {
			steps = t + 1
			break
		}
	}
	if err := w.sm.CheckState(); err != nil {
		return 0, 0, err
	}
	for t := range w.correct {
		if preds[min(t, steps-1)] == label {
			w.correct[t]++
		}
	}
	return steps, pred, nil
}

// confidence is the softmax probability of the top class of the mean
// readout per step, counts/steps.
func confidence(counts []float32, steps int) float64 {
	top := math.Inf(-1)
	for _, v := range counts {
		top = max(top, float64(v))
	}
	var z float64
	for _, v := range counts {
		z += math.Exp((float64(v) - top) / float64(steps))
	}
	return 1 / z
}
