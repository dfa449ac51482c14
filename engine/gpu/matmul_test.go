package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// matmulLimit is the normalised error (max|got-want| / max|want|) allowed per weight dtype. The
// reference multiplies the very values the device dequantizes (exact in fp32: an int8 or a nibble
// times an fp16 scale, an fp16 widened) and accumulates in float64, so what remains is fp32
// accumulation over K terms in the kernel's order: ~sqrt(K)·2^-24 relative to the sums of
// |w·x|, under 1e-6 of max|y| at K = 4128 on random data. Quantized weights add one rounding per
// block (a 32-term partial sum times its scale). The limits leave a margin of ~10x over what is
// measured and are far below the error of any wrong element (a block missed or doubled moves y by
// ~sqrt(32/K) ≥ 0.08 of its scale at these sizes).
var matmulLimit = map[quant.DType]float64{
	quant.F32:  1e-5,
	quant.F16:  1e-5,
	quant.Q8_0: 2e-5,
	quant.Q4_0: 2e-5,
}

// mmRun is one product to check: out = rows of W (or len(subset)), y rows ldy floats apart with
// the output at column off.
type mmRun struct {
	n          int
	subset     []int32
	accumulate bool
	ldy, off   int
	manyTile   bool // every N on the many-token tile
	// half: the kernel multiplies W and x rounded to fp16 (the fragment tiles), and so does the
	// reference; what remains is fp32 accumulation, as for the other kernels.
	half bool
}

// checkMatmul runs y (+)= W·x on fresh random x and compares with ref.MatMul. y starts as poison
// (or random values to accumulate onto); every y element outside the output must keep its value.
func checkMatmul(t *testing.T, dev *vk.Device, mm *Matmul, w mmWeight, m *Matrix, r *rand.Rand, c mmRun) {
	t.Helper()
	out := w.rows
	if c.subset != nil {
		out = len(c.subset)
	}
	ldy := c.ldy
	if ldy == 0 {
		ldy = out
	}
	x := randFloats(r, c.n*w.cols, 1)
	wv, xv := w.values, x
	if c.half {
		wv, xv = roundHalf(wv), roundHalf(xv)
	}
	want, err := ref.MatMul(wv, w.rows, w.cols, xv, c.n, c.subset)
	if err != nil {
		t.Fatal(err)
	}
	y0 := make([]float32, c.n*ldy)
	for i := range y0 {
		y0[i] = math.Float32frombits(poison)
		if c.accumulate {
			y0[i] = float32(r.NormFloat64())
		}
	}
	xb, yb := upload(t, dev, x), upload(t, dev, y0)
	a := MatmulArgs{X: bind(t, xb), Y: bind(t, yb), N: c.n, LDY: c.ldy, Offset: c.off, Accumulate: c.accumulate, ManyTile: c.manyTile}
	if c.subset != nil {
		a.Rows, a.NRows = bind(t, uploadI32(t, dev, c.subset)), len(c.subset)
	}
	run(t, dev, func(s *vk.Sequence) { mustRecord(t, mm.Record(s, m, a)) })
	y := download(t, yb, len(y0))
	got := make([]float32, c.n*out)
	for n := 0; n < c.n; n++ {
		for i := 0; i < ldy; i++ {
			v, v0 := y[n*ldy+i], y0[n*ldy+i]
			if i < c.off || i >= c.off+out {
				if math.Float32bits(v) != math.Float32bits(v0) {
					t.Fatalf("y[%d][%d] outside the output changed from %g to %g", n, i, v0, v)
				}
				continue
			}
			j := n*out + i - c.off
			if c.accumulate {
				want[j] = float32(float64(want[j]) + float64(v0))
			}
			got[j] = v
		}
	}
	what := fmt.Sprintf("%v W[%d,%d] N=%d subset=%d acc=%v ldy=%d off=%d pieces=%d",
		w.dt, w.rows, w.cols, c.n, len(c.subset), c.accumulate, ldy, c.off, m.Pieces())
	checkErr(t, what, got, want, matmulLimit[w.dt])
}

// TestMatmul covers every dtype on each path: M not a multiple of any tile (4096+32·3 rows), K of
// an odd number of blocks (4096+32 = 129 blocks), N = 1, 7, 33 and 817, and for f32/f16 a row
// length that is no multiple of 32.
func TestMatmul(t *testing.T) {
	dev := vktest.Device(t)
	for _, cfg := range []struct {
		name string
		cfg  matmulConfig
	}{{"device", matmulConfigFor(dev.Info)}, {"gpu-tiles", gpuMatmulConfig(dev)}} {
		t.Run(cfg.name, func(t *testing.T) {
			mm := newTestMatmul(t, dev, cfg.cfg)
			r := seed(t)
			for _, dt := range quant.DTypes {
				shapes := []struct{ rows, cols int }{{4096 + 96, 64}, {37, 4096 + 32}, {45, 96}}
				if !dt.Quantized() {
					shapes = append(shapes, struct{ rows, cols int }{29, 77})
				}
				for _, sh := range shapes {
					w := randWeight(t, r, dt, sh.rows, sh.cols)
					m := uploadWeight(t, dev, w)
					ns := []int{1, 7, 33}
					if sh.rows*sh.cols < 8192 {
						ns = append(ns, 817)
					}
					for _, n := range ns {
						checkMatmul(t, dev, mm, w, m, r, mmRun{n: n})
					}
				}
			}
		})
	}
}

// TestMatmulSubset restricts the rows to sorted random subsets (the lm_head over a decoding
// space), alone and with accumulation into a slice of a wider y.
func TestMatmulSubset(t *testing.T) {
	dev := vktest.Device(t)
	mm := newTestMatmul(t, dev, matmulConfigFor(dev.Info))
	gm := newTestMatmul(t, dev, gpuMatmulConfig(dev))
	r := seed(t)
	for _, dt := range quant.DTypes {
		w := randWeight(t, r, dt, 1013, 96)
		m := uploadWeight(t, dev, w)
		for _, n := range []int{1, 7, 33} {
			ids := randRows(r, w.rows, 1+r.IntN(300))
			checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, subset: ids})
			checkMatmul(t, dev, gm, w, m, r, mmRun{n: n, subset: ids})
			checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, subset: ids, accumulate: true, ldy: len(ids) + 45, off: 13})
		}
	}
}

// TestMatmulAccumulateOffset adds W·x into columns [off, off+M) of a wider y, leaving the rest.
func TestMatmulAccumulateOffset(t *testing.T) {
	dev := vktest.Device(t)
	mm := newTestMatmul(t, dev, matmulConfigFor(dev.Info))
	gm := newTestMatmul(t, dev, gpuMatmulConfig(dev))
	r := seed(t)
	for _, dt := range quant.DTypes {
		w := randWeight(t, r, dt, 301, 128)
		m := uploadWeight(t, dev, w)
		for _, n := range []int{1, 7, 33} {
			checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, accumulate: true})
			checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, accumulate: true, ldy: 401, off: 57})
			checkMatmul(t, dev, gm, w, m, r, mmRun{n: n, accumulate: true, ldy: 333, off: 32})
			checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, ldy: 350, off: 49})
		}
	}
}

// TestMatmulSplit forces bindings of 4 KiB so that weights split into many pieces (quants and
// scales at different rows), then runs dense products and subsets whose ids fall in every piece.
func TestMatmulSplit(t *testing.T) {
	dev := vktest.Device(t)
	mm := newTestMatmul(t, dev, matmulConfigFor(dev.Info))
	gm := newTestMatmul(t, dev, gpuMatmulConfig(dev))
	r := seed(t)
	for _, dt := range quant.DTypes {
		for _, cols := range []int{96, 320} {
			w := randWeight(t, r, dt, 517, cols)
			restore := dev.SetMaxBindingForTest(4096)
			m := uploadWeight(t, dev, w)
			restore()
			if m.Pieces() < 3 {
				t.Fatalf("%v [%d, %d]: %d pieces under a 4 KiB binding limit, want several", dt, w.rows, cols, m.Pieces())
			}
			for _, n := range []int{1, 7, 33} {
				checkMatmul(t, dev, mm, w, m, r, mmRun{n: n})
				checkMatmul(t, dev, gm, w, m, r, mmRun{n: n})
				ids := randRows(r, w.rows, 200)
				checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, subset: ids, accumulate: n == 7})
				checkMatmul(t, dev, gm, w, m, r, mmRun{n: n, subset: ids})
			}
		}
	}
}

// TestMatmulBadRowID: a subset id outside W gives NaN in its column and leaves the others right,
// on the device's kernel and on the shared-memory tile.
func TestMatmulBadRowID(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	w := randWeight(t, r, quant.Q8_0, 200, 64)
	restore := dev.SetMaxBindingForTest(4096)
	m := uploadWeight(t, dev, w)
	restore()
	ids := []int32{3, 150, 200, -1, 7}
	for _, tiled := range []bool{false, true} {
		cfg := matmulConfigFor(dev.Info)
		if tiled {
			cfg = tiledTestConfig(dev, tiledSIMT)
		}
		mm := newTestMatmul(t, dev, cfg)
		x := randFloats(r, 2*w.cols, 1)
		xb, yb := upload(t, dev, x), poisoned(t, dev, 2*len(ids))
		a := MatmulArgs{X: bind(t, xb), Y: bind(t, yb), N: 2, Rows: bind(t, uploadI32(t, dev, ids)), NRows: len(ids), ManyTile: tiled}
		run(t, dev, func(s *vk.Sequence) { mustRecord(t, mm.Record(s, m, a)) })
		y := download(t, yb, 2*len(ids))
		want, err := ref.MatMul(w.values, w.rows, w.cols, x, 2, []int32{3, 150, 0, 0, 7})
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 2; n++ {
			for i, id := range ids {
				v := y[n*len(ids)+i]
				bad := id < 0 || int(id) >= w.rows
				if bad != math.IsNaN(float64(v)) || math.Float32bits(v) == poison {
					t.Fatalf("tiled %v: y[%d][%d] for id %d = %g (bits %#x)", tiled, n, i, id, v, math.Float32bits(v))
				}
				if !bad && math.Abs(float64(v-want[n*len(ids)+i])) > 1e-4*math.Abs(float64(want[n*len(ids)+i]))+1e-5 {
					t.Fatalf("tiled %v: y[%d][%d] = %g, want %g", tiled, n, i, v, want[n*len(ids)+i])
				}
			}
		}
	}
}

// TestMatmulBadInput: shapes and bindings that do not fit are errors, not panics.
func TestMatmulBadInput(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	mm, err := NewMatmul(dev, quant.Q8_0)
	if err != nil {
		t.Fatal(err)
	}
	defer mm.Close()
	w := randWeight(t, r, quant.Q8_0, 40, 64)
	m := uploadWeight(t, dev, w)
	wf := randWeight(t, r, quant.F16, 40, 64)
	mf := uploadWeight(t, dev, wf)
	xb, yb := poisoned(t, dev, 3*64), poisoned(t, dev, 3*40)
	x, y := bind(t, xb), bind(t, yb)
	ids := bind(t, uploadI32(t, dev, []int32{1, 2}))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	good := MatmulArgs{X: x, Y: y, N: 3}
	if err := mm.Record(s, m, good); err != nil {
		t.Fatalf("valid product rejected: %v", err)
	}
	for _, c := range []struct {
		what string
		w    *Matrix
		a    MatmulArgs
	}{
		{"nil weight", nil, good},
		{"dtype without pipelines", mf, good},
		{"no columns", m, MatmulArgs{X: x, Y: y}},
		{"x too small", m, MatmulArgs{X: x, Y: y, N: 4}},
		{"y too small", m, MatmulArgs{X: x, Y: y, N: 3, LDY: 41}},
		{"offset past the row", m, MatmulArgs{X: x, Y: y, N: 1, LDY: 40, Offset: 1}},
		{"negative offset", m, MatmulArgs{X: x, Y: y, N: 1, Offset: -1}},
		{"rows binding too small", m, MatmulArgs{X: x, Y: y, N: 1, Rows: ids, NRows: 3}},
		{"negative subset", m, MatmulArgs{X: x, Y: y, N: 1, NRows: -2}},
	} {
		if err := mm.Record(s, c.w, c.a); err == nil {
			t.Errorf("%s: no error", c.what)
		} else {
			t.Logf("%s: %v", c.what, err)
		}
	}
	closed := uploadWeight(t, dev, w)
	closed.Close()
	if err := mm.Record(s, closed, good); err == nil {
		t.Error("closed weight: no error")
	}
	if _, err := NewMatmul(dev, quant.DType(9)); err == nil {
		t.Error("unknown dtype: no error")
	}
}

// TestUploadMatrixBadInput: wrong shapes and sizes are errors.
func TestUploadMatrixBadInput(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	w := randWeight(t, r, quant.Q4_0, 8, 64)
	for _, c := range []struct {
		what       string
		dt         quant.DType
		rows, cols int
		raw        []byte
	}{
		{"short", quant.Q4_0, 8, 64, w.raw[:len(w.raw)-1]},
		{"long", quant.Q4_0, 8, 64, append(append([]byte{}, w.raw...), 0)},
		{"rows mismatch", quant.Q4_0, 9, 64, w.raw},
		{"cols not whole blocks", quant.Q8_0, 8, 40, make([]byte, 8*40)},
		{"no rows", quant.F32, 0, 64, nil},
		{"unknown dtype", quant.DType(7), 8, 64, w.raw},
	} {
		if m, err := UploadMatrix(dev, c.dt, c.rows, c.cols, c.raw); err == nil {
			m.Close()
			t.Errorf("%s: no error", c.what)
		} else {
			t.Logf("%s: %v", c.what, err)
		}
	}
}

// With ManyTile, the first n columns of a product computed alone are bit for bit those of a
// longer product over the same x: what an exact prefix cache needs, since the one- and few-token
// paths (a K split on GPU tiles) sum in another order.
func TestMatmulManyTileMatchesLongerProduct(t *testing.T) {
	dev := vktest.Device(t)
	for _, cfg := range []struct {
		name string
		cfg  matmulConfig
	}{{"device", matmulConfigFor(dev.Info)}, {"gpu-tiles", gpuMatmulConfig(dev)},
		{"tiled", tiledTestConfig(dev, tiledSIMT)}, {"tiled-emu", tiledTestConfig(dev, tiledEmu)}} {
		mm := newTestMatmul(t, dev, cfg.cfg)
		r := seed(t)
		for _, dt := range quant.DTypes {
			w := randWeight(t, r, dt, 45, 4096+32)
			m := uploadWeight(t, dev, w)
			const long = 33
			x := randFloats(r, long*w.cols, 1)
			xb := upload(t, dev, x)
			product := func(n int, many bool) []float32 {
				yb := poisoned(t, dev, n*w.rows)
				a := MatmulArgs{X: bind(t, xb), Y: bind(t, yb), N: n, ManyTile: many}
				run(t, dev, func(s *vk.Sequence) { mustRecord(t, mm.Record(s, m, a)) })
				return download(t, yb, n*w.rows)
			}
			all := product(long, false)
			for _, n := range []int{1, 2, 7} {
				got := product(n, true)
				for i, v := range got {
					if math.Float32bits(v) != math.Float32bits(all[i]) {
						t.Fatalf("%s %v N=%d: y[%d] = %g alone, %g among %d columns", cfg.name, dt, n, i, v, all[i], long)
					}
				}
			}
		}
	}
}
