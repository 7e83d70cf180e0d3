// Package kernels holds snnkit's unchecked numeric kernels: the packed
// single-precision matrix multiply and its micro-kernels.
//
// Every kernel has a pure-Go version that is always compiled and serves as the
// reference. On amd64 hand-written AVX2+FMA and AVX-512 micro-kernels are
// chosen at run time from the CPU's features; the build tag purego or the
// environment variable SNNKIT_NOASM=1 disables them. Callers (package tensor)
// check shapes and lengths before calling in here.
package kernels
