package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/snnkit/snnkit/tensor"
)

// TestQCFSMatchesPyTorch runs the cases of testdata/qcfs_torch.json
// (scripts/qcfs_reference.py: PyTorch's autograd through the authors'
// formulation, one λ per layer and one per channel) forward and backward:
// outputs and input gradients bit for bit, λ's gradient (a sum PyTorch
// reduces in its own order) to 1e-5.
func TestQCFSMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/qcfs_torch.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Levels                int
			Lambda                []float64
			Shape                 []int
			X, Dy, Y, Dx, Dlambda []float64
		}
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	for _, c := range ref.Cases {
		channels := 0
		if len(c.Lambda) > 1 {
			channels = len(c.Lambda)
		}
		q := NewQCFS(c.Levels, 1, channels)
		copy(q.Lambda.Value.Data, f32(c.Lambda))
		x, err := tensor.FromSlice(f32(c.X), c.Shape...)
		if err != nil {
			t.Fatal(err)
		}
		y, err := q.Forward(x, true)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range f32(c.Y) {
			if y.Data[i] != want {
				t.Fatalf("%s: y[%d] = %v for x %v, PyTorch %v", q, i, y.Data[i], x.Data[i], want)
			}
		}
		dy, err := tensor.FromSlice(f32(c.Dy), c.Shape...)
		if err != nil {
			t.Fatal(err)
		}
		dx, err := q.Backward(dy, true)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range f32(c.Dx) {
			if dx.Data[i] != want {
				t.Fatalf("%s: dx[%d] = %v for x %v, PyTorch %v", q, i, dx.Data[i], x.Data[i], want)
			}
		}
		for k, want := range c.Dlambda {
			if got := float64(q.Lambda.Grad.Data[k]); math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: dλ[%d] = %v, PyTorch %v", q, k, got, want)
			}
		}
	}
}

// TestQCFSErrors checks the settings and inputs QCFS refuses.
func TestQCFSErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		q      *QCFS
		shape  []int
		lambda float32
	}{
		{"no levels", NewQCFS(0, 4, 0), []int{2, 3}, 4},
		{"lambda 0", NewQCFS(4, 0, 0), []int{2, 3}, 0},
		{"lambda NaN", NewQCFS(4, 1, 0), []int{2, 3}, float32(math.NaN())},
		{"lambda negative", NewQCFS(4, 1, 3), []int{2, 3, 2}, -1},
		{"channels", NewQCFS(4, 4, 3), []int{2, 4, 2}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Lambda.Value.Data[0] = tc.lambda
			if _, err := tc.q.Forward(tensor.New(tc.shape...), true); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := NewQCFS(4, 4, 0).Backward(tensor.New(2, 3), true); err == nil {
		t.Fatal("Backward before Forward accepted")
	}
}

// TestFloor32 checks floor32 against math.Floor around whole numbers, at
// the edge of its fast range and on the special values.
func TestFloor32(t *testing.T) {
	for _, u := range []float32{0, 0.5, -0.5, 1, -1, 1.5, -1.5, 2.9999998, -2.9999998, 1 << 22, -(1 << 22) - 0.5, 1<<23 - 1, -(1 << 23), 1 << 23, 1 << 30, -(1 << 30),
		float32(math.Inf(1)), float32(math.Inf(-1)), 1e-30, -1e-30} {
		if got, want := floor32(u), float32(math.Floor(float64(u))); got != want {
			t.Errorf("floor32(%v) = %v, want %v", u, got, want)
		}
	}
	if nan := floor32(float32(math.NaN())); nan == nan {
		t.Error("floor32(NaN) is not NaN")
	}
}

// BenchmarkQCFS runs the first QCFS layer of tutorial-bn (a batch of 128
// images of 20×24×24 activations) forward and backward.
func BenchmarkQCFS(b *testing.B) {
	q := NewQCFS(4, 4, 0)
	x, dy := tensor.New(128, 20, 24, 24), tensor.New(128, 20, 24, 24)
	for i := range x.Data {
		x.Data[i] = float32(i%97)/16 - 1
		dy.Data[i] = float32(i%13) / 13
	}
	b.SetBytes(int64(4 * len(x.Data)))
	for i := 0; i < b.N; i++ {
		if _, err := q.Forward(x, true); err != nil {
			b.Fatal(err)
		}
		if _, err := q.Backward(dy, true); err != nil {
			b.Fatal(err)
		}
	}
}

// A QCFS activation of 4 levels and λ = 2 rounds x/λ to quarters, clipped
// to [0, 1], times λ.
func ExampleQCFS() {
	q := NewQCFS(4, 2, 0)
	x, _ := tensor.FromSlice([]float32{-1, 0.2, 0.3, 1.1, 1.9, 5}, 1, 6)
	y, _ := q.Forward(x, false)
	fmt.Println(y.Data)
	// Output: [0 0 0.5 1 2 2]
}

// TestQCFSPenalty checks that a penalty P adds P/B to the gradient that
// reaches every output: the same input and λ gradients as without it and
// dy + P/B.
func TestQCFSPenalty(t *testing.T) {
	x, dy := tensor.New(3, 2, 4), tensor.New(3, 2, 4)
	for i := range x.Data {
		x.Data[i] = float32(i%11)/4 - 0.5
		dy.Data[i] = float32(i%5)/8 - 0.25
	}
	run := func(penalty float32, shift float32) ([]float32, float32) {
		q := NewQCFS(4, 2, 0)
		q.Penalty = penalty
		if _, err := q.Forward(x, true); err != nil {
			t.Fatal(err)
		}
		d := tensor.New(dy.Shape...)
		for i, v := range dy.Data {
			d.Data[i] = v + shift
		}
		dx, err := q.Backward(d, true)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), dx.Data...), q.Lambda.Grad.Data[0]
	}
	dx1, dl1 := run(0.75, 0)
	dx2, dl2 := run(0, 0.25) // 0.75 over a batch of 3
	if fmt.Sprint(dx1) != fmt.Sprint(dx2) || math.Abs(float64(dl1-dl2)) > 1e-6 {
		t.Fatalf("penalty: dx %v, dλ %v; shifted gradient: dx %v, dλ %v", dx1, dl1, dx2, dl2)
	}
}
