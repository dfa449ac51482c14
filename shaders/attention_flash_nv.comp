#version 450
// Flash attention with GL_NV_cooperative_matrix (fp16 x fp16 -> fp32) for Q K^T and P V (see
// include/attention_flash.glsl).
#define MMA_NV
#include "attention_flash.glsl"
