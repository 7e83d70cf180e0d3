// Package tensor holds snnkit's float32 tensors and the checked numeric
// operations over them: matrix multiplication (packed and over row offset
// tables, the direct convolution of the dense engine), im2col and col2im,
// and elementwise kernels (add, ReLU, the IAF step, sums, 2×2 pooling).
//
// A Tensor is a shape and a contiguous row-major slice of float32; images are
// NCHW, Conv2d weights [out, in, kh, kw] and Linear weights [out, in], as in
// PyTorch. Fields are exported so fast code can index Data directly.
// Operations check shapes and return errors; the unchecked kernels they call
// live in internal/kernels.
package tensor

import (
	"fmt"
	"math"
	"strings"
)

// Tensor is a dense float32 array with a shape, stored row-major.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zeroed tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, Numel(shape))}
}

// FromSlice wraps data (not copied) as a tensor of the given shape.
func FromSlice(data []float32, shape ...int) (*Tensor, error) {
	if n := Numel(shape); n != len(data) {
		return nil, fmt.Errorf("tensor: shape %v needs %d values, have %d", shape, n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}, nil
}

// Numel is the number of elements of a shape (1 for a scalar shape).
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Resize sets the shape, reusing Data's memory when it is large enough. The
// contents are unspecified afterwards. It is how layers keep their output
// buffers from one batch to the next.
func (t *Tensor) Resize(shape ...int) {
	n := Numel(shape)
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
	t.Shape = append(t.Shape[:0], shape...)
}

// Reshape returns a view with another shape and the same data.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	if Numel(shape) != len(t.Data) {
		return nil, fmt.Errorf("tensor: cannot reshape %v to %v", t.Shape, shape)
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: t.Data}, nil
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CheckFinite returns an error naming the first NaN or infinite element.
func (t *Tensor) CheckFinite() error {
	for i, v := range t.Data {
		// All exponent bits set: infinity or NaN.
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("tensor: element %d is %v", i, v)
		}
	}
	return nil
}

// ShapeString formats a shape like PyTorch's torch.Size: [2, 3].
func ShapeString(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// ArgMax returns the index of the largest value, the lowest index on ties
// (as torch.argmax). It returns -1 for an empty slice.
func ArgMax(v []float32) int {
	if len(v) == 0 {
		return -1
	}
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
