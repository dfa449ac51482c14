package ref

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/quant"
)

// Q8_1 is n columns of k values quantized per block of 32 as ggml's q8_1: column t, block b holds
// the int8 quants Q[(t*NB+b)*32 ..] and the scale D[t*NB+b] and S = D·Σq, both rounded to fp16 as
// stored. Elements past k (the padding of the last block) are zero quants.
type Q8_1 struct {
	N, K, NB int
	Q        []int8
	D, S     []float32
}

// QuantizeQ8_1 is ggml's quantize_row_q8_1_ref over x [n][k]: d = max|x|/127 in float32,
// q = round(x·(1/d)) half away from zero, then d and d·Σq stored as fp16.
func QuantizeQ8_1(x []float32, n, k int) (Q8_1, error) {
	if n <= 0 || k <= 0 || len(x) != n*k {
		return Q8_1{}, fmt.Errorf("q8_1: %d values for %d columns of %d", len(x), n, k)
	}
	nb := (k + 31) / 32
	a := Q8_1{N: n, K: k, NB: nb, Q: make([]int8, n*nb*32), D: make([]float32, n*nb), S: make([]float32, n*nb)}
	var v [32]float32
	for t := 0; t < n; t++ {
		for b := 0; b < nb; b++ {
			var amax float32
			for e := range v {
				v[e] = 0
				if kk := b*32 + e; kk < k {
					v[e] = x[t*k+kk]
				}
				amax = max(amax, float32(math.Abs(float64(v[e]))))
			}
			d := amax / 127
			var id float32
			if d != 0 {
				id = 1 / d
			}
			sum := 0
			for e, ve := range v {
				q := int(math.Round(float64(ve * id)))
				a.Q[(t*nb+b)*32+e] = int8(q)
				sum += q
			}
			a.D[t*nb+b] = roundF16(d)
			a.S[t*nb+b] = roundF16(float32(sum) * d)
		}
	}
	return a, nil
}

func roundF16(v float32) float32 { return quant.F16ToF32(quant.F32ToF16(v)) }

// MatMulQ8 is the int8 path's product in float64: y[t][r] = Σ_b dw[r][b]·dx[t][b]·Σ_e qw·qx over
// q8_0 weights (quants wq [rows][NB*32], scales wd [rows][NB]) and x quantized as q8_1. It is what
// the kernel computes up to the fp32 rounding of its per-block scaling and accumulation.
func MatMulQ8(wq []int8, wd []float32, rows int, a Q8_1) ([]float64, error) {
	if len(wq) != rows*a.NB*32 || len(wd) != rows*a.NB {
		return nil, fmt.Errorf("q8 matmul: %d quants and %d scales for %d rows of %d blocks", len(wq), len(wd), rows, a.NB)
	}
	y := make([]float64, a.N*rows)
	for t := 0; t < a.N; t++ {
		for r := 0; r < rows; r++ {
			var acc float64
			for b := 0; b < a.NB; b++ {
				isum := 0
				for e := 0; e < 32; e++ {
					isum += int(wq[(r*a.NB+b)*32+e]) * int(a.Q[(t*a.NB+b)*32+e])
				}
				acc += float64(wd[r*a.NB+b]) * float64(a.D[t*a.NB+b]) * float64(isum)
			}
			y[t*rows+r] = acc
		}
	}
	return y, nil
}

// Q8_1Bound bounds |y_q8 - y| per element, where y is the exact product of the weights w
// [rows][k] (the values the q8_0 quants decode to) with the unquantized x [n][k], and y_q8 the
// int8 path's fp32 result: per block, |x - q·d16| ≤ d/2 + 127·|d - d16| ≤ d·(1/2 + 127·2^-10)
// whatever way the device rounds d to fp16 (within one fp16 ulp, 2^-10 relative), times Σ|w| over
// the block;
// plus the fp32 rounding of the kernel's per-block scaling and accumulation,
// (NB+3)·2^-23·Σ|w·x̂|. d is recomputed from x as max|x|/127.
func Q8_1Bound(w []float32, rows int, x []float32, n, k int) []float64 {
	nb := (k + 31) / 32
	bound := make([]float64, n*rows)
	for t := 0; t < n; t++ {
		for r := 0; r < rows; r++ {
			var q, abs float64
			for b := 0; b < nb; b++ {
				var amax, wsum float64
				for kk := b * 32; kk < min(k, b*32+32); kk++ {
					amax = math.Max(amax, math.Abs(float64(x[t*k+kk])))
					wsum += math.Abs(float64(w[r*k+kk]))
				}
				d := amax / 127
				q += d * (0.5 + 127*math.Pow(2, -10)) * wsum
				abs += (amax + d) * wsum
			}
			bound[t*rows+r] = q + float64(nb+3)*math.Pow(2, -23)*abs
		}
	}
	return bound
}
