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
	// (its index in the data set) and seeds the randomness.
	Encode(dst, img []float32, steps, sample int)
	// String names the encoder as Parse accepts it.
	String() string
}

// Bernoulli emits a spike at each step with probability equal to the
// pixel's intensity (torch.rand(T, ...) < img in the tutorial).
type Bernoulli struct{ Seed uint64 }

// Poisson emits a Poisson-distributed number of spikes per step with mean
// Rate × intensity: the binned count of a Poisson process whose rate is
// Rate spikes per step at full intensity. Counts above 1 occur (rarely for
// Rate <= 1).
type Poisson struct {
	Seed uint64
	Rate float64
}

// Current feeds the intensity itself at every step.
type Current struct{}

func rng(seed uint64, sample int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(sample)^0x9e3779b97f4a7c15))
}

// Encode implements Encoder. Pixels of intensity 0 never spike and pixels
// of intensity 1 always do, without drawing random numbers; the others draw
// one 32-bit uniform per step, in pixel order.
func (e Bernoulli) Encode(dst, img []float32, steps, sample int) {
	r := rng(e.Seed, sample)
	n := len(img)
	var ones []int32
	var idx []int32
	var thr []uint32 // spike when a 32-bit uniform < thr
	for i, p := range img {
		switch {
		case !(p > 0):
		case p >= 1:
			ones = append(ones, int32(i))
		default:
			idx = append(idx, int32(i))
			thr = append(thr, uint32(float64(p)*(1<<32)))
		}
	}
	for t := 0; t < steps; t++ {
		d := dst[t*n : (t+1)*n]
		clear(d)
		for _, i := range ones {
			d[i] = 1
		}
		for k, i := range idx {
			if r.Uint32() < thr[k] {
				d[i] = 1
			}
		}
	}
}

// String describes the Bernoulli as snnkit prints it.
func (e Bernoulli) String() string { return "bernoulli" }

// Encode implements Encoder.
func (e Poisson) Encode(dst, img []float32, steps, sample int) {
	r := rng(e.Seed, sample)
	n := len(img)
	lim := make([]float64, n) // exp(-λ); 1 means λ = 0
	for i, p := range img {
		lim[i] = math.Exp(-e.Rate * float64(max(p, 0)))
	}
	for t := 0; t < steps; t++ {
		d := dst[t*n : (t+1)*n]
		for i, l := range lim {
			if l >= 1 {
				d[i] = 0
				continue
			}
			// Knuth: count uniforms until their product falls below exp(-λ).
			k := 0
			prod := r.Float64()
			for prod > l {
				k++
				prod *= r.Float64()
			}
			d[i] = float32(k)
		}
	}
}

// String describes the Poisson as snnkit prints it.
func (e Poisson) String() string { return "poisson:" + strconv.FormatFloat(e.Rate, 'g', -1, 64) }

// Encode implements Encoder.
func (Current) Encode(dst, img []float32, steps, sample int) {
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
