// Package perf measures snnkit's speed on this machine: matrix-multiply
// GFLOPS on the tutorial's shapes, and training and inference throughput of
// a network. It is what `snnkit bench` prints; timings belong here and in
// `go test -bench`, never in pass/fail tests.
package perf

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/internal/kernels"
	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/optim"
	"github.com/snnkit/snnkit/tensor"
)

// Shape is an m×n×k matrix product (C m×n, inner size k).
type Shape struct{ M, N, K int }

// String describes the Shape as snnkit prints it.
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.M, s.N, s.K) }

// TutorialShapes are the im2col products of the tutorial network for a batch
// of 64 images (conv1, conv2, conv3) and a square reference, as in
// ../shared/REFERENCE.md.
var TutorialShapes = []Shape{{20, 36864, 25}, {32, 4096, 500}, {128, 576, 288}, {512, 512, 512}}

// GEMMResult is the speed of one product.
type GEMMResult struct {
	Shape       string  `json:"shape"`
	Kernel      string  `json:"kernel"`
	GFLOPS1     float64 `json:"gflops_1_thread"`
	GFLOPSAll   float64 `json:"gflops_all_threads"`
	ThreadsUsed int     `json:"threads"`
}

// GEMM measures C = A·B for shape s on one thread and on all threads, each
// for at least minDur.
func GEMM(ctx context.Context, s Shape, minDur time.Duration) (GEMMResult, error) {
	r := rand.New(rand.NewPCG(1, 2))
	a := randSlice(r, s.M*s.K)
	b := randSlice(r, s.K*s.N)
	c := make([]float32, s.M*s.N)
	flop := 2 * float64(s.M) * float64(s.N) * float64(s.K)
	one, err := timeIt(ctx, minDur, func() {
		kernels.Sgemm(false, false, s.M, s.N, s.K, a, s.K, b, s.N, c, s.N, false)
	})
	if err != nil {
		return GEMMResult{}, err
	}
	all, err := timeIt(ctx, minDur, func() {
		_ = tensor.Gemm(false, false, s.M, s.N, s.K, a, s.K, b, s.N, c, s.N, false)
	})
	if err != nil {
		return GEMMResult{}, err
	}
	return GEMMResult{Shape: s.String(), Kernel: kernels.Best().ISA.String(), GFLOPS1: flop / one / 1e9, GFLOPSAll: flop / all / 1e9, ThreadsUsed: parallel.Workers()}, nil
}

// timeIt runs fn repeatedly for at least minDur and returns seconds per call.
func timeIt(ctx context.Context, minDur time.Duration, fn func()) (float64, error) {
	fn() // warm up
	n := 0
	start := time.Now()
	for time.Since(start) < minDur || n < 3 {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		fn()
		n++
	}
	return time.Since(start).Seconds() / float64(n), nil
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// Throughput is a measured rate of images per second.
type Throughput struct {
	Images          int     `json:"images"`
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
	SecondsPer60k   float64 `json:"seconds_per_60000_images,omitempty"`
	BatchSize       int     `json:"batch_size"`
}

// Training measures training steps (forward, backward, Adam) of spec on
// random images and labels, in batches of batch, for at least minDur.
func Training(ctx context.Context, spec *arch.Spec, batch int, minDur time.Duration) (Throughput, error) {
	net, err := spec.Build(rand.New(rand.NewPCG(0, 1)))
	if err != nil {
		return Throughput{}, err
	}
	opt, err := optim.NewAdam(net.Params(), optim.AdamConfig{})
	if err != nil {
		return Throughput{}, err
	}
	x, labels, err := randomBatch(net, spec, batch)
	if err != nil {
		return Throughput{}, err
	}
	var grad tensor.Tensor
	step := func() error {
		net.ZeroGrad()
		out, err := net.Forward(x, true)
		if err != nil {
			return err
		}
		if _, _, err := nn.SoftmaxCrossEntropy(out, labels, &grad); err != nil {
			return err
		}
		if err := net.Backward(&grad); err != nil {
			return err
		}
		return opt.Step()
	}
	t, err := measure(ctx, batch, minDur, step)
	t.SecondsPer60k = 60000 / t.ImagesPerSecond
	return t, err
}

// Inference measures evaluation-mode forward passes of spec on random
// images in batches of batch.
func Inference(ctx context.Context, spec *arch.Spec, batch int, minDur time.Duration) (Throughput, error) {
	net, err := spec.Build(rand.New(rand.NewPCG(0, 1)))
	if err != nil {
		return Throughput{}, err
	}
	x, _, err := randomBatch(net, spec, batch)
	if err != nil {
		return Throughput{}, err
	}
	return measure(ctx, batch, minDur, func() error {
		_, err := net.Forward(x, false)
		return err
	})
}

func randomBatch(net *nn.Sequential, spec *arch.Spec, batch int) (*tensor.Tensor, []int, error) {
	out, err := net.OutShape(spec.Input)
	if err != nil {
		return nil, nil, err
	}
	r := rand.New(rand.NewPCG(3, 4))
	x := tensor.New(append([]int{batch}, spec.Input...)...)
	for i := range x.Data {
		x.Data[i] = r.Float32()
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = r.IntN(tensor.Numel(out))
	}
	return x, labels, nil
}

func measure(ctx context.Context, batch int, minDur time.Duration, step func() error) (Throughput, error) {
	if err := step(); err != nil { // warm up, size buffers
		return Throughput{}, err
	}
	n := 0
	start := time.Now()
	for time.Since(start) < minDur || n < 2 {
		if err := ctx.Err(); err != nil {
			return Throughput{}, err
		}
		if err := step(); err != nil {
			return Throughput{}, err
		}
		n++
	}
	sec := time.Since(start).Seconds()
	return Throughput{Images: n * batch, Seconds: sec, ImagesPerSecond: float64(n*batch) / sec, BatchSize: batch}, nil
}
