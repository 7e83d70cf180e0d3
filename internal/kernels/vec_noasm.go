//go:build !amd64 || purego

package kernels

func vecImpls() []vecFuncs { return []vecFuncs{vecGeneric} }
