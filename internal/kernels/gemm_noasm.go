//go:build !amd64 || purego

package kernels

func asmImpls() []Impl { return nil }
