package fast

import "math"

// dctMatrix returns the orthonormal DCT-II matrix of size n (scipy's dct(norm="ortho")):
// M[k][j] = s_k cos(pi k (2j+1) / 2n), s_0 = sqrt(1/n), s_k = sqrt(2/n). It is orthogonal, so
// its transpose is the inverse (DCT-III, idct(norm="ortho")).
func dctMatrix(n int) [][]float64 {
	m := make([][]float64, n)
	for k := range m {
		m[k] = make([]float64, n)
		s := math.Sqrt(2 / float64(n))
		if k == 0 {
			s = math.Sqrt(1 / float64(n))
		}
		for j := range m[k] {
			m[k][j] = s * math.Cos(math.Pi*float64(k)*float64(2*j+1)/float64(2*n))
		}
	}
	return m
}

// forwardDCT transforms each column (dimension) of x, T x D with time along rows, into
// frequency coefficients, row k holding frequency k.
func (t *Tokenizer) forwardDCT(x [][]float64) [][]float64 {
	out := make([][]float64, t.horizon)
	for k := range out {
		out[k] = make([]float64, t.dims)
		for j := 0; j < t.horizon; j++ {
			c := t.dct[k][j]
			for d := range out[k] {
				out[k][d] += c * x[j][d]
			}
		}
	}
	return out
}

// inverseDCT is the transpose of forwardDCT: coefficients (row k = frequency k) back to time.
func (t *Tokenizer) inverseDCT(c [][]float64) [][]float64 {
	out := make([][]float64, t.horizon)
	for j := range out {
		out[j] = make([]float64, t.dims)
		for k := 0; k < t.horizon; k++ {
			m := t.dct[k][j]
			for d := range out[j] {
				out[j][d] += m * c[k][d]
			}
		}
	}
	return out
}
