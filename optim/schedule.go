package optim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Schedule gives the learning rate of each step from the optimiser's base
// rate: step counts batches from 0 over total, perEpoch of them an epoch.
type Schedule interface {
	Rate(base float64, step, total, perEpoch int) float64
	String() string
}

// Constant keeps the base rate.
type Constant struct{}

// Rate returns base.
func (Constant) Rate(base float64, step, total, perEpoch int) float64 { return base }

// String names the schedule as ParseSchedule reads it.
func (Constant) String() string { return "constant" }

// Cosine anneals from the base rate to 0 over the run (torch's
// CosineAnnealingLR with T_max the number of steps, eta_min 0).
type Cosine struct{}

// Rate returns base·(1 + cos(π·step/total))/2.
func (Cosine) Rate(base float64, step, total, perEpoch int) float64 {
	return base * (1 + math.Cos(math.Pi*float64(step)/float64(max(total, 1)))) / 2
}

// String names the schedule.
func (Cosine) String() string { return "cosine" }

// StepDecay multiplies the rate by Gamma every Epochs epochs (torch's
// StepLR stepped once an epoch).
type StepDecay struct {
	Epochs int
	Gamma  float64
}

// Rate returns base·Gamma^⌊epoch/Epochs⌋.
func (s StepDecay) Rate(base float64, step, total, perEpoch int) float64 {
	epoch := step / max(perEpoch, 1)
	return base * math.Pow(s.Gamma, float64(epoch/s.Epochs))
}

// String names the schedule.
func (s StepDecay) String() string {
	return "step:" + strconv.Itoa(s.Epochs) + ":" + strconv.FormatFloat(s.Gamma, 'g', -1, 64)
}

// OneCycle is torch's OneCycleLR with its defaults, the base rate as the
// maximum: over the first 30 % of the steps a cosine rise from base/25 to
// base, then a cosine fall to base/25/1e4 (the learning rate only; torch
// also cycles Adam's β1, which this does not).
type OneCycle struct{}

// Rate follows the two cosine phases.
func (OneCycle) Rate(base float64, step, total, perEpoch int) float64 {
	initial, final := base/25, base/25/1e4
	up := 0.3*float64(total) - 1
	t := float64(step)
	cos := func(from, to, frac float64) float64 { return to + (from-to)*(1+math.Cos(math.Pi*frac))/2 }
	if t <= up {
		return cos(initial, base, t/math.Max(up, 1))
	}
	down := float64(total) - 1 - up
	return cos(base, final, (t-up)/math.Max(down, 1))
}

// String names the schedule.
func (OneCycle) String() string { return "onecycle" }

// ParseSchedule reads "constant", "cosine", "onecycle" or "step:N:G" (decay
// by G every N epochs).
func ParseSchedule(s string) (Schedule, error) {
	switch s {
	case "", "constant":
		return Constant{}, nil
	case "cosine":
		return Cosine{}, nil
	case "onecycle":
		return OneCycle{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "step:"); ok {
		n, g, ok := strings.Cut(rest, ":")
		epochs, err1 := strconv.Atoi(n)
		gamma, err2 := strconv.ParseFloat(g, 64)
		if ok && err1 == nil && err2 == nil && epochs >= 1 && gamma > 0 && gamma <= 1 {
			return StepDecay{Epochs: epochs, Gamma: gamma}, nil
		}
	}
	return nil, fmt.Errorf("schedule %q: want constant, cosine, onecycle or step:N:G (every N epochs times G in (0, 1])", s)
}
