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

// TestPoissonMoments checks mean and variance of the counts against λ for
// rates on both sides of the switch between Knuth's method and PTRS and up
// to the largest rate Parse accepts (exp(-1000) underflows: a sampler built
// on it gave a mean of 744 there).
func TestPoissonMoments(t *testing.T) {
	const n = 20000
	for _, rate := range []float64{0.5, 3, 9.99, 10, 30, 200, 1000} {
		for _, p := range []float32{1, 0.37} {
			lam := rate * float64(p)
			dst := make([]float32, n)
			Poisson{Seed: 9, Rate: rate}.Encode(dst, []float32{p}, n, 3)
			var sum, sq float64
			for _, v := range dst {
				if v < 0 || v != float32(int(v)) {
					t.Fatalf("rate %v: count %v", rate, v)
				}
				sum += float64(v)
			}
			mean := sum / n
			for _, v := range dst {
				sq += (float64(v) - mean) * (float64(v) - mean)
			}
			variance := sq / (n - 1)
			// Five standard errors of the mean and of the sample variance.
			if tol := 5 * math.Sqrt(lam/n); math.Abs(mean-lam) > tol {
				t.Errorf("λ=%v: mean %.4f, want %.4f ± %.4f", lam, mean, lam, tol)
			}
			if tol := 5 * math.Sqrt((2*lam*lam+lam)/n); math.Abs(variance-lam) > tol {
				t.Errorf("λ=%v: variance %.4f, want %.4f ± %.4f", lam, variance, lam, tol)
			}
		}
	}
}

// TestStreamChunks checks that a spike train produced in uneven chunks of
// steps equals the one produced at once, for every encoder.
func TestStreamChunks(t *testing.T) {
	img := []float32{0, 0.3, 1, 0.77, 0.05}
	const steps = 23
	for _, e := range []Encoder{Bernoulli{Seed: 2}, Poisson{Seed: 2, Rate: 0.8}, Poisson{Seed: 2, Rate: 40}, Current{}} {
		whole := make([]float32, steps*len(img))
		e.Encode(whole, img, steps, 11)
		parts := make([]float32, steps*len(img))
		s := e.Start(img, 11)
		for t0, c := 0, 1; t0 < steps; t0, c = t0+c, c+2 {
			c = min(c, steps-t0)
			s.Next(parts[t0*len(img):(t0+c)*len(img)], c)
		}
		for i := range whole {
			if whole[i] != parts[i] {
				t.Fatalf("%v: value %d is %v in chunks, %v at once", e, i, parts[i], whole[i])
			}
		}
	}
}
