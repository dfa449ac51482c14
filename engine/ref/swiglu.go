package ref

import (
	"fmt"
	"math"
)

// SiLUMul is the gated part of the SwiGLU feed-forward, a = silu(gate)·up elementwise with
// silu(g) = g / (1 + exp(-g)); the FFN is down(SiLUMul(gate(x), up(x))) with three MatMul calls.
func SiLUMul(gate, up []float32) ([]float32, error) {
	if len(gate) != len(up) {
		return nil, fmt.Errorf("silu_mul: gate has %d values, up %d", len(gate), len(up))
	}
	a := make([]float32, len(gate))
	for i, g := range gate {
		gd := float64(g)
		a[i] = float32(gd / (1 + math.Exp(-gd)) * float64(up[i]))
	}
	return a, nil
}
