//go:build !amd64 || purego

package kernels

func convAsm() []convKernel { return nil }

func eventImpls() []eventFuncs { return []eventFuncs{eventGeneric} }
