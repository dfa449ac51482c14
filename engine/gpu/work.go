package gpu

import (
	"encoding/binary"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
)

// Work is the nominal work of one recorded command, decoded from the push constants and
// specialization constants its Record wrote: what a profile divides by the command's time to get
// achieved GFLOP/s and GB/s.
//
// FLOPs count a multiply-add as two. Matmul counts 2·rows·cols per token; attention counts
// 4·heads·head_dim per (query, key) pair over all NK keys, masked or not (Attention lets a caller
// that knows the mask count the visible pairs only); the elementwise kernels
// count their arithmetic per element (rmsnorm 4, rope 3, silu_mul 5) and the sampling kernels
// none. Bytes are the minimal traffic: every operand read once and every result written once.
type Work struct {
	Kernel string // the shader, with the weight dtype for matmul and embed ("matmul q8_0")
	FLOPs  float64
	Bytes  float64
	// Attention is set for attention dispatches, so that a caller that knows the mask can count
	// only the visible (query, key) pairs, as the kernel's benchmarks do.
	Attention *AttentionWork
}

// AttentionWork is the extent of an attention dispatch: queries at positions [Q0, Q0+NQ) over
// keys [0, NK).
type AttentionWork struct {
	Q0, NQ, NK   int
	FLOPsPerPair float64 // 4·heads·head_dim: QKᵀ and PV, a multiply-add each
}

// VisiblePairs counts the (query, key) pairs of the dispatch that allowed permits.
func (a *AttentionWork) VisiblePairs(allowed func(q, k int) bool) float64 {
	n := 0
	for q := a.Q0; q < a.Q0+a.NQ; q++ {
		for k := 0; k < a.NK; k++ {
			if allowed(q, k) {
				n++
			}
		}
	}
	return float64(n)
}

// WorkOf decodes a command recorded by this package's kernels; an unknown shader gets its name
// and no work.
func WorkOf(c vk.Command) Work {
	switch c.Kind {
	case vk.CommandCopy:
		return Work{Kernel: "copy", Bytes: 2 * float64(c.Bytes)}
	case vk.CommandFill:
		return Work{Kernel: "fill", Bytes: float64(c.Bytes)}
	case vk.CommandDispatch:
	default:
		return Work{Kernel: c.Kind.String()}
	}
	u := func(i int) float64 {
		if 4*i+4 > len(c.Push) {
			return 0
		}
		return float64(binary.LittleEndian.Uint32(c.Push[4*i:]))
	}
	spec := func(i int) (uint32, bool) {
		if i >= len(c.Spec) {
			return 0, false
		}
		return c.Spec[i], true
	}
	w := Work{Kernel: c.Pipeline}
	switch c.Pipeline {
	case "matmul", "matmul_tiled", "matmul_tiled_emu", "matmul_tiled_nv", "matmul_int8_emu", "matmul_int8_nv":
		// push: first, count, lo, hi, qrow, srow, cols, stride/32, n, cols, ldy, offset, flags, rows
		// spec: local, subgroup, dtype, R, C, KSplit
		count, cols, n, flags := u(1), u(6), u(8), uint32(u(12))
		if dt, ok := spec(2); ok && quant.DType(dt).Valid() {
			w.Kernel = "matmul " + quant.DType(dt).String()
		}
		if flags&1 != 0 && u(2) != 0 {
			// A row subset over a weight of several pieces is one dispatch per piece, each
			// computing the subset's rows that lie in it: the subset's work is counted once, in
			// the first piece's dispatch.
			return w
		}
		w.FLOPs = 2 * count * n * cols
		y := 4 * count * n
		if flags&2 != 0 {
			y *= 2 // accumulate reads y
		}
		w.Bytes = 4*n*cols + y
		if dt, ok := spec(2); ok && quant.DType(dt).Valid() {
			q, s := quant.RowBytes(quant.DType(dt), int(cols))
			w.Bytes += count * float64(q+s)
		}
	case "attention", "attention_scalar":
		// push: nq, nk, q0, group, q stride, k stride, out stride, scale, ...; spec: local, head dim
		nq, nk, group := u(0), u(1), u(3)
		heads := float64(c.Groups[1])
		hd, _ := spec(1)
		kvHeads := heads
		if group > 0 {
			kvHeads = heads / group
		}
		w.Attention = &AttentionWork{Q0: int(u(2)), NQ: int(nq), NK: int(nk), FLOPsPerPair: 4 * heads * float64(hd)}
		w.FLOPs = w.Attention.FLOPsPerPair * nq * nk
		w.Bytes = 4 * float64(hd) * (2*heads*nq + 2*kvHeads*nk + nk)
	case "rmsnorm":
		n, dim := u(0), u(1)
		w.FLOPs = 4 * n * dim
		w.Bytes = 4 * (2*n*dim + dim)
	case "rope":
		// push: n, ...; spec: local, half, heads, kv heads
		n := u(0)
		half, _ := spec(1)
		heads, _ := spec(2)
		kvHeads, _ := spec(3)
		elems := n * 2 * float64(half) * float64(heads+kvHeads)
		w.FLOPs = 3 * elems
		w.Bytes = 4*2*elems + 4*n
	case "silu_mul":
		n, ffn := u(0), u(1)
		w.FLOPs = 5 * n * ffn
		w.Bytes = 4 * 3 * n * ffn
	case "embed":
		// push: n, hidden, vocab, first, rows, qoff, soff, owns; spec: local, dtype. One dispatch
		// per part of the table, each gathering the ids in its rows: the gathered rows are counted
		// once, in the first part's dispatch.
		if u(7) != 0 {
			w.Bytes = 4 * u(0) * u(1)
		}
		if dt, ok := spec(1); ok && quant.DType(dt).Valid() {
			w.Kernel = "embed " + quant.DType(dt).String()
		}
	case "sample":
		// push: p0, np, allowed, stride, mask: it reads np rows of the restricted logits
		w.Bytes = 4 * u(1) * u(2)
	}
	return w
}
