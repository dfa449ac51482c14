#version 450
// Flash attention with the cooperative-matrix fragments of attention_flash_nv.comp multiplied in
// plain arithmetic: tests and benchmarks on devices without cooperative matrices.
#define MMA_EMU
#include "attention_flash.glsl"
