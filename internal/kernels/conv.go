package kernels

import (
	"math"
	"sync"
)

// Direct convolution and event scatter kernels for channels-last (NHWC)
// activations. The convolution reads its input in place through two offset
// tables: output row r (an output position) and depth p (a kernel tap and
// input channel) read a[rowoffs[r] + koffs[p]]. The weights are packed in
// panels of ConvNR output channels.

// ConvNR is the widest panel of output channels of any direct-convolution
// kernel (the generic and AVX-512 ones; AVX2 uses 16).
const ConvNR = 32

// convKernel is one implementation of the direct-convolution tile: mr
// output positions × nr channels.
type convKernel struct {
	isa    ISA
	mr, nr int
	masked bool // handles n < nr columns itself
	tile   convTile
}

var convGeneric = convKernel{isa: ISAGeneric, mr: 8, nr: 32, masked: true, tile: convTileGeneric}

// ConvPanel returns the number of output channels per packed weight panel
// of the selected kernel.
func ConvPanel() int { return convImpl.nr }

// PackConvWeights packs a k×n weight matrix (w[p*n+j], depth p, output
// channel j) into panels of ConvPanel() channels, k×ConvPanel() each, zero
// padded, for ConvRows.
func PackConvWeights(w []float32, k, n int) []float32 { return packConv(convImpl.nr, w, k, n) }

func packConv(nr int, w []float32, k, n int) []float32 {
	panels := (n + nr - 1) / nr
	out := make([]float32, panels*k*nr)
	for q := 0; q < panels; q++ {
		for p := 0; p < k; p++ {
			for j := 0; j < nr && q*nr+j < n; j++ {
				out[(q*k+p)*nr+j] = w[p*n+q*nr+j]
			}
		}
	}
	return out
}

// convTileGeneric is the pure-Go 8-row tile: t[r][j] = Σ_p a[rowoffs[r]+koffs[p]]·b[p*32+j],
// stored (or added) to c[r*ldc+j] for j < n.
func convTileGeneric(a []float32, rowoffs, koffs []int, b []float32, c []float32, ldc, n int, acc bool) {
	var t [8][ConvNR]float32
	for p, ko := range koffs {
		bp := (*[ConvNR]float32)(b[p*ConvNR:])
		for r := 0; r < 8; r++ {
			av := a[rowoffs[r]+ko]
			tr := &t[r]
			for j := 0; j < ConvNR; j++ {
				tr[j] += av * bp[j]
			}
		}
	}
	for r := 0; r < 8; r++ {
		row := c[r*ldc : r*ldc+n]
		if acc {
			for j := range row {
				row[j] += t[r][j]
			}
		} else {
			copy(row, t[r][:n])
		}
	}
}

// ConvRows computes C = A·W for m output rows and n output channels, where
// A[r][p] = a[rowoffs[r]+koffs[p]] and packed holds PackConvWeights(w, k, n),
// k = len(koffs). C has row stride ldc. Offsets must lie inside a (checked
// by the caller).
func ConvRows(m, n int, a []float32, rowoffs, koffs []int, packed []float32, c []float32, ldc int, accumulate bool) {
	convRowsWith(convImpl, m, n, a, rowoffs, koffs, packed, c, ldc, accumulate)
}

// convScratch holds the edge-tile buffers of convRowsWith; pooled because
// passing them to a kernel held in a function value would make them escape
// to the heap on every call.
type convScratch struct {
	ro  [8]int
	tmp [8 * ConvNR]float32
}

var convScratchPool = sync.Pool{New: func() any { return new(convScratch) }}

type convTile func(a []float32, rowoffs, koffs []int, b []float32, c []float32, ldc, n int, acc bool)

func convRowsWith(ck convKernel, m, n int, a []float32, rowoffs, koffs []int, packed []float32, c []float32, ldc int, accumulate bool) {
	mr, nr, tile := ck.mr, ck.nr, ck.tile
	k := len(koffs)
	if m <= 0 || n <= 0 {
		return
	}
	if k == 0 {
		if !accumulate {
			for r := 0; r < m; r++ {
				clear(c[r*ldc : r*ldc+n])
			}
		}
		return
	}
	sc := convScratchPool.Get().(*convScratch)
	defer convScratchPool.Put(sc)
	ro, tmp := &sc.ro, &sc.tmp
	for q := 0; q*nr < n; q++ {
		nn := min(nr, n-q*nr)
		b := packed[q*k*nr : (q+1)*k*nr]
		full := nn == nr || ck.masked
		for r0 := 0; r0 < m; r0 += mr {
			mm := min(mr, m-r0)
			if mm == mr && full {
				tile(a, rowoffs[r0:r0+mr], koffs, b, c[r0*ldc+q*nr:], ldc, nn, accumulate)
				continue
			}
			for i := 0; i < mr; i++ {
				ro[i] = rowoffs[r0+min(i, mm-1)]
			}
			kn := nn
			if !ck.masked {
				kn = nr // the panel is zero padded: compute every column
			}
			tile(a, ro[:mr], koffs, b, tmp[:], nr, kn, false)
			storeEdge(c[r0*ldc+q*nr:], ldc, tmp[:], nr, mm, nn, accumulate)
		}
	}
}

// ScatterGeneric adds v times each tap's weight vector to its output:
// out[taps[2t]+j] += v·wt[taps[2t+1]+j] for j < n.
func ScatterGeneric(out, wt []float32, taps []int32, v float32, n int) {
	// Eight lanes per step keep several independent adds in flight; each
	// product is rounded to float32 before its add, as everywhere else.
	for t := 0; t+1 < len(taps); t += 2 {
		o, w := out[taps[t]:int(taps[t])+n], wt[taps[t+1]:int(taps[t+1])+n]
		w = w[:len(o)]
		j := 0
		for ; j+8 <= len(o); j += 8 {
			o8, w8 := o[j:j+8:j+8], w[j:j+8:j+8]
			o8[0] += float32(v * w8[0])
			o8[1] += float32(v * w8[1])
			o8[2] += float32(v * w8[2])
			o8[3] += float32(v * w8[3])
			o8[4] += float32(v * w8[4])
			o8[5] += float32(v * w8[5])
			o8[6] += float32(v * w8[6])
			o8[7] += float32(v * w8[7])
		}
		for ; j < len(o); j++ {
			o[j] += float32(v * w[j])
		}
	}
}

// convKernels lists the direct-convolution kernels this CPU supports, the
// generic one first.
func convKernels() []convKernel { return append([]convKernel{convGeneric}, convAsm()...) }

// convImpl is the kernel matching the selected GEMM implementation.
var convImpl = func() convKernel {
	for _, ck := range convKernels() {
		if ck.isa == best.ISA {
			return ck
		}
	}
	return convGeneric
}()

// CompressNonzeroGeneric writes the indices and values of the non-zero
// elements of x to idx and vals (at least len(x) long) and returns their count.
func CompressNonzeroGeneric(x []float32, idx []int32, vals []float32) int {
	n := 0
	for i, v := range x {
		if v != 0 {
			idx[n], vals[n] = int32(i), v
			n++
		}
	}
	return n
}

// CompressNonzero is CompressNonzeroGeneric with SIMD where available; idx
// and vals need room for len(x)+16 elements.
func CompressNonzero(x []float32, idx []int32, vals []float32) int {
	if len(x) == 0 {
		return 0
	}
	_ = idx[len(x)+15]
	_ = vals[len(x)+15]
	return eventImpl.compress(x, idx, vals)
}

// ScatterEventsGeneric adds, for each event k (input idx[k], value
// vals[k]), value times the weight vector of each of the input's taps to its
// output: taps[tapIdx[e]:tapIdx[e+1]] as in ScatterGeneric, n channels.
func ScatterEventsGeneric(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int) {
	for k, e := range idx {
		ScatterGeneric(out, wt, taps[2*tapIdx[e]:2*tapIdx[e+1]], vals[k], n)
	}
}

// ScatterEvents is ScatterEventsGeneric with SIMD where available. tapIdx
// counts taps (pairs), unlike the slice bounds of Scatter. Offsets are not
// checked here.
func ScatterEvents(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int) {
	if len(idx) == 0 || n <= 0 {
		return
	}
	eventImpl.scatter(out, wt, vals, idx, tapIdx, taps, n)
}

// eventFuncs is one instruction set's event kernels (see the exported
// functions they implement). The has* functions say for which sizes the
// kernel is SIMD; the exported functions fall back to the generic versions
// for the others.
type eventFuncs struct {
	isa          ISA
	compress     func(x []float32, idx []int32, vals []float32) int
	scatter      func(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int)
	hasScatter   func(n int) bool
	compressPos  func(x []float32, cs int, chOff []int32, posStride int, ents, start []int32)
	gather       func(out, w []float32, segs, ents, start []int32, n, nitems int)
	hasGather    func(n int) bool
	window       func(out, w, vals []float32, bases []int32, k, ow, n int)
	hasWindow    func(k, n int) bool
	compressList func(x []float32, cs int, chOff, order, ents, list, start []int32) int
	scatterPos   func(out, w []float32, ents, start, list, bases []int32, dummy []float32, c PosClass)
	hasPos       func(k, s, n int) bool
	scatterRows  func(out, w, x []float32, cs, cin int, dummy, bias []float32, h, wd, s, n, slots int)
	hasRows      func(s, n, cin int) bool
	pointwise    func(out, w, x []float32, cs, cin int, bias []float32, h, wd, s, n, slots int)
	hasPointwise func(n, cin int) bool
	spikeBits    func(x []float32, cs, w int, bits []byte, rowStride int, others []int32) int
	table        func(out, table []float32, bits []byte, origins, taps []int32, groups, n int)
	hasTable     func(groups, n int) bool
}

var eventGeneric = eventFuncs{
	isa: ISAGeneric, compress: CompressNonzeroGeneric,
	scatter: ScatterEventsGeneric, hasScatter: func(int) bool { return false },
	compressPos: CompressPositionsGeneric,
	gather:      GatherSegmentsGeneric, hasGather: func(int) bool { return false },
	window: ScatterWindowGeneric, hasWindow: func(int, int) bool { return false },
	compressList: CompressListGeneric,
	scatterPos:   ScatterPositionsGeneric, hasPos: func(int, int, int) bool { return false },
	scatterRows: scatterRowsGeneric, hasRows: func(int, int, int) bool { return false },
	pointwise: pointwiseGeneric, hasPointwise: func(int, int) bool { return false },
	spikeBits: SpikeBitsGeneric,
	table:     TableConvGeneric, hasTable: func(int, int) bool { return false },
}

// eventImpl is the implementation of the selected GEMM instruction set.
var eventImpl = func() eventFuncs {
	for _, im := range eventImpls() {
		if im.isa == best.ISA {
			return im
		}
	}
	return eventGeneric
}()

// HasScatterKernel reports whether ScatterEvents of n channels runs with
// SIMD: any n with AVX-512, multiples of 4 with AVX2.
func HasScatterKernel(n int) bool { return eventImpl.hasScatter(n) }

// CompressPositionsGeneric lists the active inputs of the len(start)-1
// input positions of cs channels in x (position p is x[p*cs:][:cs]): for
// each non-zero x[p*cs+c], in order, the pair (p*posStride + chOff[c], bits
// of x[p*cs+c]) goes to ents; start[p] receives the index (in pairs) of
// position p's first entry and start[npos] the number of entries.
func CompressPositionsGeneric(x []float32, cs int, chOff []int32, posStride int, ents, start []int32) {
	n := 0
	for p := 0; p < len(start)-1; p++ {
		start[p] = int32(n)
		for c, v := range x[p*cs : (p+1)*cs] {
			if v != 0 {
				ents[2*n], ents[2*n+1] = int32(p*posStride)+chOff[c], int32(math.Float32bits(v))
				n++
			}
		}
	}
	start[len(start)-1] = int32(n)
}

// GatherSegmentsGeneric adds sums over runs of the lists of
// CompressPositions to rows of n floats of out. The stream segs holds
// nitems items, each its segment count, the offset of its output row in
// out, and per segment a triple (first position p0, end position p1, base):
// the entries j of positions p0 to p1-1 contribute their value times the
// weight row w[base + offset:][:n] (base may be negative). The item's sum,
// in that order, is added to its row. Items may share a row and come in
// any order.
func GatherSegmentsGeneric(out, w []float32, segs, ents, start []int32, n, nitems int) {
	var acc [128]float32
	for c := 0; c < n; c += len(acc) {
		m := min(len(acc), n-c)
		a := acc[:m]
		s := 0
		for it := 0; it < nitems; it++ {
			clear(a)
			nseg, row := int(segs[s]), int(segs[s+1])
			s += 2
			for ; nseg > 0; nseg-- {
				p0, p1, base := segs[s], segs[s+1], int(segs[s+2])
				s += 3
				for j := start[p0]; j < start[p1]; j++ {
					v, wr := math.Float32frombits(uint32(ents[2*j+1])), w[base+int(ents[2*j])+c:][:m]
					for k := range a {
						a[k] += v * wr[k]
					}
				}
			}
			r := out[row+c:][:m]
			for k := range r {
				r[k] += a[k]
			}
		}
	}
}

// HasGatherKernel reports whether GatherSegments has a SIMD version for
// rows of n floats: multiples of 16 with AVX-512 (in blocks of 128), of 8
// with AVX2 (in blocks of 64).
func HasGatherKernel(n int) bool { return eventImpl.hasGather(n) }

// CompressPositions is CompressPositionsGeneric with SIMD where available;
// ents needs room for len(x)+16 pairs and chOff for cs rounded up to 16.
// Sizes are checked by the caller.
func CompressPositions(x []float32, cs int, chOff []int32, posStride int, ents, start []int32) {
	if len(start) < 2 {
		return
	}
	eventImpl.compressPos(x, cs, chOff, posStride, ents, start)
}

// GatherSegments is GatherSegmentsGeneric with SIMD where
// HasGatherKernel(n); the sums may then be taken in another order. Offsets
// are not checked here.
func GatherSegments(out, w []float32, segs, ents, start []int32, n, nitems int) {
	if nitems == 0 {
		return
	}
	if !eventImpl.hasGather(n) {
		GatherSegmentsGeneric(out, w, segs, ents, start, n, nitems)
		return
	}
	eventImpl.gather(out, w, segs, ents, start, n, nitems)
}

// ScatterWindowGeneric propagates the events of a one-channel k×k
// convolution whose taps all land inside the output: event e with value
// vals[e] adds vals[e]·w[(i·k+j)·n:][:n] to the n outputs at
// out[bases[e] - (i·ow+j)·n:] for every tap (i, j).
func ScatterWindowGeneric(out, w, vals []float32, bases []int32, k, ow, n int) {
	for e, v := range vals {
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				o := out[int(bases[e])-(i*ow+j)*n:][:n]
				for c, wv := range w[(i*k+j)*n:][:n] {
					o[c] += v * wv
				}
			}
		}
	}
}

// CompressListGeneric lists the active inputs of the positions order
// names, in that order, for ScatterPositions: each position p of order
// with a non-zero channel goes to list[m], and its entries, the pairs
// (chOff[c], bits of x[p·cs+c]) of its non-zero channels in channel
// order, to ents from pair start[m] on; start[m+1] ends them. It returns
// m, the number of positions listed. list needs room for len(order), start
// for len(order)+1 and ents for len(x)+16 pairs.
func CompressListGeneric(x []float32, cs int, chOff, order, ents, list, start []int32) int {
	n, m := 0, 0
	for _, p := range order {
		start[m], list[m] = int32(n), p
		for c, v := range x[int(p)*cs:][:cs] {
			if v != 0 {
				ents[2*n], ents[2*n+1] = chOff[c], int32(math.Float32bits(v))
				n++
			}
		}
		if int32(n) > start[m] {
			m++
		}
	}
	start[m] = int32(n)
	return m
}

// CompressList is CompressListGeneric with SIMD where available. Sizes are
// checked by the caller.
func CompressList(x []float32, cs int, chOff, order, ents, list, start []int32) int {
	if len(order) == 0 {
		start[0] = 0
		return 0
	}
	return eventImpl.compressList(x, cs, chOff, order, ents, list, start)
}

// PosClass is a class of input positions of a k×k convolution at stride s
// (no dilation): those at padded coordinates (Y, X) with Y mod s = RY and
// X mod s = RX. They all reach the outputs through the same taps (i, j),
// i mod s = RY and j mod s = RX, in that order (i-major): output
// (⌊Y/s⌋ - ⌊i/s⌋, ⌊X/s⌋ - ⌊j/s⌋). At stride 1 there is one class, every
// tap. OW is the output width, N the floats of an output row.
type PosClass struct{ K, S, RY, RX, OW, N int }

// Taps returns the class's taps (i, j) in order.
func (c PosClass) Taps() [][2]int {
	var taps [][2]int
	for i := c.RY; i < c.K; i += c.S {
		for j := c.RX; j < c.K; j += c.S {
			taps = append(taps, [2]int{i, j})
		}
	}
	return taps
}

// ScatterPositionsGeneric propagates whole positions of a class of a
// convolution. For the m-th position p = list[m] of a CompressList, its
// entries e in [start[m], start[m+1]) (weight offset ents[2e], value bits
// ents[2e+1]) contribute, for every tap q = (i, j) of the class, value ×
// w[offset + (i·K+j)·N:][:N] to the sum of tap q, summed in entry order;
// where bit q of the mask bases[2p+1] is set, the sum is added to the N
// outputs at out[bases[2p] - (⌊i/S⌋·OW + ⌊j/S⌋)·N:] (the taps of a
// position near the border whose output falls outside have their bit
// clear). dummy, one row per tap, is scratch for the SIMD kernels.
func ScatterPositionsGeneric(out, w []float32, ents, start, list, bases []int32, dummy []float32, c PosClass) {
	taps, n := c.Taps(), c.N
	sum := make([]float32, len(taps)*n)
	for m, p := range list {
		clear(sum)
		for e := start[m]; e < start[m+1]; e++ {
			off, v := int(ents[2*e]), math.Float32frombits(uint32(ents[2*e+1]))
			for q, t := range taps {
				wr, s := w[off+(t[0]*c.K+t[1])*n:][:n], sum[q*n:][:n]
				for k := range s {
					s[k] += v * wr[k]
				}
			}
		}
		base, mask := int(bases[2*p]), uint32(bases[2*p+1])
		for q, t := range taps {
			if mask>>q&1 == 0 {
				continue
			}
			o := out[base-(t[0]/c.S*c.OW+t[1]/c.S)*n:][:n]
			for k, v := range sum[q*n:][:n] {
				o[k] += v
			}
		}
	}
}

// HasPositionKernel reports whether ScatterPositions has a SIMD version
// for a k×k kernel at stride s into rows of n floats.
func HasPositionKernel(k, s, n int) bool { return eventImpl.hasPos(k, s, n) }

// ScatterPositions is ScatterPositionsGeneric with SIMD where
// HasPositionKernel(c.K, c.S, c.N): fused multiply-adds, so sums may round
// differently, and the masked-off taps written to dummy instead of
// branched around. Offsets are not checked here.
func ScatterPositions(out, w []float32, ents, start, list, bases []int32, dummy []float32, c PosClass) {
	if len(list) == 0 {
		return
	}
	if !eventImpl.hasPos(c.K, c.S, c.N) {
		ScatterPositionsGeneric(out, w, ents, start, list, bases, dummy, c)
		return
	}
	eventImpl.scatterPos(out, w, ents, start, list, bases, dummy, c)
}

// ScatterRowsGeneric sets out to one frame of a 3×3 convolution at stride
// s (1 or 2) with one position of zero padding on every side of the input
// frame x: h rows of wd positions of cs floats, the first cin of them its
// channels (the rest, padding, are ignored). The output is (h-1)/s+1 rows
// of (wd-1)/s+1 positions of n floats, each bias (n floats) plus its sums:
// every non-zero x at position (y, x), channel c, in that order (positions
// row-major, channels ascending), adds value × w[(c·9 + i·3+j)·n:][:n] to
// output ((y+1-i)/s, (x+1-j)/s) where that divides and lies inside. dummy
// (3·n floats) is scratch for the SIMD kernels. w holds the weights of
// max(cin, SweepChannels) channels, those from cin on zero.
func ScatterRowsGeneric(out, w, x []float32, cs, cin int, dummy, bias []float32, h, wd, s, n int) {
	oh, ow := (h-1)/s+1, (wd-1)/s+1
	for o := 0; o < oh*ow; o++ {
		copy(out[o*n:(o+1)*n], bias)
	}
	for p := 0; p < h*wd; p++ {
		y, xp := p/wd, p%wd
		for c, v := range x[p*cs:][:cin] {
			if v == 0 {
				continue
			}
			for i := 0; i < 3; i++ {
				for j := 0; j < 3; j++ {
					ty, tx := y+1-i, xp+1-j
					if ty < 0 || tx < 0 || ty%s != 0 || tx%s != 0 || ty/s >= oh || tx/s >= ow {
						continue
					}
					o, wr := out[(ty/s*ow+tx/s)*n:][:n], w[(c*9+i*3+j)*n:][:n]
					for k := range o {
						o[k] += v * wr[k]
					}
				}
			}
		}
	}
}

// SweepChannels is the number of input channels whose weights ScatterRows
// and Pointwise read: w must hold that many (the channels from cin on
// zero). Their SIMD kernels take each position's first few non-zero
// channels without a branch, and a slot left without one takes channel 32
// (the bit index of an empty mask), with these zero weights and a zero
// value: how many channels a position has is data the branch predictor
// cannot learn, and a mispredicted loop exit per position cost more than
// the adds it saved.
const SweepChannels = 33

// SweepMaxSlots is the most non-zero channels per position the SIMD
// ScatterRows and Pointwise take without a branch.
const SweepMaxSlots = 4

// SweepSlots returns the slots for ScatterRows (fmas: the vectors each
// channel adds, taps times output vectors, averaged over the positions) or
// Pointwise whose input positions have mean non-zero channels of cin on
// average: the number that minimises c·E[max(k, slots)] + m·P(k > slots),
// k binomial. A slot costs c = fmas/2 + 1.5 cycles, whether or not a
// channel fills it, and a position with channels left over a branch
// predicted wrong, m = 20 cycles for row sweeps, 4 for pointwise kernels
// (fitted to BenchmarkPositionScatterer at 5-20 %: there one slot or two
// did best at 10-13 %). A negative mean (not
// known) gives 2.
func SweepSlots(mean float64, cin int, fmas float64, pointwise bool) int {
	if mean < 0 || cin < 1 || math.IsNaN(mean) {
		return 2
	}
	p := min(mean/float64(cin), 1)
	// The binomial probabilities of 0..SweepMaxSlots channels.
	var pk [SweepMaxSlots + 1]float64
	q := math.Pow(1-p, float64(cin))
	for k := 0; k <= SweepMaxSlots; k++ {
		pk[k] = q
		if k < cin && p < 1 {
			q *= float64(cin-k) / float64(k+1) * p / (1 - p)
		} else {
			q = 0
		}
	}
	c, m := fmas/2+1.5, 20.0
	if pointwise {
		m = 4
	}
	best, bestCost := 1, math.Inf(1)
	below, under := 0.0, 0.0 // P(k < slots), E[(slots - k)+]
	for slots := 1; slots <= SweepMaxSlots; slots++ {
		below += pk[slots-1]
		under += below // E[(slots-k)+] grows by P(k ≤ slots-1)
		cost := c*(mean+under) + m*(1-below-pk[slots])
		if cost < bestCost {
			best, bestCost = slots, cost
		}
	}
	return best
}

// HasRowsKernel reports whether ScatterRows has a SIMD version at stride
// s for rows of n floats and inputs of cin channels.
func HasRowsKernel(s, n, cin int) bool { return eventImpl.hasRows(s, n, cin) }

// ScatterRows is ScatterRowsGeneric with SIMD where HasRowsKernel(s, n,
// cin): the positions of an input row sweep from left to right with the
// sums of the output columns they reach in registers, each position's
// non-zero channels found by a compare of its vectors with zero; an output
// column goes to memory once it is complete (at stride 1 three times per
// position instead of nine read-modify-writes), stored with the bias when
// the row is new. Each position's first slots non-zero channels (1 to
// SweepMaxSlots; SweepSlots chooses) go without a branch. Sums may round
// differently. Sizes are not checked here.
func ScatterRows(out, w, x []float32, cs, cin int, dummy, bias []float32, h, wd, s, n, slots int) {
	if h == 0 || wd == 0 {
		return
	}
	if !eventImpl.hasRows(s, n, cin) {
		ScatterRowsGeneric(out, w, x, cs, cin, dummy, bias, h, wd, s, n)
		return
	}
	eventImpl.scatterRows(out, w, x, cs, cin, dummy, bias, h, wd, s, n, slots)
}

// scatterRowsGeneric and pointwiseGeneric are the generic kernels with the
// slots the SIMD ones take (and they ignore).
func scatterRowsGeneric(out, w, x []float32, cs, cin int, dummy, bias []float32, h, wd, s, n, _ int) {
	ScatterRowsGeneric(out, w, x, cs, cin, dummy, bias, h, wd, s, n)
}

func pointwiseGeneric(out, w, x []float32, cs, cin int, bias []float32, h, wd, s, n, _ int) {
	PointwiseGeneric(out, w, x, cs, cin, bias, h, wd, s, n)
}

// PointwiseGeneric sets out to one frame of a 1×1 convolution at stride s
// without padding of the frame x: h rows of wd positions of cs floats, the
// first cin of them its channels (the rest, padding, are ignored). The
// output is (h-1)/s+1 rows of (wd-1)/s+1 positions of n floats, each bias
// (n floats) plus, for every non-zero channel c of input position (s·Y,
// s·X) in ascending order, value × w[c·n:][:n]. w holds the weights of
// max(cin, SweepChannels) channels, those from cin on zero.
func PointwiseGeneric(out, w, x []float32, cs, cin int, bias []float32, h, wd, s, n int) {
	oh, ow := (h-1)/s+1, (wd-1)/s+1
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			o := out[(oy*ow+ox)*n:][:n]
			copy(o, bias[:n])
			for c, v := range x[(s*oy*wd+s*ox)*cs:][:cin] {
				if v == 0 {
					continue
				}
				for k, wk := range w[c*n:][:n] {
					o[k] += v * wk
				}
			}
		}
	}
}

// HasPointwiseKernel reports whether Pointwise has a SIMD version for rows
// of n floats and inputs of cin channels.
func HasPointwiseKernel(n, cin int) bool { return eventImpl.hasPointwise(n, cin) }

// Pointwise is PointwiseGeneric with SIMD where HasPointwiseKernel(n,
// cin): each output is stored once, its sums kept in registers (fused
// multiply-adds, so they may round differently), the first slots non-zero
// channels of its input position (1 to SweepMaxSlots) taken without a
// branch. Sizes are not checked here.
func Pointwise(out, w, x []float32, cs, cin int, bias []float32, h, wd, s, n, slots int) {
	if h == 0 || wd == 0 {
		return
	}
	if !eventImpl.hasPointwise(n, cin) {
		PointwiseGeneric(out, w, x, cs, cin, bias, h, wd, s, n)
		return
	}
	eventImpl.pointwise(out, w, x, cs, cin, bias, h, wd, s, n, slots)
}

// HasWindowKernel reports whether ScatterWindow has a SIMD version for a
// k×k kernel and n output channels.
func HasWindowKernel(k, n int) bool { return eventImpl.hasWindow(k, n) }

// ScatterWindow is ScatterWindowGeneric with SIMD where HasWindowKernel(k,
// n): the weights of 16 (then 8, then 4) output channels stay in registers
// while every event adds them to its taps' outputs. Offsets are not
// checked here.
func ScatterWindow(out, w, vals []float32, bases []int32, k, ow, n int) {
	if len(vals) == 0 {
		return
	}
	if !eventImpl.hasWindow(k, n) {
		ScatterWindowGeneric(out, w, vals, bases, k, ow, n)
		return
	}
	eventImpl.window(out, w, vals, bases, k, ow, n)
}

// VectorWidth returns the floats per vector of the selected kernels: 16
// (AVX-512), 8 (AVX2) or 1 (pure Go).
func VectorWidth() int {
	switch best.ISA {
	case ISAAVX512:
		return 16
	case ISAAVX2:
		return 8
	}
	return 1
}
