package snn

import (
	"context"
	"fmt"
	"math"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// Normalization is the scale NormalizeWeights applied to one layer.
type Normalization struct {
	ReLU       int     // index of the ReLU whose output was measured
	Layer      int     // index of the Conv2d or Linear that was rescaled
	Percentile float64 // the measured percentile of the ReLU's output (before rescaling this layer)
}

// Samples is a set of input samples read in batches, for measuring
// activations without holding them all.
type Samples interface {
	Len() int
	// Batch writes samples [lo, hi) into x, resized to [hi-lo, ...].
	Batch(lo, hi int, x *tensor.Tensor)
}

// tensorSamples serves the rows of a tensor [N, ...].
type tensorSamples struct{ t *tensor.Tensor }

// TensorSamples serves the rows of t [N, ...] as Samples (images held in
// memory, for NormalizeGraph, ScaleGraph or a calibration).
func TensorSamples(t *tensor.Tensor) Samples { return tensorSamples{t} }

func (s tensorSamples) Len() int { return s.t.Shape[0] }

func (s tensorSamples) Batch(lo, hi int, x *tensor.Tensor) {
	row := tensor.Numel(s.t.Shape[1:])
	x.Resize(append([]int{hi - lo}, s.t.Shape[1:]...)...)
	copy(x.Data, s.t.Data[lo*row:hi*row])
}

// NormalizeBatch is how many samples NormalizeWeightsFrom pushes through the
// network at once: activations are measured batch by batch, so memory does
// not grow with the number of samples.
const NormalizeBatch = 256

// NormalizeWeights rescales an ANN in place so that spiking neurons with
// threshold 1 fire at sensible rates, as sinabs.utils.normalize_weights does
// with the ReLUs as output layers and the Conv2d/Linear before each as
// parameter layers: in order, for each ReLU, run the (already rescaled)
// network on sample, take the given percentile (0-100, linear interpolation
// as numpy.percentile) of all the ReLU's outputs, and multiply the weights and
// bias of the layer before it by 1/percentile. The scales are cumulative
// because later layers see the rescaled earlier ones. A percentile of 0 (a
// silent layer) is an error: the scale would be infinite.
func NormalizeWeights(ann *nn.Sequential, sample *tensor.Tensor, percentile float64) ([]Normalization, error) {
	if len(sample.Shape) == 0 || sample.Shape[0] < 1 {
		return nil, fmt.Errorf("normalize: sample data has shape %s, want [N, ...] with N >= 1", tensor.ShapeString(sample.Shape))
	}
	return NormalizeWeightsFrom(context.Background(), ann, tensorSamples{sample}, percentile)
}

// NormalizeWeightsFrom is NormalizeWeights on samples read in batches of
// NormalizeBatch. The percentile is exact (the same order statistics as
// sorting every activation) but found by radix selection over the float
// bits, two passes over the samples per ReLU, in memory independent of the
// number of samples.
func NormalizeWeightsFrom(ctx context.Context, ann *nn.Sequential, samples Samples, percentile float64) ([]Normalization, error) {
	if !(percentile > 0 && percentile <= 100) {
		return nil, fmt.Errorf("normalize: percentile %v outside (0, 100]", percentile)
	}
	if samples.Len() < 1 {
		return nil, fmt.Errorf("normalize: no samples")
	}
	var done []Normalization
	param := -1
	for i, l := range ann.Layers {
		switch l.(type) {
		case *nn.Conv2d, *nn.Linear:
			param = i
			continue
		case *nn.ReLU:
		default:
			continue
		}
		if param < 0 {
			return nil, fmt.Errorf("normalize: ReLU %d has no Conv2d or Linear before it", i)
		}
		var x tensor.Tensor
		visit := func(each func([]float32)) error {
			for lo := 0; lo < samples.Len(); lo += NormalizeBatch {
				if err := ctx.Err(); err != nil {
					return err
				}
				samples.Batch(lo, min(lo+NormalizeBatch, samples.Len()), &x)
				act, err := forwardTo(ann, &x, i)
				if err != nil {
					return err
				}
				each(act.Data)
			}
			return nil
		}
		p, err := percentileOf(visit, percentile)
		if err != nil {
			return nil, fmt.Errorf("normalize: %w", err)
		}
		if !(p > 0) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("normalize: the %v-th percentile of ReLU %d's output is %v; cannot scale layer %d by its inverse", percentile, i, p, param)
		}
		s := float32(1 / p)
		for _, pr := range ann.Layers[param].Params() {
			for j := range pr.Value.Data {
				pr.Value.Data[j] *= s
			}
		}
		done = append(done, Normalization{ReLU: i, Layer: param, Percentile: p})
		param = -1
	}
	if len(done) == 0 {
		return nil, fmt.Errorf("normalize: the model has no ReLU")
	}
	return done, nil
}

// sortKey maps a float32 to a uint32 whose unsigned order is the float
// order (negative values flipped, positive ones offset by the sign bit).
func sortKey(f float32) uint32 {
	b := math.Float32bits(f)
	if b>>31 == 1 {
		return ^b
	}
	return b | 1<<31
}

func fromSortKey(k uint32) float32 {
	if k>>31 == 1 {
		return math.Float32frombits(k &^ (1 << 31))
	}
	return math.Float32frombits(^k)
}

// percentileOf returns the q-th percentile, as Percentile does, of all the
// values visit hands out (visit calls each once per batch, in the same order
// every time). The two order statistics it interpolates between are found
// exactly: a histogram of the high 16 bits of every value's sort key picks
// the bucket of each, a second pass histograms the low 16 bits inside those
// buckets.
func percentileOf(visit func(each func([]float32)) error, q float64) (float64, error) {
	var high [1 << 16]int64
	n := int64(0)
	if err := visit(func(v []float32) {
		for _, x := range v {
			high[sortKey(x)>>16]++
		}
		n += int64(len(v))
	}); err != nil {
		return 0, err
	}
	if n == 0 {
		return math.NaN(), nil
	}
	rank := float64(q / 100 * float64(n-1)) // rounded: no fused multiply-add across statements
	lo := int64(math.Floor(rank))
	frac := rank - float64(lo)
	ks := []int64{lo}
	if frac > 0 && lo+1 < n {
		ks = append(ks, lo+1)
	}
	// The high bucket of each wanted rank, and the rank inside it.
	type want struct {
		bucket uint32
		within int64
	}
	wants := make([]want, len(ks))
	for j, k := range ks {
		var below int64
		for b := range high {
			if below+high[b] > k {
				wants[j] = want{uint32(b), k - below}
				break
			}
			below += high[b]
		}
	}
	lows := map[uint32]*[1 << 16]int64{}
	for _, w := range wants {
		if lows[w.bucket] == nil {
			lows[w.bucket] = new([1 << 16]int64)
		}
	}
	if err := visit(func(v []float32) {
		for _, x := range v {
			k := sortKey(x)
			if h := lows[k>>16]; h != nil {
				h[k&0xffff]++
			}
		}
	}); err != nil {
		return 0, err
	}
	vals := make([]float64, len(wants))
	for j, w := range wants {
		h := lows[w.bucket]
		var below int64
		for b := range h {
			if below+h[b] > w.within {
				vals[j] = float64(fromSortKey(w.bucket<<16 | uint32(b)))
				break
			}
			below += h[b]
		}
	}
	if len(vals) == 1 {
		return vals[0], nil
	}
	return lerp(vals[0], vals[1], frac), nil
}

// forwardTo runs layers 0..last in evaluation mode and returns the output of
// layer last.
func forwardTo(ann *nn.Sequential, x *tensor.Tensor, last int) (*tensor.Tensor, error) {
	for i := 0; i <= last; i++ {
		var err error
		if x, err = ann.Layers[i].Forward(x, false); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return x, nil
}

// Percentile returns the q-th percentile (0-100) of v with numpy's default
// linear interpolation between the two nearest order statistics. It does
// not modify v.
func Percentile(v []float32, q float64) float64 {
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	w := append([]float32(nil), v...)
	rank := float64(q / 100 * float64(n-1)) // rounded: no fused multiply-add across statements
	lo := int(math.Floor(rank))
	frac := rank - float64(lo)
	a := float64(selectK(w, lo))
	if frac == 0 || lo+1 >= n {
		return a
	}
	// The next order statistic is the minimum of the part above lo.
	b := w[lo+1]
	for _, x := range w[lo+1:] {
		b = min(b, x)
	}
	return lerp(a, float64(b), frac)
}

// lerp is a + (b-a)·frac with the product rounded before the sum (the
// explicit conversion stops the compiler fusing a multiply-add, as it does
// on arm64), so every build computes the same percentile as numpy.
func lerp(a, b, frac float64) float64 { return a + float64((b-a)*frac) }

// selectK partially orders w so that w[k] is its k-th smallest element
// (Hoare's quickselect, median-of-three pivots) and returns it.
func selectK(w []float32, k int) float32 {
	lo, hi := 0, len(w)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if w[mid] < w[lo] {
			w[mid], w[lo] = w[lo], w[mid]
		}
		if w[hi] < w[lo] {
			w[hi], w[lo] = w[lo], w[hi]
		}
		if w[hi] < w[mid] {
			w[hi], w[mid] = w[mid], w[hi]
		}
		p := w[mid]
		i, j := lo, hi
		for i <= j {
			for w[i] < p {
				i++
			}
			for w[j] > p {
				j--
			}
			if i <= j {
				w[i], w[j] = w[j], w[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return w[k]
		}
	}
	return w[k]
}

// GraphNormalization is the percentile NormalizeGraph measured at one
// spiking population (ReLU node) of a graph.
type GraphNormalization struct {
	ReLU       string  `json:"relu"`
	Percentile float64 `json:"percentile"`
}

// NormalizeGraph is NormalizeWeights for a graph, per spiking population:
// every ReLU's output is measured on the original network (the percentile,
// 0-100, of all its values over samples, in batches), and the network is
// rescaled so that each ReLU's activation is divided by its percentile. A
// weighted layer reading a population at scale λin and feeding one at
// λout gets W·λin/λout and b/λout, which keeps every node's activation
// exactly its original one divided by its scale (ReLU, pooling and joins
// are positively homogeneous). Branches that meet at an Add or Concat must
// share one scale: a branch that reaches it without a weighted layer of its
// own (a residual shortcut) gets a Scale node. BatchNorm2d nodes are folded
// into the Conv2d before them first (a BatchNorm2d elsewhere is an error:
// it is not homogeneous). The output keeps the scale of what feeds it, so
// the prediction is unchanged. g is not modified; the rescaled copy is
// returned.
func NormalizeGraph(ctx context.Context, g *graph.Graph, samples Samples, percentile float64) (*graph.Graph, []GraphNormalization, error) {
	if !(percentile > 0 && percentile <= 100) {
		return nil, nil, fmt.Errorf("normalize: percentile %v outside (0, 100]", percentile)
	}
	var done []GraphNormalization
	c, err := ScaleGraph(ctx, g, samples, func(relu string, visit Visit) (float64, error) {
		v, err := percentileOf(visit, percentile)
		if err != nil {
			return 0, err
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("the %v-th percentile of %s's output is %v; cannot scale by its inverse", percentile, relu, v)
		}
		done = append(done, GraphNormalization{ReLU: relu, Percentile: v})
		return v, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("normalize: %w", err)
	}
	return c, done, nil
}

// Visit streams the values of one node's output over a sample set, batch
// by batch, to each (which must not keep the slice).
type Visit func(each func([]float32)) error

func isReLU(l nn.Layer) bool {
	_, ok := l.(*nn.ReLU)
	return ok
}

// foldGraphBatchNorms folds every BatchNorm2d of g into the Conv2d it reads
// (which must have no other reader) and removes it.
func foldGraphBatchNorms(g *graph.Graph) error {
	readers := map[string]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			readers[in]++
		}
	}
	var bns []*graph.Node
	for _, n := range g.Nodes {
		if _, ok := n.Layer.(*nn.BatchNorm2d); ok {
			bns = append(bns, n)
		}
	}
	for _, n := range bns {
		bn := n.Layer.(*nn.BatchNorm2d)
		src, ok := g.Node(n.Inputs[0])
		conv, isConv := (*nn.Conv2d)(nil), false
		if ok {
			conv, isConv = src.Layer.(*nn.Conv2d)
		}
		if !isConv || readers[src.Name] != 1 {
			return fmt.Errorf("node %s (BatchNorm2d) does not follow a Conv2d it alone reads, so it cannot be folded (and it is not homogeneous)", n.Name)
		}
		if err := bn.CheckStats(); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		foldBatchNorm(conv, bn)
		if err := g.Remove(n.Name); err != nil {
			return err
		}
	}
	return nil
}
