package optim

import (
	"math"
	"testing"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

func param(vals ...float32) *nn.Param {
	return &nn.Param{Name: "w", Value: &tensor.Tensor{Shape: []int{len(vals)}, Data: vals}, Grad: tensor.New(len(vals))}
}

// TestAdamMatchesFormula runs three Adam steps on f(w) = w²/2 (gradient w)
// and compares with the update written out in float64.
func TestAdamMatchesFormula(t *testing.T) {
	p := param(1.5, -0.5)
	a, err := NewAdam([]*nn.Param{p}, AdamConfig{LR: 0.1, WeightDecay: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	w := []float64{1.5, -0.5}
	m := []float64{0, 0}
	v := []float64{0, 0}
	for step := 1; step <= 3; step++ {
		copy(p.Grad.Data, p.Value.Data)
		if err := a.Step(); err != nil {
			t.Fatal(err)
		}
		for j := range w {
			g := w[j] + 0.01*w[j]
			m[j] = 0.9*m[j] + 0.1*g
			v[j] = 0.999*v[j] + 0.001*g*g
			bc1, bc2 := 1-math.Pow(0.9, float64(step)), 1-math.Pow(0.999, float64(step))
			w[j] -= 0.1 / bc1 * m[j] / (math.Sqrt(v[j])/math.Sqrt(bc2) + 1e-8)
			if d := math.Abs(float64(p.Value.Data[j]) - w[j]); d > 1e-5 {
				t.Fatalf("step %d: w[%d] = %v, want %v", step, j, p.Value.Data[j], w[j])
			}
		}
	}
}

func TestSGDMomentum(t *testing.T) {
	cases := []struct {
		name string
		cfg  SGDConfig
		want []float64 // w after each of three steps from w=1, gradient = w
	}{
		{"plain", SGDConfig{LR: 0.1}, []float64{0.9, 0.81, 0.729}},
		// b1 = 1; w = 0.9; b2 = 0.5*1 + 0.9 = 1.4; w = 0.76; b3 = 0.7 + 0.76 = 1.46; w = 0.614
		{"momentum", SGDConfig{LR: 0.1, Momentum: 0.5}, []float64{0.9, 0.76, 0.614}},
		// g = 1.1; w = 0.89; g = 0.979; w = 0.7921; ...
		{"weight decay", SGDConfig{LR: 0.1, WeightDecay: 0.1}, []float64{0.89, 0.7921, 0.704969}},
		// b1 = 1, g = 1 + 0.5 = 1.5, w = 0.85; b2 = 0.5 + 0.85 = 1.35, g = 0.85 + 0.675 = 1.525, w = 0.6975
		{"nesterov", SGDConfig{LR: 0.1, Momentum: 0.5, Nesterov: true}, []float64{0.85, 0.6975}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := param(1)
			s, err := NewSGD([]*nn.Param{p}, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range c.want {
				copy(p.Grad.Data, p.Value.Data)
				_ = s.Step()
				if math.Abs(float64(p.Value.Data[0])-want) > 1e-5 {
					t.Fatalf("step %d: w = %v, want %v", i+1, p.Value.Data[0], want)
				}
			}
		})
	}
}

func TestBadConfig(t *testing.T) {
	p := []*nn.Param{param(1)}
	if _, err := NewSGD(p, SGDConfig{}); err == nil {
		t.Error("SGD without learning rate accepted")
	}
	if _, err := NewAdam(p, AdamConfig{LR: -1}); err == nil {
		t.Error("negative learning rate accepted")
	}
	if _, err := NewAdam(p, AdamConfig{LR: math.NaN()}); err == nil {
		t.Error("NaN learning rate accepted")
	}
	if _, err := NewAdam(p, AdamConfig{Beta1: 1}); err == nil {
		t.Error("beta1 = 1 accepted")
	}
}
