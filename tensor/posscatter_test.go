package tensor

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNewPosScattererRejectsBadTables(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cs           int
		taps, tapIdx []int32
		n, out, w    int
		want         string
	}{
		{"odd taps", 2, []int32{0}, []int32{0, 1}, 16, 16, 32, "inconsistent"},
		{"tap count", 2, []int32{0, 0}, []int32{0, 2}, 16, 16, 32, "inconsistent"},
		{"decreasing", 2, []int32{0, 0, 0, 0}, []int32{0, 2, 1, 2}, 16, 16, 32, "decreases"},
		{"output", 2, []int32{16, 0}, []int32{0, 1}, 16, 16, 32, "outside"},
		{"weights", 2, []int32{0, 8}, []int32{0, 1}, 16, 16, 32, "outside"},
		{"no channels", 0, []int32{0, 0}, []int32{0, 1}, 16, 16, 32, "inconsistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPosScatterer(tc.cs, tc.taps, tc.tapIdx, tc.n, tc.out, tc.w)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestPosScattererMatchesScatterer propagates random frames through a 3×3
// convolution of a 6×6×5 input (channel stride 8) with both event forms.
func TestPosScattererMatchesScatterer(t *testing.T) {
	const h, w, c, cs, k, n = 6, 6, 5, 8, 3, 32
	oh, ow := h-k+1, w-k+1
	rng := rand.New(rand.NewPCG(3, 4))
	wpos := make([]float32, k*k*cs*n) // [tap][channel][n]
	wsc := make([]float32, cs*k*k*n)  // [channel][tap][n]
	for tap := 0; tap < k*k; tap++ {
		for ch := 0; ch < c; ch++ {
			for o := 0; o < n; o++ {
				v := float32(rng.IntN(129)-64) / 64
				wpos[(tap*cs+ch)*n+o] = v
				wsc[(ch*k*k+tap)*n+o] = v
			}
		}
	}
	var ptaps, taps []int32
	ptapIdx, tapIdx := []int32{0}, []int32{0}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < cs; ch++ {
				for i := 0; i < k; i++ {
					for j := 0; j < k; j++ {
						oy, ox := y-i, x-j
						if ch >= c || oy < 0 || ox < 0 || oy >= oh || ox >= ow {
							continue
						}
						out := int32((oy*ow + ox) * n)
						taps = append(taps, out, int32((ch*k*k+i*k+j)*n))
						if ch == 0 {
							ptaps = append(ptaps, out, int32((i*k+j)*cs*n))
						}
					}
				}
				tapIdx = append(tapIdx, int32(len(taps)/2))
			}
			ptapIdx = append(ptapIdx, int32(len(ptaps)/2))
		}
	}
	ps, err := NewPosScatterer(cs, ptaps, ptapIdx, n, oh*ow*n, len(wpos))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := NewScatterer(taps, tapIdx, n, oh*ow*n, len(wsc))
	if err != nil {
		t.Fatal(err)
	}
	for _, density := range []int{0, 5, 30, 100} {
		x := make([]float32, h*w*cs)
		for i := range x {
			if i%cs < c && rng.IntN(100) < density {
				x[i] = float32(rng.IntN(4)+1) / 4
			}
		}
		got, want := make([]float32, oh*ow*n), make([]float32, oh*ow*n)
		if err := ps.Clone().Apply(got, wpos, x); err != nil {
			t.Fatal(err)
		}
		if err := sc.Apply(want, wsc, x); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("density %d%%: out[%d] = %v, want %v", density, i, got[i], want[i])
			}
		}
	}
	if err := ps.Apply(make([]float32, 4), wpos, make([]float32, h*w*cs)); err == nil {
		t.Fatal("short output accepted")
	}
}
