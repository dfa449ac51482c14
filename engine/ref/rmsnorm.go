package ref

import (
	"fmt"
	"math"
)

// RMSNorm normalises each row of x [n, dim] by its root mean square and scales it by weight [dim]:
// y = x / sqrt(mean(x^2) + eps) * w. The statistics are float64 (the model computes them in fp32;
// float64 is the exact value a device's fp32 result is compared with).
func RMSNorm(x []float32, n, dim int, weight []float32, eps float64) ([]float32, error) {
	if len(x) != n*dim || len(weight) != dim {
		return nil, fmt.Errorf("rmsnorm: x has %d values, weight %d, want %d x %d and %d", len(x), len(weight), n, dim, dim)
	}
	y := make([]float32, len(x))
	for i := 0; i < n; i++ {
		row := x[i*dim : (i+1)*dim]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		scale := 1 / math.Sqrt(ss/float64(dim)+eps)
		for j, v := range row {
			y[i*dim+j] = float32(float64(v) * scale * float64(weight[j]))
		}
	}
	return y, nil
}
