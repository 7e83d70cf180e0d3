package nn

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/tensor"
)

// PoolKind selects what a pooling layer computes over its window.
type PoolKind int

// Pooling kinds.
const (
	PoolAvg PoolKind = iota // mean of the window (torch.nn.AvgPool2d)
	PoolSum                 // sum of the window (sinabs.layers.SumPool2d)
	PoolMax                 // maximum of the window (torch.nn.MaxPool2d)
)

// PoolConfig configures a pooling layer. Kernel and Stride give square
// sizes; KernelHW and StrideHW, when not zero, give [height, width]. Stride 0
// means Stride = Kernel, as in PyTorch. There is no padding and the output
// size rounds down.
type PoolConfig struct {
	Kernel, Stride     int
	KernelHW, StrideHW [2]int
}

// Norm returns the configuration with KernelHW and StrideHW filled in.
func (c PoolConfig) Norm() PoolConfig {
	if c.KernelHW == [2]int{} {
		c.KernelHW = [2]int{c.Kernel, c.Kernel}
	}
	if c.StrideHW == [2]int{} {
		if c.Stride == 0 {
			c.StrideHW = c.KernelHW
		} else {
			c.StrideHW = [2]int{c.Stride, c.Stride}
		}
	}
	c.Kernel, c.Stride = c.KernelHW[0], c.StrideHW[0]
	return c
}

// Pool2d is average, sum or max pooling over NCHW input.
type Pool2d struct {
	Kind   PoolKind
	Config PoolConfig

	g      tensor.ConvGeom
	batch  int
	out    tensor.Tensor
	dx     tensor.Tensor
	argmax []int32
}

// NewAvgPool2d returns an average-pooling layer.
func NewAvgPool2d(cfg PoolConfig) *Pool2d { return &Pool2d{Kind: PoolAvg, Config: cfg.Norm()} }

// NewSumPool2d returns a sum-pooling layer.
func NewSumPool2d(cfg PoolConfig) *Pool2d { return &Pool2d{Kind: PoolSum, Config: cfg.Norm()} }

// NewMaxPool2d returns a max-pooling layer.
func NewMaxPool2d(cfg PoolConfig) *Pool2d { return &Pool2d{Kind: PoolMax, Config: cfg.Norm()} }

// Params returns nil.
func (p *Pool2d) Params() []*Param { return nil }

func (p *Pool2d) geom(in []int) (tensor.ConvGeom, error) {
	if len(in) != 3 {
		return tensor.ConvGeom{}, fmt.Errorf("%v: input sample shape %s, want [C, H, W]", p, tensor.ShapeString(in))
	}
	c := p.Config
	g := tensor.ConvGeom{C: in[0], H: in[1], W: in[2], KH: c.KernelHW[0], KW: c.KernelHW[1], SH: c.StrideHW[0], SW: c.StrideHW[1]}
	if !g.OutSize() {
		return g, fmt.Errorf("%v: window does not fit input %s", p, tensor.ShapeString(in))
	}
	return g, nil
}

// OutShape returns [C, OH, OW].
func (p *Pool2d) OutShape(in []int) ([]int, error) {
	g, err := p.geom(in)
	if err != nil {
		return nil, err
	}
	return []int{g.C, g.OH, g.OW}, nil
}

// Forward pools every channel of every image.
func (p *Pool2d) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	b, err := batchOf(x, p.String(), 4)
	if err != nil {
		return nil, err
	}
	g, err := p.geom(x.Shape[1:])
	if err != nil {
		return nil, err
	}
	p.g, p.batch = g, b
	p.out.Resize(b, g.C, g.OH, g.OW)
	planes := b * g.C
	if p.Kind == PoolMax {
		if cap(p.argmax) < len(p.out.Data) {
			p.argmax = make([]int32, len(p.out.Data))
		}
		p.argmax = p.argmax[:len(p.out.Data)]
	}
	scale := float32(1)
	if p.Kind == PoolAvg {
		scale = 1 / float32(g.KH*g.KW)
	}
	in, on := g.H*g.W, g.OH*g.OW
	parallel.Chunks(planes, imageGroup*g.C, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := x.Data[pl*in : (pl+1)*in]
			dst := p.out.Data[pl*on : (pl+1)*on]
			if p.Kind == PoolMax {
				PoolMaxPlane(&g, src, dst, p.argmax[pl*on:(pl+1)*on])
			} else {
				PoolSumPlane(&g, src, dst, scale)
			}
		}
	})
	return &p.out, nil
}

// PoolSumPlane sets dst to the window sums of one plane src, times scale.
// The sum runs over the window in row-major order.
func PoolSumPlane(g *tensor.ConvGeom, src, dst []float32, scale float32) {
	if g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 {
		for y := 0; y < g.OH; y++ {
			r0 := src[2*y*g.W : 2*y*g.W+2*g.OW]
			r1 := src[(2*y+1)*g.W : (2*y+1)*g.W+2*g.OW]
			d := dst[y*g.OW : (y+1)*g.OW]
			for x := range d {
				d[x] = (r0[2*x] + r0[2*x+1] + r1[2*x] + r1[2*x+1]) * scale
			}
		}
		return
	}
	for y := 0; y < g.OH; y++ {
		for x := 0; x < g.OW; x++ {
			var s float32
			for i := 0; i < g.KH; i++ {
				row := src[(y*g.SH+i)*g.W+x*g.SW:]
				for j := 0; j < g.KW; j++ {
					s += row[j]
				}
			}
			dst[y*g.OW+x] = s * scale
		}
	}
}

// PoolMaxPlane sets dst to the window maxima of one plane and records the
// index of the first maximum of each window in arg.
func PoolMaxPlane(g *tensor.ConvGeom, src, dst []float32, arg []int32) {
	for y := 0; y < g.OH; y++ {
		for x := 0; x < g.OW; x++ {
			bi := (y*g.SH)*g.W + x*g.SW
			bv := src[bi]
			for i := 0; i < g.KH; i++ {
				for j := 0; j < g.KW; j++ {
					idx := (y*g.SH+i)*g.W + x*g.SW + j
					if v := src[idx]; v > bv {
						bv, bi = v, idx
					}
				}
			}
			dst[y*g.OW+x] = bv
			arg[y*g.OW+x] = int32(bi)
		}
	}
}

// Backward spreads each output gradient over its window (average, sum) or
// sends it to the window's maximum.
func (p *Pool2d) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &p.out, p.String()); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	g := p.g
	p.dx.Resize(p.batch, g.C, g.H, g.W)
	scale := float32(1)
	if p.Kind == PoolAvg {
		scale = 1 / float32(g.KH*g.KW)
	}
	in, on := g.H*g.W, g.OH*g.OW
	parallel.Chunks(p.batch*g.C, imageGroup*g.C, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			d := p.dx.Data[pl*in : (pl+1)*in]
			clear(d)
			s := dy.Data[pl*on : (pl+1)*on]
			if p.Kind == PoolMax {
				for o, v := range s {
					d[p.argmax[pl*on+o]] += v
				}
				continue
			}
			if g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 {
				for y := 0; y < g.OH; y++ {
					r0 := d[2*y*g.W : 2*y*g.W+2*g.OW]
					r1 := d[(2*y+1)*g.W : (2*y+1)*g.W+2*g.OW]
					for x, v := range s[y*g.OW : (y+1)*g.OW] {
						v *= scale
						r0[2*x], r0[2*x+1], r1[2*x], r1[2*x+1] = v, v, v, v
					}
				}
				continue
			}
			for y := 0; y < g.OH; y++ {
				for x := 0; x < g.OW; x++ {
					v := s[y*g.OW+x] * scale
					for i := 0; i < g.KH; i++ {
						row := d[(y*g.SH+i)*g.W+x*g.SW:]
						for j := 0; j < g.KW; j++ {
							row[j] += v
						}
					}
				}
			}
		}
	})
	return &p.dx, nil
}

// String describes the Pool2d as snnkit prints it.
func (p *Pool2d) String() string {
	c := p.Config
	k, s := fmt.Sprint(c.KernelHW[0]), fmt.Sprint(c.StrideHW[0])
	if c.KernelHW[1] != c.KernelHW[0] {
		k = fmt.Sprintf("(%d, %d)", c.KernelHW[0], c.KernelHW[1])
	}
	if c.StrideHW[1] != c.StrideHW[0] {
		s = fmt.Sprintf("(%d, %d)", c.StrideHW[0], c.StrideHW[1])
	}
	switch p.Kind {
	case PoolSum:
		return fmt.Sprintf("SumPool2d(norm_type=1, kernel_size=%s, stride=%s, ceil_mode=False)", k, s)
	case PoolMax:
		return fmt.Sprintf("MaxPool2d(kernel_size=%s, stride=%s, padding=0, dilation=1, ceil_mode=False)", k, s)
	}
	return fmt.Sprintf("AvgPool2d(kernel_size=%s, stride=%s, padding=0)", k, s)
}
