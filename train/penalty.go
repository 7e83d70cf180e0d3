package train

import (
	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
)

// SetSynopsPenalty gives every QCFS layer of seq a synaptic-operations
// penalty (nn.QCFS.Penalty): a times the synapses one spike of its output
// drives (the fan-out of the Conv2d or Linear it feeds, through pooling and
// flatten: out channels × k² / stride² for a convolution) over its initial
// λ, so that the loss counts what the converted layer's spikes will cost
// (Sorbaro et al. 2020; sinabs' synops loss). It returns how many layers it
// set; 0 means seq holds no QCFS activation.
func SetSynopsPenalty(seq *nn.Sequential, a float64) int {
	set := 0
	for i, l := range seq.Layers {
		q, ok := l.(*nn.QCFS)
		if !ok {
			continue
		}
		fan := 0.0
		for _, next := range seq.Layers[i+1:] {
			if f, weighted := fanOut(next); weighted {
				fan = f
				break
			}
		}
		q.Penalty = float32(a * fan / float64(q.Lambda.Value.Data[0]))
		set++
	}
	return set
}

// SetSynopsPenaltyGraph is SetSynopsPenalty for a graph: a QCFS node's
// fan-out is the sum over every Conv2d and Linear its output reaches
// through pooling, Flatten, Dropout, Identity, Scale and joins, up to the
// next population (a residual shortcut's spikes that join another
// branch's current before a population drive no synapse of their own).
func SetSynopsPenaltyGraph(g *graph.Graph, a float64) (int, error) {
	if err := g.Check(); err != nil {
		return 0, err
	}
	readers := g.Consumers()
	// reach sums the fan-out of what node i's output drives (memoised: a
	// node reached by many paths is walked once).
	memo := map[int]float64{}
	var reach func(i int) float64
	reach = func(i int) float64 {
		if f, ok := memo[i]; ok {
			return f
		}
		var fan float64
		defer func() { memo[i] = fan }()
		for _, j := range readers[i] {
			n := g.Nodes[j]
			if n.Join != nil {
				fan += reach(j)
				continue
			}
			switch n.Layer.(type) {
			case *nn.Pool2d, *nn.Flatten, *nn.GlobalAvgPool2d, *nn.Dropout, *nn.Identity, *nn.Scale:
				fan += reach(j)
				continue
			}
			if f, weighted := fanOut(n.Layer); weighted {
				fan += f
			}
		}
		return fan
	}
	set := 0
	for i, n := range g.Nodes {
		q, ok := n.Layer.(*nn.QCFS)
		if !ok {
			continue
		}
		q.Penalty = float32(a * reach(i) / float64(q.Lambda.Value.Data[0]))
		set++
	}
	return set, nil
}

// fanOut is the number of synapses one input spike of a weighted layer
// drives: out channels per group × k² / stride² for a convolution, the
// outputs of a Linear; weighted is false for any other layer.
func fanOut(l nn.Layer) (fan float64, weighted bool) {
	switch l := l.(type) {
	case *nn.Conv2d:
		cfg := l.Config.Norm()
		return float64(cfg.Out/cfg.Groups*cfg.KernelHW[0]*cfg.KernelHW[1]) / float64(cfg.StrideHW[0]*cfg.StrideHW[1]), true
	case *nn.Linear:
		return float64(l.Config.Out), true
	}
	return 0, false
}
