//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// compressNonzeroAVX512 is CompressNonzeroGeneric (iota holds 0..15).
//
//go:noescape
func compressNonzeroAVX512(x *float32, n int, iota *int32, idx *int32, vals *float32) int

// scatterEventsAVX512 is ScatterEventsGeneric with FMA for
// n = 16·nv + popcount(mask) channels.
//
//go:noescape
func scatterEventsAVX512(out, wt *float32, vals *float32, idx *int32, nidx int, tapIdx *int32, taps *int32, nv int, mask uint16)

// addAVX512 is AddGeneric(dst[:n], src[:n]).
//
//go:noescape
func addAVX512(dst, src *float32, n int)

// reluAVX512 is ReluGeneric(dst[:n], src[:n]).
//
//go:noescape
func reluAVX512(dst, src *float32, n int)

// reluGradAVX512 is ReluGradGeneric(dst[:n], dy[:n], out[:n]).
//
//go:noescape
func reluGradAVX512(dst, dy, out *float32, n int)

// scaleAVX512 is ScaleGeneric(dst[:n], src[:n], f).
//
//go:noescape
func scaleAVX512(dst, src *float32, n int, f float32)

// sum2AVX512 is Sum2Generic(dst[:n], a[:n], b[:n]).
//
//go:noescape
func sum2AVX512(dst, a, b *float32, n int)

// addFramesAVX512 is AddFramesGeneric(acc[:n], x[:frames·n], frames)
// for frames >= 1.
//
//go:noescape
func addFramesAVX512(acc, x *float32, n, frames int)

// channelSumsAVX512 is ChannelSumsGeneric(acc[:n], x, stride/4, plane)
// for n a multiple of 8.
//
//go:noescape
func channelSumsAVX512(acc *float64, x *float32, n, stride, plane int)

// iafCountAVX512 is IAFGeneric(v[:n], x[:n], out[:n], theta, minV) that
// also stores the spikes it emits, summed per lane of 16, into lanes (one
// addition per block: IAF without counting uses it too).
//
//go:noescape
func iafCountAVX512(v, x, out *float32, n int, theta, minV float32, lanes *float32)

// iafSingleCountAVX512 is IAFSingleCountGeneric(v[:n], x[:n], out[:n],
// theta, minV), the spikes summed per lane of 16 into lanes.
//
//go:noescape
func iafSingleCountAVX512(v, x, out *float32, n int, theta, minV float32, lanes *float32)

// iafSum2CountAVX512 is iafCountAVX512 with input a + f·b: IAFSum2CountGeneric.
//
//go:noescape
func iafSum2CountAVX512(v, a, b, out *float32, n int, theta, minV, f float32, lanes *float32)

// sumAVX512 is SumGeneric(x[:n]).
//
//go:noescape
func sumAVX512(x *float32, n int) float32

// pool2x2AVX512 is Pool2x2Generic(out, r0, r1, ow, c, scale).
//
//go:noescape
func pool2x2AVX512(out, r0, r1 *float32, ow, c int, scale float32)

// countNonzeroAVX512 is CountNonzeroGeneric(x[:n], limit) (it may stop
// after a different block once the count exceeds limit).
//
//go:noescape
func countNonzeroAVX512(x *float32, n int, limit int) int

// addAVX2 (reluAVX2, reluGradAVX2, iafAVX2) is the AVX-512 kernel's AVX2
// version (iafAVX2: of iafCountAVX512, without the count) for the first
// n&^7 elements.
//
//go:noescape
func addAVX2(dst, src *float32, n int)

//go:noescape
func reluAVX2(dst, src *float32, n int)

//go:noescape
func reluGradAVX2(dst, dy, out *float32, n int)

//go:noescape
func iafAVX2(v, x, out *float32, n int, theta, minV float32)

//go:noescape
func sumAVX2(x *float32, n int, tailMask *int32) float32

//go:noescape
func countNonzeroAVX2(x *float32, n8 int, limit int) int

//go:noescape
func pool2x2AVX2(out, r0, r1 *float32, ow, c int, scale float32, tailMask *int32)

// onesThenZeros[16-r:] starts with r lanes set (-1) and then zeros: the
// masks of VMASKMOVPS for a tail of r < 16 elements.
var onesThenZeros = func() (t [32]int32) {
	for i := 0; i < 16; i++ {
		t[i] = -1
	}
	return t
}()

func vecAVX2() vecFuncs {
	f := vecGeneric
	f.isa = ISAAVX2
	f.sum = func(x []float32) float32 {
		if len(x) == 0 {
			return 0
		}
		return sumAVX2(&x[0], len(x), &onesThenZeros[16-len(x)%16])
	}
	f.countNonzero = func(x []float32, limit int) int {
		n8 := len(x) / 8
		c := 0
		if n8 > 0 {
			if c = countNonzeroAVX2(&x[0], n8, limit); c > limit {
				return c
			}
		}
		for _, v := range x[n8*8:] {
			if v != 0 {
				c++
			}
		}
		return c
	}
	f.pool2x2 = func(out, r0, r1 []float32, ow, c int, scale float32) {
		pool2x2AVX2(&out[0], &r0[0], &r1[0], ow, c, scale, &onesThenZeros[16-c%8])
	}
	f.add = func(dst, src []float32) {
		m := len(dst) &^ 7
		if m > 0 {
			addAVX2(&dst[0], &src[0], m)
		}
		AddGeneric(dst[m:], src[m:])
	}
	f.relu = func(dst, src []float32) {
		m := len(dst) &^ 7
		if m > 0 {
			reluAVX2(&dst[0], &src[0], m)
		}
		ReluGeneric(dst[m:], src[m:])
	}
	f.reluGrad = func(dst, dy, out []float32) {
		m := len(dst) &^ 7
		if m > 0 {
			reluGradAVX2(&dst[0], &dy[0], &out[0], m)
		}
		ReluGradGeneric(dst[m:], dy[m:], out[m:])
	}
	f.iaf = func(v, x, out []float32, theta, minV float32) {
		m := len(v) &^ 7
		if m > 0 {
			iafAVX2(&v[0], &x[0], &out[0], m, theta, minV)
		}
		IAFGeneric(v[m:], x[m:], out[m:], theta, minV)
	}
	// Frame after frame with the one-step kernel, then counted and summed.
	f.iafFrames = func(v, x []float32, xStride int, b []float32, fb float32, out []float32, frames int, theta, minV float32, sum []float32) float64 {
		if b != nil {
			return IAFFramesGeneric(v, x, xStride, b, fb, out, frames, theta, minV, sum)
		}
		n, count := len(v), 0.0
		for k := 0; k < frames; k++ {
			ok := out[k*n : (k+1)*n]
			f.iaf(v, x[k*xStride:k*xStride+n], ok, theta, minV)
			count += float64(f.sum(ok))
			if sum != nil {
				f.add(sum, ok)
			}
		}
		return count
	}
	return f
}

// vecImpls lists the elementwise kernels this CPU supports, generic first.
func vecImpls() []vecFuncs {
	impls := []vecFuncs{vecGeneric}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		impls = append(impls, vecAVX2())
	}
	if cpu.X86.HasAVX512F {
		impls = append(impls, vecAVX512())
	}
	return impls
}

func vecAVX512() vecFuncs {
	return vecFuncs{
		isa:          ISAAVX512,
		countNonzero: func(x []float32, limit int) int { return countNonzeroAVX512(&x[0], len(x), limit) },
		pool2x2: func(out, r0, r1 []float32, ow, c int, scale float32) {
			pool2x2AVX512(&out[0], &r0[0], &r1[0], ow, c, scale)
		},
		add:   func(dst, src []float32) { addAVX512(&dst[0], &src[0], len(dst)) },
		scale: func(dst, src []float32, f float32) { scaleAVX512(&dst[0], &src[0], len(dst), f) },
		sum2:  func(dst, a, b []float32) { sum2AVX512(&dst[0], &a[0], &b[0], len(dst)) },
		addFrames: func(acc, x []float32, frames int) {
			addFramesAVX512(&acc[0], &x[0], len(acc), frames)
		},
		channelSums: func(acc []float64, x []float32, cs, plane int) {
			m := len(acc) &^ 7
			if m > 0 {
				channelSumsAVX512(&acc[0], &x[0], m, 4*cs, plane)
			}
			if m < len(acc) {
				ChannelSumsGeneric(acc[m:], x[m:], cs, plane)
			}
		},
		relu:     func(dst, src []float32) { reluAVX512(&dst[0], &src[0], len(dst)) },
		reluGrad: func(dst, dy, out []float32) { reluGradAVX512(&dst[0], &dy[0], &out[0], len(dst)) },
		iaf: func(v, x, out []float32, theta, minV float32) {
			var lanes [16]float32
			iafCountAVX512(&v[0], &x[0], &out[0], len(v), theta, minV, &lanes[0])
		},
		iafSum2: func(v, a, b, out []float32, theta, minV, f float32) float64 {
			var lanes [16]float32
			iafSum2CountAVX512(&v[0], &a[0], &b[0], &out[0], len(v), theta, minV, f, &lanes[0])
			return laneSum(&lanes)
		},
		iafCount: func(v, x, out []float32, theta, minV float32) float64 {
			var lanes [16]float32
			iafCountAVX512(&v[0], &x[0], &out[0], len(v), theta, minV, &lanes[0])
			return laneSum(&lanes)
		},
		iafSingle: func(v, x, out []float32, theta, minV float32) float64 {
			var lanes [16]float32
			iafSingleCountAVX512(&v[0], &x[0], &out[0], len(v), theta, minV, &lanes[0])
			return laneSum(&lanes)
		},
		sum: func(x []float32) float32 {
			if len(x) == 0 {
				return 0
			}
			return sumAVX512(&x[0], len(x))
		},
		iafFrames: iafFramesAVX512,
	}
}

// iafFramesAVX512 is IAFFrames with the AVX-512 kernels (iafFrames*):
// blocks of 128 neurons, then of 16, then the rest in Go. A threshold the
// kernels' compare cannot stand for (not positive and finite) goes to Go.
func iafFramesAVX512(v, x []float32, xStride int, b []float32, f float32, out []float32, frames int, theta, minV float32, sum []float32) float64 {
	t, ok := iafFastLimits(theta)
	if !ok {
		return IAFFramesGeneric(v, x, xStride, b, f, out, frames, theta, minV, sum)
	}
	type kern = func(v, x, b, out, sum *float32, blocks, frames, xStride, outStride int, theta, minV, t1, t2, t3, f float32, lanes *float32, enter, stay int)
	var k8, k1 kern
	switch {
	case b == nil && sum == nil:
		k8, k1 = iafFramesx8AVX512, iafFramesx1AVX512
	case b == nil:
		k8, k1 = iafFramesAccx8AVX512, iafFramesAccx1AVX512
	case sum == nil:
		k8, k1 = iafFramesSum2x8AVX512, iafFramesSum2x1AVX512
	default:
		k8, k1 = iafFramesSum2Accx8AVX512, iafFramesSum2Accx1AVX512
	}
	n := len(v)
	// A block divides throughout after one where half the frames or more
	// reached three spikes somewhere (a division per vector costs about
	// what a mispredicted branch and one divided vector do), and goes
	// back to the compares after one where fewer than a quarter did.
	enter, stay := max(1, frames/2), max(1, (frames+3)/4)
	ptr := func(s []float32, i int) *float32 {
		if s == nil {
			return nil
		}
		return &s[i]
	}
	count, off := 0.0, 0
	for _, part := range []struct {
		k     kern
		width int
	}{{k8, 128}, {k1, 16}} {
		blocks := (n - off) / part.width
		if blocks == 0 {
			continue
		}
		var lanes [16]float32
		part.k(&v[off], &x[off], ptr(b, off), &out[off], ptr(sum, off), blocks, frames, 4*xStride, 4*n, theta, minV, t[0], t[1], t[2], f, &lanes[0], enter, stay)
		count += laneSum(&lanes)
		off += blocks * part.width
	}
	if off < n {
		var bt, st []float32
		if b != nil {
			bt = b[off:]
		}
		if sum != nil {
			st = sum[off:]
		}
		count += iafFramesGo(v[off:], x[off:], xStride, bt, f, out[off:], n, frames, theta, minV, st)
	}
	return count
}

// laneSum adds the per-lane spike counts a counting IAF kernel returns.
func laneSum(lanes *[16]float32) float64 {
	s := 0.0
	for _, l := range lanes {
		s += float64(l)
	}
	return s
}
