package sim

import "github.com/snnkit/snnkit/internal/event"

// EventForms reports, per weighted stage of the fast engine's plan, how its
// events propagate, "gathered", "window" or "scatter", and whether a SIMD
// kernel runs them ("/simd") or the pure-Go one ("/generic"), so tests can
// check the path their names promise; "+table" marks a layer that also
// has a table convolution.
func EventForms(s *Simulator) map[string]string {
	forms := map[string]string{}
	for _, p := range s.fast.ops {
		op, ok := p.(*weightedOp)
		if !ok {
			continue
		}
		ch := op.outLen / len(op.rows)
		form, simd := "scatter", event.HasScatterKernel(ch)
		switch {
		case op.event == eventGather:
			form, simd = "gathered", event.HasGatherKernel(ch)
		case op.posWin && event.SweepsRows(op.posGeom, op.in.shape[0], ch):
			form, simd = "rows", true
		case op.posWin && event.Pointwise(op.posGeom, op.in.shape[0], ch):
			form, simd = "pointwise", true
		case op.posWin:
			form, simd = "positions", event.HasPositionKernel(op.posGeom.K, op.posGeom.S, ch)
		case op.winBase != nil:
			form, simd = "window", event.HasWindowKernel(op.winK, ch)
		}
		if simd {
			form += "/simd"
		} else {
			form += "/generic"
		}
		if op.table != nil {
			form += "+table"
		}
		forms[s.net.Stages[op.index].Name] = form
	}
	return forms
}

// FastEngine reports whether the simulator runs its network on the fast
// engine (any engine but the reference one, on a network it compiles).
func FastEngine(s *Simulator) bool { return s.fastEngine() }

// UseTables makes s an event engine that takes every table convolution,
// and reports whether its plan has one: the engine tests' extra engine.
func UseTables(s *Simulator) bool {
	s.engine = engineTables
	for _, p := range s.fast.ops {
		if op, ok := p.(*weightedOp); ok && op.table != nil {
			return true
		}
	}
	return false
}

// FusedJoins reports how many populations of s's plan may step the
// residual Add that feeds them (fuseJoins).
func FusedJoins(s *Simulator) int {
	n := 0
	for _, p := range s.fast.ops {
		if sp, ok := p.(*spikeOp); ok && sp.fused != nil {
			n++
		}
	}
	return n
}
