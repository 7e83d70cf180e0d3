package snn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// ScaleGraph is NormalizeGraph with each ReLU's scale chosen by pick from
// its outputs on the original (BatchNorm-folded) network, in node order:
// the rescaled copy divides every ReLU's activation by its scale exactly
// (see NormalizeGraph). Threshold searches other than a percentile (the
// calibration package's) go through it.
func ScaleGraph(ctx context.Context, g *graph.Graph, samples Samples, pick func(relu string, visit Visit) (float64, error)) (*graph.Graph, error) {
	c, _, err := ScaleGraphChannels(ctx, g, samples, func(relu string, _ []int, visit Visit) ([]float64, error) {
		v, err := pick(relu, visit)
		return []float64{v}, err
	})
	return c, err
}

// ChannelPick chooses the scales of one ReLU from its outputs: one for
// every channel of its sample shape (shape[0] of them; a flat [F] output
// has F channels of one value), or a single one for all. visit hands it
// batches [B, shape...], flat.
type ChannelPick func(relu string, shape []int, visit Visit) ([]float64, error)

// ErrChannelScales is returned (wrapped) by ScaleGraphChannels when a
// flat input to a join or a population would need a different factor per
// value: the graph then has no layer that could carry them.
var ErrChannelScales = errors.New("per-channel scales of a flat input cannot be carried")

// ScaleGraphChannels is ScaleGraph with a scale per channel: the rescaled
// copy divides channel c of every ReLU's activation by its scale s_c. A
// weighted layer reading channels at scales λin_i and feeding a
// population at λout_o gets W[o,i]·λin_i/λout_o and b_o/λout_o. A
// population's spikes that reach a join unweighted (a residual shortcut)
// and need other factors per channel pass through a depthwise 1×1 Conv2d
// holding them (a Scale when one factor serves all). It also returns the
// scales of the output's channels: the rescaled network's output is the
// original's divided by them.
func ScaleGraphChannels(ctx context.Context, g *graph.Graph, samples Samples, pick ChannelPick) (*graph.Graph, []float64, error) {
	if samples.Len() < 1 {
		return nil, nil, fmt.Errorf("no samples")
	}
	c, err := g.Clone()
	if err != nil {
		return nil, nil, err
	}
	if err := foldGraphBatchNorms(c); err != nil {
		return nil, nil, err
	}
	p := map[string][]float64{}
	var x tensor.Tensor
	for _, n := range c.Nodes {
		if _, ok := n.Layer.(*nn.ReLU); !ok {
			continue
		}
		name := n.Name
		visit := func(each func([]float32)) error {
			for lo := 0; lo < samples.Len(); lo += NormalizeBatch {
				if err := ctx.Err(); err != nil {
					return err
				}
				samples.Batch(lo, min(lo+NormalizeBatch, samples.Len()), &x)
				if _, err := c.Forward(&x, false); err != nil {
					return err
				}
				each(c.NodeOutput(name).Data)
			}
			return nil
		}
		v, err := pick(name, slices.Clone(n.Shape), visit)
		if err != nil {
			return nil, nil, err
		}
		ch := channels(n.Shape)
		if len(v) != 1 && len(v) != ch {
			return nil, nil, fmt.Errorf("%d scales for %s, whose output has %d channels", len(v), name, ch)
		}
		if err := checkScales(name, v); err != nil {
			return nil, nil, err
		}
		p[name] = fill(v, ch)
	}
	if len(p) == 0 {
		return nil, nil, fmt.Errorf("the model has no ReLU")
	}
	out, err := rescaleGraph(c, p, slices.Max[[]float64])
	if err != nil {
		return nil, nil, err
	}
	return c, out, nil
}

// checkScales requires every scale of a node to be a positive number.
func checkScales(name string, v []float64) error {
	for _, s := range v {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("the scale %v of %s is not a positive number", s, name)
		}
	}
	return nil
}

// channels is the number of channels of a sample shape: its first
// dimension.
func channels(shape []int) int {
	if len(shape) == 0 {
		return 1
	}
	return shape[0]
}

// fill returns v (one value or n) as n values.
func fill(v []float64, n int) []float64 {
	if len(v) == n {
		return v
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = v[0]
	}
	return out
}

// uniform reports whether every value of v is v[0].
func uniform(v []float64) bool {
	for _, s := range v {
		if s != v[0] {
			return false
		}
	}
	return true
}

// repeat gives each value of v k copies in a row: channel scales as the
// scales of the flattened values.
func repeat(v []float64, k int) []float64 {
	out := make([]float64, 0, len(v)*k)
	for _, s := range v {
		for range k {
			out = append(out, s)
		}
	}
	return out
}

// perChannel undoes repeat: nil when the k values of a channel differ.
func perChannel(v []float64, k int) []float64 {
	if k < 1 || len(v)%k != 0 {
		return nil
	}
	out := make([]float64, len(v)/k)
	for c := range out {
		if !uniform(v[c*k : (c+1)*k]) {
			return nil
		}
		out[c] = v[c*k]
	}
	return out
}

// rescaleGraph applies the per-channel scales p of every population node
// (a ReLU, or a QCFS for unitChannelLambdas; each as many scales as its
// output's channels) and returns the output's. A weighted layer that feeds
// no population outputs at its input's scale when that is one value, else
// at mixed(its input's scales).
func rescaleGraph(g *graph.Graph, p map[string][]float64, mixed func([]float64) float64) ([]float64, error) {
	shapeOf := func(name string) []int {
		if name == graph.Input {
			return g.Input
		}
		n, _ := g.Node(name)
		return n.Shape
	}
	// offset is the first channel input k of a Concat fills.
	offset := func(n *graph.Node, k int) int {
		o := 0
		for _, in := range n.Inputs[:k] {
			o += channels(shapeOf(in))
		}
		return o
	}
	concat := func(n *graph.Node) bool { _, ok := n.Join.(*nn.Concat); return ok }
	// target[n]: the scales n's output must have for the population it
	// feeds through scale-preserving nodes and joins (nil: none).
	target := map[string][]float64{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		var want []float64
		for _, m := range g.Nodes[i+1:] {
			for k, in := range m.Inputs {
				if in != n.Name {
					continue
				}
				var t []float64
				switch {
				case m.Join != nil:
					if tm := target[m.Name]; tm != nil && concat(m) {
						o := offset(m, k)
						t = tm[o : o+channels(n.Shape)]
					} else {
						t = tm
					}
				case p[m.Name] != nil:
					t = p[m.Name]
				case isFlatten(m.Layer):
					// A flat population's scales reach back per channel
					// only where they agree within each channel; elsewhere
					// the population gets a Scale of its own.
					if tm := target[m.Name]; tm != nil {
						t = perChannel(tm, tensor.Numel(n.Shape[1:]))
					}
				case scalePreserving(m.Layer):
					t = target[m.Name]
				}
				if t != nil && want != nil && !slices.Equal(t, want) {
					return nil, fmt.Errorf("node %s feeds populations of different scales (%s and %s)", n.Name, describeScales(want), describeScales(t))
				}
				if t != nil {
					want = t
				}
			}
		}
		target[n.Name] = want
	}
	scale := map[string][]float64{graph.Input: fill([]float64{1}, channels(g.Input))}
	// Nodes are visited in order; inserting Scale nodes shifts the list, so
	// iterate over a snapshot.
	nodes := append([]*graph.Node(nil), g.Nodes...)
	for _, n := range nodes {
		in0 := scale[n.Inputs[0]]
		var s []float64
		switch {
		case n.Join != nil:
			s = target[n.Name]
			if s == nil && concat(n) {
				for _, in := range n.Inputs {
					s = append(s, scale[in]...)
				}
			} else if s == nil {
				s = in0
			}
		case p[n.Name] != nil:
			s = p[n.Name]
		case isFlatten(n.Layer):
			s = repeat(in0, tensor.Numel(shapeOf(n.Inputs[0])[1:]))
		case scalePreserving(n.Layer):
			s = in0
		default:
			switch l := n.Layer.(type) {
			case *nn.Conv2d:
				s = outScales(target[n.Name], in0, l.Config.Out, mixed)
				per := l.Config.In / l.Config.Groups
				outs := l.Config.Out / l.Config.Groups
				taps := l.Config.KernelHW[0] * l.Config.KernelHW[1]
				w := l.Weight.Value.Data
				for o := range l.Config.Out {
					for j := range per {
						f := float32(in0[o/outs*per+j] / s[o])
						for t := range taps {
							w[(o*per+j)*taps+t] *= f
						}
					}
				}
				scaleBias(l.Bias, s)
			case *nn.Linear:
				s = outScales(target[n.Name], in0, l.Config.Out, mixed)
				in := in0
				if len(in) != l.Config.In {
					in = repeat(in0, l.Config.In/len(in0))
				}
				w := l.Weight.Value.Data
				for o := range l.Config.Out {
					for i := range l.Config.In {
						w[o*l.Config.In+i] *= float32(in[i] / s[o])
					}
				}
				scaleBias(l.Bias, s)
			case *nn.Normalize:
				if !uniform(in0) || in0[0] != 1 {
					return nil, fmt.Errorf("node %s: a Normalize must read the network's input", n.Name)
				}
				s = in0
			default:
				return nil, fmt.Errorf("node %s: %v cannot be normalised", n.Name, n.Layer)
			}
		}
		// Inputs that must arrive at scales s: a population's, a join's.
		if n.Join != nil || p[n.Name] != nil {
			for k, in := range n.Inputs {
				want := s
				if concat(n) {
					o := offset(n, k)
					want = s[o : o+channels(shapeOf(in))]
				}
				have := scale[in]
				if slices.Equal(have, want) {
					continue
				}
				name := fmt.Sprintf("%s.scale%d", n.Name, k)
				l, err := scaleLayer(have, want, shapeOf(in))
				if err != nil {
					return nil, fmt.Errorf("node %s, input %s: %w", n.Name, in, err)
				}
				if err := g.InsertBefore(n.Name, k, name, l); err != nil {
					return nil, err
				}
				scale[name] = want
			}
		}
		scale[n.Name] = s
	}
	if err := g.Check(); err != nil {
		return nil, err
	}
	return scale[g.OutputName()], nil
}

// outScales is the scales of a weighted layer's out channels: the
// population's it feeds (want), else its input's when they are one value,
// else mixed(in) (any one value keeps a readout's argmax).
func outScales(want, in []float64, out int, mixed func([]float64) float64) []float64 {
	if want != nil {
		return want
	}
	if uniform(in) {
		return fill(in[:1], out)
	}
	return fill([]float64{mixed(in)}, out)
}

func scaleBias(b *nn.Param, s []float64) {
	if b == nil {
		return
	}
	for o := range b.Value.Data {
		b.Value.Data[o] *= float32(1 / s[o])
	}
}

// scaleLayer returns the layer that takes values at scales have to
// scales want: a Scale by one factor, or a depthwise 1×1 Conv2d with one
// per channel.
func scaleLayer(have, want []float64, shape []int) (nn.Layer, error) {
	f := make([]float64, len(have))
	for c := range f {
		f[c] = have[c] / want[c]
	}
	if uniform(f) {
		return nn.NewScale(float32(f[0])), nil
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("%w (shape %v)", ErrChannelScales, shape)
	}
	c := shape[0]
	conv := nn.NewConv2d(nn.Conv2dConfig{In: c, Out: c, Kernel: 1, Groups: c}, nil)
	for ch, v := range f {
		conv.Weight.Value.Data[ch] = float32(v)
	}
	return conv, nil
}

// describeScales prints scales for an error: one value, or the range.
func describeScales(v []float64) string {
	if uniform(v) {
		return fmt.Sprintf("%g", v[0])
	}
	return fmt.Sprintf("%d channels in [%g, %g]", len(v), slices.Min(v), slices.Max(v))
}

func isFlatten(l nn.Layer) bool {
	_, ok := l.(*nn.Flatten)
	return ok
}

// scalePreserving reports whether a layer maps an activation divided by λ
// (per channel) to its output divided by λ without changing its weights.
func scalePreserving(l nn.Layer) bool {
	switch l.(type) {
	case *nn.Pool2d, *nn.Flatten, *nn.GlobalAvgPool2d, *nn.Dropout, *nn.Identity, *nn.Scale:
		return true
	}
	return false
}
