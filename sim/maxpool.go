package sim

import (
	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/tensor"
)

// runMaxPool advances every sample of a chunk through a spiking max-pool
// stage, samples in parallel.
func (s *Simulator) runMaxPool(i int, x, out *tensor.Tensor, batch, n int) error {
	st := &s.net.Stages[i]
	g, err := st.MaxPool.Geom(st.In)
	if err != nil {
		return err
	}
	inLen, outLen := g.C*g.H*g.W, g.C*g.OH*g.OW
	if len(s.counts[i]) != batch*inLen {
		s.counts[i] = make([]float32, batch*inLen)
	}
	counts := s.counts[i]
	parallel.Run(batch, func(b int) {
		st.MaxPool.Step(g, counts[b*inLen:(b+1)*inLen], x.Data[b*n*inLen:(b+1)*n*inLen], out.Data[b*n*outLen:(b+1)*n*outLen], n)
	})
	return nil
}
