package nn

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/tensor"
)

// The general convolution: groups, dilation and asymmetric padding, by
// direct loops. It is the reference definition (PyTorch's conv2d), not the
// fast path; the tutorial's convolutions never take it.

func (c *Conv2d) generalGeom(in []int) (tensor.ConvGeom, error) {
	cfg := c.Config.Norm()
	if cfg.In%cfg.Groups != 0 || cfg.Out%cfg.Groups != 0 {
		return tensor.ConvGeom{}, fmt.Errorf("%v: %d groups do not divide %d input and %d output channels", c, cfg.Groups, cfg.In, cfg.Out)
	}
	d := cfg.DilationHW
	if d[0] < 1 || d[1] < 1 {
		return tensor.ConvGeom{}, fmt.Errorf("%v: dilation %v", c, d)
	}
	g := tensor.ConvGeom{C: in[0], H: in[1], W: in[2], KH: cfg.KernelHW[0], KW: cfg.KernelHW[1], SH: cfg.StrideHW[0], SW: cfg.StrideHW[1], PH: cfg.PaddingHW[0], PW: cfg.PaddingHW[1]}
	if g.SH < 1 || g.SW < 1 || g.KH < 1 || g.KW < 1 || g.PH < 0 || g.PW < 0 || cfg.PadEndHW[0] < 0 || cfg.PadEndHW[1] < 0 {
		return g, fmt.Errorf("%v: kernel, stride or padding out of range", c)
	}
	eh := g.H + g.PH + cfg.PadEndHW[0] - d[0]*(g.KH-1) - 1
	ew := g.W + g.PW + cfg.PadEndHW[1] - d[1]*(g.KW-1) - 1
	if eh < 0 || ew < 0 {
		return g, fmt.Errorf("%v: kernel does not fit input %s", c, tensor.ShapeString(in))
	}
	g.OH, g.OW = eh/g.SH+1, ew/g.SW+1
	return g, nil
}

// tap returns the input row (or column) of output o and kernel tap k, and
// whether it lies inside the input.
func tap(o, k, s, p, d, n int) (int, bool) {
	i := o*s - p + k*d
	return i, i >= 0 && i < n
}

func (c *Conv2d) generalForward(x *tensor.Tensor) *tensor.Tensor {
	cfg, g := c.Config.Norm(), c.g
	b := c.batch
	cpg, opg := cfg.In/cfg.Groups, cfg.Out/cfg.Groups
	d := cfg.DilationHW
	c.out.Resize(b, cfg.Out, g.OH, g.OW)
	w := c.Weight.Value.Data
	parallel.Run(b*cfg.Out, func(t int) {
		n, o := t/cfg.Out, t%cfg.Out
		grp := o / opg
		dst := c.out.Data[t*g.OH*g.OW : (t+1)*g.OH*g.OW]
		var bias float32
		if c.Bias != nil {
			bias = c.Bias.Value.Data[o]
		}
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				s := bias
				for ci := 0; ci < cpg; ci++ {
					src := x.Data[(n*cfg.In+grp*cpg+ci)*g.H*g.W:]
					wk := w[(o*cpg+ci)*g.KH*g.KW:]
					for i := 0; i < g.KH; i++ {
						iy, ok := tap(oy, i, g.SH, g.PH, d[0], g.H)
						if !ok {
							continue
						}
						for j := 0; j < g.KW; j++ {
							if ix, ok := tap(ox, j, g.SW, g.PW, d[1], g.W); ok {
								s += wk[i*g.KW+j] * src[iy*g.W+ix]
							}
						}
					}
				}
				dst[oy*g.OW+ox] = s
			}
		}
	})
	return &c.out
}

func (c *Conv2d) generalBackward(dy *tensor.Tensor, needDX bool) *tensor.Tensor {
	cfg, g, x := c.Config.Norm(), c.g, c.x
	b := c.batch
	cpg, opg := cfg.In/cfg.Groups, cfg.Out/cfg.Groups
	d := cfg.DilationHW
	w, dw := c.Weight.Value.Data, c.Weight.Grad.Data
	plane := g.OH * g.OW
	// Weight and bias gradients: one task per output channel, summing over
	// the batch in order (deterministic whatever the threads).
	parallel.Run(cfg.Out, func(o int) {
		grp := o / opg
		for n := 0; n < b; n++ {
			dyp := dy.Data[(n*cfg.Out+o)*plane : (n*cfg.Out+o+1)*plane]
			if c.Bias != nil {
				c.Bias.Grad.Data[o] += sum(dyp)
			}
			for ci := 0; ci < cpg; ci++ {
				src := x.Data[(n*cfg.In+grp*cpg+ci)*g.H*g.W:]
				gw := dw[(o*cpg+ci)*g.KH*g.KW:]
				for i := 0; i < g.KH; i++ {
					for j := 0; j < g.KW; j++ {
						var s float32
						for oy := 0; oy < g.OH; oy++ {
							iy, ok := tap(oy, i, g.SH, g.PH, d[0], g.H)
							if !ok {
								continue
							}
							for ox := 0; ox < g.OW; ox++ {
								if ix, ok := tap(ox, j, g.SW, g.PW, d[1], g.W); ok {
									s += dyp[oy*g.OW+ox] * src[iy*g.W+ix]
								}
							}
						}
						gw[i*g.KW+j] += s
					}
				}
			}
		}
	})
	if !needDX {
		return nil
	}
	c.dx.Resize(b, cfg.In, g.H, g.W)
	clear(c.dx.Data)
	// Input gradient: one task per image.
	parallel.Run(b, func(n int) {
		for o := 0; o < cfg.Out; o++ {
			grp := o / opg
			dyp := dy.Data[(n*cfg.Out+o)*plane : (n*cfg.Out+o+1)*plane]
			for ci := 0; ci < cpg; ci++ {
				dst := c.dx.Data[(n*cfg.In+grp*cpg+ci)*g.H*g.W:]
				wk := w[(o*cpg+ci)*g.KH*g.KW:]
				for oy := 0; oy < g.OH; oy++ {
					for ox := 0; ox < g.OW; ox++ {
						v := dyp[oy*g.OW+ox]
						for i := 0; i < g.KH; i++ {
							iy, ok := tap(oy, i, g.SH, g.PH, d[0], g.H)
							if !ok {
								continue
							}
							for j := 0; j < g.KW; j++ {
								if ix, ok := tap(ox, j, g.SW, g.PW, d[1], g.W); ok {
									dst[iy*g.W+ix] += v * wk[i*g.KW+j]
								}
							}
						}
					}
				}
			}
		}
	})
	return &c.dx
}
