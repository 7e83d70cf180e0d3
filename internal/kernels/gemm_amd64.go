//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:generate sh -c "cd _asm && go run . -out ../gemm_amd64.s -decl ../gemm_amd64_decl.go"

func kernelAVX512Rows(kc int, a, b []float32, offs []int, c []float32, ldc, n int, acc bool) {
	// The row offsets were checked against len(b) by the caller
	// (tensor.Packed.MulRowsSerial) once for the whole product.
	_ = a[kc*8-1]
	offs = offs[:kc]
	_ = c[7*ldc+n-1]
	if n == 32 {
		sgemm8x32AVX512Rows(kc, &a[0], &b[0], &offs[0], &c[0], ldc, 0, acc)
		return
	}
	sgemm8x32AVX512RowsMask(kc, &a[0], &b[0], &offs[0], &c[0], ldc, uint32(1)<<n-1, acc)
}

func kernelAVX512RowsA(kc int, a []float32, aoffs []int, b []float32, c []float32, ldc, n int, acc bool) {
	aoffs = aoffs[:8]
	for _, o := range aoffs {
		_ = a[o+kc-1]
	}
	_ = b[kc*32-1]
	_ = c[7*ldc+n-1]
	sgemm8x32AVX512RowsA(kc, &a[0], &aoffs[0], &b[0], &c[0], ldc, uint32(1)<<n-1, acc)
}

func kernelAVX2(kc int, a, b []float32, ldb int, c []float32, ldc, n int, acc bool) {
	_ = a[kc*6-1]
	_ = b[(kc-1)*ldb+15]
	_ = c[5*ldc+15]
	sgemm6x16AVX2(kc, &a[0], &b[0], ldb, &c[0], ldc, 0, acc)
}

func kernelAVX512(kc int, a, b []float32, ldb int, c []float32, ldc, n int, acc bool) {
	_ = a[kc*8-1]
	_ = b[(kc-1)*ldb+n-1]
	_ = c[7*ldc+n-1]
	if n == 32 {
		sgemm8x32AVX512(kc, &a[0], &b[0], ldb, &c[0], ldc, 0, acc)
		return
	}
	sgemm8x32AVX512Mask(kc, &a[0], &b[0], ldb, &c[0], ldc, uint32(1)<<n-1, acc)
}

func asmImpls() []Impl {
	var impls []Impl
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		impls = append(impls, Impl{ISA: ISAAVX2, MR: 6, NR: 16, kernel: kernelAVX2})
	}
	if cpu.X86.HasAVX512F {
		impls = append(impls, Impl{ISA: ISAAVX512, MR: 8, NR: 32, Masked: true, kernel: kernelAVX512, rowsKernel: kernelAVX512Rows, rowsAKernel: kernelAVX512RowsA})
	}
	return impls
}

func convAsm() []convKernel {
	var ks []convKernel
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, convKernel{isa: ISAAVX2, mr: 6, nr: 16, tile: func(a []float32, rowoffs, koffs []int, b []float32, c []float32, ldc, n int, acc bool) {
			rowoffs = rowoffs[:6]
			_ = b[len(koffs)*16-1]
			_ = c[5*ldc+15]
			sconv6x16AVX2(len(koffs), &a[0], &rowoffs[0], &koffs[0], &b[0], &c[0], ldc, acc)
		}})
	}
	if cpu.X86.HasAVX512F {
		ks = append(ks, convKernel{isa: ISAAVX512, mr: 8, nr: 32, masked: true, tile: func(a []float32, rowoffs, koffs []int, b []float32, c []float32, ldc, n int, acc bool) {
			rowoffs = rowoffs[:8]
			_ = b[len(koffs)*ConvNR-1]
			_ = c[7*ldc+n-1]
			sconv8x32AVX512(len(koffs), &a[0], &rowoffs[0], &koffs[0], &b[0], &c[0], ldc, uint32(1)<<n-1, acc)
		}})
	}
	return ks
}

var iota16 = [16]int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// eventImpls lists the event kernels this CPU supports, generic first.
func eventImpls() []eventFuncs {
	impls := []eventFuncs{eventGeneric}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		compress, scatter := eventsAVX2()
		impls = append(impls, eventFuncs{
			isa: ISAAVX2, compress: compress,
			scatter: scatter, hasScatter: func(n int) bool { return n%4 == 0 },
			compressPos: compressPosAVX2Go(),
			gather:      gatherAVX2, hasGather: func(n int) bool { return n%8 == 0 && n >= 8 },
			window: ScatterWindowGeneric, hasWindow: func(int, int) bool { return false },
			compressList: CompressListGeneric,
			scatterPos:   ScatterPositionsGeneric, hasPos: func(int, int, int) bool { return false },
			scatterRows: scatterRowsGeneric, hasRows: func(int, int, int) bool { return false },
			pointwise: pointwiseGeneric, hasPointwise: func(int, int) bool { return false },
			spikeBits: SpikeBitsGeneric,
			table:     TableConvGeneric, hasTable: func(int, int) bool { return false },
		})
	}
	if cpu.X86.HasAVX512F {
		compress, scatter := eventsAsm()
		impls = append(impls, eventFuncs{
			isa: ISAAVX512, compress: compress,
			scatter: scatter, hasScatter: func(int) bool { return true },
			compressPos: compressPosAsm(),
			gather:      gatherAsm, hasGather: func(n int) bool { return n%16 == 0 && n >= 16 },
			window: windowAsm, hasWindow: func(k, n int) bool { return (k == 3 || k == 5) && n%4 == 0 },
			compressList: compressListAsm,
			scatterPos:   posAsm, hasPos: hasPosAsm,
			scatterRows: rowsAsm, hasRows: hasRowsAsm,
			pointwise: pointwiseAsm, hasPointwise: hasPointwiseAsm,
			spikeBits: spikeBitsAsm,
			table:     tableAsm, hasTable: func(groups, n int) bool {
				return cpu.X86.HasBMI2 && groups%4 == 0 && groups >= 4 && groups <= 16 && n%16 == 0 && n >= 16 && n <= 64
			},
		})
	}
	return impls
}

func eventsAsm() (func(x []float32, idx []int32, vals []float32) int, func(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int)) {
	compress := func(x []float32, idx []int32, vals []float32) int {
		return compressNonzeroAVX512(&x[0], len(x), &iota16[0], &idx[0], &vals[0])
	}
	events := func(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int) {
		switch n {
		case 16:
			scatterEvents1AVX512(&out[0], &wt[0], &vals[0], &idx[0], len(idx), &tapIdx[0], &taps[0])
			return
		case 32:
			scatterEvents2AVX512(&out[0], &wt[0], &vals[0], &idx[0], len(idx), &tapIdx[0], &taps[0])
			return
		case 64:
			scatterEvents4AVX512(&out[0], &wt[0], &vals[0], &idx[0], len(idx), &tapIdx[0], &taps[0])
			return
		case 128:
			scatterEvents8AVX512(&out[0], &wt[0], &vals[0], &idx[0], len(idx), &tapIdx[0], &taps[0])
			return
		}
		if n < 128 && n%4 == 0 {
			scatterWidth[n/4](&out[0], &wt[0], &vals[0], &idx[0], len(idx), &tapIdx[0], &taps[0])
			return
		}
		scatterEventsAVX512(&out[0], &wt[0], &vals[0], &idx[0], len(idx), &tapIdx[0], &taps[0], n/16, uint16(1)<<(n%16)-1)
	}
	return compress, events
}

// pairIdx interleaves 16 offsets (table 0..15) and 16 values (16..31) into
// 16 (offset, value) pairs, two vectors of 8.
var pairIdx = func() (t [32]int32) {
	for k := 0; k < 16; k++ {
		t[2*k], t[2*k+1] = int32(k), int32(16+k)
	}
	return t
}()

func compressPosAsm() func(x []float32, cs int, chOff []int32, posStride int, ents, start []int32) {
	return func(x []float32, cs int, chOff []int32, posStride int, ents, start []int32) {
		compressPosAVX512(&x[0], len(start)-1, cs, &chOff[0], posStride, &ents[0], &start[0], &pairIdx[0])
	}
}

// gatherSeg1AVX512 ... gatherSeg8AVX512 are GatherSegments for rows of
// exactly 16 ... 128 floats.
var gatherKernels = [...]func(out, w *float32, segs, ents *int32, start *int32, nitems int){
	gatherSeg1AVX512, gatherSeg2AVX512, gatherSeg3AVX512, gatherSeg4AVX512,
	gatherSeg5AVX512, gatherSeg6AVX512, gatherSeg7AVX512, gatherSeg8AVX512,
}

func gatherAsm(out, w []float32, segs, ents, start []int32, n, nitems int) {
	for c := 0; c < n; c += 128 { // blocks of up to 128 channels, the same runs
		m := min(128, n-c)
		gatherKernels[m/16-1](&out[c], &w[c], &segs[0], &ents[0], &start[0], nitems)
	}
}

// scatterWidth[n/4] is ScatterEventsGeneric for exactly n channels, n a
// multiple of 4 below 128 but not of 16 (whole vectors, then 8 and 4 wide).
var scatterWidth = [32]func(out, wt *float32, vals *float32, idx *int32, nidx int, tapIdx *int32, taps *int32){
	1:  scatterEventsW4AVX512,
	2:  scatterEventsW8AVX512,
	3:  scatterEventsW12AVX512,
	5:  scatterEventsW20AVX512,
	6:  scatterEventsW24AVX512,
	7:  scatterEventsW28AVX512,
	9:  scatterEventsW36AVX512,
	10: scatterEventsW40AVX512,
	11: scatterEventsW44AVX512,
	13: scatterEventsW52AVX512,
	14: scatterEventsW56AVX512,
	15: scatterEventsW60AVX512,
	17: scatterEventsW68AVX512,
	18: scatterEventsW72AVX512,
	19: scatterEventsW76AVX512,
	21: scatterEventsW84AVX512,
	22: scatterEventsW88AVX512,
	23: scatterEventsW92AVX512,
	25: scatterEventsW100AVX512,
	26: scatterEventsW104AVX512,
	27: scatterEventsW108AVX512,
	29: scatterEventsW116AVX512,
	30: scatterEventsW120AVX512,
	31: scatterEventsW124AVX512,
}

// spikeBitsAsm is SpikeBits with the AVX-512 kernel (cs a multiple of 16).
func spikeBitsAsm(x []float32, cs, w int, bits []byte, rowStride int, others []int32) int {
	rows := len(x) / (w * cs)
	_ = bits[(rows-1)*rowStride+w*cs/8-1]
	_ = others[len(x)+15]
	return spikeBitsAVX512(&x[0], &bits[0], rows, w*cs/16, rowStride, &others[0], &iota16[0])
}

// tableKernels are the AVX-512 table convolutions by groups/4-1 and n/16-1.
var tableKernels = [4][4]func(out, table *float32, bits *byte, origins, taps *int32, nout, ntaps int){
	{tableConv4x1AVX512, tableConv4x2AVX512, tableConv4x3AVX512, tableConv4x4AVX512},
	{tableConv8x1AVX512, tableConv8x2AVX512, tableConv8x3AVX512, tableConv8x4AVX512},
	{tableConv12x1AVX512, tableConv12x2AVX512, tableConv12x3AVX512, tableConv12x4AVX512},
	{tableConv16x1AVX512, tableConv16x2AVX512, tableConv16x3AVX512, tableConv16x4AVX512},
}

// tableAsm is TableConv with the AVX-512 kernels (HasTableKernel).
func tableAsm(out, table []float32, bits []byte, origins, taps []int32, groups, n int) {
	_ = out[len(origins)*n-1]
	tableKernels[groups/4-1][n/16-1](&out[0], &table[0], &bits[0], &origins[0], &taps[0], len(origins), len(taps))
}

// posKernel is the signature of the generated position scatters.
type posKernel = func(out, w *float32, ents, start, list, bases *int32, dummy *float32, npos, rowBytes, colBytes int)

// posKernels are the AVX-512 position scatters by kernel size, stride and
// vectors per row, one per class (RY·S+RX); a class without taps is nil.
// At stride 2 only 1×1 kernels: for 3×3 (every class its own kernel,
// resnet_fmnist's strided layers) gathering measured 10-25 % faster, the
// positions' few taps leaving the loop exits to dominate.
var posKernels = map[[3]int][]posKernel{
	{3, 1, 1}: {scatterPos3x1AVX512},
	{5, 1, 1}: {scatterPos5x1AVX512},
	{3, 1, 2}: {scatterPos3x2AVX512},
	{1, 1, 1}: {scatterPos1x1AVX512},
	{1, 1, 2}: {scatterPos1x2AVX512},
	{1, 1, 4}: {scatterPos1x4AVX512},
	// A 1×1 kernel at stride 2 (a projection shortcut): only class 0
	// reaches the output, through one tap, as at stride 1.
	{1, 2, 1}: {scatterPos1x1AVX512, nil, nil, nil},
	{1, 2, 2}: {scatterPos1x2AVX512, nil, nil, nil},
	{1, 2, 4}: {scatterPos1x4AVX512, nil, nil, nil},
}

func hasPosAsm(k, s, n int) bool {
	_, ok := posKernels[[3]int{k, s, n / 16}]
	return ok && n%16 == 0
}

// posAsm is ScatterPositions with the AVX-512 kernels (HasPositionKernel).
// A class without taps (a 1×1 kernel's odd positions) reaches nothing.
func posAsm(out, w []float32, ents, start, list, bases []int32, dummy []float32, c PosClass) {
	kern := posKernels[[3]int{c.K, c.S, c.N / 16}][c.RY*c.S+c.RX]
	if kern == nil || len(list) == 0 {
		return
	}
	_ = dummy[len(c.Taps())*c.N-1]
	kern(&out[0], &w[0], &ents[0], &start[0], &list[0], &bases[0], &dummy[0], len(list), 4*c.OW*c.N, 4*c.N)
}

// rowsKern and pointKern are the signatures of the row sweep and
// pointwise kernels.
type (
	rowsKern  = func(out, w, x *float32, xStride, masks int, dummy, bias *float32, h, wd int)
	pointKern = func(out, w, x *float32, xStride, rowStride, masks int, bias *float32, oh, ow int)
)

// The row sweep kernels by stride, rows of vectors and input vectors
// (c1: up to 16 channels, c2: up to 32), each with 1 to SweepMaxSlots
// slots.
var (
	rows3x1c1   = [...]rowsKern{scatterRows3x1c1u1AVX512, scatterRows3x1c1u2AVX512, scatterRows3x1c1u3AVX512, scatterRows3x1c1u4AVX512}
	rows3x1c2   = [...]rowsKern{scatterRows3x1c2u1AVX512, scatterRows3x1c2u2AVX512, scatterRows3x1c2u3AVX512, scatterRows3x1c2u4AVX512}
	rows3x2c1   = [...]rowsKern{scatterRows3x2c1u1AVX512, scatterRows3x2c1u2AVX512, scatterRows3x2c1u3AVX512, scatterRows3x2c1u4AVX512}
	rows3x2c2   = [...]rowsKern{scatterRows3x2c2u1AVX512, scatterRows3x2c2u2AVX512, scatterRows3x2c2u3AVX512, scatterRows3x2c2u4AVX512}
	rows3s2x1c1 = [...]rowsKern{scatterRows3s2x1c1u1AVX512, scatterRows3s2x1c1u2AVX512, scatterRows3s2x1c1u3AVX512, scatterRows3s2x1c1u4AVX512}
	rows3s2x1c2 = [...]rowsKern{scatterRows3s2x1c2u1AVX512, scatterRows3s2x1c2u2AVX512, scatterRows3s2x1c2u3AVX512, scatterRows3s2x1c2u4AVX512}
	rows3s2x2c1 = [...]rowsKern{scatterRows3s2x2c1u1AVX512, scatterRows3s2x2c1u2AVX512, scatterRows3s2x2c1u3AVX512, scatterRows3s2x2c1u4AVX512}
	rows3s2x2c2 = [...]rowsKern{scatterRows3s2x2c2u1AVX512, scatterRows3s2x2c2u2AVX512, scatterRows3s2x2c2u3AVX512, scatterRows3s2x2c2u4AVX512}
	rows3s2x4c1 = [...]rowsKern{scatterRows3s2x4c1u1AVX512, scatterRows3s2x4c1u2AVX512, scatterRows3s2x4c1u3AVX512, scatterRows3s2x4c1u4AVX512}
	rows3s2x4c2 = [...]rowsKern{scatterRows3s2x4c2u1AVX512, scatterRows3s2x4c2u2AVX512, scatterRows3s2x4c2u3AVX512, scatterRows3s2x4c2u4AVX512}
	point1c1    = [...]pointKern{pointwise1c1u1AVX512, pointwise1c1u2AVX512, pointwise1c1u3AVX512, pointwise1c1u4AVX512}
	point1c2    = [...]pointKern{pointwise1c2u1AVX512, pointwise1c2u2AVX512, pointwise1c2u3AVX512, pointwise1c2u4AVX512}
	point2c1    = [...]pointKern{pointwise2c1u1AVX512, pointwise2c1u2AVX512, pointwise2c1u3AVX512, pointwise2c1u4AVX512}
	point2c2    = [...]pointKern{pointwise2c2u1AVX512, pointwise2c2u2AVX512, pointwise2c2u3AVX512, pointwise2c2u4AVX512}
	point4c1    = [...]pointKern{pointwise4c1u1AVX512, pointwise4c1u2AVX512, pointwise4c1u3AVX512, pointwise4c1u4AVX512}
	point4c2    = [...]pointKern{pointwise4c2u1AVX512, pointwise4c2u2AVX512, pointwise4c2u3AVX512, pointwise4c2u4AVX512}
)

// rowsAsm is ScatterRows with the AVX-512 kernels (HasRowsKernel): the
// kernels store the rows they reach first, so only output row 0 is filled
// with the bias here.
func rowsAsm(out, w, x []float32, cs, cin int, dummy, bias []float32, h, wd, s, n, slots int) {
	ow := (wd-1)/s + 1
	_ = x[h*wd*cs-1]
	_ = w[SweepChannels*9*n-1]
	_ = out[((h-1)/s+1)*ow*n-1]
	_ = dummy[3*n-1]
	bias = bias[:n]
	for o := 0; o < ow; o++ {
		copy(out[o*n:(o+1)*n], bias)
	}
	var kerns *[SweepMaxSlots]rowsKern
	switch c2 := cin > 16; {
	case s == 1 && n == 16 && !c2:
		kerns = &rows3x1c1
	case s == 1 && n == 16:
		kerns = &rows3x1c2
	case s == 1 && !c2:
		kerns = &rows3x2c1
	case s == 1:
		kerns = &rows3x2c2
	case n == 16 && !c2:
		kerns = &rows3s2x1c1
	case n == 16:
		kerns = &rows3s2x1c2
	case n == 32 && !c2:
		kerns = &rows3s2x2c1
	case n == 32:
		kerns = &rows3s2x2c2
	case !c2:
		kerns = &rows3s2x4c1
	default:
		kerns = &rows3s2x4c2
	}
	kerns[min(max(slots, 1), SweepMaxSlots)-1](&out[0], &w[0], &x[0], 4*cs, channelMasks(cin), &dummy[0], &bias[0], h, wd)
}

// hasRowsAsm reports whether rowsAsm has a kernel: 3×3 at stride 1 into
// rows of 16 or 32 floats or at stride 2 into 16, 32 or 64, from inputs of
// up to 32 channels.
func hasRowsAsm(s, n, cin int) bool {
	return cpu.X86.HasBMI1 && cin >= 1 && cin <= 32 && (s == 1 && (n == 16 || n == 32) || s == 2 && (n == 16 || n == 32 || n == 64))
}

// pointwiseAsm is Pointwise with the AVX-512 kernels (HasPointwiseKernel).
func pointwiseAsm(out, w, x []float32, cs, cin int, bias []float32, h, wd, s, n, slots int) {
	oh, ow := (h-1)/s+1, (wd-1)/s+1
	_ = x[h*wd*cs-1]
	_ = w[SweepChannels*n-1]
	_ = out[oh*ow*n-1]
	_ = bias[n-1]
	var kerns *[SweepMaxSlots]pointKern
	switch c2 := cin > 16; {
	case n == 16 && !c2:
		kerns = &point1c1
	case n == 16:
		kerns = &point1c2
	case n == 32 && !c2:
		kerns = &point2c1
	case n == 32:
		kerns = &point2c2
	case !c2:
		kerns = &point4c1
	default:
		kerns = &point4c2
	}
	kerns[min(max(slots, 1), SweepMaxSlots)-1](&out[0], &w[0], &x[0], 4*s*cs, 4*s*wd*cs, channelMasks(cin), &bias[0], oh, ow)
}

// hasPointwiseAsm reports whether pointwiseAsm has a kernel: rows of 16,
// 32 or 64 floats from inputs of up to 32 channels.
func hasPointwiseAsm(n, cin int) bool {
	return cpu.X86.HasBMI1 && cin >= 1 && cin <= 32 && (n == 16 || n == 32 || n == 64)
}

// channelMasks returns the masks of the real channels among a position's
// first and second vector (bits 0-15 and 16-31) for the kernels that find
// a position's non-zero channels themselves.
func channelMasks(cin int) int {
	return 1<<min(cin, 16) - 1 | (1<<max(cin-16, 0)-1)<<16
}

// compressListAsm is CompressList with the AVX-512 kernel.
func compressListAsm(x []float32, cs int, chOff, order, ents, list, start []int32) int {
	_ = start[len(order)]
	_ = list[len(order)-1]
	return compressListAVX512(&x[0], cs, &chOff[0], &order[0], len(order), &ents[0], &list[0], &start[0], &pairIdx[0])
}

// windowAsm is ScatterWindow in blocks of 16, 8 and 4 output channels.
func windowAsm(out, w, vals []float32, bases []int32, k, ow, n int) {
	kern := [2][3]func(out, w *float32, wStride int, vals *float32, bases *int32, nev, rowBytes, colBytes int){
		{scatterWindow3ZAVX512, scatterWindow3YAVX512, scatterWindow3XAVX512},
		{scatterWindow5ZAVX512, scatterWindow5YAVX512, scatterWindow5XAVX512},
	}[k/2-1]
	for c := 0; c < n; {
		var i, m int
		switch r := n - c; {
		case r >= 16:
			i, m = 0, 16
		case r >= 8:
			i, m = 1, 8
		default:
			i, m = 2, 4
		}
		kern[i](&out[c], &w[c], 4*n, &vals[0], &bases[0], len(vals), 4*ow*n, 4*n)
		c += m
	}
}

// AVX2 event kernels (gen.go): no compress instruction, so compressing
// goes through lutCompress, a permutation per 8-lane mask.

// lutCompress row m lists the lanes set in m in order, then the others.
var lutCompress = func() (t [256 * 8]int32) {
	for m := 0; m < 256; m++ {
		k := 0
		for l := 0; l < 8; l++ {
			if m&(1<<l) != 0 {
				t[m*8+k] = int32(l)
				k++
			}
		}
		for l := 0; l < 8; l++ {
			if m&(1<<l) == 0 {
				t[m*8+k] = int32(l)
				k++
			}
		}
	}
	return t
}()

// tailMasks[r] has its first r lanes set (VMASKMOVPS masks).
var tailMasks = func() (t [8][8]int32) {
	for r := range t {
		for l := 0; l < r; l++ {
			t[r][l] = -1
		}
	}
	return t
}()

func eventsAVX2() (func(x []float32, idx []int32, vals []float32) int, func(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int)) {
	compress := func(x []float32, idx []int32, vals []float32) int {
		n8 := len(x) / 8
		c := compressNonzeroAVX2(&x[0], n8, &lutCompress[0], &idx[0], &vals[0])
		for i := n8 * 8; i < len(x); i++ {
			if x[i] != 0 {
				idx[c], vals[c] = int32(i), x[i]
				c++
			}
		}
		return c
	}
	events := func(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int) {
		if n%4 != 0 {
			ScatterEventsGeneric(out, wt, vals, idx, tapIdx, taps, n)
			return
		}
		for c := 0; c < n; c += 64 { // blocks of up to 64 channels
			m := min(64, n-c)
			scatterWidthAVX2[m/4](&out[c], &wt[c], &vals[0], &idx[0], len(idx), &tapIdx[0], &taps[0])
		}
	}
	return compress, events
}

func compressPosAVX2Go() func(x []float32, cs int, chOff []int32, posStride int, ents, start []int32) {
	return func(x []float32, cs int, chOff []int32, posStride int, ents, start []int32) {
		compressPosAVX2(&x[0], len(start)-1, cs, &chOff[0], posStride, &ents[0], &start[0], &lutCompress[0], &tailMasks[cs%8][0])
	}
}

var gatherKernelsAVX2 = [...]func(out, w *float32, segs, ents *int32, start *int32, nitems int){
	gatherSeg1AVX2, gatherSeg2AVX2, gatherSeg3AVX2, gatherSeg4AVX2,
	gatherSeg5AVX2, gatherSeg6AVX2, gatherSeg7AVX2, gatherSeg8AVX2,
}

func gatherAVX2(out, w []float32, segs, ents, start []int32, n, nitems int) {
	for c := 0; c < n; c += 64 { // blocks of up to 64 channels, the same runs
		m := min(64, n-c)
		gatherKernelsAVX2[m/8-1](&out[c], &w[c], &segs[0], &ents[0], &start[0], nitems)
	}
}

// scatterWidthAVX2[n/4] is ScatterEventsGeneric for exactly n channels, n a
// multiple of 4 up to 64 (8-float vectors, then a 4-float one).
var scatterWidthAVX2 = [17]func(out, wt *float32, vals *float32, idx *int32, nidx int, tapIdx *int32, taps *int32){
	1:  scatterEventsW4AVX2,
	2:  scatterEventsW8AVX2,
	3:  scatterEventsW12AVX2,
	4:  scatterEventsW16AVX2,
	5:  scatterEventsW20AVX2,
	6:  scatterEventsW24AVX2,
	7:  scatterEventsW28AVX2,
	8:  scatterEventsW32AVX2,
	9:  scatterEventsW36AVX2,
	10: scatterEventsW40AVX2,
	11: scatterEventsW44AVX2,
	12: scatterEventsW48AVX2,
	13: scatterEventsW52AVX2,
	14: scatterEventsW56AVX2,
	15: scatterEventsW60AVX2,
	16: scatterEventsW64AVX2,
}
