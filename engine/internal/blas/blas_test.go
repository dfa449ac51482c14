package blas

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulT checks the binding (argument order, transposition, strides) against a plain loop on
// an awkward shape.
func TestMatMulT(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	r := rand.New(rand.NewPCG(3, 5))
	n, m, k := 7, 33, 45
	x, w := make([]float32, n*k), make([]float32, m*k)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	y := make([]float32, n*m)
	if err := MatMulT(y, x, w, n, m, k); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			var want float64
			for l := 0; l < k; l++ {
				want += float64(x[i*k+l]) * float64(w[j*k+l])
			}
			if d := math.Abs(float64(y[i*m+j]) - want); d > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("y[%d][%d] = %g, want %g", i, j, y[i*m+j], want)
			}
		}
	}
	if err := MatMulT(y, x[:1], w, n, m, k); err == nil {
		t.Error("short x accepted")
	}
}
