// The per-step parameters of the decoding loop, written by the host into a small storage buffer
// before each submission so that one recorded command buffer serves every step and every seed.
// Layout: 16 words (64 bytes), engine/gpu.StepParams.Put writes exactly this (stepParamsRecord).
#ifndef UDVLA_STEP_PARAMS_GLSL
#define UDVLA_STEP_PARAMS_GLSL

// DECLARE_STEP_PARAMS(b) declares the parameter block at binding b as `prm`.
#define DECLARE_STEP_PARAMS(b)                                                                      \
	layout(binding = b) readonly buffer StepParamsBuffer {                                          \
		uint seedLo;        /* seed & 0xffffffff: Philox key word 0 */                              \
		uint seedHi;        /* seed >> 32: Philox key word 1 */                                     \
		uint step;          /* denoising step s of the loop, 0-based */                             \
		uint samplePurpose; /* RNG purpose of token sampling: 0 (JD3P, image loop) or 2 */          \
		uint confPurpose;   /* RNG purpose of the confidence noise: 1 or 3 */                       \
		float tau;          /* ref.TauAfter(s, T) rounded to float32 */                             \
		int maskBase;       /* ref.MaskLenBase: floor(n·cos(π/2·(s+1)/T)) in float32, n = a1 - a0 */\
		uint a0;            /* the loop's region positions are [a0, a1) */                          \
		uint a1;                                                                                    \
		uint position;      /* greedy AR: the region position this pass generates */               \
		uint freezeAfterEOA; /* 1: loop positions after the state's first EOA are known (select) */ \
		uint reserved[5];                                                                           \
	} prm;

#endif
