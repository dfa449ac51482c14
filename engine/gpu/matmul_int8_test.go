package gpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// q81FromBytes decodes the int8 tile's q8_1 buffer (quants of every column, then (d, s) fp16
// pairs) of n columns of nb blocks.
func q81FromBytes(raw []byte, n, k, nb int) ref.Q8_1 {
	a := ref.Q8_1{N: n, K: k, NB: nb, Q: make([]int8, n*nb*32), D: make([]float32, n*nb), S: make([]float32, n*nb)}
	for i := range a.Q {
		a.Q[i] = int8(raw[i])
	}
	for i := range a.D {
		ds := binary.LittleEndian.Uint32(raw[32*n*nb+4*i:])
		a.D[i], a.S[i] = quant.F16ToF32(uint16(ds)), quant.F16ToF32(uint16(ds>>16))
	}
	return a
}

// quantizeOnDevice runs shaders/quantize_q8_1.comp on x [n][k] into a poisoned buffer.
func quantizeOnDevice(t *testing.T, dev *vk.Device, q *q81Scratch, x []float32, n, k int) ref.Q8_1 {
	t.Helper()
	xb := upload(t, dev, x)
	nb := (k + 31) / 32
	var out vk.Binding
	run(t, dev, func(s *vk.Sequence) {
		var err error
		if out, _, err = q.record(s, bind(t, xb), n, k, nb); err != nil {
			t.Fatal(err)
		}
	})
	raw := make([]byte, q81Bytes(n, nb))
	if err := q.buf.Read(0, raw); err != nil {
		t.Fatal(err)
	}
	_ = out
	return q81FromBytes(raw, n, k, nb)
}

// TestQuantizeQ8_1 compares the device's q8_1 with ggml's reference (ref.QuantizeQ8_1) on
// columns whose length fills no block (77) and many (1056), after poisoning the buffer: every
// quant within one of the reference's (the device's 1/d may differ in the last bit), scales
// within one fp16 step, and s consistent with the device's own quants.
func TestQuantizeQ8_1(t *testing.T) {
	dev := vktest.Device(t)
	q, err := newQ81Scratch(dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	r := seed(t)
	for _, sh := range []struct{ n, k int }{{5, 77}, {3, 1056}, {70, 64}} {
		x := randFloats(r, sh.n*sh.k, 1+r.Float64()*3)
		nb := (sh.k + 31) / 32
		// Poison the scratch the kernel writes, so that a skipped word cannot pass as a zero.
		q.mu.Lock()
		if q.buf == nil || q.buf.Size() < q81Bytes(sh.n, nb) {
			b, err := dev.NewBuffer(q81Bytes(sh.n, nb), vk.DeviceLocal, 0)
			if err != nil {
				t.Fatal(err)
			}
			q.retired, q.buf = append(q.retired, q.buf), b
		}
		poisonBytes := make([]byte, q.buf.Size())
		for i := range poisonBytes {
			poisonBytes[i] = 0xad
		}
		if err := q.buf.Write(0, poisonBytes); err != nil {
			t.Fatal(err)
		}
		q.mu.Unlock()
		got := quantizeOnDevice(t, dev, q, x, sh.n, sh.k)
		want, err := ref.QuantizeQ8_1(x, sh.n, sh.k)
		if err != nil {
			t.Fatal(err)
		}
		diff := 0
		for i, v := range want.Q {
			pad := i/32%nb*32+i%32 >= sh.k
			if d := int(got.Q[i]) - int(v); d != 0 {
				diff++
				if d < -1 || d > 1 || pad {
					t.Fatalf("[%d,%d] quant %d: got %d, want %d", sh.n, sh.k, i, got.Q[i], v)
				}
			}
		}
		if diff > len(want.Q)/100 {
			t.Fatalf("[%d,%d]: %d of %d quants differ", sh.n, sh.k, diff, len(want.Q))
		}
		for i := range want.D {
			sum := 0
			for _, v := range got.Q[32*i : 32*i+32] {
				sum += int(v)
			}
			if math.Abs(float64(got.D[i]-want.D[i])) > 1e-3*float64(want.D[i]) ||
				math.Abs(float64(got.S[i])-float64(sum)*float64(got.D[i])) > 2e-3*math.Abs(float64(sum)*float64(got.D[i]))+1e-3*float64(got.D[i]) {
				t.Fatalf("[%d,%d] block %d: d %g s %g (quants sum to %d), want d %g", sh.n, sh.k, i, got.D[i], got.S[i], sum, want.D[i])
			}
		}
		t.Logf("[%d,%d]: %d of %d quants differ by one from the reference", sh.n, sh.k, diff, len(want.Q))
	}
}

// q80Parts splits a q8_0 weight into its int8 quants and float scales.
func q80Parts(w mmWeight) ([]int8, []float32) {
	qb, so, _ := quant.Layout(quant.Q8_0, w.rows, w.cols)
	q := make([]int8, qb)
	for i := range q {
		q[i] = int8(w.raw[i])
	}
	d := make([]float32, w.rows*w.cols/32)
	for i := range d {
		d[i] = quant.F16ToF32(binary.LittleEndian.Uint16(w.raw[int(so)+2*i:]))
	}
	return q, d
}

// TestMatmulInt8 runs the int8 tile (emulated int8 fragments) on q8_0 weights at sizes that fill
// no tile, through the many-token path, into poisoned outputs, and checks it twice: against the
// float64 product of the very quants it multiplied (ref.MatMulQ8 on the q8_1 the device made,
// read back), which leaves only fp32 scaling and accumulation; and per element against the exact
// product of the weights with the unquantized x, within ref.Q8_1Bound.
func TestMatmulInt8(t *testing.T) {
	dev := vktest.Device(t)
	mm := newTestMatmul(t, dev, tiledTestConfig(dev, int8Emu))
	r := seed(t)
	for _, sh := range []struct{ rows, cols int }{{101, 1056}, {45, 96}, {77, 64}} {
		w := randWeight(t, r, quant.Q8_0, sh.rows, sh.cols)
		m := uploadWeight(t, dev, w)
		wq, wd := q80Parts(w)
		for _, n := range []int{1, 7, 33, 70} {
			checkInt8(t, dev, mm, w, m, wq, wd, r, n)
		}
	}
}

func checkInt8(t *testing.T, dev *vk.Device, mm *Matmul, w mmWeight, m *Matrix, wq []int8, wd []float32, r *rand.Rand, n int) {
	t.Helper()
	x := randFloats(r, n*w.cols, 1)
	xb, yb := upload(t, dev, x), poisoned(t, dev, n*w.rows)
	a := MatmulArgs{X: bind(t, xb), Y: bind(t, yb), N: n, ManyTile: true}
	run(t, dev, func(s *vk.Sequence) { mustRecord(t, mm.Record(s, m, a)) })
	y := download(t, yb, n*w.rows)
	nb := w.cols / 32
	raw := make([]byte, q81Bytes(n, nb))
	if err := mm.q81.buf.Read(0, raw); err != nil {
		t.Fatal(err)
	}
	xq := q81FromBytes(raw, n, w.cols, nb)
	yq, err := ref.MatMulQ8(wq, wd, w.rows, xq)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(yq))
	for i, v := range yq {
		want[i] = float32(v)
	}
	what := "int8 " + w.dt.String()
	checkErr(t, what+" vs its own quants", y, want, 1e-5)

	exact, err := ref.MatMul(w.values, w.rows, w.cols, x, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	bound := ref.Q8_1Bound(w.values, w.rows, x, n, w.cols)
	// The bound is a worst case (every rounding error of a block aligned), of the order of a
	// block's contribution: the comparison with the kernel's own quants above is what sees a
	// lost or doubled block; this one checks the quantization's numerics.
	var worst, ymax, bmax float64
	for i, v := range y {
		e := math.Abs(float64(v) - float64(exact[i]))
		if !(e <= bound[i]) {
			t.Fatalf("%s [%d,%d] N=%d: y[%d] = %g, exact %g: error %g over the bound %g", what, w.rows, w.cols, n, i, v, exact[i], e, bound[i])
		}
		worst = math.Max(worst, e/bound[i])
		ymax = math.Max(ymax, math.Abs(float64(exact[i])))
		bmax = math.Max(bmax, bound[i])
	}
	t.Logf("%s [%d,%d] N=%d: worst error %.2f of the bound; bound %.2g of max|y|", what, w.rows, w.cols, n, worst, bmax/ymax)
}
