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
// means Stride = Kernel, as in PyTorch. PaddingHW pads each side (at most
// half the kernel, as PyTorch requires): max-pooling ignores the padding,
// average pooling counts it in the divisor unless ExcludePad is set
// (PyTorch's count_include_pad=False), whose divisor is then the window's
// part inside the input. The output size rounds down, or up with CeilMode
// (a last window must still start inside the input or its left padding).
type PoolConfig struct {
	Kernel, Stride     int
	KernelHW, StrideHW [2]int
	PaddingHW          [2]int
	CeilMode           bool
	ExcludePad         bool
}

// padded reports whether the pooling needs the general (padded, ceil-mode)
// path.
func (c PoolConfig) padded() bool { return c.PaddingHW != [2]int{} || c.CeilMode }

// Padded reports whether the pooling has padding or rounds up.
func (p *Pool2d) Padded() bool { return p.Config.padded() }

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
	g := tensor.ConvGeom{C: in[0], H: in[1], W: in[2], KH: c.KernelHW[0], KW: c.KernelHW[1], SH: c.StrideHW[0], SW: c.StrideHW[1], PH: c.PaddingHW[0], PW: c.PaddingHW[1]}
	if g.PH < 0 || g.PW < 0 || 2*g.PH > g.KH || 2*g.PW > g.KW {
		return g, fmt.Errorf("%v: padding %v must be at most half the kernel %v", p, c.PaddingHW, c.KernelHW)
	}
	if !g.OutSize() {
		return g, fmt.Errorf("%v: window does not fit input %s", p, tensor.ShapeString(in))
	}
	if c.CeilMode {
		g.OH = PoolOutSize(g.H, g.KH, g.SH, g.PH, true)
		g.OW = PoolOutSize(g.W, g.KW, g.SW, g.PW, true)
	}
	return g, nil
}

// PoolOutSize is PyTorch's pooling output size along one dimension.
func PoolOutSize(in, k, s, p int, ceil bool) int {
	num := in + 2*p - k
	o := num/s + 1
	if ceil {
		o = (num+s-1)/s + 1
		// The last window must start inside the input or its left padding.
		if (o-1)*s >= in+p {
			o--
		}
	}
	return o
}

// poolWindow returns output (oy, ox)'s window clipped to the input, [y0,
// y1) × [x0, x1), and its divisor for average pooling.
func (p *Pool2d) poolWindow(g *tensor.ConvGeom, oy, ox int) (y0, y1, x0, x1 int, div float32) {
	y0, x0 = oy*g.SH-g.PH, ox*g.SW-g.PW
	y1, x1 = min(y0+g.KH, g.H+g.PH), min(x0+g.KW, g.W+g.PW)
	size := (y1 - y0) * (x1 - x0)
	y0, x0, y1, x1 = max(y0, 0), max(x0, 0), min(y1, g.H), min(x1, g.W)
	if p.Config.ExcludePad {
		size = (y1 - y0) * (x1 - x0)
	}
	return y0, y1, x0, x1, float32(size)
}

// paddedPlane pools one plane on the general path (padding, ceil mode).
func (p *Pool2d) paddedPlane(g *tensor.ConvGeom, src, dst []float32, arg []int32) {
	for oy := 0; oy < g.OH; oy++ {
		for ox := 0; ox < g.OW; ox++ {
			y0, y1, x0, x1, div := p.poolWindow(g, oy, ox)
			o := oy*g.OW + ox
			if p.Kind == PoolMax {
				bi := -1
				var bv float32
				for y := y0; y < y1; y++ {
					for x := x0; x < x1; x++ {
						if v := src[y*g.W+x]; bi < 0 || v > bv {
							bv, bi = v, y*g.W+x
						}
					}
				}
				dst[o], arg[o] = bv, int32(bi)
				continue
			}
			var sum float32
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					sum += src[y*g.W+x]
				}
			}
			if p.Kind == PoolAvg {
				sum /= div
			}
			dst[o] = sum
		}
	}
}

// paddedGrad is the backward pass of paddedPlane for average and sum
// pooling.
func (p *Pool2d) paddedGrad(g *tensor.ConvGeom, dy, dx []float32) {
	for oy := 0; oy < g.OH; oy++ {
		for ox := 0; ox < g.OW; ox++ {
			y0, y1, x0, x1, div := p.poolWindow(g, oy, ox)
			v := dy[oy*g.OW+ox]
			if p.Kind == PoolAvg {
				v /= div
			}
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					dx[y*g.W+x] += v
				}
			}
		}
	}
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
			if p.Config.padded() {
				var arg []int32
				if p.Kind == PoolMax {
					arg = p.argmax[pl*on : (pl+1)*on]
				}
				p.paddedPlane(&g, src, dst, arg)
				continue
			}
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
			if p.Config.padded() {
				p.paddedGrad(&g, s, d)
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
	pair := func(v [2]int) string {
		if v[1] != v[0] {
			return fmt.Sprintf("(%d, %d)", v[0], v[1])
		}
		return fmt.Sprint(v[0])
	}
	k, s, pd := pair(c.KernelHW), pair(c.StrideHW), pair(c.PaddingHW)
	ceil := "False"
	if c.CeilMode {
		ceil = "True"
	}
	switch p.Kind {
	case PoolSum:
		return fmt.Sprintf("SumPool2d(norm_type=1, kernel_size=%s, stride=%s, ceil_mode=%s)", k, s, ceil)
	case PoolMax:
		return fmt.Sprintf("MaxPool2d(kernel_size=%s, stride=%s, padding=%s, dilation=1, ceil_mode=%s)", k, s, pd, ceil)
	}
	if !c.padded() {
		return fmt.Sprintf("AvgPool2d(kernel_size=%s, stride=%s, padding=0)", k, s)
	}
	inc := "True"
	if c.ExcludePad {
		inc = "False"
	}
	return fmt.Sprintf("AvgPool2d(kernel_size=%s, stride=%s, padding=%s, ceil_mode=%s, count_include_pad=%s)", k, s, pd, ceil, inc)
}
