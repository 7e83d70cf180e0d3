// Package optim holds gradient-descent optimisers with PyTorch's semantics
// and defaults: Adam (torch.optim.Adam) and SGD with momentum and weight
// decay (torch.optim.SGD).
package optim

import (
	"fmt"
	"math"

	"github.com/snnkit/snnkit/nn"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update using each parameter's Grad.
	Step() error
	// LR and SetLR read and set the learning rate, for schedules.
	LR() float64
	SetLR(lr float64)
	// String describes the optimiser and its settings.
	String() string
}

// LR returns the learning rate.
func (a *Adam) LR() float64 { return a.Config.LR }

// SetLR sets the learning rate.
func (a *Adam) SetLR(lr float64) { a.Config.LR = lr }

// LR returns the learning rate.
func (s *SGD) LR() float64 { return s.Config.LR }

// SetLR sets the learning rate.
func (s *SGD) SetLR(lr float64) { s.Config.LR = lr }

// AdamConfig holds Adam's hyper-parameters; NewAdam fills zero fields with
// PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0).
type AdamConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
}

// Adam is torch.optim.Adam without amsgrad: weight decay is added to the
// gradient (L2), and the bias-corrected step is
// p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps).
type Adam struct {
	Config AdamConfig
	params []*nn.Param
	m, v   [][]float32
	t      int
}

// NewAdam returns an Adam optimiser over params.
func NewAdam(params []*nn.Param, cfg AdamConfig) (*Adam, error) {
	if cfg.LR == 0 {
		cfg.LR = 1e-3
	}
	if cfg.Beta1 == 0 {
		cfg.Beta1 = 0.9
	}
	if cfg.Beta2 == 0 {
		cfg.Beta2 = 0.999
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	if err := checkRate("Adam", cfg.LR, cfg.WeightDecay); err != nil {
		return nil, err
	}
	if cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 {
		return nil, fmt.Errorf("Adam: betas (%g, %g) must be in [0, 1)", cfg.Beta1, cfg.Beta2)
	}
	a := &Adam{Config: cfg, params: params}
	for _, p := range params {
		a.m = append(a.m, make([]float32, len(p.Value.Data)))
		a.v = append(a.v, make([]float32, len(p.Value.Data)))
	}
	return a, nil
}

func checkRate(name string, lr, wd float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("%s: learning rate %g must be positive", name, lr)
	}
	if !(wd >= 0) || math.IsInf(wd, 0) {
		return fmt.Errorf("%s: weight decay %g must be non-negative", name, wd)
	}
	return nil
}

// Step applies one Adam update.
func (a *Adam) Step() error {
	a.t++
	c := a.Config
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	bc1 := 1 - math.Pow(c.Beta1, float64(a.t))
	bc2 := 1 - math.Pow(c.Beta2, float64(a.t))
	step := float32(c.LR / bc1)
	sqrtBc2 := float32(math.Sqrt(bc2))
	eps, wd := float32(c.Eps), float32(c.WeightDecay)
	for i, p := range a.params {
		w, g, m, v := p.Value.Data, p.Grad.Data, a.m[i], a.v[i]
		for j := range w {
			gj := g[j]
			if wd != 0 {
				gj += wd * w[j]
			}
			m[j] = b1*m[j] + (1-b1)*gj
			v[j] = b2*v[j] + (1-b2)*gj*gj
			denom := float32(math.Sqrt(float64(v[j])))/sqrtBc2 + eps
			w[j] -= step * m[j] / denom
		}
	}
	return nil
}

// String describes the Adam as snnkit prints it.
func (a *Adam) String() string {
	c := a.Config
	return fmt.Sprintf("Adam(lr=%g, betas=(%g, %g), eps=%g, weight_decay=%g)", c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay)
}

// SGDConfig holds SGD's hyper-parameters (PyTorch defaults: momentum 0,
// dampening 0, weight decay 0, no Nesterov). LR is required.
type SGDConfig struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov                             bool
}

// SGD is torch.optim.SGD: g += wd·p; b = μ·b + (1-dampening)·g (b = g at
// the first step); g = g + μ·b with Nesterov, else b; p -= lr·g.
type SGD struct {
	Config SGDConfig
	params []*nn.Param
	buf    [][]float32
	t      int
}

// NewSGD returns an SGD optimiser over params.
func NewSGD(params []*nn.Param, cfg SGDConfig) (*SGD, error) {
	if err := checkRate("SGD", cfg.LR, cfg.WeightDecay); err != nil {
		return nil, err
	}
	if !(cfg.Momentum >= 0) || math.IsInf(cfg.Momentum, 0) {
		return nil, fmt.Errorf("SGD: momentum %g must be non-negative", cfg.Momentum)
	}
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		return nil, fmt.Errorf("SGD: Nesterov momentum requires a momentum and zero dampening")
	}
	s := &SGD{Config: cfg, params: params}
	for _, p := range params {
		s.buf = append(s.buf, make([]float32, len(p.Value.Data)))
	}
	return s, nil
}

// Step applies one SGD update.
func (s *SGD) Step() error {
	c := s.Config
	lr, mu, damp, wd := float32(c.LR), float32(c.Momentum), float32(c.Dampening), float32(c.WeightDecay)
	for i, p := range s.params {
		w, g, b := p.Value.Data, p.Grad.Data, s.buf[i]
		for j := range w {
			gj := g[j]
			if wd != 0 {
				gj += wd * w[j]
			}
			if mu != 0 {
				if s.t == 0 {
					b[j] = gj
				} else {
					b[j] = mu*b[j] + (1-damp)*gj
				}
				if c.Nesterov {
					gj += mu * b[j]
				} else {
					gj = b[j]
				}
			}
			w[j] -= lr * gj
		}
	}
	s.t++
	return nil
}

// String describes the SGD as snnkit prints it.
func (s *SGD) String() string {
	c := s.Config
	return fmt.Sprintf("SGD(lr=%g, momentum=%g, dampening=%g, weight_decay=%g, nesterov=%v)", c.LR, c.Momentum, c.Dampening, c.WeightDecay, c.Nesterov)
}
