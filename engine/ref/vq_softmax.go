package ref

import (
	"fmt"
	"math"
)

// SoftmaxRows is softmax(scale * row) over each row of x [rows][n], in float64: the vision
// tokenizer's attention probabilities (MapAttention computes the same inline).
func SoftmaxRows(x []float32, rows, n int, scale float64) ([]float64, error) {
	if rows <= 0 || n <= 0 || len(x) != rows*n {
		return nil, fmt.Errorf("softmax: %d values for [%d][%d]", len(x), rows, n)
	}
	out := make([]float64, len(x))
	for i := 0; i < rows; i++ {
		row := x[i*n : (i+1)*n]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, scale*float64(v))
		}
		var sum float64
		for j, v := range row {
			out[i*n+j] = math.Exp(scale*float64(v) - m)
			sum += out[i*n+j]
		}
		for j := range row {
			out[i*n+j] /= sum
		}
	}
	return out, nil
}
