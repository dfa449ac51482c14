package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

func f64to32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func newVQOps(t *testing.T) (*vk.Device, *VQOps) {
	t.Helper()
	dev := vktest.Device(t)
	k, err := NewVQOps(dev)
	if err != nil {
		t.Fatal(err)
	}
	return dev, k
}

// vqSoftmaxLimit: an exp of a few ulp per element and an fp32 sum of up to ~1000 terms, against
// float64, normalised by the largest probability.
const vqSoftmaxLimit = 2e-6

func TestVQSoftmax(t *testing.T) {
	dev, k := newVQOps(t)
	r := seed(t)
	for _, c := range []struct {
		rows, n int
		scale   float64
	}{{1, 1, 1}, {7, 33, 0.125}, {625, 625, 1 / math.Sqrt(1024)}, {3, 1000, 1}, {300, 2, 2}} {
		name := fmt.Sprintf("[%d][%d] scale %g", c.rows, c.n, c.scale)
		x := randFloats(r, c.rows*c.n, 40) // large scores: the row maximum must be subtracted
		want, err := ref.SoftmaxRows(x, c.rows, c.n, float64(float32(c.scale)))
		if err != nil {
			t.Fatal(err)
		}
		b := upload(t, dev, x)
		run(t, dev, func(s *vk.Sequence) { mustRecord(t, k.Softmax(s, bind(t, b), c.rows, c.n, float32(c.scale))) })
		checkErr(t, name, download(t, b, len(x)), f64to32(want), vqSoftmaxLimit)
	}
}

func TestVQTransposeAndActivationMatrix(t *testing.T) {
	dev, k := newVQOps(t)
	mm := newTestMatmul(t, dev, matmulConfigFor(dev.Info))
	r := seed(t)
	for _, c := range []struct{ n, ch, m int }{{37, 32, 5}, {1, 64, 1}, {625, 96, 9}, {64, 32, 70}} {
		name := fmt.Sprintf("n%d c%d m%d", c.n, c.ch, c.m)
		v := randFloats(r, c.n*c.ch, 1)
		vt, err := NewActivationMatrix(dev, c.ch, c.n)
		if err != nil {
			t.Fatal(err)
		}
		ld := ActivationStride(c.n)
		if err := vt.Buffer().Write(0, floatBytes(f64to32(nanSlice(c.ch*ld)))); err != nil {
			t.Fatal(err)
		}
		vb := bind(t, vt.Buffer())
		run(t, dev, func(s *vk.Sequence) { mustRecord(t, k.Transpose(s, bind(t, upload(t, dev, v)), vb, c.n, c.ch, ld)) })
		got := download(t, vt.Buffer(), c.ch*ld)
		for ch := 0; ch < c.ch; ch++ {
			for i := 0; i < ld; i++ {
				want := float32(0)
				if i < c.n {
					want = v[i*c.ch+ch]
				}
				if got[ch*ld+i] != want {
					t.Fatalf("%s: y[%d][%d] = %g, want %g", name, ch, i, got[ch*ld+i], want)
				}
			}
		}
		// The transposed values as the weight of a product: y[i][ch] = sum_j p[i][j] v[j][ch].
		p := randFloats(r, c.m*c.n, 1)
		exp := make([]float32, c.m*c.ch)
		for i := 0; i < c.m; i++ {
			for ch := 0; ch < c.ch; ch++ {
				var acc float64
				for j := 0; j < c.n; j++ {
					acc += float64(p[i*c.n+j]) * float64(v[j*c.ch+ch])
				}
				exp[i*c.ch+ch] = float32(acc)
			}
		}
		y := poisoned(t, dev, c.m*c.ch)
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, mm.Record(s, vt, MatmulArgs{X: bind(t, upload(t, dev, p)), Y: bind(t, y), N: c.m}))
		})
		checkErr(t, name+" product", download(t, y, c.m*c.ch), exp, vqConvLimit)
		vt.Close()
	}
}

func floatBytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func nanSlice(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}

func TestVQAffine(t *testing.T) {
	dev, k := newVQOps(t)
	r := seed(t)
	for _, c := range []struct {
		ch, h, w int
		silu     bool
	}{{4, 25, 25, true}, {5, 7, 9, false}, {1, 1, 1, true}, {33, 3, 11, true}} {
		name := fmt.Sprintf("C%d %dx%d silu %v", c.ch, c.w, c.h, c.silu)
		x := randMap(r, c.ch, c.h, c.w, 0, 3)
		mean, gamma, beta := randFloats(r, c.ch, 1), randFloats(r, c.ch, 1), randFloats(r, c.ch, 1)
		variance := make([]float32, c.ch)
		for i := range variance {
			variance[i] = float32(0.5 + r.Float64())
		}
		want, err := ref.BatchNormEval(x, mean, variance, gamma, beta, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		if c.silu {
			want = ref.SiLU(want)
		}
		mul, add := make([]float32, c.ch), make([]float32, c.ch)
		for i := range mul {
			m := float64(gamma[i]) / math.Sqrt(float64(variance[i])+1e-5)
			mul[i], add[i] = float32(m), float32(float64(beta[i])-float64(mean[i])*m)
		}
		n := c.h * c.w
		y := poisoned(t, dev, n*c.ch)
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, k.Affine(s, bind(t, upload(t, dev, hwc(x))), bind(t, upload(t, dev, mul)), bind(t, upload(t, dev, add)),
				bind(t, y), n, c.ch, c.silu))
		})
		checkErr(t, name, download(t, y, n*c.ch), hwc(want), 1e-6)
	}
	b := bind(t, poisoned(t, dev, 8))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if k.Affine(s, b, b, b, b, 3, 3, false) == nil || k.Softmax(s, b, 3, 3, 1) == nil || k.Transpose(s, b, b, 3, 3, 2) == nil ||
		k.Softmax(s, b, 1, 1, 0) == nil {
		t.Fatal("short buffers or bad shapes accepted")
	}
	if s.Len() != 0 {
		t.Fatalf("rejected records left %d commands", s.Len())
	}
	if _, err := NewActivationMatrix(dev, 0, 3); err == nil {
		t.Fatal("an empty activation matrix made")
	}
}

// SpatialNorm's modulation against the reference's order: upsample y and b by nearest, then
// n*y + b (then SiLU).
func TestVQModulate(t *testing.T) {
	dev, k := newVQOps(t)
	r := seed(t)
	for _, c := range []struct {
		ch, h, w, f int
		silu        bool
	}{{32, 10, 14, 2, true}, {5, 3, 7, 1, false}, {64, 24, 8, 8, true}, {3, 4, 4, 4, false}} {
		name := fmt.Sprintf("C%d %dx%d from /%d silu %v", c.ch, c.w, c.h, c.f, c.silu)
		n := randMap(r, c.ch, c.h, c.w, 0, 1)
		y, b := randMap(r, c.ch, c.h/c.f, c.w/c.f, 1, 0.5), randMap(r, c.ch, c.h/c.f, c.w/c.f, 0, 0.5)
		yu, bu := ref.Nearest(y, c.h, c.w), ref.Nearest(b, c.h, c.w)
		want := ref.NewMap(c.ch, c.h, c.w)
		for i := range want.X {
			want.X[i] = n.X[i]*yu.X[i] + bu.X[i]
		}
		if c.silu {
			want = ref.SiLU(want)
		}
		out := poisoned(t, dev, c.ch*c.h*c.w)
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, k.Modulate(s, bind(t, upload(t, dev, hwc(n))), bind(t, upload(t, dev, hwc(y))), bind(t, upload(t, dev, hwc(b))),
				bind(t, out), c.h, c.w, c.ch, c.h/c.f, c.w/c.f, c.silu))
		})
		checkErr(t, name, download(t, out, c.ch*c.h*c.w), hwc(want), 1e-6)
	}
	b := bind(t, poisoned(t, dev, 8))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if k.Modulate(s, b, b, b, b, 2, 2, 3, 1, 1, false) == nil || k.Modulate(s, b, b, b, b, 1, 1, 1, 2, 1, false) == nil {
		t.Fatal("short buffers or a source larger than the map accepted")
	}
}
