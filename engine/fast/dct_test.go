package fast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// scipy.fft.dct(x, type=2, norm="ortho") written out: y_k = 2 sum_n x_n cos(pi k (2n+1) / 2N),
// then y_0 *= sqrt(1/(4N)), y_k *= sqrt(1/(2N)).
func scipyDCT2Ortho(x []float64) []float64 {
	N := len(x)
	y := make([]float64, N)
	for k := range y {
		for n, v := range x {
			y[k] += 2 * v * math.Cos(math.Pi*float64(k*(2*n+1))/float64(2*N))
		}
		if k == 0 {
			y[k] *= math.Sqrt(1 / float64(4*N))
		} else {
			y[k] *= math.Sqrt(1 / float64(2*N))
		}
	}
	return y
}

func TestDCTMatchesScipyAndInverts(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, T := range []int{1, 2, 5, 10, 13, 31} {
		D := 1 + rng.IntN(5)
		tok := &Tokenizer{horizon: T, dims: D, dct: dctMatrix(T)}
		x := make([][]float64, T)
		for j := range x {
			x[j] = make([]float64, D)
			for d := range x[j] {
				x[j][d] = rng.NormFloat64()
			}
		}
		c := tok.forwardDCT(x)
		back := tok.inverseDCT(c)
		for d := 0; d < D; d++ {
			col := make([]float64, T)
			for j := range col {
				col[j] = x[j][d]
			}
			want := scipyDCT2Ortho(col)
			for k := range want {
				if math.Abs(c[k][d]-want[k]) > 1e-12 {
					t.Fatalf("T=%d: coefficient %d dim %d = %v, want %v", T, k, d, c[k][d], want[k])
				}
			}
			for j := range col {
				if math.Abs(back[j][d]-col[j]) > 1e-12 {
					t.Fatalf("T=%d: inverse at %d dim %d = %v, want %v", T, j, d, back[j][d], col[j])
				}
			}
		}
	}
}
