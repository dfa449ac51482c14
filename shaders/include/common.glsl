// Shared by every udvla shader. Activations are float32 in storage and in arithmetic alike: the
// engine's tolerances against the float64 reference (attention's online softmax, RMSNorm's sum of
// squares, the sampler's log-probabilities) are float32 ones, and no kernel has a float16
// arithmetic path tested against them, so the shaders name float directly rather than through
// storage/arithmetic type macros that could only ever be float.
#extension GL_EXT_shader_explicit_arithmetic_types : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require

// Every shader sizes its workgroup with specialization constant 0 and reads the size back as
// LOCAL_X. gl_WorkGroupSize must not be used in arithmetic: glslc -O folds it to the default (1)
// before specialization.
#define DECLARE_LOCAL_X layout(local_size_x_id = 0) in; layout(constant_id = 0) const uint LOCAL_X = 64;

// A 1-D index over a 2-D grid of workgroups, so that large element counts stay within
// maxComputeWorkGroupCount[0].
#define FLAT_INDEX (gl_GlobalInvocationID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x * LOCAL_X)
