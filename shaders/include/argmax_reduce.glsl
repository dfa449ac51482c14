// Workgroup reduction of (value, index) pairs to the pair with the largest value, ties to the
// smallest index: the argmax rule of engine/ref (a sequential scan in ascending index order that
// replaces its best only on a strictly larger value). ARGMAX_NONE marks "no candidate" and loses
// every tie, so a workgroup whose values are all -inf reports ARGMAX_NONE, which callers map to
// index 0 as the sequential scan does.
//
// Needs LOCAL_X, a bool specialization constant ONE_SUBGROUP (the workgroup is one subgroup: no
// shared memory, no barrier) and GL_KHR_shader_subgroup_arithmetic. Call in uniform control flow;
// every invocation receives the result.
#ifndef UDVLA_ARGMAX_REDUCE_GLSL
#define UDVLA_ARGMAX_REDUCE_GLSL

const uint ARGMAX_NONE = 0xffffffffu;

shared float argmaxValue[LOCAL_X];
shared uint argmaxIndex[LOCAL_X];

// argmax_better reports whether (v, i) beats (bv, bi).
bool argmax_better(float v, uint i, float bv, uint bi) {
	return v > bv || (v == bv && i < bi);
}

void subgroup_argmax(inout float v, inout uint i) {
	float m = subgroupMax(v);
	i = subgroupMin(v == m ? i : ARGMAX_NONE);
	v = m;
}

void workgroup_argmax(inout float v, inout uint i) {
	subgroup_argmax(v, i);
	if (ONE_SUBGROUP) {
		return;
	}
	if (subgroupElect()) {
		argmaxValue[gl_SubgroupID] = v;
		argmaxIndex[gl_SubgroupID] = i;
	}
	barrier();
	v = argmaxValue[0];
	i = argmaxIndex[0];
	for (uint k = 1; k < gl_NumSubgroups; k++) {
		if (argmax_better(argmaxValue[k], argmaxIndex[k], v, i)) {
			v = argmaxValue[k];
			i = argmaxIndex[k];
		}
	}
	barrier(); // the arrays may be reused by a later reduction
}

#endif
