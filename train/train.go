// Package train fits a network to a labelled data set with mini-batch
// gradient descent and evaluates its accuracy, as PyTorch's usual training
// loop does: seeded shuffling each epoch, batches of a fixed size (the last
// one smaller), softmax cross-entropy, one optimiser step per batch.
package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/optim"
	"github.com/snnkit/snnkit/tensor"
)

// Dataset is a labelled set that can fill a batch tensor.
// *mnist.Dataset implements it.
type Dataset interface {
	// Len returns the number of samples.
	Len() int
	// Batch copies the samples idx into x (resized to [len(idx), ...]) and
	// appends their labels to labels[:0].
	Batch(idx []int, x *tensor.Tensor, labels []int) []int
}

// Config holds the training settings.
type Config struct {
	Epochs    int
	BatchSize int
	// Seed drives the shuffling; the same seed gives the same batches.
	Seed uint64
	// Progress, when set, is called after every batch.
	Progress func(Progress)
	// Schedule sets the optimiser's learning rate before every batch from
	// the rate it had when Fit started (restored when Fit returns); nil
	// keeps it constant.
	Schedule optim.Schedule
	// Augment, when set, changes every training batch before its forward
	// pass, with random draws seeded by Seed.
	Augment Augment
}

// Progress reports the state of a running Fit.
type Progress struct {
	Epoch, Epochs int // 1-based epoch
	Done, Total   int // samples processed in all epochs, and in total
	Loss          float64
	Elapsed       time.Duration
	EpochFinished bool    // true on the last batch of an epoch
	EpochAccuracy float64 // training accuracy of the finished epoch
	EpochLossMean float64 // mean loss of the finished epoch
}

// Result summarises a finished Fit.
type Result struct {
	Epochs           int
	Samples          int // samples processed over all epochs
	Seconds          float64
	SamplesPerSecond float64
	EpochLoss        []float64 // mean training loss per epoch
	EpochAccuracy    []float64 // training accuracy per epoch (on the fly)
}

// Fit trains model on data. It stops with ctx's error when ctx is cancelled,
// between two batches.
func Fit(ctx context.Context, model nn.Trainable, opt optim.Optimizer, data Dataset, cfg Config) (*Result, error) {
	n := data.Len()
	if n == 0 {
		return nil, fmt.Errorf("train: empty data set")
	}
	if cfg.Epochs < 1 {
		return nil, fmt.Errorf("train: epochs %d must be at least 1", cfg.Epochs)
	}
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("train: batch size %d must be at least 1", cfg.BatchSize)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed5eed))
	augRNG := rand.New(rand.NewPCG(cfg.Seed, 0xa46e))
	sched := cfg.Schedule
	if sched == nil {
		sched = optim.Constant{}
	}
	base := opt.LR()
	defer opt.SetLR(base)
	perEpoch := (n + cfg.BatchSize - 1) / cfg.BatchSize
	step := 0
	var x, grad tensor.Tensor
	var labels []int
	res := &Result{Epochs: cfg.Epochs}
	start := time.Now()
	total := n * cfg.Epochs
	for ep := 1; ep <= cfg.Epochs; ep++ {
		perm := rng.Perm(n)
		var lossSum float64
		correct := 0
		for lo := 0; lo < n; lo += cfg.BatchSize {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			hi := min(lo+cfg.BatchSize, n)
			labels = data.Batch(perm[lo:hi], &x, labels)
			if cfg.Augment != nil {
				if err := cfg.Augment.Apply(&x, augRNG); err != nil {
					return nil, err
				}
			}
			opt.SetLR(sched.Rate(base, step, perEpoch*cfg.Epochs, perEpoch))
			step++
			model.ZeroGrad()
			out, err := model.Forward(&x, true)
			if err != nil {
				return nil, err
			}
			loss, c, err := nn.SoftmaxCrossEntropy(out, labels, &grad)
			if err != nil {
				return nil, fmt.Errorf("epoch %d, batch at sample %d: %w", ep, lo, err)
			}
			if err := model.Backward(&grad); err != nil {
				return nil, err
			}
			if err := opt.Step(); err != nil {
				return nil, err
			}
			lossSum += loss * float64(hi-lo)
			correct += c
			res.Samples += hi - lo
			if cfg.Progress != nil {
				p := Progress{Epoch: ep, Epochs: cfg.Epochs, Done: res.Samples, Total: total, Loss: loss, Elapsed: time.Since(start)}
				if hi == n {
					p.EpochFinished = true
					p.EpochAccuracy = float64(correct) / float64(n)
					p.EpochLossMean = lossSum / float64(n)
				}
				cfg.Progress(p)
			}
		}
		res.EpochLoss = append(res.EpochLoss, lossSum/float64(n))
		res.EpochAccuracy = append(res.EpochAccuracy, float64(correct)/float64(n))
	}
	res.Seconds = time.Since(start).Seconds()
	res.SamplesPerSecond = float64(res.Samples) / res.Seconds
	return res, nil
}

// Evaluation is the outcome of Evaluate.
type Evaluation struct {
	Samples  int
	Correct  int
	Accuracy float64 // Correct / Samples
	Loss     float64 // mean cross-entropy
	Seconds  float64
}

// overflowAt finds the first layer whose output on x is not finite and says
// which of its parameters holds the largest magnitude, "" if none: a model
// with weights near the float32 limit fails at evaluation, and the user
// needs to know which tensor to look at.
func overflowAt(model nn.Model, x *tensor.Tensor) string {
	if g, ok := model.(*graph.Graph); ok {
		return graphOverflowAt(g, x)
	}
	seq, ok := model.(*nn.Sequential)
	if !ok {
		return ""
	}
	cur := x
	for i, l := range seq.Layers {
		out, err := l.Forward(cur, false)
		if err != nil {
			return ""
		}
		if out.CheckFinite() != nil {
			msg := fmt.Sprintf("layer %d (%v) overflows float32: its outputs are not finite", i, l)
			var big float64
			for _, p := range l.Params() {
				for _, v := range p.Value.Data {
					big = max(big, math.Abs(float64(v)))
				}
				msg += fmt.Sprintf("; %d.%s reaches |%.3g|", i, p.Name, big)
				big = 0
			}
			return msg
		}
		cur = out
	}
	return ""
}

// graphOverflowAt is overflowAt for a graph: its nodes' outputs are kept
// after Forward, so the first non-finite one is found without rerunning.
func graphOverflowAt(g *graph.Graph, x *tensor.Tensor) string {
	if _, err := g.Forward(x, false); err != nil {
		return ""
	}
	for _, n := range g.Nodes {
		out := g.NodeOutput(n.Name)
		if out == nil || out.CheckFinite() == nil {
			continue
		}
		msg := fmt.Sprintf("node %s (%v) overflows float32: its outputs are not finite", n.Name, n.Op())
		if n.Layer != nil {
			for _, p := range n.Layer.Params() {
				var big float64
				for _, v := range p.Value.Data {
					big = max(big, math.Abs(float64(v)))
				}
				msg += fmt.Sprintf("; %s.%s reaches |%.3g|", n.Name, p.Name, big)
			}
		}
		return msg
	}
	return ""
}

// evalBytes bounds the activations an evaluation batch holds.
const evalBytes = 128 << 20

// Evaluate runs model in evaluation mode over data in batches and returns
// its accuracy (argmax of the output, ties to the lowest index). A model
// that reports ActivationsPerSample (a graph) gets batches of at most
// 128 MiB of activations.
func Evaluate(ctx context.Context, model nn.Model, data Dataset, batch int) (*Evaluation, error) {
	n := data.Len()
	if n == 0 {
		return nil, fmt.Errorf("evaluate: empty data set")
	}
	if batch < 1 {
		batch = 1000
	}
	if a, ok := model.(interface{ ActivationsPerSample() int }); ok {
		// A model that keeps every node's output (a graph) holds the whole
		// batch's activations: cut the batch to evalBytes of them.
		batch = min(batch, max(1, evalBytes/(4*max(1, a.ActivationsPerSample()))))
	}
	start := time.Now()
	var x tensor.Tensor
	var labels []int
	idx := make([]int, 0, batch)
	ev := &Evaluation{Samples: n}
	for lo := 0; lo < n; lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batch, n)
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		labels = data.Batch(idx, &x, labels)
		out, err := model.Forward(&x, false)
		if err != nil {
			return nil, err
		}
		loss, c, err := nn.SoftmaxCrossEntropy(out, labels, nil)
		if err != nil {
			if where := overflowAt(model, &x); where != "" {
				return nil, fmt.Errorf("evaluate: %s", where)
			}
			return nil, err
		}
		ev.Correct += c
		ev.Loss += loss * float64(hi-lo)
	}
	ev.Accuracy = float64(ev.Correct) / float64(n)
	ev.Loss /= float64(n)
	ev.Seconds = time.Since(start).Seconds()
	return ev, nil
}
