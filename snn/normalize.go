package snn

import (
	"fmt"
	"math"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// Normalization is the scale NormalizeWeights applied to one layer.
type Normalization struct {
	ReLU       int     // index of the ReLU whose output was measured
	Layer      int     // index of the Conv2d or Linear that was rescaled
	Percentile float64 // the measured percentile of the ReLU's output (before rescaling this layer)
}

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
	if !(percentile > 0 && percentile <= 100) {
		return nil, fmt.Errorf("normalize: percentile %v outside (0, 100]", percentile)
	}
	if len(sample.Shape) == 0 || sample.Shape[0] < 1 {
		return nil, fmt.Errorf("normalize: sample data has shape %s, want [N, ...] with N >= 1", tensor.ShapeString(sample.Shape))
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
		act, err := forwardTo(ann, sample, i)
		if err != nil {
			return nil, fmt.Errorf("normalize: %w", err)
		}
		p := Percentile(act.Data, percentile)
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
	rank := q / 100 * float64(n-1)
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
	return a + (float64(b)-a)*frac
}

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
