package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvRowsKernels checks every direct-convolution kernel this CPU
// supports against the float64 definition on random offsets, odd row and
// channel counts and accumulation, with guard columns.
func TestConvRowsKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for _, ck := range convKernels() {
		for _, s := range [][3]int{{1, 1, 1}, {8, 32, 4}, {64, 32, 500}, {13, 20, 25}, {4, 128, 288}, {17, 45, 7}, {9, 33, 3}, {6, 16, 5}, {7, 17, 9}} {
			m, n, k := s[0], s[1], s[2]
			a := randSlice(r, 4096)
			rowoffs := make([]int, m)
			koffs := make([]int, k)
			for i := range rowoffs {
				rowoffs[i] = r.IntN(2048)
			}
			for i := range koffs {
				koffs[i] = r.IntN(2048)
			}
			w := randSlice(r, k*n)
			packed := packConv(ck.nr, w, k, n)
			for _, acc := range []bool{false, true} {
				ldc := n + 3
				c := randSlice(r, m*ldc)
				init := append([]float32(nil), c...)
				convRowsWith(ck, m, n, a, rowoffs, koffs, packed, c, ldc, acc)
				for i := 0; i < m; i++ {
					for j := 0; j < ldc; j++ {
						got := float64(c[i*ldc+j])
						if j >= n {
							if c[i*ldc+j] != init[i*ldc+j] {
								t.Fatalf("%s %v: column %d past n written", ck.isa, s, j)
							}
							continue
						}
						var want float64
						for p := 0; p < k; p++ {
							want += float64(a[rowoffs[i]+koffs[p]]) * float64(w[p*n+j])
						}
						if acc {
							want += float64(init[i*ldc+j])
						}
						if math.Abs(got-want) > 1e-5*float64(k+1)*math.Max(1, math.Abs(want)) {
							t.Fatalf("%s %v acc=%v: c[%d,%d] = %v, want %v", ck.isa, s, acc, i, j, got, want)
						}
					}
				}
			}
		}
	}
}

func BenchmarkConvRows(b *testing.B) {
	for _, s := range [][3]int{{512, 32, 500}, {4608, 20, 25}, {32, 128, 288}, {8, 500, 128}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(itoa(m)+"x"+itoa(n)+"x"+itoa(k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			a := randSlice(r, 1<<16)
			rowoffs := make([]int, m)
			koffs := make([]int, k)
			for i := range rowoffs {
				rowoffs[i] = (i * 20) % 30000
			}
			for i := range koffs {
				koffs[i] = i * 3
			}
			packed := PackConvWeights(randSlice(r, k*n), k, n)
			c := make([]float32, m*n)
			for i := 0; i < b.N; i++ {
				ConvRows(m, n, a, rowoffs, koffs, packed, c, n, false)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// forEachEventImpl runs fn for every event-kernel implementation this CPU
// supports (generic, AVX2, AVX-512), not only the selected one.
func forEachEventImpl(t *testing.T, fn func(t *testing.T, im eventFuncs)) {
	impls := eventImpls()
	if impls[0].isa != ISAGeneric {
		t.Fatalf("first implementation %q", impls[0].isa)
	}
	for _, im := range impls {
		t.Run(im.isa.String(), func(t *testing.T) { fn(t, im) })
	}
	if eventImpl.isa != best.ISA && eventImpl.isa != ISAGeneric {
		t.Errorf("selected event kernels %q, GEMM %q", eventImpl.isa, best.ISA)
	}
}

func TestCompressAndScatterEvents(t *testing.T) { forEachEventImpl(t, compressAndScatterEvents) }

func compressAndScatterEvents(t *testing.T, im eventFuncs) {
	r := rand.New(rand.NewPCG(13, 13))
	for _, n := range []int{1, 15, 16, 17, 100, 784} {
		x := make([]float32, n)
		for i := range x {
			if r.IntN(5) == 0 {
				x[i] = float32(1 + r.IntN(3))
			}
		}
		idx1, vals1 := make([]int32, n+16), make([]float32, n+16)
		idx2, vals2 := make([]int32, n+16), make([]float32, n+16)
		c1 := im.compress(x, idx1, vals1)
		c2 := CompressNonzeroGeneric(x, idx2, vals2)
		if c1 != c2 {
			t.Fatalf("n=%d: %d non-zeros, want %d", n, c1, c2)
		}
		for i := 0; i < c1; i++ {
			if idx1[i] != idx2[i] || vals1[i] != vals2[i] {
				t.Fatalf("n=%d: entry %d", n, i)
			}
		}
		for _, ch := range []int{3, 4, 8, 12, 16, 20, 24, 28, 32, 36, 44, 64, 100, 124, 128, 130} {
			// taps: each input reaches 0..3 random outputs
			tapIdx := []int32{0}
			var taps []int32
			for e := 0; e < n; e++ {
				for k := 0; k < r.IntN(4); k++ {
					taps = append(taps, int32(r.IntN(100)*ch), int32(r.IntN(50)*ch))
				}
				tapIdx = append(tapIdx, int32(len(taps)/2))
			}
			wt := make([]float32, 50*ch)
			for i := range wt {
				wt[i] = float32(r.IntN(129)-64) / 64
			}
			o1, o2 := make([]float32, 100*ch), make([]float32, 100*ch)
			if len(idx1[:c1]) > 0 {
				im.scatter(o1, wt, vals1[:c1], idx1[:c1], tapIdx, taps, ch)
			}
			ScatterEventsGeneric(o2, wt, vals2[:c2], idx2[:c2], tapIdx, taps, ch)
			for i := range o1 {
				if o1[i] != o2[i] {
					t.Fatalf("n=%d ch=%d: out[%d] = %v, want %v", n, ch, i, o1[i], o2[i])
				}
			}
		}
	}
}

// BenchmarkScatterEvents compares conv1-like event propagation with 20
// channels (16- and 4-wide vectors) and 32 channels (full vectors).
func BenchmarkScatterEvents(b *testing.B) {
	for _, ch := range []int{20, 32} {
		for _, stride := range []int{ch, 32} {
			if stride < ch {
				continue
			}
			b.Run(itoa(ch)+"ch_stride"+itoa(stride), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				// 28x28 input, 5x5 kernel, 24x24 output
				tapIdx := []int32{0}
				var taps []int32
				for y := 0; y < 28; y++ {
					for x := 0; x < 28; x++ {
						for i := 0; i < 5; i++ {
							for j := 0; j < 5; j++ {
								oy, ox := y-i, x-j
								if oy >= 0 && oy < 24 && ox >= 0 && ox < 24 {
									taps = append(taps, int32((oy*24+ox)*stride), int32((i*5+j)*ch))
								}
							}
						}
						tapIdx = append(tapIdx, int32(len(taps)/2))
					}
				}
				wt := randSlice(r, 25*ch)
				out := make([]float32, 576*stride)
				var idx []int32
				var vals []float32
				for e := 0; e < 784; e++ {
					if r.IntN(100) < 12 {
						idx = append(idx, int32(e))
						vals = append(vals, 1)
					}
				}
				for i := 0; i < b.N; i++ {
					ScatterEvents(out, wt, vals, idx, tapIdx, taps, ch)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(idx)), "ns/event")
			})
		}
	}
}

// TestGatherSegmentsMatchesGeneric runs CompressPositions and
// GatherSegments against their generic versions on dyadic data (sums exact
// in any order): channel counts with and without a partial last vector,
// densities from silent to full, empty segments and items, rows shared by
// several items, negative bases, and guard values after the last row.
func TestGatherSegmentsMatchesGeneric(t *testing.T) {
	forEachEventImpl(t, gatherSegmentsMatchesGeneric)
}

func gatherSegmentsMatchesGeneric(t *testing.T, im eventFuncs) {
	rng := rand.New(rand.NewPCG(11, 13))
	for _, cs := range []int{1, 8, 16, 20, 32, 45, 128} {
		for _, n := range []int{16, 32, 48, 64, 80, 96, 112, 128, 160} {
			for _, density := range []float64{0, 0.1, 0.5, 1} {
				const npos, nout, span = 30, 12, 6 // segments of up to span positions
				x := make([]float32, npos*cs)
				for i := range x {
					if rng.Float64() < density {
						x[i] = float32(rng.IntN(8)+1) / 4
					}
				}
				chOff := make([]int32, (cs+15)/16*16)
				for c := range chOff {
					chOff[c] = int32(c * n)
				}
				w := make([]float32, 2*span*cs*n)
				for i := range w {
					w[i] = float32(rng.IntN(129)-64) / 64
				}
				var segs []int32
				for o := 0; o < nout; o++ {
					k := rng.IntN(4)
					segs = append(segs, int32(k), int32(rng.IntN(nout)*n)) // rows repeat
					for ; k > 0; k-- {
						p0 := rng.IntN(npos)
						p1 := min(npos, p0+rng.IntN(span+1))
						// entries of p0..p1-1 are p*cs*n + c*n; the base moves them
						// to a tap t positions into w.
						tap := rng.IntN(span)
						segs = append(segs, int32(p0), int32(p1), int32((tap-p0)*cs*n))
					}
				}
				ents, wantEnts := make([]int32, 2*(len(x)+16)), make([]int32, 2*(len(x)+16))
				start, wantStart := make([]int32, npos+1), make([]int32, npos+1)
				CompressPositionsGeneric(x, cs, chOff, cs*n, wantEnts, wantStart)
				im.compressPos(x, cs, chOff, cs*n, ents, start)
				for p := range start {
					if start[p] != wantStart[p] {
						t.Fatalf("cs=%d density %v: start[%d] = %d, want %d", cs, density, p, start[p], wantStart[p])
					}
				}
				for j := int32(0); j < 2*start[npos]; j++ {
					if ents[j] != wantEnts[j] {
						t.Fatalf("cs=%d density %v: entry %d half %d = %d, want %d", cs, density, j/2, j%2, ents[j], wantEnts[j])
					}
				}
				const guard = 32
				want, got := twinOutputs(nout*n + guard)
				GatherSegmentsGeneric(want, w, segs, wantEnts, wantStart, n, nout)
				if im.hasGather(n) {
					im.gather(got, w, segs, ents, start, n, nout)
				} else {
					GatherSegmentsGeneric(got, w, segs, ents, start, n, nout)
				}
				requireSame(t, got, want, fmt.Sprintf("cs=%d n=%d density %v", cs, n, density))
			}
		}
	}
}

// windowEvents returns interior events of a one-channel k×k convolution of
// an h×h input (output ow×ow): bases (output offset of tap (0,0)), values,
// and the same events as inputs for ScatterEvents' tables.
func windowEvents(rng *rand.Rand, h, k, n, pct int) (bases []int32, vals []float32, idx []int32, tapIdx, taps []int32) {
	ow := h - k + 1
	tapIdx = []int32{0}
	for y := 0; y < h; y++ {
		for x := 0; x < h; x++ {
			interior := y >= k-1 && y < ow && x >= k-1 && x < ow
			for i := 0; i < k; i++ {
				for j := 0; j < k; j++ {
					oy, ox := y-i, x-j
					if oy >= 0 && oy < ow && ox >= 0 && ox < ow {
						taps = append(taps, int32((oy*ow+ox)*n), int32((i*k+j)*n))
					}
				}
			}
			tapIdx = append(tapIdx, int32(len(taps)/2))
			if interior && rng.IntN(100) < pct {
				bases = append(bases, int32((y*ow+x)*n))
				vals = append(vals, float32(rng.IntN(4)+1)/4)
				idx = append(idx, int32(y*h+x))
			}
		}
	}
	return bases, vals, idx, tapIdx, taps
}

func TestScatterWindowMatchesScatter(t *testing.T) { forEachEventImpl(t, scatterWindowMatchesScatter) }

func scatterWindowMatchesScatter(t *testing.T, im eventFuncs) {
	rng := rand.New(rand.NewPCG(17, 19))
	for _, k := range []int{3, 5} {
		for _, n := range []int{4, 8, 12, 16, 20, 24, 32, 36, 44, 64} {
			const h = 14
			ow := h - k + 1
			bases, vals, idx, tapIdx, taps := windowEvents(rng, h, k, n, 30)
			w := make([]float32, k*k*n)
			for i := range w {
				w[i] = float32(rng.IntN(129)-64) / 64
			}
			want, got := twinOutputs(ow * ow * n)
			ScatterEventsGeneric(want, w, vals, idx, tapIdx, taps, n)
			if im.hasWindow(k, n) {
				im.window(got, w, vals, bases, k, ow, n)
			} else {
				ScatterWindowGeneric(got, w, vals, bases, k, ow, n)
			}
			requireSame(t, got, want, fmt.Sprintf("k=%d n=%d", k, n))
		}
	}
}

// BenchmarkScatterWindow compares the register-weight window scatter with
// the table-driven event scatter on conv1's shape (28×28 input, 5×5
// kernel, 20 channels, 12 % of the interior positions active).
func BenchmarkScatterWindow(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const h, k, n = 28, 5, 20
	ow := h - k + 1
	bases, vals, idx, tapIdx, taps := windowEvents(rng, h, k, n, 12)
	w := randSlice(rng, k*k*n)
	out := make([]float32, ow*ow*n)
	b.Run("window", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ScatterWindow(out, w, vals, bases, k, ow, n)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/event")
	})
	b.Run("events", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ScatterEvents(out, w, vals, idx, tapIdx, taps, n)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/event")
	})
}

// twinOutputs returns two equal output buffers of n dyadic values (the
// kernels add to their outputs, so the starting values take part).
func twinOutputs(n int) (a, b []float32) {
	a, b = make([]float32, n), make([]float32, n)
	for i := range a {
		a[i] = float32(i%7) / 8
		b[i] = a[i]
	}
	return a, b
}

// requireSame fails the test at the first element where got and want differ.
func requireSame(t *testing.T, got, want []float32, what string) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: out[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestScatterPositionsMatchesScatter(t *testing.T) {
	forEachEventImpl(t, scatterPositionsMatchesScatter)
}

// scatterPositionsMatchesScatter runs every position of a random
// channels-last input (cs channels, dyadic values, so that every order of
// summation gives the same result) of a padded convolution, class by
// class (stride 2: four), in a shuffled order, through CompressList and
// ScatterPositions, the taps of positions near the border that fall
// outside the output masked off, and their events through the tables of
// ScatterEvents. The lists must equal the generic ones.
func scatterPositionsMatchesScatter(t *testing.T, im eventFuncs) {
	rng := rand.New(rand.NewPCG(23, 29))
	for _, g := range []struct{ k, s, p int }{{3, 1, 1}, {5, 1, 0}, {3, 2, 1}, {1, 2, 0}, {3, 2, 0}} {
		for _, n := range []int{16, 32, 48, 64} {
			for _, cs := range []int{1, 16, 20, 32} {
				const h = 12
				k, st, pad := g.k, g.s, g.p
				ow := (h+2*pad-k)/st + 1
				x := make([]float32, h*h*cs)
				for i := range x {
					if rng.IntN(100) < 15 {
						x[i] = float32(rng.IntN(4)+1) / 4
					}
				}
				w := make([]float32, cs*k*k*n)
				for i := range w {
					w[i] = float32(rng.IntN(129)-64) / 64
				}
				chOff := make([]int32, (cs+15)/16*16)
				for c := 0; c < cs; c++ {
					chOff[c] = int32(c * k * k * n)
				}
				// The reference: every event through tap tables.
				var idx []int32
				var vals []float32
				tapIdx := []int32{0}
				var taps []int32
				for p := 0; p < h*h; p++ {
					y, xx := p/h, p%h
					for c := 0; c < cs; c++ {
						for i := 0; i < k; i++ {
							for j := 0; j < k; j++ {
								ty, tx := y+pad-i, xx+pad-j
								if ty >= 0 && tx >= 0 && ty%st == 0 && tx%st == 0 && ty/st < ow && tx/st < ow {
									taps = append(taps, int32((ty/st*ow+tx/st)*n), int32((c*k*k+i*k+j)*n))
								}
							}
						}
						tapIdx = append(tapIdx, int32(len(taps)/2))
						if v := x[p*cs+c]; v != 0 {
							idx, vals = append(idx, int32(p*cs+c)), append(vals, v)
						}
					}
				}
				want, got := twinOutputs(ow * ow * n)
				ScatterEventsGeneric(want, w, vals, idx, tapIdx, taps, n)
				what := fmt.Sprintf("k=%d s=%d pad=%d n=%d cs=%d", k, st, pad, n, cs)
				for class := 0; class < st*st; class++ {
					pc := PosClass{K: k, S: st, RY: class / st, RX: class % st, OW: ow, N: n}
					var order []int32
					bases := make([]int32, 2*h*h)
					for p := 0; p < h*h; p++ {
						Y, X := p/h+pad, p%h+pad
						if Y%st != pc.RY || X%st != pc.RX {
							continue
						}
						order = append(order, int32(p))
						bases[2*p] = int32((Y/st*ow + X/st) * n)
						for q, tp := range pc.Taps() {
							if oy, ox := Y/st-tp[0]/st, X/st-tp[1]/st; oy >= 0 && oy < ow && ox >= 0 && ox < ow {
								bases[2*p+1] |= 1 << q
							}
						}
					}
					rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
					ents, list, start := make([]int32, 2*(len(x)+16)), make([]int32, len(order)), make([]int32, len(order)+1)
					gents, glist, gstart := make([]int32, 2*(len(x)+16)), make([]int32, len(order)), make([]int32, len(order)+1)
					m := CompressListGeneric(x, cs, chOff, order, gents, glist, gstart)
					if len(order) > 0 {
						if im.compressList(x, cs, chOff, order, ents, list, start) != m || fmt.Sprint(list[:m], start[:m+1], ents[:2*start[m]]) != fmt.Sprint(glist[:m], gstart[:m+1], gents[:2*gstart[m]]) {
							t.Fatalf("%s class %d: CompressList lists differ from the generic ones", what, class)
						}
					}
					dummy := make([]float32, max(1, len(pc.Taps()))*n)
					if im.hasPos(k, st, n) {
						im.scatterPos(got, w, gents, gstart, glist[:m], bases, dummy, pc)
					} else {
						ScatterPositionsGeneric(got, w, gents, gstart, glist[:m], bases, dummy, pc)
					}
				}
				requireSame(t, got, want, what)
			}
		}
	}
}

func TestScatterRowsMatchesGeneric(t *testing.T) { forEachEventImpl(t, scatterRowsMatchesGeneric) }

// scatterRowsMatchesGeneric runs random dyadic frames of "same" 3×3
// convolutions of every small shape (one row, one column, widths around
// the kernel's unrolling by three) and of inputs of 1 to 40 channels, some
// with padding channels holding garbage, through each implementation's
// ScatterRows and the generic one, which adds product by product.
func scatterRowsMatchesGeneric(t *testing.T, im eventFuncs) {
	rng := rand.New(rand.NewPCG(31, 37))
	for _, st := range []int{1, 2} {
		for _, n := range []int{16, 32, 48, 64} {
			for _, ch := range [][2]int{{1, 1}, {16, 16}, {16, 13}, {20, 17}, {32, 32}, {32, 30}, {40, 33}} {
				cs, cin := ch[0], ch[1]
				for _, hw := range [][2]int{{1, 1}, {1, 5}, {4, 1}, {2, 2}, {3, 4}, {5, 6}, {7, 7}, {6, 8}, {28, 28}} {
					h, wd := hw[0], hw[1]
					x := make([]float32, h*wd*cs)
					for i := range x {
						switch {
						case i%cs >= cin:
							x[i] = float32(rng.IntN(5)) // padding: must be ignored
						case rng.IntN(100) < 20:
							x[i] = float32(rng.IntN(4)+1) / 4
						}
					}
					w := make([]float32, max(cin, SweepChannels)*9*n)
					for i := range w[:cin*9*n] {
						w[i] = float32(rng.IntN(129)-64) / 64
					}
					// Guard rows before and after the frame must stay as they
					// are; the frame starts as garbage, every output must be set.
					g, size := 2*wd*n, ((h-1)/st+1)*((wd-1)/st+1)*n
					want, got := twinOutputs(g + size + g)
					for i := g; i < g+size; i++ {
						got[i] = float32(i % 5)
					}
					bias := make([]float32, n)
					for i := range bias {
						bias[i] = float32(rng.IntN(9)-4) / 8
					}
					dummy := make([]float32, 3*n)
					ScatterRowsGeneric(want[g:g+size], w, x, cs, cin, dummy, bias, h, wd, st, n)
					for slots := 1; slots <= SweepMaxSlots; slots++ {
						for i := g; i < g+size; i++ {
							got[i] = float32(i % 5)
						}
						if im.hasRows(st, n, cin) {
							im.scatterRows(got[g:g+size], w, x, cs, cin, dummy, bias, h, wd, st, n, slots)
						} else {
							ScatterRowsGeneric(got[g:g+size], w, x, cs, cin, dummy, bias, h, wd, st, n)
						}
						requireSame(t, got, want, fmt.Sprintf("stride %d n=%d cs=%d cin=%d %d×%d slots %d", st, n, cs, cin, h, wd, slots))
					}
				}
			}
		}
	}
}

func TestPointwiseMatchesGeneric(t *testing.T) { forEachEventImpl(t, pointwiseMatchesGeneric) }

// pointwiseMatchesGeneric runs random dyadic frames of 1×1 convolutions
// at strides 1 to 3, into rows of 16 to 64 floats, from inputs of 1 to 40
// channels (padding channels holding garbage), through each
// implementation's Pointwise and the generic one.
func pointwiseMatchesGeneric(t *testing.T, im eventFuncs) {
	rng := rand.New(rand.NewPCG(41, 43))
	for _, st := range []int{1, 2, 3} {
		for _, n := range []int{16, 32, 48, 64} {
			for _, ch := range [][2]int{{1, 1}, {16, 16}, {16, 13}, {20, 17}, {32, 32}, {32, 30}, {40, 33}} {
				cs, cin := ch[0], ch[1]
				for _, hw := range [][2]int{{1, 1}, {1, 5}, {4, 1}, {3, 4}, {7, 7}, {28, 28}} {
					h, wd := hw[0], hw[1]
					x := make([]float32, h*wd*cs)
					for i := range x {
						switch {
						case i%cs >= cin:
							x[i] = float32(rng.IntN(5)) // padding: must be ignored
						case rng.IntN(100) < 20:
							x[i] = float32(rng.IntN(4)+1) / 4
						}
					}
					w := make([]float32, max(cin, SweepChannels)*n)
					for i := range w[:cin*n] {
						w[i] = float32(rng.IntN(129)-64) / 64
					}
					g, size := 2*n, ((h-1)/st+1)*((wd-1)/st+1)*n
					want, got := twinOutputs(g + size + g)
					for i := g; i < g+size; i++ {
						got[i] = float32(i % 5)
					}
					bias := make([]float32, n)
					for i := range bias {
						bias[i] = float32(rng.IntN(9)-4) / 8
					}
					PointwiseGeneric(want[g:g+size], w, x, cs, cin, bias, h, wd, st, n)
					for slots := 1; slots <= SweepMaxSlots; slots++ {
						for i := g; i < g+size; i++ {
							got[i] = float32(i % 5)
						}
						if im.hasPointwise(n, cin) {
							im.pointwise(got[g:g+size], w, x, cs, cin, bias, h, wd, st, n, slots)
						} else {
							PointwiseGeneric(got[g:g+size], w, x, cs, cin, bias, h, wd, st, n)
						}
						requireSame(t, got, want, fmt.Sprintf("stride %d n=%d cs=%d cin=%d %d×%d slots %d", st, n, cs, cin, h, wd, slots))
					}
				}
			}
		}
	}
}

// TestSweepSlots checks the slots chosen for the densities measured
// (BenchmarkPositionScatterer): one for sparse inputs, two at resnet_fmnist's
// 10 %, more for denser inputs and cheaper channels, and 2 when the
// density is unknown.
func TestSweepSlots(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mean      float64
		cin       int
		fmas      float64
		pointwise bool
		want      int
	}{
		{"16-channel sweep at 5 %", 0.8, 16, 9, false, 1},
		{"16-channel sweep at 10 %", 1.6, 16, 9, false, 2},
		{"16-channel sweep at 20 %", 3.2, 16, 9, false, 4},
		{"16→32 at stride 2, 13 %", 2.1, 16, 4.5, false, 3},
		{"16→32 shortcut, 10 %", 1.6, 16, 2, true, 1},
		{"16→32 shortcut, 13 %", 2.1, 16, 2, true, 2},
		{"empty", 0, 16, 9, false, 1},
		{"every channel (the same cost for all: the fewest)", 16, 16, 9, false, 1},
		{"unknown", -1, 16, 9, false, 2},
		{"NaN", math.NaN(), 16, 9, false, 2},
	} {
		if got := SweepSlots(tc.mean, tc.cin, tc.fmas, tc.pointwise); got != tc.want {
			t.Errorf("%s: %d slots, want %d", tc.name, got, tc.want)
		}
	}
}
