package arch

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseActivation reads a choice of activation: "relu" (nil: keep the
// architecture's), or "qcfs:L" / "qcfs:L:LAMBDA" for a QCFS layer of L
// levels with one λ per layer, initially LAMBDA (DefaultQCFSLambda, 2).
func ParseActivation(s string) (*Layer, error) {
	if s == "" || s == "relu" {
		return nil, nil
	}
	bad := fmt.Errorf("activation %q: want relu, qcfs:L or qcfs:L:LAMBDA (L levels, 1 to %d; LAMBDA > 0)", s, MaxDim)
	rest, ok := strings.CutPrefix(s, "qcfs:")
	if !ok {
		return nil, bad
	}
	ls, lams, hasLam := strings.Cut(rest, ":")
	levels, err := strconv.Atoi(ls)
	if err != nil || levels < 1 || levels > MaxDim {
		return nil, bad
	}
	lam := DefaultQCFSLambda
	if hasLam {
		if lam, err = strconv.ParseFloat(lams, 64); err != nil || !(lam > 0 && lam <= 3.4e38) {
			return nil, bad
		}
	}
	l := Layer{Type: "QCFS", Levels: levels, Lambda: &lam}
	return &l, nil
}

// WithActivation returns a copy of s with every ReLU replaced by act (s
// itself for nil).
func (s *Spec) WithActivation(act *Layer) *Spec {
	if act == nil {
		return s
	}
	c := *s
	c.Layers = append([]Layer(nil), s.Layers...)
	for i, l := range c.Layers {
		if l.Type == "ReLU" {
			c.Layers[i] = *act
		}
	}
	return &c
}

// WithActivation returns a copy of s with every ReLU node's layer replaced
// by act (s itself for nil).
func (s *GraphSpec) WithActivation(act *Layer) *GraphSpec {
	if act == nil {
		return s
	}
	c := *s
	c.Nodes = append([]GraphNode(nil), s.Nodes...)
	for i, n := range c.Nodes {
		if n.Join == "" && n.Layer.Type == "ReLU" {
			c.Nodes[i].Layer = *act
		}
	}
	return &c
}
