// Package event propagates the non-zero inputs of one frame through a
// layer's fixed connectivity for the event-driven engines: event by event
// through tap tables (Scatterer, with a register-weight window path for
// one-channel convolutions), output by output over runs of a per-frame
// list of active channels (Gatherer), input position by input position or
// in row sweeps (PositionScatterer), or, for spike counts, by look-up of
// precomputed weight sums (Table). Each checks its tables once, when it is
// made, and then calls the unchecked kernels of internal/kernels.
package event
