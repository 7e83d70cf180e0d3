package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/tensor"
)

// Conv2dConfig configures a Conv2d like torch.nn.Conv2d's arguments.
// Kernel, Stride and Padding give square sizes; KernelHW, StrideHW and
// PaddingHW, when not zero, give [height, width] instead. Stride 0 means 1.
type Conv2dConfig struct {
	In, Out                       int
	Kernel, Stride, Padding       int
	KernelHW, StrideHW, PaddingHW [2]int
	Bias                          bool
	// Groups splits the channels into groups convolved separately (0 or 1:
	// one group; In: depthwise); the weight is [Out, In/Groups, kh, kw].
	Groups int
	// DilationHW spaces the kernel taps (0: 1).
	DilationHW [2]int
	// PadEndHW, with HasPadEnd, pads the bottom and right by other amounts
	// than PaddingHW pads the top and left (ONNX's asymmetric pads).
	PadEndHW  [2]int
	HasPadEnd bool
}

// Norm returns the configuration with KernelHW, StrideHW and PaddingHW
// filled in from the square fields and defaults.
func (c Conv2dConfig) Norm() Conv2dConfig {
	if c.KernelHW == [2]int{} {
		c.KernelHW = [2]int{c.Kernel, c.Kernel}
	}
	if c.StrideHW == [2]int{} {
		s := max(c.Stride, 1)
		c.StrideHW = [2]int{s, s}
	}
	if c.PaddingHW == [2]int{} {
		c.PaddingHW = [2]int{c.Padding, c.Padding}
	}
	c.Kernel, c.Stride, c.Padding = c.KernelHW[0], c.StrideHW[0], c.PaddingHW[0]
	c.Groups = max(c.Groups, 1)
	if c.DilationHW == [2]int{} {
		c.DilationHW = [2]int{1, 1}
	}
	if !c.HasPadEnd || c.PadEndHW == c.PaddingHW {
		c.PadEndHW, c.HasPadEnd = c.PaddingHW, false
	}
	return c
}

// General reports whether the convolution needs the general path (groups,
// dilation or asymmetric padding), which the im2col kernels and the fast
// engines do not cover.
func (c Conv2dConfig) General() bool {
	c = c.Norm()
	return c.Groups > 1 || c.DilationHW != [2]int{1, 1} || c.HasPadEnd
}

// Conv2d is a 2-D convolution over NCHW input with weight [out, in, kh, kw],
// computed as im2col and a matrix multiply per image.
type Conv2d struct {
	Config Conv2dConfig
	Weight *Param
	Bias   *Param // nil without bias

	g       tensor.ConvGeom
	batch   int
	x       *tensor.Tensor
	cols    []float32 // per-task im2col buffers (stride > 1)
	rows    []float32 // per-task im2row buffers (stride > 1)
	dcols   []float32 // per-task input-gradient columns
	offs    []int     // row offsets of the implicit unfolding (stride 1)
	pad     []float32 // per-task zero-bordered image copies (stride 1, padding)
	wide    []float32 // per-task full-width products (stride 1)
	dyWide  []float32 // per-task full-width output gradients, zero in dropped columns
	dpad    []float32 // per-task zero-bordered input gradients (stride 1, padding)
	out     tensor.Tensor
	dx      tensor.Tensor
	partial []float32 // per-task weight and bias gradient sums
	wPack   tensor.Packed
	wtPack  tensor.Packed
	dyPack  []tensor.Packed
}

// NewConv2d returns a Conv2d initialised as PyTorch does: weights
// kaiming-uniform with a=sqrt(5), i.e. uniform in ±1/sqrt(fan_in), and the
// bias uniform in ±1/sqrt(fan_in). rng may be nil for zero weights.
func NewConv2d(cfg Conv2dConfig, rng *rand.Rand) *Conv2d {
	cfg = cfg.Norm()
	c := &Conv2d{Config: cfg, Weight: newParam("weight", cfg.Out, cfg.In/cfg.Groups, cfg.KernelHW[0], cfg.KernelHW[1])}
	if cfg.Bias {
		c.Bias = newParam("bias", cfg.Out)
	}
	if rng != nil {
		fanIn := cfg.In / cfg.Groups * cfg.KernelHW[0] * cfg.KernelHW[1]
		initUniform(c.Weight.Value.Data, fanIn, rng)
		if c.Bias != nil {
			initUniform(c.Bias.Value.Data, fanIn, rng)
		}
	}
	return c
}

func initUniform(w []float32, fanIn int, rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(fanIn))
	for i := range w {
		w[i] = float32((rng.Float64()*2 - 1) * bound)
	}
}

// Params returns weight and, if present, bias.
func (c *Conv2d) Params() []*Param {
	if c.Bias != nil {
		return []*Param{c.Weight, c.Bias}
	}
	return []*Param{c.Weight}
}

func (c *Conv2d) geom(in []int) (tensor.ConvGeom, error) {
	cfg := c.Config
	if len(in) != 3 {
		return tensor.ConvGeom{}, fmt.Errorf("%v: input sample shape %s, want [C, H, W]", c, tensor.ShapeString(in))
	}
	if in[0] != cfg.In {
		return tensor.ConvGeom{}, fmt.Errorf("%v: input has %d channels, want %d", c, in[0], cfg.In)
	}
	if cfg.General() {
		return c.generalGeom(in)
	}
	g := tensor.ConvGeom{C: in[0], H: in[1], W: in[2], KH: cfg.KernelHW[0], KW: cfg.KernelHW[1], SH: cfg.StrideHW[0], SW: cfg.StrideHW[1], PH: cfg.PaddingHW[0], PW: cfg.PaddingHW[1]}
	if !g.OutSize() {
		return g, fmt.Errorf("%v: kernel does not fit input %s", c, tensor.ShapeString(in))
	}
	return g, nil
}

// OutShape returns [out, OH, OW].
func (c *Conv2d) OutShape(in []int) ([]int, error) {
	g, err := c.geom(in)
	if err != nil {
		return nil, err
	}
	return []int{c.Config.Out, g.OH, g.OW}, nil
}

func (c *Conv2d) direct() bool {
	g := c.g
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0
}

// implicit reports whether the convolution runs without unfolding its input:
// with stride 1, row (c,i,j) of the unfolded input is the (zero-padded) image
// shifted by (i, j), a contiguous run of the image at offset
// c*Hp*Wp + i*Wp + j. Output position (y, x) is then column y*Wp + x of a
// product n = (OH-1)*Wp + OW columns wide; columns with x >= OW are computed
// and dropped.
func (c *Conv2d) implicit() bool { return c.g.SH == 1 && c.g.SW == 1 }

// setGeom records the geometry and sizes the per-task buffers for a batch.
func (c *Conv2d) setGeom(g tensor.ConvGeom, b int) {
	changed := g != c.g || c.offs == nil
	c.g, c.batch = g, b
	groups := (b + imageGroup - 1) / imageGroup
	k, o := g.C*g.KH*g.KW, c.Config.Out
	if !c.implicit() {
		c.cols = grow(c.cols, groups*k*g.OH*g.OW)
		return
	}
	hp, wp := g.H+2*g.PH, g.W+2*g.PW
	if changed {
		c.offs = c.offs[:0]
		for ch := 0; ch < g.C; ch++ {
			for i := 0; i < g.KH; i++ {
				for j := 0; j < g.KW; j++ {
					c.offs = append(c.offs, ch*hp*wp+i*wp+j)
				}
			}
		}
	}
	n := (g.OH-1)*wp + g.OW
	padded := g.PH > 0 || g.PW > 0
	if padded && (changed || len(c.pad) < groups*g.C*hp*wp) {
		c.pad = make([]float32, groups*g.C*hp*wp) // borders stay zero
	}
	if changed || len(c.wide) < groups*o*n {
		c.wide = make([]float32, groups*o*n)
		c.dyWide = make([]float32, groups*o*n) // dropped columns stay zero
	}
}

// source returns image i of x, copied into the task's zero-bordered buffer
// when the convolution pads.
func (c *Conv2d) source(x *tensor.Tensor, i, gi int) []float32 {
	g := c.g
	in := g.C * g.H * g.W
	xi := x.Data[i*in : (i+1)*in]
	if g.PH == 0 && g.PW == 0 {
		return xi
	}
	hp, wp := g.H+2*g.PH, g.W+2*g.PW
	buf := c.pad[gi*g.C*hp*wp : (gi+1)*g.C*hp*wp]
	for ch := 0; ch < g.C; ch++ {
		for y := 0; y < g.H; y++ {
			copy(buf[(ch*hp+y+g.PH)*wp+g.PW:], xi[(ch*g.H+y)*g.W:(ch*g.H+y+1)*g.W])
		}
	}
	return buf
}

// Forward computes the convolution of x [B, In, H, W]. The weights are
// packed once per call; with stride 1 each image is multiplied in place
// (implicit im2col), otherwise it is unfolded into a small per-task buffer.
func (c *Conv2d) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	b, err := batchOf(x, c.String(), 4)
	if err != nil {
		return nil, err
	}
	g, err := c.geom(x.Shape[1:])
	if err != nil {
		return nil, err
	}
	if c.Config.General() {
		c.g, c.batch, c.x = g, b, x
		return c.generalForward(x), nil
	}
	c.setGeom(g, b)
	c.x = x
	k, p, o := g.C*g.KH*g.KW, g.OH*g.OW, c.Config.Out
	inLen := g.C * g.H * g.W
	groups := (b + imageGroup - 1) / imageGroup
	c.out.Resize(b, o, g.OH, g.OW)
	if err := c.wPack.Pack(false, o, k, c.Weight.Value.Data, k); err != nil {
		return nil, err
	}
	wp := g.W + 2*g.PW
	n := (g.OH-1)*wp + g.OW
	parallel.Run(groups, func(gi int) {
		for i := gi * imageGroup; i < min((gi+1)*imageGroup, b); i++ {
			out := c.out.Data[i*o*p : (i+1)*o*p]
			if c.implicit() {
				wide := c.wide[gi*o*n : (gi+1)*o*n]
				_ = c.wPack.MulRowsSerial(n, c.source(x, i, gi), c.offs, wide, n, false)
				for ch := 0; ch < o; ch++ {
					for y := 0; y < g.OH; y++ {
						copy(out[(ch*g.OH+y)*g.OW:(ch*g.OH+y+1)*g.OW], wide[ch*n+y*wp:])
					}
				}
			} else {
				cols := c.cols[gi*k*p : (gi+1)*k*p]
				tensor.Im2col(&g, x.Data[i*inLen:(i+1)*inLen], cols, p)
				_ = c.wPack.MulSerial(false, p, cols, p, out, p, false)
			}
			if c.Bias != nil {
				for ch, bv := range c.Bias.Value.Data {
					addScalar(out[ch*p:(ch+1)*p], bv)
				}
			}
		}
	})
	return &c.out, nil
}

// Backward accumulates the weight and bias gradients and returns dx. Each
// task sums the weight gradient of its images and the task sums are added in
// a fixed order. With stride 1 the gradient is computed from the image in
// place (dWᵀ = X·dyᵀ with X's rows the shifted image), otherwise from its
// im2row unfolding.
func (c *Conv2d) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &c.out, c.String()); err != nil {
		return nil, err
	}
	if c.Config.General() {
		return c.generalBackward(dy, needDX), nil
	}
	g, b, x := c.g, c.batch, c.x
	k, p, o := g.C*g.KH*g.KW, g.OH*g.OW, c.Config.Out
	groups := (b + imageGroup - 1) / imageGroup
	wsz := o * k
	psz := wsz
	if c.Bias != nil {
		psz += o
	}
	c.partial = grow(c.partial, groups*psz)
	implicit := c.implicit()
	if !implicit {
		c.rows = grow(c.rows, groups*k*p)
		if len(c.dyPack) < groups {
			c.dyPack = make([]tensor.Packed, groups)
		}
	}
	inLen := g.C * g.H * g.W
	direct := c.direct()
	wp := g.W + 2*g.PW
	n := (g.OH-1)*wp + g.OW
	hp := g.H + 2*g.PH
	padded := g.PH > 0 || g.PW > 0
	if needDX {
		c.dx.Resize(b, g.C, g.H, g.W)
		switch {
		case implicit:
			c.dcols = grow(c.dcols, groups*k*n)
			if padded {
				c.dpad = grow(c.dpad, groups*g.C*hp*wp)
			}
		case !direct:
			c.dcols = grow(c.dcols, groups*k*p)
		}
		if err := c.wtPack.Pack(true, k, o, c.Weight.Value.Data, k); err != nil {
			return nil, err
		}
	}
	parallel.Run(groups, func(gi int) {
		part := c.partial[gi*psz : (gi+1)*psz]
		lo, hi := gi*imageGroup, min((gi+1)*imageGroup, b)
		for i := lo; i < hi; i++ {
			dyi := dy.Data[i*o*p : (i+1)*o*p]
			if implicit {
				// part holds dWᵀ [k × o] here; reduce transposes it.
				wide := c.dyWide[gi*o*n : (gi+1)*o*n]
				for ch := 0; ch < o; ch++ {
					for y := 0; y < g.OH; y++ {
						copy(wide[ch*n+y*wp:], dyi[(ch*g.OH+y)*g.OW:(ch*g.OH+y+1)*g.OW])
					}
				}
				_ = tensor.GemmRowsASerial(k, o, n, c.source(x, i, gi), c.offs, wide, n, part[:wsz], o, i > lo)
			} else {
				rows := c.rows[gi*k*p : (gi+1)*k*p]
				tensor.Im2row(&g, x.Data[i*inLen:(i+1)*inLen], rows)
				_ = c.dyPack[gi].Pack(false, o, p, dyi, p)
				_ = c.dyPack[gi].MulSerial(false, k, rows, k, part[:wsz], k, i > lo)
			}
			if c.Bias != nil {
				db := part[wsz:]
				for ch := 0; ch < o; ch++ {
					s := sum(dyi[ch*p : (ch+1)*p])
					if i == lo {
						db[ch] = s
					} else {
						db[ch] += s
					}
				}
			}
			if !needDX {
				continue
			}
			dxi := c.dx.Data[i*inLen : (i+1)*inLen]
			if implicit {
				// Full-width columns Wᵀ·dy' (zero in dropped columns), each
				// row added to the shifted image it was read from.
				wide := c.dyWide[gi*o*n : (gi+1)*o*n]
				dcols := c.dcols[gi*k*n : (gi+1)*k*n]
				_ = c.wtPack.MulSerial(false, n, wide, n, dcols, n, false)
				dst := dxi
				if padded {
					dst = c.dpad[gi*g.C*hp*wp : (gi+1)*g.C*hp*wp]
				}
				clear(dst)
				for r, off := range c.offs {
					_ = tensor.Add(dst[off:off+n], dcols[r*n:(r+1)*n])
				}
				if padded {
					for ch := 0; ch < g.C; ch++ {
						for y := 0; y < g.H; y++ {
							copy(dxi[(ch*g.H+y)*g.W:(ch*g.H+y+1)*g.W], dst[(ch*hp+y+g.PH)*wp+g.PW:])
						}
					}
				}
				continue
			}
			if direct {
				_ = c.wtPack.MulSerial(false, p, dyi, p, dxi, p, false)
				continue
			}
			dcols := c.dcols[gi*k*p : (gi+1)*k*p]
			_ = c.wtPack.MulSerial(false, p, dyi, p, dcols, p, false)
			clear(dxi)
			tensor.Col2im(&g, dcols, p, dxi)
		}
	})
	dw := c.Weight.Grad.Data
	if implicit {
		for gi := 0; gi < groups; gi++ {
			part := c.partial[gi*psz:]
			for kk := 0; kk < k; kk++ {
				for ch := 0; ch < o; ch++ {
					dw[ch*k+kk] += part[kk*o+ch]
				}
			}
		}
	} else {
		reducePartials(dw, c.partial, psz, groups, 0)
	}
	if c.Bias != nil {
		reducePartials(c.Bias.Grad.Data, c.partial, psz, groups, wsz)
	}
	if !needDX {
		return nil, nil
	}
	return &c.dx, nil
}

// reducePartials adds the per-group partial sums into dst in group order.
func reducePartials(dst, partial []float32, stride, groups, off int) {
	for gi := 0; gi < groups; gi++ {
		src := partial[gi*stride+off : gi*stride+off+len(dst)]
		for j, v := range src {
			dst[j] += v
		}
	}
}

// String describes the Conv2d as snnkit prints it.
func (c *Conv2d) String() string {
	cfg := c.Config
	s := fmt.Sprintf("Conv2d(%d, %d, kernel_size=(%d, %d), stride=(%d, %d)", cfg.In, cfg.Out, cfg.KernelHW[0], cfg.KernelHW[1], cfg.StrideHW[0], cfg.StrideHW[1])
	switch {
	case cfg.HasPadEnd:
		s += fmt.Sprintf(", padding=(%d, %d, %d, %d)", cfg.PaddingHW[0], cfg.PaddingHW[1], cfg.PadEndHW[0], cfg.PadEndHW[1])
	case cfg.PaddingHW != [2]int{}:
		s += fmt.Sprintf(", padding=(%d, %d)", cfg.PaddingHW[0], cfg.PaddingHW[1])
	}
	if d := cfg.DilationHW; d != [2]int{1, 1} && d != [2]int{} {
		s += fmt.Sprintf(", dilation=(%d, %d)", d[0], d[1])
	}
	if cfg.Groups > 1 {
		s += fmt.Sprintf(", groups=%d", cfg.Groups)
	}
	if !cfg.Bias {
		s += ", bias=False"
	}
	return s + ")"
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func addScalar(s []float32, v float32) {
	for i := range s {
		s[i] += v
	}
}

func sum(s []float32) float32 {
	var t float32
	for _, v := range s {
		t += v
	}
	return t
}
