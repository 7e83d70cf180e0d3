package kernels

import "encoding/binary"

// Table convolution: a convolution of spike counts by look-up. Most
// spiking inputs are 0 or 1, so an input position's channels are a bit
// pattern; split into nibbles (4 channels each), every nibble selects one
// of 16 precomputed sums of its channels' weight rows. One output position
// then costs a fixed number of vector additions (taps × nibbles), however
// many of its inputs spiked, with no branch the predictor can miss, where
// the event forms pay per active input. So it pays at high spike rates: at
// resnet_fmnist's 8-13 % its 3×3 layers took 16-21 µs a frame by table
// (BenchmarkTable) against 9-10 µs by row sweeps.
//
// The bitmap holds, per input position, cs bits (cs a multiple of 16):
// channel c is bit c%8 of byte c/8. It is read as little-endian 64-bit
// words: a tap's word covers up to 16 nibbles (64 channels); positions of
// more channels take several words per tap.

// SpikeBitsGeneric writes the bitmap of h = len(x)/(w·cs) rows of w
// positions of cs channels (cs a multiple of 16): bit c of the cs/8 bytes
// at bits[y·rowStride + xx·cs/8] is set when x's channel c of position
// (y, xx) is non-zero. The indices in x of the elements that are neither 0
// nor 1 (NaN included), whose rest the caller must add, go to others in
// order; it returns how many there are.
func SpikeBitsGeneric(x []float32, cs, w int, bits []byte, rowStride int, others []int32) int {
	n := 0
	nb := cs / 8
	for p := 0; p < len(x)/cs; p++ {
		dst := bits[p/w*rowStride+p%w*nb:][:nb]
		clear(dst)
		for c, v := range x[p*cs : (p+1)*cs] {
			if v != 0 {
				dst[c/8] |= 1 << (c % 8)
				if v != 1 {
					others[n] = int32(p*cs + c)
					n++
				}
			}
		}
	}
	return n
}

// SpikeBits is SpikeBitsGeneric with SIMD where available; others needs
// room for len(x)+16 indices. Sizes are checked by the caller.
func SpikeBits(x []float32, cs, w int, bits []byte, rowStride int, others []int32) int {
	if len(x) == 0 {
		return 0
	}
	return eventImpl.spikeBits(x, cs, w, bits, rowStride, others)
}

// TableConvGeneric adds to each output row o (the n floats at out[o·n:])
// the table rows its window's bitmap selects: for every tap word t (the
// 64-bit little-endian word at bits[origins[o]+taps[t]:]) and each of its
// first groups nibbles g, the n floats at table[((t·groups+g)·16 +
// nibble)·n:]. Offsets are not checked here.
func TableConvGeneric(out, table []float32, bits []byte, origins, taps []int32, groups, n int) {
	for o, org := range origins {
		row := out[o*n:][:n]
		for t, off := range taps {
			word := binary.LittleEndian.Uint64(bits[int(org)+int(off):])
			for g := 0; g < groups; g++ {
				e := table[((t*groups+g)*16+int(word>>(4*g)&15))*n:][:n]
				for c := range row {
					row[c] += e[c]
				}
			}
		}
	}
}

// HasTableKernel reports whether TableConv has a SIMD version for tap
// words of groups nibbles and rows of n floats.
func HasTableKernel(groups, n int) bool { return eventImpl.hasTable(groups, n) }

// TableConv is TableConvGeneric with SIMD where HasTableKernel(groups,
// n): each row's sum builds up in several registers, so sums may be taken
// in another order. Offsets are not checked here.
func TableConv(out, table []float32, bits []byte, origins, taps []int32, groups, n int) {
	if len(origins) == 0 || len(taps) == 0 {
		return
	}
	if !eventImpl.hasTable(groups, n) {
		TableConvGeneric(out, table, bits, origins, taps, groups, n)
		return
	}
	eventImpl.table(out, table, bits, origins, taps, groups, n)
}
