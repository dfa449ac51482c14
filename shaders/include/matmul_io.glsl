// The bindings, push constants, row mapping and stores that every matmul shader shares
// (shaders/matmul.comp, shaders/matmul_tiled.comp): the same dispatch contract, so that
// engine/gpu/matmul.go records any of them with one body. The includer declares DTYPE first.

const bool MM_QUANT = DTYPE == DT_Q8_0 || DTYPE == DT_Q4_0;

layout(binding = 0) readonly buffer Quants { uvec4 wq[]; };
layout(binding = 1) readonly buffer Scales { float16_t ws[]; };
#ifdef MM_X_Q8_1
// x quantized by shaders/quantize_q8_1.comp: the int8 quants of column n, block b at words
// (n*nb + b)*8 .. +8, and (d, s) as two fp16 at word ldx + n*nb + b.
layout(binding = 2) readonly buffer X { uint xq[]; };
#else
layout(binding = 2) readonly buffer X { float x[]; };
#endif
layout(binding = 3) buffer Y { float y[]; };
layout(binding = 4) readonly buffer Rows { int rows[]; };

layout(push_constant) uniform Push {
	uint first, count; // output rows [first, first+count) are this dispatch's
	uint lo, hi;       // rows [lo, hi) of W are in this piece's bindings
	uint qrow, srow;   // row lo is row qrow of the quant binding, row srow of the scale binding
	uint K, nb;        // row length, and blocks of 32 per stored row (rows are zero-padded)
	uint N, ldx;       // columns, and the x row stride in floats
	uint ldy, yoff;    // y[n][o] is y[n*ldy + yoff + o]
	uint flags;        // 1: row subset, 2: accumulate
	uint total;        // rows of W: a subset id outside [0, total) gives NaN
} p;

#ifndef MM_X_Q8_1
// Four x values of column n from element k; zero at and past K (rows of W are padded to whole
// blocks, and the padding must meet zeros, not the next token's values).
vec4 load_x(uint n, uint k) {
	uint base = n * p.ldx;
	vec4 v;
	[[unroll]] for (uint i = 0; i < 4; i++) {
		// Load from a clamped index, then select: a conditional load would be control flow.
		uint kk = k + i;
		float xi = x[base + min(kk, p.K - 1u)];
		v[i] = kk < p.K ? xi : 0.0;
	}
	return v;
}

#endif

float load_scale(uint sr, uint b) {
	return MM_QUANT ? float(ws[sr * p.nb + b]) : 1.0;
}

// The output row o maps to the weight row id; live says whether this piece holds it.
struct Row {
	uint o;
	bool live, bad;
	uint qr, sr;
};

Row map_row(uint o) {
	Row r;
	r.o = o;
	bool in_range = o < p.first + p.count;
	int id = int(o);
	if ((p.flags & 1u) != 0u) {
		id = rows[min(o, p.first + p.count - 1u)];
	}
	r.bad = in_range && (id < 0 || uint(id) >= p.total);
	r.live = in_range && !r.bad && uint(id) >= p.lo && uint(id) < p.hi;
	uint local = r.live ? uint(id) - p.lo : 0u;
	r.qr = p.qrow + local;
	r.sr = p.srow + local;
	return r;
}

void store(Row r, uint n, float v) {
	// An out-of-range subset id is reported once, by the dispatch of the first piece.
	bool write = r.live || (r.bad && p.lo == 0u);
	if (!write || n >= p.N) {
		return;
	}
	if (r.bad) {
		v = uintBitsToFloat(0x7fc00000u);
	}
	uint i = n * p.ldy + p.yoff + r.o;
	y[i] = (p.flags & 2u) != 0u ? y[i] + v : v;
}
