package gpu

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// openUnrobust opens a validated device of the test's own with robust buffer access off, as
// production runs.
func openUnrobust(t *testing.T) *vk.Device {
	t.Helper()
	t.Setenv("UDVLA_ROBUST", "0")
	return vktest.Open(t)
}

func mustGuarded(t *testing.T, dev *vk.Device, x []float32) *guardedBuffer {
	t.Helper()
	g, err := guarded(dev, make([]byte, 4*len(x)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.close)
	if err := vk.WriteFloat32s(g.view, 0, x); err != nil {
		t.Fatal(err)
	}
	return g
}

// A dispatch recorded with a count past its bindings is caught: its writes change the canaries
// after the output, and its reads past the input carry the NaN band into the output.
func TestGuardBandsCatchAnOverrun(t *testing.T) {
	dev := openUnrobust(t)
	k, err := NewAdd(dev)
	if err != nil {
		t.Fatal(err)
	}
	r := seed(t)
	const n, over = 100, 37
	t.Run("write", func(t *testing.T) {
		x, d := mustGuarded(t, dev, randFloats(r, n, 1)), mustGuarded(t, dev, randFloats(r, n+over, 1))
		if err := x.check(); err != nil {
			t.Fatalf("fresh buffer: %v", err)
		}
		run(t, dev, func(s *vk.Sequence) { k.Record(s, bind(t, x.view), bind(t, d.view), n+over) })
		err := x.check()
		if err == nil || !strings.Contains(err.Error(), "byte 400 (after its end)") {
			t.Fatalf("an add of %d elements into a binding of %d: guard check %v, want the write at byte 400 caught", n+over, n, err)
		}
		if err := d.check(); err != nil {
			t.Errorf("the input's bands, which nothing wrote: %v", err)
		}
	})
	t.Run("read", func(t *testing.T) {
		xv, dv := randFloats(r, n+over, 1), randFloats(r, n, 1)
		x, d := mustGuarded(t, dev, xv), mustGuarded(t, dev, dv)
		run(t, dev, func(s *vk.Sequence) { k.Record(s, bind(t, x.view), bind(t, d.view), n+over) })
		got := download(t, x.view, n+over)
		want := make([]float32, n+over)
		for i := range want {
			want[i] = xv[i]
			if i < n {
				want[i] += dv[i]
			}
		}
		if e := relErr(got, want); !math.IsInf(e, 1) {
			t.Fatalf("an add reading %d elements of a binding of %d: normalised error %g, want the NaN band to reach the output", n+over, n, e)
		}
		if !math.IsNaN(float64(got[n])) || got[n-1] != want[n-1] {
			t.Errorf("x[%d] = %g (want NaN from the band), x[%d] = %g (want %g)", n, got[n], n-1, got[n-1], want[n-1])
		}
		if err := x.check(); err != nil {
			t.Errorf("the output's bands: %v", err)
		}
	})
	t.Run("in range", func(t *testing.T) {
		x, d := mustGuarded(t, dev, randFloats(r, n, 1)), mustGuarded(t, dev, randFloats(r, n, 1))
		run(t, dev, func(s *vk.Sequence) { k.Record(s, bind(t, x.view), bind(t, d.view), n) })
		if err := x.check(); err != nil {
			t.Errorf("a dispatch inside its bindings: %v", err)
		}
	})
}

// A test buffer binds at its offset in the allocation, with the band after it.
func TestGuardedViewBindsItsRange(t *testing.T) {
	dev := vktest.Device(t)
	g := mustGuarded(t, dev, randFloats(seed(t), 5, 1))
	bd := bind(t, g.view)
	whole, err := g.whole.All()
	if err != nil {
		t.Fatal(err)
	}
	if bd.Buf != whole.Buf || bd.Off != whole.Off+guardBytes || bd.Size != 20 || bd.Guard != guardBytes {
		t.Errorf("binding %+v, allocation %+v: want offset %d and the 20 bytes with the band after them", bd, whole, guardBytes)
	}
	if _, err := g.view.Bind(4, 20); err == nil {
		t.Error("a binding past the view's end was accepted")
	}
	if err := g.view.Write(16, make([]byte, 8)); err == nil {
		t.Error("a write past the view's end was accepted")
	}
}

// In the kernel tests every weight matrix that fits one binding carries a NaN band after its
// quants and after its scales, which its bindings cover as their Guard.
func TestMatrixGuardBands(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	for _, c := range []struct {
		dt         quant.DType
		rows, cols int
	}{{quant.F32, 5, 40}, {quant.F16, 3, 64}, {quant.Q8_0, 7, 64}, {quant.Q4_0, 2, 96}} {
		w := randFloats(r, c.rows*c.cols, 1)
		raw, err := quant.Quantize(c.dt, c.rows, c.cols, w)
		if err != nil {
			t.Fatal(err)
		}
		m, err := UploadMatrix(dev, c.dt, c.rows, c.cols, raw)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		p := m.pieces[len(m.pieces)-1]
		if p.quants.Guard != guardBytes || p.quants.Size != m.qBytes || (c.dt.Quantized() && (p.scales.Guard != guardBytes || p.scales.Size != m.sBytes)) {
			t.Errorf("%v: bindings %+v %+v: want the data's size and a guard of %d", c.dt, p.quants, p.scales, guardBytes)
		}
		band := make([]byte, 8)
		if err := m.quants.Read(m.qBytes, band); err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint32(band); got != quantsGuard(c.dt) {
			t.Errorf("%v: quants band %#x", c.dt, got)
		}
		if c.dt.Quantized() {
			if err := m.scales.Read(m.sBytes, band); err != nil {
				t.Fatal(err)
			}
			if got := binary.LittleEndian.Uint32(band); got != guardF16 {
				t.Errorf("%v: scales band %#x", c.dt, got)
			}
		}
	}
	if !math.IsNaN(float64(math.Float32frombits(guardF32))) ||
		!math.IsNaN(float64(quant.F16ToF32(uint16(guardF16&0xffff)))) {
		t.Error("the band patterns of f32 and fp16 must be NaN")
	}
}

// A matmul told that its weight has more rows than the data holds reads the band after the last
// row, and the NaN of the band reaches exactly the outputs of the rows past the end.
func TestMatrixGuardCatchesAnOverrunningRead(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	for _, dt := range []quant.DType{quant.F32, quant.Q8_0} {
		const rows, cols, extra, n = 6, 64, 2, 3
		mm, err := NewMatmul(dev, dt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(mm.Close)
		m := uploadWeight(t, dev, randWeight(t, r, dt, rows, cols))
		if len(m.pieces) != 1 {
			t.Fatalf("%d pieces", len(m.pieces))
		}
		m.Rows += extra // the deliberate overrun: the dispatch covers rows the data lacks
		m.pieces[0].hi += extra
		x := upload(t, dev, randFloats(r, n*cols, 1))
		y := upload(t, dev, randFloats(r, n*(rows+extra), 1)) // finite: the NaN must come from the band
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, mm.Record(s, m, MatmulArgs{X: bind(t, x), Y: bind(t, y), N: n}))
		})
		got := download(t, y, n*(rows+extra))
		for tok := 0; tok < n; tok++ {
			for i := 0; i < rows+extra; i++ {
				v := got[tok*(rows+extra)+i]
				if nan := math.IsNaN(float64(v)); nan != (i >= rows) {
					t.Errorf("%v: token %d, row %d of %d real rows: %g", dt, tok, i, rows, v)
				}
			}
		}
		m.Rows -= extra
		m.pieces[0].hi -= extra
	}
}
