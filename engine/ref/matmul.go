package ref

import "fmt"

// MatMul computes y[t][j] = Σ_k W[r_j][k]·x[t][k] for x [n, in] and W [out, in] (row-major, [out, in]
// as in the model file), accumulating in float64. With rows nil, r_j = j and y is [n, out]; otherwise
// only the listed rows of W are computed, in the listed order, and y is [n, len(rows)]: this is the
// lm_head restricted to a decoding space.
func MatMul(w []float32, out, in int, x []float32, n int, rows []int32) ([]float32, error) {
	if len(w) != out*in || len(x) != n*in {
		return nil, fmt.Errorf("matmul: W has %d values, x %d, want %d x %d and %d x %d", len(w), len(x), out, in, n, in)
	}
	if rows == nil {
		rows = make([]int32, out)
		for j := range rows {
			rows[j] = int32(j)
		}
	}
	for j, r := range rows {
		if r < 0 || int(r) >= out {
			return nil, fmt.Errorf("matmul: row %d of the subset is %d, outside [0, %d)", j, r, out)
		}
	}
	m := len(rows)
	y := make([]float32, n*m)
	for t := 0; t < n; t++ {
		xt := x[t*in : (t+1)*in]
		for j, r := range rows {
			wr := w[int(r)*in : (int(r)+1)*in]
			var acc float64
			for k, v := range xt {
				acc += float64(wr[k]) * float64(v)
			}
			y[t*m+j] = float32(acc)
		}
	}
	return y, nil
}
