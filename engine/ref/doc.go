// Package ref is the executable specification of the engine: a plain CPU implementation of the
// Llama backbone of UD-VLA (spec §1), of the attention masks (§4) and of JD3P decoding and its
// baselines (§5), which every GPU kernel and the whole GPU loop are checked against.
//
// It is written to be obviously correct rather than fast: one op per file, simple loops, float64
// accumulation wherever a sum is formed, activations stored as float32 between ops (as a device
// stores them). Tensors are flat row-major []float32; a matrix [rows, cols] has element (r, c) at
// r*cols + c, and weight matrices are [out, in] as in the model file.
package ref
