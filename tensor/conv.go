package tensor

// ConvGeom describes a 2-D convolution or pooling window over one image.
type ConvGeom struct {
	C, H, W int // input channels and size
	KH, KW  int // kernel size
	SH, SW  int // stride
	PH, PW  int // zero padding on each side
	OH, OW  int // output size, set by OutSize
}

// OutSize fills OH and OW with PyTorch's floor formula and reports
// whether the window fits (both at least 1).
func (g *ConvGeom) OutSize() bool {
	if g.SH < 1 || g.SW < 1 || g.KH < 1 || g.KW < 1 {
		return false
	}
	g.OH = (g.H+2*g.PH-g.KH)/g.SH + 1
	g.OW = (g.W+2*g.PW-g.KW)/g.SW + 1
	return g.H+2*g.PH >= g.KH && g.W+2*g.PW >= g.KW && g.OH >= 1 && g.OW >= 1
}

// Im2col unfolds one image x [C,H,W] into cols [C*KH*KW, OH*OW]: row
// (c,i,j) holds the input value under kernel tap (i,j) of channel c for every
// output position, 0 in the padding. Rows are ld apart.
func Im2col(g *ConvGeom, x, cols []float32, ld int) {
	oh, ow := g.OH, g.OW
	row := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*g.H*g.W : (c+1)*g.H*g.W]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				dst := cols[row*ld : row*ld+oh*ow]
				row++
				for y := 0; y < oh; y++ {
					iy := y*g.SH - g.PH + i
					d := dst[y*ow : (y+1)*ow]
					if iy < 0 || iy >= g.H {
						clear(d)
						continue
					}
					src := xc[iy*g.W : (iy+1)*g.W]
					if g.SW == 1 && g.PW == 0 {
						s := src[j : j+ow]
						for x := range d {
							d[x] = s[x]
						}
						continue
					}
					for x := range d {
						ix := x*g.SW - g.PW + j
						if ix < 0 || ix >= g.W {
							d[x] = 0
						} else {
							d[x] = src[ix]
						}
					}
				}
			}
		}
	}
}

// Col2im is the adjoint of Im2col: it adds every entry of cols back to the
// input position it was read from, into dx [C,H,W] (which it does not clear).
func Col2im(g *ConvGeom, cols []float32, ld int, dx []float32) {
	oh, ow := g.OH, g.OW
	row := 0
	for c := 0; c < g.C; c++ {
		xc := dx[c*g.H*g.W : (c+1)*g.H*g.W]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				src := cols[row*ld : row*ld+oh*ow]
				row++
				for y := 0; y < oh; y++ {
					iy := y*g.SH - g.PH + i
					if iy < 0 || iy >= g.H {
						continue
					}
					s := src[y*ow : (y+1)*ow]
					d := xc[iy*g.W : (iy+1)*g.W]
					if g.SW == 1 && g.PW == 0 {
						d = d[j : j+ow]
						for x, v := range s {
							d[x] += v
						}
						continue
					}
					for x, v := range s {
						ix := x*g.SW - g.PW + j
						if ix >= 0 && ix < g.W {
							d[ix] += v
						}
					}
				}
			}
		}
	}
}

// Im2row is Im2col transposed: rows [OH*OW, C*KH*KW], one row of kernel
// taps per output position.
func Im2row(g *ConvGeom, x, rows []float32) {
	oh, ow := g.OH, g.OW
	k := g.C * g.KH * g.KW
	for y := 0; y < oh; y++ {
		for xo := 0; xo < ow; xo++ {
			dst := rows[(y*ow+xo)*k : (y*ow+xo+1)*k]
			col := 0
			for c := 0; c < g.C; c++ {
				xc := x[c*g.H*g.W : (c+1)*g.H*g.W]
				for i := 0; i < g.KH; i++ {
					iy := y*g.SH - g.PH + i
					d := dst[col : col+g.KW]
					col += g.KW
					if iy < 0 || iy >= g.H {
						clear(d)
						continue
					}
					ix0 := xo*g.SW - g.PW
					if ix0 >= 0 && ix0+g.KW <= g.W {
						s := xc[iy*g.W+ix0 : iy*g.W+ix0+g.KW]
						for j := range d {
							d[j] = s[j]
						}
						continue
					}
					for j := range d {
						if ix := ix0 + j; ix >= 0 && ix < g.W {
							d[j] = xc[iy*g.W+ix]
						} else {
							d[j] = 0
						}
					}
				}
			}
		}
	}
}
