#version 450
// The release rule's block mask (spec §4, seq.ReleaseMask) from the token ids of the whole
// sequence, packed as the attention shader reads it (gpu.MaskWords): block << 2 | pad << 1 | bidir.
//     start = id in {BOI, BOA}, end = id in {EOI, EOA}
//     is_img_i = (starts_i - ends_i > 0) || start_i || end_i      (inclusive counts)
//     block_i  = number of i' in (0, i] where is_img flips;  bidir = is_img;  pad = id == PAD
// One workgroup: invocation t walks the contiguous chunk [t·C, (t+1)·C) three times, with two
// workgroup exclusive scans in between (the start/end counts before the chunk, then the flips
// before it). is_img of the element before a chunk follows from the counts before the chunk and
// that element's id, so no invocation waits on another's walk.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool ONE_SUBGROUP = false;

layout(binding = 0) readonly buffer IDs { int ids[]; };
layout(binding = 1) writeonly buffer Words { int words[]; };
layout(push_constant) uniform Push {
	uint n; // sequence length L
	int boi;
	int eoi;
	int boa;
	int eoa;
	int pad;
} pc;

shared ivec2 partial[LOCAL_X];

// exclusive_scan returns the sum of v over the invocations before this one.
ivec2 exclusive_scan(ivec2 v) {
	ivec2 incl = subgroupInclusiveAdd(v);
	if (ONE_SUBGROUP) {
		return incl - v;
	}
	ivec2 total = subgroupAdd(v);
	if (subgroupElect()) {
		partial[gl_SubgroupID] = total;
	}
	barrier();
	ivec2 before = ivec2(0);
	for (uint k = 0; k < gl_SubgroupID; k++) {
		before += partial[k];
	}
	barrier(); // partial is reused by the next scan
	return before + incl - v;
}

bool is_start(int id) { return id == pc.boi || id == pc.boa; }
bool is_end(int id) { return id == pc.eoi || id == pc.eoa; }

void main() {
	uint lid = gl_LocalInvocationID.x;
	uint chunk = (pc.n + LOCAL_X - 1) / LOCAL_X;
	uint i0 = min(lid * chunk, pc.n);
	uint i1 = min(i0 + chunk, pc.n);

	ivec2 cnt = ivec2(0); // starts, ends in the chunk
	for (uint i = i0; i < i1; i++) {
		int id = ids[i];
		cnt += ivec2(is_start(id) ? 1 : 0, is_end(id) ? 1 : 0);
	}
	ivec2 before = exclusive_scan(cnt);

	// is_img of element i0 - 1: its inclusive counts are the counts before the chunk.
	bool prev = false;
	if (i0 > 0 && i0 < i1) {
		int id = ids[i0 - 1];
		prev = before.x - before.y > 0 || is_start(id) || is_end(id);
	}
	ivec2 se = before;
	bool p = prev;
	int flips = 0;
	for (uint i = i0; i < i1; i++) {
		int id = ids[i];
		bool st = is_start(id), en = is_end(id);
		se += ivec2(st ? 1 : 0, en ? 1 : 0);
		bool img = se.x - se.y > 0 || st || en;
		if (i > 0 && img != p) {
			flips++;
		}
		p = img;
	}
	int block = exclusive_scan(ivec2(flips, 0)).x;

	se = before;
	p = prev;
	for (uint i = i0; i < i1; i++) {
		int id = ids[i];
		bool st = is_start(id), en = is_end(id);
		se += ivec2(st ? 1 : 0, en ? 1 : 0);
		bool img = se.x - se.y > 0 || st || en;
		if (i > 0 && img != p) {
			block++;
		}
		p = img;
		words[i] = block << 2 | (id == pc.pad ? 2 : 0) | (img ? 1 : 0);
	}
}
