package encode

import (
	"math"
	"testing"
)

func TestBernoulliRate(t *testing.T) {
	img := []float32{0, 0.1, 0.5, 0.9, 1}
	steps := 20000
	dst := make([]float32, steps*len(img))
	Bernoulli{Seed: 3}.Encode(dst, img, steps, 7)
	for i, p := range img {
		var n float64
		for s := 0; s < steps; s++ {
			v := dst[s*len(img)+i]
			if v != 0 && v != 1 {
				t.Fatalf("non-binary spike %v", v)
			}
			n += float64(v)
		}
		rate := n / float64(steps)
		if math.Abs(rate-float64(p)) > 0.015 {
			t.Errorf("pixel %v: rate %.4f", p, rate)
		}
	}
}

func TestPoissonMean(t *testing.T) {
	img := []float32{0, 0.2, 1}
	steps := 20000
	dst := make([]float32, steps*len(img))
	Poisson{Seed: 1, Rate: 2}.Encode(dst, img, steps, 0)
	for i, p := range img {
		var s float64
		for k := 0; k < steps; k++ {
			s += float64(dst[k*len(img)+i])
		}
		if mean := s / float64(steps); math.Abs(mean-2*float64(p)) > 0.05 {
			t.Errorf("pixel %v: mean count %.3f, want %.3f", p, mean, 2*p)
		}
	}
}

func TestDeterministicPerSample(t *testing.T) {
	img := []float32{0.3, 0.6, 0.01}
	for _, e := range []Encoder{Bernoulli{Seed: 5}, Poisson{Seed: 5, Rate: 1}, Current{}} {
		a := make([]float32, 30)
		b := make([]float32, 30)
		e.Encode(a, img, 10, 42)
		e.Encode(b, img, 10, 42)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%v: same seed and sample gave different trains", e)
			}
		}
	}
	a := make([]float32, 3000)
	b := make([]float32, 3000)
	Bernoulli{Seed: 5}.Encode(a, []float32{0.5, 0.5, 0.5}, 1000, 1)
	Bernoulli{Seed: 5}.Encode(b, []float32{0.5, 0.5, 0.5}, 1000, 2)
	same := true
	for i := range a {
		same = same && a[i] == b[i]
	}
	if same {
		t.Fatal("different samples gave identical trains")
	}
}

func TestParse(t *testing.T) {
	for _, ok := range []string{"bernoulli", "poisson", "poisson:0.5", "current"} {
		e, err := Parse(ok, 1)
		if err != nil {
			t.Errorf("%s: %v", ok, err)
			continue
		}
		if ok != "poisson" && e.String() != ok {
			t.Errorf("%s prints as %s", ok, e)
		}
	}
	for _, bad := range []string{"", "rate", "poisson:x", "poisson:-1", "bernoulli:2", "current:1"} {
		if _, err := Parse(bad, 1); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
