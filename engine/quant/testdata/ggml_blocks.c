// The q8_0 and q4_0 block quantizers as ggml's reference C code computes them
// (quantize_row_q8_0_ref, quantize_row_q4_0_ref in ggml-quants.c), for a differential test of the Go
// quantizers: it reads a dtype byte (2 = q8_0, 3 = q4_0), a count n (uint32, a multiple of 32) and
// n float32 values on stdin, and writes the ggml blocks (fp16 d, then the quants) on stdout.
// Build with -ffp-contract=off so that every float operation rounds on its own, as in ggml's
// portable build.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint16_t fp16(float f) {
	_Float16 h = (_Float16)f; // round to nearest even, as GGML_FP32_TO_FP16
	uint16_t u;
	__builtin_memcpy(&u, &h, 2);
	return u;
}

int main(void) {
	uint8_t dt;
	uint32_t n;
	if (fread(&dt, 1, 1, stdin) != 1 || fread(&n, 4, 1, stdin) != 1 || n % 32) return 1;
	float *x = malloc(n * sizeof(float));
	if (fread(x, sizeof(float), n, stdin) != n) return 1;
	for (uint32_t b = 0; b < n / 32; b++) {
		const float *v = x + 32 * b;
		float amax = 0.0f, max = 0.0f;
		uint8_t q[32];
		float d;
		if (dt == 2) {
			for (int j = 0; j < 32; j++) amax = amax > fabsf(v[j]) ? amax : fabsf(v[j]);
			d = amax / ((1 << 7) - 1);
			const float id = d ? 1.0f / d : 0.0f;
			for (int j = 0; j < 32; j++) q[j] = (uint8_t)(int8_t)roundf(v[j] * id);
		} else {
			for (int j = 0; j < 32; j++) {
				if (amax < fabsf(v[j])) {
					amax = fabsf(v[j]);
					max = v[j];
				}
			}
			d = max / -8;
			const float id = d ? 1.0f / d : 0.0f;
			for (int j = 0; j < 16; j++) {
				const float x0 = v[j] * id, x1 = v[16 + j] * id;
				const int8_t t0 = (int8_t)(x0 + 8.5f), t1 = (int8_t)(x1 + 8.5f);
				const uint8_t xi0 = t0 < 15 ? t0 : 15, xi1 = t1 < 15 ? t1 : 15;
				q[j] = xi0 | (uint8_t)(xi1 << 4);
			}
		}
		uint16_t h = fp16(d);
		fwrite(&h, 2, 1, stdout);
		fwrite(q, 1, dt == 2 ? 32 : 16, stdout);
	}
	return 0;
}
