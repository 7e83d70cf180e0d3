//go:build !amd64 || purego

package kernels

func convAsm() []convKernel { return nil }

func eventsAsm() (func(x []float32, idx []int32, vals []float32) int, func(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int)) {
	return CompressNonzeroGeneric, ScatterEventsGeneric
}

func compressPosAsm() func(x []float32, cs int, chOff []int32, posStride int, ents, start []int32) {
	return CompressPositionsGeneric
}

func gatherAsm(out, w []float32, segs, ents, start []int32, n, nitems int) {
	GatherSegmentsGeneric(out, w, segs, ents, start, n, nitems)
}

func windowAsm(out, w, vals []float32, bases []int32, k, ow, n int) {
	ScatterWindowGeneric(out, w, vals, bases, k, ow, n)
}

func eventsAVX2() (func(x []float32, idx []int32, vals []float32) int, func(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int)) {
	return CompressNonzeroGeneric, ScatterEventsGeneric
}

func compressPosAVX2Go() func(x []float32, cs int, chOff []int32, posStride int, ents, start []int32) {
	return CompressPositionsGeneric
}

func gatherAVX2(out, w []float32, segs, ents, start []int32, n, nitems int) {
	GatherSegmentsGeneric(out, w, segs, ents, start, n, nitems)
}
