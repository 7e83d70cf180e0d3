package nn

import (
	"fmt"
	"math/rand/v2"
)

// CloneLayer returns a deep copy of a layer of this package: the same
// configuration with its own copy of every parameter and buffer, and its
// own work buffers, so that copies can run concurrently.
func CloneLayer(l Layer) (Layer, error) {
	switch v := l.(type) {
	case *Conv2d:
		c := NewConv2d(v.Config, nil)
		copyParams(c.Params(), v.Params())
		return c, nil
	case *Linear:
		c := NewLinear(v.Config, nil)
		copyParams(c.Params(), v.Params())
		return c, nil
	case *BatchNorm2d:
		c := NewBatchNorm2d(v.Features)
		c.Eps, c.Momentum = v.Eps, v.Momentum
		copyParams(c.Params(), v.Params())
		copyParams(c.Buffers(), v.Buffers())
		return c, nil
	case *Pool2d:
		return &Pool2d{Kind: v.Kind, Config: v.Config}, nil
	case *ReLU:
		return NewReLU(), nil
	case *Flatten:
		return NewFlatten(), nil
	case *Dropout:
		return NewDropout(v.P, rand.New(rand.NewPCG(v.rng.Uint64(), v.rng.Uint64()))), nil
	case *GlobalAvgPool2d:
		return NewGlobalAvgPool2d(), nil
	case *Identity:
		return NewIdentity(), nil
	case *Normalize:
		return NewNormalize(v.Mean.Value.Data, v.Std.Value.Data)
	case *Scale:
		return NewScale(v.Factor), nil
	case *QCFS:
		c := &QCFS{Levels: v.Levels, Lambda: newParam("lambda", v.Lambda.Value.Shape...)}
		copy(c.Lambda.Value.Data, v.Lambda.Value.Data)
		return c, nil
	}
	return nil, fmt.Errorf("clone: %v is not a layer of package nn", l)
}

// Clone returns a deep copy of a Sequential (see CloneLayer).
func (s *Sequential) Clone() (*Sequential, error) {
	c := &Sequential{}
	for i, l := range s.Layers {
		cl, err := CloneLayer(l)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		c.Layers = append(c.Layers, cl)
	}
	return c, nil
}

// CloneJoin returns a copy of a join of this package.
func CloneJoin(j Join) (Join, error) {
	switch j.(type) {
	case *Add:
		return NewAdd(), nil
	case *Concat:
		return NewConcat(), nil
	}
	return nil, fmt.Errorf("clone: %v is not a join of package nn", j)
}

func copyParams(dst, src []*Param) {
	for i := range dst {
		copy(dst[i].Value.Data, src[i].Value.Data)
	}
}
