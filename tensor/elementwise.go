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

// Sum returns the sum of x (SIMD float32 blocks added in float64).
func Sum(x []float32) float64 { return kernels.Sum(x) }
