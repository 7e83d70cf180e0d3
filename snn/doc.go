// Package snn holds spiking neural networks: neuron models with sinabs'
// exact per-time-step numerics, conversion of a trained ANN (a Sequential
// with FromModel, a graph with FromGraph) into a spiking network (every ReLU
// becomes an integrate-and-fire population), and weight normalisation.
//
// A converted network is a list of stages: weighted and pooling layers that
// act on each time step's frame independently, joins (Add, Concat) of the
// stages a graph names, and spiking populations and spiking max-pools whose
// state carries from step to step. Package sim runs networks through time.
package snn
