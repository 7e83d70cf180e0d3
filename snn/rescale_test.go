package snn

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snnkit/internal/testnets"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// TestScaleGraphChannels rescales a residual graph (an identity shortcut,
// a Concat, pooling, Flatten, a Linear) by random scales per channel of
// every ReLU and requires each ReLU's output to be the original's divided
// by its channel's scale, the output the original's divided by the scale
// returned, and the identity shortcut to pass through a depthwise 1×1
// Conv2d holding the factors.
func TestScaleGraphChannels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := testnets.ResGraph(rng)
	x := tensor.New(16, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	folded, err := ScaleGraph(context.Background(), g, sliceSamples{x}, func(string, Visit) (float64, error) { return 1, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := folded.Forward(x, false); err != nil {
		t.Fatal(err)
	}
	orig := map[string][]float32{}
	for _, n := range folded.Nodes {
		orig[n.Name] = append([]float32(nil), folded.NodeOutput(n.Name).Data...)
	}
	scales := map[string][]float64{}
	sg, out, err := ScaleGraphChannels(context.Background(), g, sliceSamples{x}, func(relu string, shape []int, _ Visit) ([]float64, error) {
		s := make([]float64, shape[0])
		for c := range s {
			s[c] = 0.25 + 4*rng.Float64()
		}
		scales[relu] = s
		return s, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := sg.Node("add.scale1"); !ok {
		t.Fatalf("no scaling layer on the identity shortcut:\n%v", sg)
	} else if c, ok := n.Layer.(*nn.Conv2d); !ok || c.Config.Groups != 4 || c.Config.Kernel != 1 {
		t.Fatalf("the shortcut is scaled by %v", n.Layer)
	}
	if _, err := sg.Forward(x, false); err != nil {
		t.Fatal(err)
	}
	for relu, s := range scales {
		got, want := sg.NodeOutput(relu), orig[relu]
		inner := tensor.Numel(got.Shape[2:])
		for i, v := range got.Data {
			w := float64(want[i]) / s[i/inner%len(s)]
			if math.Abs(float64(v)-w) > 1e-5*math.Max(1, math.Abs(w)) {
				t.Fatalf("%s value %d: %v, want %v", relu, i, v, w)
			}
		}
	}
	final := sg.NodeOutput(sg.OutputName()).Data
	for i, v := range final {
		w := float64(orig["head"][i]) / out[i%len(out)]
		if math.Abs(float64(v)-w) > 1e-5*math.Max(1, math.Abs(w)) {
			t.Fatalf("output %d: %v, want %v (scales %v)", i, v, w, out)
		}
	}
}

// TestScaleGraphChannelsFlatJoin refuses per-channel scales that a flat
// residual Add would need, with ErrChannelScales, and takes one scale per
// population there.
func TestScaleGraphChannelsFlatJoin(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	g := testnets.FlatResGraph(rng)
	x := tensor.New(8, 6)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	tests := []struct {
		name    string
		perChan bool
		wantErr bool
	}{{"per channel", true, true}, {"per population", false, false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ScaleGraphChannels(context.Background(), g, sliceSamples{x}, func(relu string, shape []int, _ Visit) ([]float64, error) {
				if !tt.perChan {
					return []float64{2}, nil
				}
				if relu == "r1" {
					return []float64{1, 2, 3, 4}, nil
				}
				return []float64{4, 3, 2, 1}, nil
			})
			if tt.wantErr != errors.Is(err, ErrChannelScales) {
				t.Fatalf("error %v", err)
			}
		})
	}
}
