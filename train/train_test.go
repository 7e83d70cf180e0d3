package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/optim"
	"github.com/snnkit/snnkit/tensor"
)

func loadMNIST(t testing.TB) (train, test *mnist.Dataset) {
	t.Helper()
	dir, err := mnist.Locate("")
	if err != nil {
		t.Skip("MNIST not available: ", err)
	}
	train, test, err = mnist.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return train, test
}

func tutorialNet(t testing.TB, seed uint64) *nn.Sequential {
	t.Helper()
	spec, err := arch.Lookup("tutorial")
	if err != nil {
		t.Fatal(err)
	}
	net, err := spec.Build(rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func fit(t testing.TB, data Dataset, seed uint64, epochs int) *nn.Sequential {
	net := tutorialNet(t, seed)
	opt, err := optim.NewAdam(net.Params(), optim.AdamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fit(context.Background(), net, opt, data, Config{Epochs: epochs, BatchSize: 128, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return net
}

// TestDeterministicAcrossThreads trains the same network with one and with
// two threads and requires bit-identical weights.
func TestDeterministicAcrossThreads(t *testing.T) {
	train, _ := loadMNIST(t)
	n := 1500
	if testing.Short() {
		n = 300
	}
	small := train.Subset(n)
	prev := runtime.GOMAXPROCS(1)
	one := fit(t, small, 3, 1)
	runtime.GOMAXPROCS(2)
	two := fit(t, small, 3, 1)
	runtime.GOMAXPROCS(prev)
	p1, p2 := one.Params(), two.Params()
	for i := range p1 {
		for j := range p1[i].Value.Data {
			if p1[i].Value.Data[j] != p2[i].Value.Data[j] {
				t.Fatalf("parameter %d element %d: %v with 1 thread, %v with 2", i, j, p1[i].Value.Data[j], p2[i].Value.Data[j])
			}
		}
	}
}

// TestLearnsMNIST trains the tutorial network on a small subset and checks
// that it clearly learns (full-data accuracy runs belong to the CLI).
func TestLearnsMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	train, test := loadMNIST(t)
	net := fit(t, train.Subset(10000), 0, 1)
	ev, err := Evaluate(context.Background(), net, test.Subset(2000), 500)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accuracy after one epoch on 10000 images: %.4f", ev.Accuracy)
	if ev.Accuracy < 0.70 {
		t.Fatalf("test accuracy %.4f after one epoch on 10000 images, want >= 0.70 (chance is 0.10)", ev.Accuracy)
	}
}

func TestCancel(t *testing.T) {
	train, _ := loadMNIST(t)
	net := tutorialNet(t, 0)
	opt, _ := optim.NewAdam(net.Params(), optim.AdamConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	batches := 0
	_, err := Fit(ctx, net, opt, train.Subset(5000), Config{Epochs: 1, BatchSize: 100, Progress: func(Progress) {
		batches++
		if batches == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || batches != 3 {
		t.Fatalf("err %v after %d batches, want context.Canceled after 3", err, batches)
	}
}

func TestBadConfig(t *testing.T) {
	net := tutorialNet(t, 0)
	opt, _ := optim.NewAdam(net.Params(), optim.AdamConfig{})
	d := &mnist.Dataset{N: 1, Rows: 28, Cols: 28, Pixels: make([]byte, 784), Labels: []uint8{1}}
	for _, c := range []Config{{Epochs: 0, BatchSize: 1}, {Epochs: 1, BatchSize: 0}} {
		if _, err := Fit(context.Background(), net, opt, d, c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

// TestEvaluateNamesOverflow checks that weights near the float32 limit give
// an error naming the layer and tensor that overflow, not a bare NaN loss.
func TestEvaluateNamesOverflow(t *testing.T) {
	lin := nn.NewLinear(nn.LinearConfig{In: 4, Out: 3}, nil)
	for i := range lin.Weight.Value.Data {
		lin.Weight.Value.Data[i] = 3e38
	}
	model := nn.NewSequential(nn.NewFlatten(), lin)
	data := &mnist.Dataset{N: 2, Rows: 2, Cols: 2, Pixels: []byte{255, 255, 255, 255, 9, 200, 30, 255}, Labels: []uint8{0, 1}}
	_, err := Evaluate(context.Background(), model, data, 2)
	if err == nil || !strings.Contains(err.Error(), "layer 1 (Linear") || !strings.Contains(err.Error(), "1.weight reaches |3e+38|") {
		t.Fatalf("error %v, want one naming layer 1 and 1.weight", err)
	}
}

// TestFitGraph trains the resnet-small graph for a few batches: the loss
// falls, through residual Adds and BatchNorm.
func TestFitGraph(t *testing.T) {
	train, _ := loadMNIST(t)
	g, err := arch.ResNetSmall().Build(rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := optim.NewAdam(g.Params(), optim.AdamConfig{LR: 3e-3})
	res, err := Fit(context.Background(), g, opt, train.Subset(768), Config{Epochs: 2, BatchSize: 64, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !(res.EpochLoss[1] < res.EpochLoss[0]) || res.EpochLoss[1] > 2 {
		t.Fatalf("epoch losses %v", res.EpochLoss)
	}
}

// TestShift checks random shifts against their definition on a batch of
// two 2-channel images, and that ParseAugment reads and refuses what it
// should.
func TestShift(t *testing.T) {
	const b, c, h, w = 3, 2, 4, 5
	x := tensor.New(b, c, h, w)
	for i := range x.Data {
		x.Data[i] = float32(i + 1)
	}
	orig := append([]float32(nil), x.Data...)
	s := &Shift{Max: 2}
	rng := rand.New(rand.NewPCG(3, 4))
	if err := s.Apply(x, rng); err != nil {
		t.Fatal(err)
	}
	rng = rand.New(rand.NewPCG(3, 4)) // the same draws
	moved := false
	for i := 0; i < b; i++ {
		dy, dx := rng.IntN(5)-2, rng.IntN(5)-2
		moved = moved || dy != 0 || dx != 0
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					want := float32(0)
					if sy, sx := y-dy, xx-dx; sy >= 0 && sy < h && sx >= 0 && sx < w {
						want = orig[((i*c+ch)*h+sy)*w+sx]
					}
					if got := x.Data[((i*c+ch)*h+y)*w+xx]; got != want {
						t.Fatalf("image %d shifted by (%d, %d): [%d,%d,%d] = %v, want %v", i, dy, dx, ch, y, xx, got, want)
					}
				}
			}
		}
	}
	if !moved {
		t.Fatal("no image moved: the test checks nothing")
	}
	if err := s.Apply(tensor.New(2, 3), rng); err == nil {
		t.Fatal("a batch of vectors accepted")
	}
	for _, tc := range []struct {
		in   string
		want string
	}{{"", ""}, {"none", ""}, {"shift:2", "shift:2"}, {"shift:0", "shift:0"}} {
		a, err := ParseAugment(tc.in)
		if err != nil || (a == nil) != (tc.want == "") || a != nil && a.String() != tc.want {
			t.Errorf("ParseAugment(%q) = %v, %v", tc.in, a, err)
		}
	}
	for _, bad := range []string{"shift", "shift:-1", "shift:x", "flip", "shift:99999"} {
		if _, err := ParseAugment(bad); err == nil {
			t.Errorf("ParseAugment(%q) accepted", bad)
		}
	}
}
