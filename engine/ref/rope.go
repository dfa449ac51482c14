package ref

import (
	"fmt"
	"math"
)

// RopeTable returns cos and sin [len(pos), headDim/2] of the rotary angles pos·theta^(-2i/headDim),
// computed in float64 and rounded once. A device that uploads this table (instead of evaluating
// the angles in fp32, whose error grows with the position) rotates with the same numbers.
func RopeTable(pos []int32, headDim int, theta float64) (cos, sin []float32) {
	half := headDim / 2
	cos = make([]float32, len(pos)*half)
	sin = make([]float32, len(pos)*half)
	for p, at := range pos {
		for i := 0; i < half; i++ {
			invFreq := math.Pow(theta, -float64(2*i)/float64(headDim))
			a := float64(at) * invFreq
			cos[p*half+i] = float32(math.Cos(a))
			sin[p*half+i] = float32(math.Sin(a))
		}
	}
	return cos, sin
}

// RoPE applies rotate-half rotary embedding (NeoX / HF-Llama, not interleaved) over all headDim
// dimensions of x [len(pos), heads*headDim]: for i < headDim/2, with a = x[i], b = x[i+headDim/2],
//
//	x[i] = a·cos - b·sin,  x[i+headDim/2] = b·cos + a·sin.
//
// Token t rotates by the angles of position pos[t]. It returns a new slice.
func RoPE(x []float32, pos []int32, heads, headDim int, theta float64) ([]float32, error) {
	if headDim%2 != 0 || len(x) != len(pos)*heads*headDim {
		return nil, fmt.Errorf("rope: x has %d values, want %d x %d x %d (even head dim)", len(x), len(pos), heads, headDim)
	}
	for t, p := range pos {
		if p < 0 {
			return nil, fmt.Errorf("rope: position %d of token %d is negative", p, t)
		}
	}
	cos, sin := RopeTable(pos, headDim, theta)
	half := headDim / 2
	y := make([]float32, len(x))
	for t := range pos {
		for h := 0; h < heads; h++ {
			base := (t*heads + h) * headDim
			for i := 0; i < half; i++ {
				c, s := float64(cos[t*half+i]), float64(sin[t*half+i])
				a, b := float64(x[base+i]), float64(x[base+i+half])
				y[base+i] = float32(a*c - b*s)
				y[base+i+half] = float32(b*c + a*s)
			}
		}
	}
	return y, nil
}
