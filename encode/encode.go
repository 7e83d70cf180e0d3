// Package encode turns images into spike trains for a spiking network:
// Bernoulli rate coding as the sinabs tutorial does it, Poisson spike counts
// with a maximum rate, and a constant current (the analog image at every
// step).
//
// Every encoder is seeded and draws each sample's randomness from its own
// generator, seeded by (seed, sample index), so an encoding does not depend
// on the batch a sample is in or on the number of threads.
package encode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Encoder writes steps frames for one image.
type Encoder interface {
	// Encode writes dst[t*len(img)+i] for t < steps: the input of pixel i at
	// step t. img holds intensities in [0, 1]; sample identifies the image
	// (its index in the data set) and seeds the randomness. It is
	// Start(img, sample).Next(dst, steps).
	Encode(dst, img []float32, steps, sample int)
	// Start begins the spike train of one image, to be produced a chunk of
	// steps at a time: the frames are the same however the steps are split,
	// so a long simulation needs memory for one chunk only.
	Start(img []float32, sample int) Stream
	// String names the encoder as Parse accepts it.
	String() string
}

// Stream is the spike train of one image in progress.
type Stream interface {
	// Next writes the next steps frames into dst (steps × len(img) values).
	Next(dst []float32, steps int)
}

// Bernoulli emits a spike at each step with probability equal to the
// pixel's intensity (torch.rand(T, ...) < img in the tutorial).
type Bernoulli struct{ Seed uint64 }

// Poisson emits a Poisson-distributed number of spikes per step with mean
// Rate × intensity: the binned count of a Poisson process whose rate is
// Rate spikes per step at full intensity. Counts above 1 occur (rarely for
// Rate <= 1). The counts are exact samples for every rate: Knuth's product
// of uniforms below a mean of 10, Hörmann's transformed rejection (PTRS)
// above, where exp(-λ) would lose precision and then underflow.
type Poisson struct {
	Seed uint64
	Rate float64
}

// Current feeds the intensity itself at every step.
type Current struct{}

func rng(seed uint64, sample int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(sample)^0x9e3779b97f4a7c15))
}

// Encode implements Encoder.
func (e Bernoulli) Encode(dst, img []float32, steps, sample int) {
	e.Start(img, sample).Next(dst, steps)
}

// Start implements Encoder. Pixels of intensity 0 never spike and pixels of
// intensity 1 always do, without drawing random numbers; the others draw
// one 32-bit uniform per step, in pixel order.
func (e Bernoulli) Start(img []float32, sample int) Stream {
	s := &bernoulliStream{r: rng(e.Seed, sample), n: len(img)}
	for i, p := range img {
		switch {
		case !(p > 0):
		case p >= 1:
			s.ones = append(s.ones, int32(i))
		default:
			s.idx = append(s.idx, int32(i))
			s.thr = append(s.thr, uint32(float64(p)*(1<<32)))
		}
	}
	return s
}

type bernoulliStream struct {
	r    *rand.Rand
	n    int
	ones []int32
	idx  []int32
	thr  []uint32 // spike when a 32-bit uniform < thr
}

func (s *bernoulliStream) Next(dst []float32, steps int) {
	for t := 0; t < steps; t++ {
		d := dst[t*s.n : (t+1)*s.n]
		clear(d)
		for _, i := range s.ones {
			d[i] = 1
		}
		for k, i := range s.idx {
			if s.r.Uint32() < s.thr[k] {
				d[i] = 1
			}
		}
	}
}

// String describes the Bernoulli as snnkit prints it.
func (e Bernoulli) String() string { return "bernoulli" }

// Encode implements Encoder.
func (e Poisson) Encode(dst, img []float32, steps, sample int) { e.Start(img, sample).Next(dst, steps) }

// ptrsMin is the mean from which Poisson switches from Knuth's method to
// PTRS (Hörmann's method is valid from 10 on).
const ptrsMin = 10

// Start implements Encoder.
func (e Poisson) Start(img []float32, sample int) Stream {
	s := &poissonStream{r: rng(e.Seed, sample), lam: make([]float64, len(img)), lim: make([]float64, len(img))}
	for i, p := range img {
		s.lam[i] = e.Rate * float64(max(p, 0))
		s.lim[i] = math.Exp(-s.lam[i]) // 1 means λ = 0
	}
	return s
}

type poissonStream struct {
	r   *rand.Rand
	lam []float64 // mean count per step
	lim []float64 // exp(-λ), for Knuth's method
}

func (s *poissonStream) Next(dst []float32, steps int) {
	n := len(s.lam)
	for t := 0; t < steps; t++ {
		d := dst[t*n : (t+1)*n]
		for i, l := range s.lim {
			switch {
			case l >= 1:
				d[i] = 0
			case s.lam[i] >= ptrsMin:
				d[i] = float32(ptrs(s.r, s.lam[i]))
			default:
				// Knuth: count uniforms until their product falls below exp(-λ).
				k := 0
				prod := s.r.Float64()
				for prod > l {
					k++
					prod *= s.r.Float64()
				}
				d[i] = float32(k)
			}
		}
	}
}

// ptrs draws an exact Poisson(mu) sample for mu >= 10 by transformed
// rejection with squeeze (W. Hörmann, "The transformed rejection method for
// generating Poisson random variables", Insurance: Mathematics and
// Economics 12, 1993): a hat built from a transformed uniform, accepted
// cheaply inside the squeeze and otherwise against the exact log
// probability.
func ptrs(r *rand.Rand, mu float64) float64 {
	smu := math.Sqrt(mu)
	b := 0.931 + 2.53*smu
	a := -0.059 + 0.02483*b
	logAlpha := math.Log(1.1239 + 1.1328/(b-3.4))
	vr := 0.9277 - 3.6224/(b-2)
	logMu := math.Log(mu)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + mu + 0.43)
		if us >= 0.07 && v <= vr {
			return k
		}
		if k < 0 || us < 0.013 && v > us {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+logAlpha-math.Log(a/(us*us)+b) <= -mu+k*logMu-lg {
			return k
		}
	}
}

// String describes the Poisson as snnkit prints it.
func (e Poisson) String() string { return "poisson:" + strconv.FormatFloat(e.Rate, 'g', -1, 64) }

// Encode implements Encoder.
func (c Current) Encode(dst, img []float32, steps, sample int) { c.Start(img, sample).Next(dst, steps) }

// Start implements Encoder.
func (Current) Start(img []float32, sample int) Stream { return currentStream(img) }

type currentStream []float32

func (img currentStream) Next(dst []float32, steps int) {
	n := len(img)
	for t := 0; t < steps; t++ {
		copy(dst[t*n:(t+1)*n], img)
	}
}

// String describes the Current as snnkit prints it.
func (Current) String() string { return "current" }

// Parse returns the encoder named by spec: "bernoulli", "poisson" (rate 1),
// "poisson:RATE" or "current".
func Parse(spec string, seed uint64) (Encoder, error) {
	name, arg, hasArg := strings.Cut(spec, ":")
	switch name {
	case "bernoulli":
		if hasArg {
			return nil, fmt.Errorf("encoding %q: bernoulli takes no argument", spec)
		}
		return Bernoulli{Seed: seed}, nil
	case "poisson":
		rate := 1.0
		if hasArg {
			var err error
			if rate, err = strconv.ParseFloat(arg, 64); err != nil || !(rate > 0) || rate > 1000 {
				return nil, fmt.Errorf("encoding %q: rate must be a number in (0, 1000]", spec)
			}
		}
		return Poisson{Seed: seed, Rate: rate}, nil
	case "current":
		if hasArg {
			return nil, fmt.Errorf("encoding %q: current takes no argument", spec)
		}
		return Current{}, nil
	}
	return nil, fmt.Errorf("unknown encoding %q: want bernoulli, poisson[:RATE] or current", spec)
}
