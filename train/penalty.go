package train

import "github.com/snnkit/snnkit/nn"

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
			if c, ok := next.(*nn.Conv2d); ok {
				cfg := c.Config.Norm()
				fan = float64(cfg.Out*cfg.KernelHW[0]*cfg.KernelHW[1]) / float64(cfg.StrideHW[0]*cfg.StrideHW[1])
				break
			}
			if lin, ok := next.(*nn.Linear); ok {
				fan = float64(lin.Config.Out)
				break
			}
		}
		q.Penalty = float32(a * fan / float64(q.Lambda.Value.Data[0]))
		set++
	}
	return set
}
