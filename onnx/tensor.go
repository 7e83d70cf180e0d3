package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
)

// MaxElements bounds the elements of one tensor (1 GiB of float32).
const MaxElements = 1 << 28

// Numel returns the element count of the tensor's dims, checking each
// dimension and the total against MaxElements.
func (t *Tensor) Numel() (int, error) {
	n := 1
	for _, d := range t.Dims {
		if d < 0 || d > MaxElements {
			return 0, fmt.Errorf("tensor %q: dimension %d in %v", t.Name, d, t.Dims)
		}
		if d != 0 && n > MaxElements/int(d) {
			return 0, fmt.Errorf("tensor %q: dims %v hold more than %d elements", t.Name, t.Dims, MaxElements)
		}
		n *= int(d)
	}
	return n, nil
}

// Shape returns the dims as ints (checked by Numel).
func (t *Tensor) Shape() ([]int, error) {
	if _, err := t.Numel(); err != nil {
		return nil, err
	}
	s := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		s[i] = int(d)
	}
	return s, nil
}

// Float32s returns the tensor's values as float32 (float and double
// tensors, and integer ones exactly where they fit), checking that the data
// holds exactly as many values as the dims say and that all are finite.
func (t *Tensor) Float32s() ([]float32, error) {
	n, err := t.Numel()
	if err != nil {
		return nil, err
	}
	if t.External {
		return nil, fmt.Errorf("tensor %q: data stored in an external file, which snnkit does not read (export with the weights inside the model)", t.Name)
	}
	count := func(have int) error {
		if have != n {
			return fmt.Errorf("tensor %q: dims %v need %d values, the data holds %d", t.Name, t.Dims, n, have)
		}
		return nil
	}
	out := make([]float32, 0, 0)
	switch t.DataType {
	case Float:
		if t.Raw != nil {
			if err := count(len(t.Raw) / 4); err != nil || len(t.Raw)%4 != 0 {
				return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v of float32", t.Name, len(t.Raw), t.Dims)
			}
			out = make([]float32, n)
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
			}
		} else {
			if err := count(len(t.Floats)); err != nil {
				return nil, err
			}
			out = append(out, t.Floats...)
		}
	case Double:
		vals := t.Doubles
		if t.Raw != nil {
			if len(t.Raw) != 8*n {
				return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v of float64", t.Name, len(t.Raw), t.Dims)
			}
			vals = make([]float64, n)
			for i := range vals {
				vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Raw[8*i:]))
			}
		}
		if err := count(len(vals)); err != nil {
			return nil, err
		}
		out = make([]float32, n)
		for i, v := range vals {
			out[i] = float32(v)
		}
	case Int64, Int32:
		is, err := t.Int64Values()
		if err != nil {
			return nil, err
		}
		out = make([]float32, len(is))
		for i, v := range is {
			out[i] = float32(v)
		}
	default:
		return nil, fmt.Errorf("tensor %q: element type %d not supported (float, double, int32, int64)", t.Name, t.DataType)
	}
	for i, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("tensor %q: element %d is %v", t.Name, i, v)
		}
	}
	return out, nil
}

// Int64Values returns an integer tensor's values (int64 or int32).
func (t *Tensor) Int64Values() ([]int64, error) {
	n, err := t.Numel()
	if err != nil {
		return nil, err
	}
	var out []int64
	switch t.DataType {
	case Int64:
		if t.Raw != nil {
			if len(t.Raw) != 8*n {
				return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v of int64", t.Name, len(t.Raw), t.Dims)
			}
			out = make([]int64, n)
			for i := range out {
				out[i] = int64(binary.LittleEndian.Uint64(t.Raw[8*i:]))
			}
		} else {
			out = append(out, t.Int64s...)
		}
	case Int32:
		if t.Raw != nil {
			if len(t.Raw) != 4*n {
				return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v of int32", t.Name, len(t.Raw), t.Dims)
			}
			out = make([]int64, n)
			for i := range out {
				out[i] = int64(int32(binary.LittleEndian.Uint32(t.Raw[4*i:])))
			}
		} else {
			for _, v := range t.Int32s {
				out = append(out, int64(v))
			}
		}
	default:
		return nil, fmt.Errorf("tensor %q: element type %d is not an integer type", t.Name, t.DataType)
	}
	if len(out) != n {
		return nil, fmt.Errorf("tensor %q: dims %v need %d values, the data holds %d", t.Name, t.Dims, n, len(out))
	}
	return out, nil
}
