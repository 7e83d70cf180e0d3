package nn

import (
	"testing"

	"github.com/snnkit/snnkit/tensor"
)

// joinLayer adapts a Join to the Layer interface for gradCheck: the input's
// channels are split into parts of the given sizes, fed to the join in the
// given order.
type joinLayer struct {
	j     Join
	sizes []int // channels per part
	order []int // part fed as join input k
	parts []tensor.Tensor
	x     []int
	dx    tensor.Tensor
}

func (l *joinLayer) split(x *tensor.Tensor) []*tensor.Tensor {
	b, plane := x.Shape[0], tensor.Numel(x.Shape[2:])
	c := x.Shape[1]
	l.parts = make([]tensor.Tensor, len(l.sizes))
	off := 0
	for i, n := range l.sizes {
		l.parts[i].Resize(append([]int{b, n}, x.Shape[2:]...)...)
		for s := 0; s < b; s++ {
			copy(l.parts[i].Data[s*n*plane:(s+1)*n*plane], x.Data[(s*c+off)*plane:(s*c+off+n)*plane])
		}
		off += n
	}
	xs := make([]*tensor.Tensor, len(l.order))
	for k, i := range l.order {
		xs[k] = &l.parts[i]
	}
	return xs
}

func (l *joinLayer) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	l.x = append(l.x[:0], x.Shape...)
	return l.j.Forward(l.split(x), train)
}

func (l *joinLayer) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	dxs, err := l.j.Backward(dy)
	if err != nil {
		return nil, err
	}
	l.dx.Resize(l.x...)
	b, c, plane := l.x[0], l.x[1], tensor.Numel(l.x[2:])
	offs := make([]int, len(l.sizes))
	for i := 1; i < len(l.sizes); i++ {
		offs[i] = offs[i-1] + l.sizes[i-1]
	}
	for k, i := range l.order {
		n := l.sizes[i]
		for s := 0; s < b; s++ {
			dst := l.dx.Data[(s*c+offs[i])*plane : (s*c+offs[i]+n)*plane]
			src := dxs[k].Data[s*n*plane : (s+1)*n*plane]
			for j := range dst {
				dst[j] += src[j] // a part fed twice gets both gradients
			}
		}
	}
	return &l.dx, nil
}

func (l *joinLayer) Params() []*Param { return nil }
func (l *joinLayer) OutShape(in []int) ([]int, error) {
	return nil, nil
}
func (l *joinLayer) String() string { return l.j.String() }

func TestJoinGradients(t *testing.T) {
	cases := []struct {
		name  string
		j     Join
		sizes []int
		order []int
		in    []int
	}{
		{"add 2", NewAdd(), []int{3, 3}, []int{0, 1}, []int{2, 6, 4, 3}},
		{"add 3 with a repeated input", NewAdd(), []int{2, 2}, []int{1, 0, 1}, []int{3, 4, 2, 2}},
		{"concat 3 reordered", NewConcat(), []int{1, 3, 2}, []int{2, 0, 1}, []int{2, 6, 3, 2}},
		{"concat flat", NewConcat(), []int{4, 1}, []int{1, 0}, []int{3, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gradCheck(t, &joinLayer{j: c.j, sizes: c.sizes, order: c.order}, c.in, true)
		})
	}
}

// TestConcatForward checks the values and layout of a channel concatenation.
func TestConcatForward(t *testing.T) {
	a := &tensor.Tensor{Shape: []int{2, 1, 2}, Data: []float32{1, 2, 3, 4}}
	b := &tensor.Tensor{Shape: []int{2, 2, 2}, Data: []float32{5, 6, 7, 8, 9, 10, 11, 12}}
	y, err := NewConcat().Forward([]*tensor.Tensor{a, b}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12}
	if tensor.ShapeString(y.Shape) != "[2, 3, 2]" {
		t.Fatalf("shape %v", y.Shape)
	}
	for i := range want {
		if y.Data[i] != want[i] {
			t.Fatalf("output %v, want %v", y.Data, want)
		}
	}
	if _, err := NewConcat().OutShape([][]int{{1, 2, 2}, {1, 3, 2}}); err == nil {
		t.Error("mismatched planes accepted")
	}
	if _, err := NewAdd().OutShape([][]int{{1, 2}}); err == nil {
		t.Error("Add of one input accepted")
	}
}
