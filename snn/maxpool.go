package snn

import (
	"fmt"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// SpikingMaxPool is max-pooling of spike trains as sinabs'
// SpikingMaxPooling2dLayer computes it: every input neuron's spikes are
// counted from the start (the last reset), and each window passes on, at
// every step, the spikes of the input with the highest count so far, this
// step's spikes included; ties go to the first input of the window in
// row-major order, as torch's max_pool2d picks. A max of each step's spikes
// instead (what an ANN's MaxPool2d would do to spike frames) passes a spike
// from any input, and so far more spikes than the ANN's maximum rate.
type SpikingMaxPool struct {
	Kernel, Stride [2]int
	Padding        [2]int // ignored positions around the input, as MaxPool2d's
	CeilMode       bool
}

// OutShape returns [C, OH, OW] for input [C, H, W] (no padding, floor).
func (p *SpikingMaxPool) OutShape(in []int) ([]int, error) {
	g, err := p.Geom(in)
	if err != nil {
		return nil, err
	}
	return []int{g.C, g.OH, g.OW}, nil
}

// Geom returns the pooling geometry over input [C, H, W] (OH and OW with
// padding and ceil mode).
func (p *SpikingMaxPool) Geom(in []int) (tensor.ConvGeom, error) {
	if len(in) != 3 {
		return tensor.ConvGeom{}, fmt.Errorf("%v: input sample shape %s, want [C, H, W]", p, tensor.ShapeString(in))
	}
	g := tensor.ConvGeom{C: in[0], H: in[1], W: in[2], KH: p.Kernel[0], KW: p.Kernel[1], SH: p.Stride[0], SW: p.Stride[1], PH: p.Padding[0], PW: p.Padding[1]}
	if g.KH < 1 || g.KW < 1 || g.SH < 1 || g.SW < 1 || g.PH < 0 || g.PW < 0 || 2*g.PH > g.KH || 2*g.PW > g.KW || !g.OutSize() {
		return g, fmt.Errorf("%v: window does not fit input %s", p, tensor.ShapeString(in))
	}
	if p.CeilMode {
		g.OH = nn.PoolOutSize(g.H, g.KH, g.SH, g.PH, true)
		g.OW = nn.PoolOutSize(g.W, g.KW, g.SW, g.PW, true)
	}
	return g, nil
}

// String describes the layer like sinabs.
func (p *SpikingMaxPool) String() string {
	s := fmt.Sprintf("SpikingMaxPooling2dLayer(pool_size=(%d, %d), strides=(%d, %d)", p.Kernel[0], p.Kernel[1], p.Stride[0], p.Stride[1])
	if p.Padding != [2]int{} || p.CeilMode {
		s += fmt.Sprintf(", padding=(%d, %d), ceil_mode=%v", p.Padding[0], p.Padding[1], p.CeilMode)
	}
	return s + ")"
}

// Step runs n steps of one sample (NCHW frames, geometry g from Geom):
// counts (the sample's running counts, input-sized) grow by each frame of
// x, and out receives the frame's value at each window's most-spiking
// input.
func (p *SpikingMaxPool) Step(g tensor.ConvGeom, counts, x, out []float32, n int) {
	inLen, outLen := g.C*g.H*g.W, g.C*g.OH*g.OW
	for t := 0; t < n; t++ {
		f := x[t*inLen : (t+1)*inLen]
		invariant(tensor.Add(counts, f))
		o := out[t*outLen : (t+1)*outLen]
		k := 0
		for c := 0; c < g.C; c++ {
			plane := counts[c*g.H*g.W : (c+1)*g.H*g.W]
			for oy := 0; oy < g.OH; oy++ {
				for ox := 0; ox < g.OW; ox++ {
					best, bi := float32(0), -1
					y0, x0 := oy*g.SH-g.PH, ox*g.SW-g.PW
					for y := max(y0, 0); y < min(y0+g.KH, g.H); y++ {
						for x := max(x0, 0); x < min(x0+g.KW, g.W); x++ {
							idx := y*g.W + x
							if v := plane[idx]; bi < 0 || v > best {
								best, bi = v, idx
							}
						}
					}
					o[k] = f[c*g.H*g.W+bi]
					k++
				}
			}
		}
	}
}
