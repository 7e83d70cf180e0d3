package train

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/snnkit/snnkit/tensor"
)

// Augment changes a training batch in place before the forward pass. The
// random draws come from rng, which Fit seeds from Config.Seed and draws
// from in batch order, so a seed gives the same training whatever the
// number of threads.
type Augment interface {
	Apply(x *tensor.Tensor, rng *rand.Rand) error
	String() string
}

// Shift moves every image of a [B, C, H, W] batch by a random whole number
// of pixels, each way independently uniform in [-Max, Max], filling what
// comes in from outside with zeros (torchvision's RandomCrop of an image
// padded by Max with zeros, before any normalisation).
type Shift struct {
	Max int

	buf []float32
}

// Apply shifts each image of x.
func (s *Shift) Apply(x *tensor.Tensor, rng *rand.Rand) error {
	if len(x.Shape) != 4 {
		return fmt.Errorf("augment %s: batch of shape %v, want [B, C, H, W] images", s, x.Shape)
	}
	b, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	per := c * h * w
	if cap(s.buf) < per {
		s.buf = make([]float32, per)
	}
	buf := s.buf[:per]
	for i := 0; i < b; i++ {
		dy, dx := rng.IntN(2*s.Max+1)-s.Max, rng.IntN(2*s.Max+1)-s.Max
		if dy == 0 && dx == 0 {
			continue
		}
		img := x.Data[i*per : (i+1)*per]
		copy(buf, img)
		clear(img)
		// Output row y takes input row y-dy, columns x-dx.
		x0, x1 := max(0, dx), min(w, w+dx)
		for ch := 0; ch < c; ch++ {
			for y := max(0, dy); y < min(h, h+dy); y++ {
				copy(img[(ch*h+y)*w+x0:(ch*h+y)*w+x1], buf[(ch*h+y-dy)*w+x0-dx:])
			}
		}
	}
	return nil
}

// String names the augmentation as ParseAugment reads it.
func (s *Shift) String() string { return fmt.Sprintf("shift:%d", s.Max) }

// MaxShift bounds Shift.Max: a shift beyond the image leaves nothing.
const MaxShift = 1 << 10

// ParseAugment reads an augmentation: "" or "none" for none (nil), or
// "shift:N" for random shifts of up to N pixels.
func ParseAugment(s string) (Augment, error) {
	switch s {
	case "", "none":
		return nil, nil
	}
	if rest, ok := strings.CutPrefix(s, "shift:"); ok {
		n, err := strconv.Atoi(rest)
		if err == nil && n >= 0 && n <= MaxShift {
			return &Shift{Max: n}, nil
		}
	}
	return nil, fmt.Errorf("augmentation %q: want none or shift:N (N pixels, 0 to %d)", s, MaxShift)
}
