package ref

import (
	"math"
	"testing"
)

// TestQuantizeQ8_1Values: one block whose max is 127 (d = 1, so the quants are the values
// rounded half away from zero), and a block cut at K whose padding quantizes to zeros.
func TestQuantizeQ8_1Values(t *testing.T) {
	x := make([]float32, 40)
	x[0], x[1], x[2], x[3], x[4] = 127, -2.5, 2.5, 0.49, -126.6
	for i := 32; i < 40; i++ {
		x[i] = float32(i-35) * 0.25 // -0.75 .. 1: d = 1/127
	}
	a, err := QuantizeQ8_1(x, 1, 40)
	if err != nil {
		t.Fatal(err)
	}
	want := []int8{127, -3, 3, 0, -127}
	for i, w := range want {
		if a.Q[i] != w {
			t.Errorf("q[%d] = %d, want %d", i, a.Q[i], w)
		}
	}
	if a.NB != 2 || a.D[0] != 1 || a.S[0] != 0 {
		t.Errorf("block 0: nb %d d %g s %g, want 2, 1, 0", a.NB, a.D[0], a.S[0])
	}
	sum := 0
	for i, q := range a.Q[32:] {
		if i >= 8 && q != 0 {
			t.Errorf("padding quant %d = %d", i, q)
		}
		sum += int(q)
	}
	d := float64(a.D[1])
	if math.Abs(d-1.0/127) > 1e-3/127 || math.Abs(float64(a.S[1])-float64(sum)*d) > 1e-3*math.Abs(float64(sum)*d) {
		t.Errorf("block 1: d %g s %g, quants sum %d", a.D[1], a.S[1], sum)
	}
	if a.Q[32+8-1] != 127 {
		t.Errorf("the block's max quantizes to %d", a.Q[39])
	}
	if _, err := QuantizeQ8_1(x, 2, 40); err == nil {
		t.Error("a short x was accepted")
	}
}

// TestMatMulQ8: the product of hand-made quants, and its shape check.
func TestMatMulQ8(t *testing.T) {
	a := Q8_1{N: 1, K: 32, NB: 1, Q: make([]int8, 32), D: []float32{0.5}, S: []float32{0}}
	wq := make([]int8, 64)
	for i := range 32 {
		a.Q[i] = int8(i - 16)
		wq[i], wq[32+i] = 2, int8(-i)
	}
	y, err := MatMulQ8(wq, []float32{0.25, 1}, 2, a)
	if err != nil {
		t.Fatal(err)
	}
	// Σ 2·(i-16) = -32; Σ -i·(i-16) = -(10416 - 16·496) = -2480.
	if y[0] != 0.25*0.5*-32 || y[1] != 0.5*-2480 {
		t.Errorf("y = %v", y)
	}
	if _, err := MatMulQ8(wq[:40], []float32{1, 1}, 2, a); err == nil {
		t.Error("short quants accepted")
	}
}
