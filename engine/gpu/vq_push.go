package gpu

// The push_constant blocks of the vision tokenizer's shaders (TestPushStructsMatchGLSL checks
// them against the GLSL).

type vqIm2colPush struct {
	H, W, C         uint32
	OH, OW          uint32
	K, Stride       uint32
	PadTop, PadLeft uint32
	P0, Count       uint32
	Up              uint32
}

type vqGroupNormPush struct {
	N, C, Groups uint32
	Eps          float32
}

type vqQuantizePush struct{ N, K, E uint32 }

type vqSoftmaxPush struct {
	Rows, N uint32
	Scale   float32
}

type vqTransposePush struct{ N, C, Ld uint32 }

type vqAffinePush struct{ N, C uint32 }

type vqModulatePush struct{ H, W, C, Hz, Wz uint32 }
