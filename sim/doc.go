// Package sim runs spiking networks (snn.Network) through time: a
// Simulator owns the time loop and the state of every population, runs
// whole [batch, time, ...] sequences or one step at a time with identical
// results, and hands what it computes to monitors (synaptic operations,
// firing rates, recorders) that ask for it.
//
// Four engines compute the same spikes. The reference engine runs the
// layers one time step at a time in NCHW, batched over images. The others
// run a plan compiled once from the network's graph, per image over chunks
// of time, channels-last: dense (direct convolutions and matrix products
// over every frame), event (only non-zero inputs propagate: gathered,
// scattered, or scattered position by position) and auto (dense or
// event-driven per layer and chunk, from the input's density and a cost
// model of this machine's kernels). Every engine runs every graph.
package sim
