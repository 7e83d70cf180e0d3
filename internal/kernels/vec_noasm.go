//go:build !amd64 || purego

package kernels

func vecAsm() vecFuncs { return vecGeneric }
