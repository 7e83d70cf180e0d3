package event

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
)

// ConvGeometry is a 2-D convolution's shape: an H×W input, an OH×OW
// output, a KH×KW kernel, strides, the top and left zero padding, and
// dilations. Padding at the bottom and right is whatever makes OH and OW
// fit.
type ConvGeometry struct {
	H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW int
}

// ForTaps calls f(t, o) for every tap t = i·KW+j through which input
// position (y, x) reaches an output position o = oy·OW+ox (oy·SH - PH +
// i·DH = y, ox·SW - PW + j·DW = x).
func (g ConvGeometry) ForTaps(y, x int, f func(t, o int)) {
	for i := 0; i < g.KH; i++ {
		ty := y + g.PH - i*g.DH
		if ty < 0 || ty%g.SH != 0 || ty/g.SH >= g.OH {
			continue
		}
		for j := 0; j < g.KW; j++ {
			tx := x + g.PW - j*g.DW
			if tx < 0 || tx%g.SW != 0 || tx/g.SW >= g.OW {
				continue
			}
			f(i*g.KW+j, ty/g.SH*g.OW+tx/g.SW)
		}
	}
}

// TapsPerPosition returns how many taps an input position reaches on
// average, and the share of positions that reach any.
func (g ConvGeometry) TapsPerPosition() (taps, reach float64) {
	n, r := 0, 0
	for y := 0; y < g.H; y++ {
		for x := 0; x < g.W; x++ {
			k := n
			g.ForTaps(y, x, func(int, int) { n++ })
			if n > k {
				r++
			}
		}
	}
	return float64(n) / float64(max(1, g.H*g.W)), float64(r) / float64(max(1, g.H*g.W))
}

// Table propagates one frame of spike counts through a convolution by
// look-up (kernels.TableConv): the frame becomes a bitmap of its non-zero
// inputs, and each output position adds, per tap and per 4 input
// channels, the precomputed sum of the weight rows of the channels that
// spiked. Its cost does not depend on how many inputs spiked, so it pays
// where the event lists are long: at high spike rates (the engine's cost
// model decides). Inputs other than 0 and 1 are exact too: the table adds
// their weights once, and the rest, (x-1)·w, goes event by event.
type Table struct {
	g              ConvGeometry
	cs, cin, nb, n int // input channel stride and channels, bitmap bytes per position, output row floats
	groups, words  int // nibbles per tap word, words per position
	rowStride      int // bitmap bytes per row
	interior       int // bitmap offset of input position (0, 0)
	origins, taps  []int32
	table          []float32
	reach, reachAt []int32 // input position p reaches (output row offset, tap) pairs reach[2·reachAt[p]:2·reachAt[p+1]]
	bits           []byte
	others         []int32 // work: the inputs other than 0 and 1
}

// TableFloats returns the size of the table a Table of this geometry would
// build (cs input channels, rows of n floats), so that callers can refuse
// tables that would not stay in cache before building one.
func TableFloats(g ConvGeometry, cs, n int) int64 {
	groups, words := tableWords(cs)
	return int64(g.KH*g.KW) * int64(words*groups*16) * int64(n)
}

func tableWords(cs int) (groups, words int) {
	if cs <= 64 {
		return cs / 4, 1
	}
	return 16, (cs + 63) / 64
}

// NewTable builds the table of a convolution of geometry g over inputs of
// cs channels per position (cs a multiple of 16), of which the first cin
// are real, into output rows of n floats: weight(ch, t, row) fills row with
// the weights from input channel ch at tap t = i·KW+j to every output
// channel (row is zero on entry).
func NewTable(g ConvGeometry, cs, cin, n int, weight func(ch, t int, row []float32)) (*Table, error) {
	switch {
	case cs < 16 || cs%16 != 0 || cin < 1 || cin > cs || n < 1:
		return nil, fmt.Errorf("event: table of %d of %d input channels into rows of %d: channels must be a multiple of 16", cin, cs, n)
	case g.H < 1 || g.W < 1 || g.OH < 1 || g.OW < 1 || g.KH < 1 || g.KW < 1 || g.SH < 1 || g.SW < 1 || g.DH < 1 || g.DW < 1 || g.PH < 0 || g.PW < 0:
		return nil, fmt.Errorf("event: table of an invalid convolution %+v", g)
	case TableFloats(g, cs, n) > 1<<24 || int64(g.H*g.W)*int64(g.KH*g.KW) > 1<<24:
		return nil, fmt.Errorf("event: table of %d floats for %+v", TableFloats(g, cs, n), g)
	}
	s := &Table{g: g, cs: cs, cin: cin, nb: cs / 8, n: n}
	s.groups, s.words = tableWords(cs)
	hp := max(g.PH+g.H, (g.OH-1)*g.SH+(g.KH-1)*g.DH+1)
	wp := max(g.PW+g.W, (g.OW-1)*g.SW+(g.KW-1)*g.DW+1)
	if int64(hp)*int64(wp)*int64(s.nb) > 1<<30 {
		return nil, fmt.Errorf("event: table bitmap of %d×%d positions", hp, wp)
	}
	s.rowStride = wp * s.nb
	s.interior = g.PH*s.rowStride + g.PW*s.nb
	s.bits = make([]byte, hp*s.rowStride+8*s.words)
	for oy := 0; oy < g.OH; oy++ {
		for ox := 0; ox < g.OW; ox++ {
			s.origins = append(s.origins, int32(oy*g.SH*s.rowStride+ox*g.SW*s.nb))
		}
	}
	ntaps := g.KH * g.KW
	for t := 0; t < ntaps; t++ {
		for wd := 0; wd < s.words; wd++ {
			s.taps = append(s.taps, int32(t/g.KW*g.DH*s.rowStride+t%g.KW*g.DW*s.nb+8*wd))
		}
	}
	s.reachAt = make([]int32, g.H*g.W+1)
	for p := 0; p < g.H*g.W; p++ {
		g.ForTaps(p/g.W, p%g.W, func(t, o int) { s.reach = append(s.reach, int32(o*n), int32(t)) })
		s.reachAt[p+1] = int32(len(s.reach) / 2)
	}
	// Rows per (tap word, nibble, pattern): pattern p's row is the row of p
	// without its highest bit plus that channel's weights.
	s.table = make([]float32, TableFloats(g, cs, n))
	row := make([]float32, n)
	for t := 0; t < ntaps; t++ {
		for wd := 0; wd < s.words; wd++ {
			for gi := 0; gi < s.groups; gi++ {
				base := ((t*s.words+wd)*s.groups + gi) * 16
				for b := 0; b < 4; b++ {
					ch := wd*64 + 4*gi + b
					clear(row)
					if ch < cin {
						weight(ch, t, row)
					}
					for p := 1 << b; p < 2<<b; p++ {
						dst, lo := s.table[(base+p)*n:][:n], s.table[(base+p-(1<<b))*n:][:n]
						for k := range dst {
							dst[k] = lo[k] + row[k]
						}
					}
				}
			}
		}
	}
	return s, nil
}

// Apply adds the contribution of x (one input frame, H·W positions of cs
// channels) to out (one output frame, OH·OW rows of n floats). It is not
// safe for concurrent use; give each goroutine its own copy (Clone).
func (s *Table) Apply(out, x []float32) error {
	if len(x) != s.g.H*s.g.W*s.cs || len(out) < len(s.origins)*s.n {
		return fmt.Errorf("event: table convolution of %d inputs into %d outputs, made for %d and %d", len(x), len(out), s.g.H*s.g.W*s.cs, len(s.origins)*s.n)
	}
	if len(s.others) < len(x)+16 {
		s.others = make([]int32, len(x)+16)
	}
	others := s.others[:kernels.SpikeBits(x, s.cs, s.g.W, s.bits[s.interior:], s.rowStride, s.others)]
	kernels.TableConv(out, s.table, s.bits, s.origins, s.taps, s.groups, s.n)
	s.addOthers(out, x, others)
	return nil
}

// addOthers adds (x-1)·w for the inputs x other than 0 and 1 (at indices
// others), which the table counted as 1: the weight rows are the table's
// one-channel rows. Most are a second spike (x-1 = 1), a vector addition
// per output the input reaches.
func (s *Table) addOthers(out, x []float32, others []int32) {
	for _, e := range others {
		p, c := int(e)/s.cs, int(e)%s.cs
		if c >= s.cin {
			continue // a padding channel: no weights
		}
		d := x[e] - 1
		base := (c/64*s.groups + c%64/4) * 16 * s.n // the channel's row in tap 0's word c/64, less the pattern
		base += (1 << (c % 4)) * s.n
		step := s.words * s.groups * 16 * s.n // from tap to tap
		for r := s.reachAt[p]; r < s.reachAt[p+1]; r++ {
			o := out[s.reach[2*r]:][:s.n]
			w := s.table[base+int(s.reach[2*r+1])*step:][:s.n]
			if d == 1 {
				kernels.Add(o, w)
				continue
			}
			for k := range o {
				o[k] += d * w[k]
			}
		}
	}
}

// Lookups returns the table rows one frame adds (outputs × tap words ×
// nibbles), for cost models.
func (s *Table) Lookups() int { return len(s.origins) * len(s.taps) * s.groups }

// Clone returns a Table sharing the tables with its own bitmap.
func (s *Table) Clone() *Table {
	c := *s
	c.bits, c.others = make([]byte, len(s.bits)), nil
	return &c
}

// HasTableKernel reports whether a table convolution over cs input
// channels into rows of n floats has a SIMD kernel on this machine.
func HasTableKernel(cs, n int) bool {
	groups, _ := tableWords(cs)
	return cs%16 == 0 && kernels.HasTableKernel(groups, n)
}
