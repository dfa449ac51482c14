package ref

import "fmt"

// Add is the residual connection, x + y elementwise (a new slice).
func Add(x, y []float32) ([]float32, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("add: %d and %d values", len(x), len(y))
	}
	z := make([]float32, len(x))
	for i := range x {
		z[i] = float32(float64(x[i]) + float64(y[i]))
	}
	return z, nil
}
