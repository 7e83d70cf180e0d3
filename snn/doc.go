// Package snn holds spiking neural networks: neuron models with sinabs'
// exact per-time-step numerics, conversion of a trained ANN into a spiking
// network (every ReLU becomes an integrate-and-fire population), weight
// normalisation, and the simulator that runs spike trains through a network.
//
// A converted network is a list of stages: weighted and pooling layers that
// act on each time step's frame independently, and spiking populations whose
// state carries from step to step. The simulator owns the time loop; it runs
// whole [batch, time, ...] sequences (each layer over all frames of a chunk
// of time at once) or one step at a time, with identical results.
package snn
