#version 450
// Flash attention for GPUs, SIMT inner products (see include/attention_flash.glsl).
#include "attention_flash.glsl"
