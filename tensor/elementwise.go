package tensor

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/kernels"
)

// Add sets dst[i] += src[i] (SIMD where available).
func Add(dst, src []float32) error {
	if len(src) != len(dst) {
		return fmt.Errorf("tensor: add of %d values into %d", len(src), len(dst))
	}
	kernels.Add(dst, src)
	return nil
}

// AddFrames adds the frames of x, each len(acc) values, to acc in order
// (as that many calls of Add would, reading and writing acc once).
func AddFrames(acc, x []float32) error {
	if len(acc) == 0 || len(x)%len(acc) != 0 {
		return fmt.Errorf("tensor: frames of %d values added into %d", len(x), len(acc))
	}
	kernels.AddFrames(acc, x, len(x)/len(acc))
	return nil
}

// Scale sets dst[i] = f·src[i].
func Scale(dst, src []float32, f float32) error {
	if len(src) != len(dst) {
		return fmt.Errorf("tensor: scale of %d values into %d", len(src), len(dst))
	}
	kernels.Scale(dst, src, f)
	return nil
}

// Sum2 sets dst[i] = a[i] + b[i].
func Sum2(dst, a, b []float32) error {
	if len(a) != len(dst) || len(b) != len(dst) {
		return fmt.Errorf("tensor: sum of %d and %d values into %d", len(a), len(b), len(dst))
	}
	kernels.Sum2(dst, a, b)
	return nil
}

// Relu sets dst[i] = src[i], or 0 where src[i] < 0 (NaN passes through).
func Relu(dst, src []float32) error {
	if len(src) != len(dst) {
		return fmt.Errorf("tensor: relu of %d values into %d", len(src), len(dst))
	}
	kernels.Relu(dst, src)
	return nil
}

// ReluGrad sets dst[i] = dy[i] where out[i] > 0, else 0.
func ReluGrad(dst, dy, out []float32) error {
	if len(dy) != len(dst) || len(out) != len(dst) {
		return fmt.Errorf("tensor: relu gradient of %d and %d values into %d", len(dy), len(out), len(dst))
	}
	kernels.ReluGrad(dst, dy, out)
	return nil
}

// IAF advances integrate-and-fire neurons with MultiSpike and subtract reset
// by one step (SIMD where available): v += x; s = trunc(v/theta) where
// v > 0, else 0; v -= s·theta; v = max(v, minV) (pass -Inf for no floor);
// out = s.
func IAF(v, x, out []float32, theta, minV float32) error {
	if len(x) != len(v) || len(out) != len(v) {
		return fmt.Errorf("tensor: IAF step of %d neurons with %d inputs and %d outputs", len(v), len(x), len(out))
	}
	kernels.IAF(v, x, out, theta, minV)
	return nil
}

// IAFCount is IAF that also returns the number of spikes it emitted.
func IAFCount(v, x, out []float32, theta, minV float32) (float64, error) {
	if len(x) != len(v) || len(out) != len(v) {
		return 0, fmt.Errorf("tensor: IAF step of %d neurons with %d inputs and %d outputs", len(v), len(x), len(out))
	}
	return kernels.IAFCount(v, x, out, theta, minV), nil
}

// IAFSingleCount advances integrate-and-fire neurons with SingleSpike and
// subtract reset by one step (SIMD where available): v += x; s = 1 where
// v >= theta, else 0; v -= s·theta; v = max(v, minV) (pass -Inf for no
// floor); out = s. It returns the number of spikes.
func IAFSingleCount(v, x, out []float32, theta, minV float32) (float64, error) {
	if len(x) != len(v) || len(out) != len(v) {
		return 0, fmt.Errorf("tensor: IAF step of %d neurons with %d inputs and %d outputs", len(v), len(x), len(out))
	}
	return kernels.IAFSingleCount(v, x, out, theta, minV), nil
}

// IAFSum2Count is IAFCount with input a[i] + f·b[i] (the product rounded
// before the sum, as a Scale and then an Add).
func IAFSum2Count(v, a, b, out []float32, theta, minV, f float32) (float64, error) {
	if len(a) != len(v) || len(b) != len(v) || len(out) != len(v) {
		return 0, fmt.Errorf("tensor: IAF step of %d neurons with inputs of %d and %d and %d outputs", len(v), len(a), len(b), len(out))
	}
	return kernels.IAFSum2Count(v, a, b, out, theta, minV, f), nil
}

// IAFFrames steps integrate-and-fire neurons (MultiSpike, subtract reset:
// IAFCount, or IAFSum2Count when b is not nil) through frames frames:
// frame k's input is x[k·xStride:][:len(v)] (xStride 0: one frame for
// all), plus f·b[k·len(v):] when b is not nil; its spikes go to
// out[k·len(v):], and each neuron's spikes are added to sum when sum is
// not nil. It returns the spikes emitted (exact below 2^24 per lane of 16).
// The potentials stay in registers through the frames: one pass, where
// a step a frame reads and writes them every frame.
func IAFFrames(v, x []float32, xStride int, b []float32, f float32, out []float32, frames int, theta, minV float32, sum []float32) (float64, error) {
	n := len(v)
	switch {
	case frames < 0 || xStride < 0:
		return 0, fmt.Errorf("tensor: IAF of %d frames with input stride %d", frames, xStride)
	case frames == 0 || n == 0:
		return 0, nil
	case len(x) < (frames-1)*xStride+n || len(out) < frames*n || b != nil && len(b) < frames*n || sum != nil && len(sum) < n:
		return 0, fmt.Errorf("tensor: IAF of %d frames of %d neurons with %d inputs (stride %d), %d second inputs, %d outputs and %d sums", frames, n, len(x), xStride, len(b), len(out), len(sum))
	}
	return kernels.IAFFrames(v, x, xStride, b, f, out, frames, theta, minV, sum), nil
}

// Sum returns the sum of x (SIMD float32 blocks added in float64).
func Sum(x []float32) float64 { return kernels.Sum(x) }

// ConvRowsSerial computes C = A·W on the calling goroutine for m rows and n
// output channels, where A[r][p] = a[rowoffs[r]+koffs[p]] and packed holds
// PackConvWeights of the k×n weights (k = len(koffs)); C has row stride
// ldc. It checks every offset against a.
func ConvRowsSerial(m, n int, a []float32, rowoffs, koffs []int, packed []float32, c []float32, ldc int, accumulate bool) error {
	if len(rowoffs) < m {
		return fmt.Errorf("tensor: %d row offsets for %d rows", len(rowoffs), m)
	}
	maxR, maxK := -1, -1
	for _, o := range rowoffs[:m] {
		if o < 0 {
			return fmt.Errorf("tensor: negative row offset %d", o)
		}
		maxR = max(maxR, o)
	}
	for _, o := range koffs {
		if o < 0 {
			return fmt.Errorf("tensor: negative depth offset %d", o)
		}
		maxK = max(maxK, o)
	}
	if m > 0 && len(koffs) > 0 && maxR+maxK >= len(a) {
		return fmt.Errorf("tensor: offset %d+%d outside %d values", maxR, maxK, len(a))
	}
	nr := kernels.ConvPanel()
	panels := (n + nr - 1) / nr
	if len(packed) < panels*len(koffs)*nr {
		return fmt.Errorf("tensor: packed weights hold %d values, need %d", len(packed), panels*len(koffs)*nr)
	}
	if err := checkMat("C", c, m, n, ldc); err != nil {
		return err
	}
	kernels.ConvRows(m, n, a, rowoffs, koffs, packed, c, ldc, accumulate)
	return nil
}

// PackConvWeights packs k×n weights (w[p*n+j]) for ConvRowsSerial.
func PackConvWeights(w []float32, k, n int) []float32 { return kernels.PackConvWeights(w, k, n) }

// Pool2x2 pools one output row of a 2×2, stride-2 window over two
// channels-last input rows (c channels, 2·ow positions each):
// out[x*c+j] = (((r0[2x,j] + r0[2x+1,j]) + r1[2x,j]) + r1[2x+1,j]) * scale.
func Pool2x2(out, r0, r1 []float32, ow, c int, scale float32) error {
	if len(out) < ow*c || len(r0) < 2*ow*c || len(r1) < 2*ow*c {
		return fmt.Errorf("tensor: 2×2 pooling of %d positions × %d channels: buffers too short", ow, c)
	}
	kernels.Pool2x2(out, r0, r1, ow, c, scale)
	return nil
}

// CountNonzero counts the non-zero elements of x, stopping early once the
// count exceeds limit (the result is then some value > limit).
func CountNonzero(x []float32, limit int) int { return kernels.CountNonzero(x, limit) }

// VectorWidth returns the floats per vector of this machine's kernels: 16
// (AVX-512), 8 (AVX2) or 1 (pure Go).
func VectorWidth() int { return kernels.VectorWidth() }
