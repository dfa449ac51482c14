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

// randMap is a random CHW map of float32-exact values around mean.
func randMap(r *rand.Rand, c, h, w int, mean, scale float64) ref.Map {
	m := ref.NewMap(c, h, w)
	for i, v := range randFloats(r, len(m.X), scale) {
		m.X[i] = float64(float32(mean + float64(v)))
	}
	return m
}

// hwc lays a CHW map out as the kernels hold it: pixel-major, channels contiguous, float32.
func hwc(m ref.Map) []float32 {
	n := m.H * m.W
	out := make([]float32, len(m.X))
	for c := 0; c < m.C; c++ {
		for i := 0; i < n; i++ {
			out[i*m.C+c] = float32(m.X[c*n+i])
		}
	}
	return out
}

// vqConvLimit: an fp32 dot product of up to ~3000 terms of order 1 against the float64 reference;
// the error grows like sqrt(K) ulps of the largest partial sums, well under 1e-5 of the largest
// output.
const vqConvLimit = 2e-5

// newVQConv makes the convolution kernel on the test device with its own f32 matmul.
func newVQConv(t *testing.T) (*vk.Device, *VQConv) {
	t.Helper()
	dev := vktest.Device(t)
	mm, err := NewMatmul(dev, quant.F32)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mm.Close)
	k, err := NewVQConv(dev, mm)
	if err != nil {
		t.Fatal(err)
	}
	return dev, k
}

func TestVQConv(t *testing.T) {
	dev, k := newVQConv(t)
	r := seed(t)
	for _, c := range []struct {
		in, out, k, h, w, stride int
		pad                      ref.Pad4
		acc                      bool
	}{
		{5, 11, 3, 7, 9, 1, ref.Pad4{Top: 1, Bottom: 1, Left: 1, Right: 1}, false},
		{32, 64, 3, 13, 11, 1, ref.Pad4{Top: 1, Bottom: 1, Left: 1, Right: 1}, true},
		{3, 32, 3, 10, 14, 1, ref.Pad4{Top: 1, Bottom: 1, Left: 1, Right: 1}, false},
		{33, 33, 3, 9, 12, 2, ref.Pad4{Bottom: 1, Right: 1}, false}, // the downsample: odd and even sides
		{37, 7, 1, 5, 6, 1, ref.Pad4{}, true},                       // a 1x1 shortcut into a residual
		{64, 4, 3, 25, 25, 1, ref.Pad4{Top: 1, Bottom: 1, Left: 1, Right: 1}, false},
	} {
		name := fmt.Sprintf("%d->%d k%d s%d %dx%d %+v acc %v", c.in, c.out, c.k, c.stride, c.w, c.h, c.pad, c.acc)
		x := randMap(r, c.in, c.h, c.w, 0, 1)
		wt := randFloats(r, c.out*c.in*c.k*c.k, 1/math.Sqrt(float64(c.in*c.k*c.k)))
		bias := randFloats(r, c.out, 0.5)
		want, err := ref.Conv2D(x, wt, bias, c.out, c.k, c.stride, c.pad)
		if err != nil {
			t.Fatal(err)
		}
		cw, err := UploadConvWeight(dev, wt, bias, c.out, c.in, c.k)
		if err != nil {
			t.Fatal(err)
		}
		shape := ConvShape{H: c.h, W: c.w, Stride: c.stride, Top: c.pad.Top, Bottom: c.pad.Bottom, Left: c.pad.Left, Right: c.pad.Right}
		n := want.H * want.W * c.out
		yb := poisoned(t, dev, n)
		if c.acc { // y holds a residual the product is added to
			res := randMap(r, c.out, want.H, want.W, 0, 1)
			if want, err = ref.AddMaps(res, want); err != nil {
				t.Fatal(err)
			}
			yb = upload(t, dev, hwc(res))
		}
		xb, col := upload(t, dev, hwc(x)), poisoned(t, dev, k.ColFloats(cw, shape))
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, k.Record(s, cw, shape, VQConvArgs{X: bind(t, xb), Col: bind(t, col), Y: bind(t, yb), Accumulate: c.acc}))
		})
		checkErr(t, name, download(t, yb, n), hwc(want), vqConvLimit)
		cw.Close()
	}
}

func TestVQConvRejects(t *testing.T) {
	dev, k := newVQConv(t)
	if _, err := UploadConvWeight(dev, make([]float32, 10), make([]float32, 2), 2, 3, 3); err == nil {
		t.Fatal("a kernel of the wrong size uploaded")
	}
	cw, err := UploadConvWeight(dev, make([]float32, 2*3*9), make([]float32, 2), 2, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Close()
	b := bind(t, poisoned(t, dev, 100))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok := ConvShape{H: 2, W: 2, Stride: 1, Top: 1, Bottom: 1, Left: 1, Right: 1}
	for _, c := range []ConvShape{{H: 8, W: 8, Stride: 1, Top: 1, Bottom: 1, Left: 1, Right: 1}, {H: 1, W: 1, Stride: 1},
		{H: 2, W: 2, Stride: 0}, {H: 2, W: 2, Stride: 1, Top: 3}} {
		if k.Record(s, cw, c, VQConvArgs{X: b, Col: b, Y: b}) == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if k.Record(s, nil, ok, VQConvArgs{X: b, Col: b, Y: b}) == nil {
		t.Error("a nil weight accepted")
	}
	if s.Len() != 0 {
		t.Fatalf("rejected records left %d commands", s.Len())
	}
}

// vqNormLimit: a GroupNorm's fp32 statistics over up to ~10^4 values and a normalised output of
// order 1-3: 1e-5 of the largest output leaves a margin of 10 over the observed error.
const vqNormLimit = 1e-5

func TestVQGroupNorm(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewGroupNorm(dev)
	if err != nil {
		t.Fatal(err)
	}
	r := seed(t)
	for _, c := range []struct {
		ch, h, w, groups int
		silu             bool
	}{{32, 1, 1, 32, false}, {64, 7, 9, 32, true}, {96, 5, 13, 32, false}, {32, 40, 25, 32, true}, {6, 3, 3, 2, false}, {256, 6, 5, 32, true}} {
		name := fmt.Sprintf("C%d %dx%d G%d silu %v", c.ch, c.w, c.h, c.groups, c.silu)
		x := randMap(r, c.ch, c.h, c.w, 3, 2) // an offset mean: the variance pass must not cancel
		gamma, beta := randFloats(r, c.ch, 1), randFloats(r, c.ch, 1)
		want, err := ref.GroupNorm(x, c.groups, gamma, beta, 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		if c.silu {
			want = ref.SiLU(want)
		}
		n := c.h * c.w
		xb, yb := upload(t, dev, hwc(x)), poisoned(t, dev, n*c.ch)
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, k.Record(s, GroupNormArgs{X: bind(t, xb), Gamma: bind(t, upload(t, dev, gamma)), Beta: bind(t, upload(t, dev, beta)),
				Y: bind(t, yb), N: n, C: c.ch, Groups: c.groups, Eps: 1e-6, SiLU: c.silu}))
		})
		checkErr(t, name, download(t, yb, n*c.ch), hwc(want), vqNormLimit)
	}
	b := bind(t, poisoned(t, dev, 64))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, a := range []GroupNormArgs{{N: 2, C: 33, Groups: 32, Eps: 1e-6}, {N: 3, C: 32, Groups: 32, Eps: 1e-6}, {N: 1, C: 32, Groups: 32}} {
		a.X, a.Gamma, a.Beta, a.Y = b, b, b, b
		if k.Record(s, a) == nil {
			t.Errorf("%+v accepted", a)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("rejected records left %d commands", s.Len())
	}
}

// The nearest code equals the float64 reference's at every position whose best and second-best
// distances differ by more than 1e-4 relative (closer ones are genuine near-ties, which fp32 may
// resolve either way), and exact ties go to the first index.
func TestVQQuantize(t *testing.T) {
	dev := vktest.Device(t)
	q, err := NewQuantizer(dev)
	if err != nil {
		t.Fatal(err)
	}
	r := seed(t)
	for _, c := range []struct{ n, k, e int }{{1, 1, 4}, {625, 300, 4}, {100, 32768, 4}, {37, 513, 7}, {77, 64, 1}} {
		name := fmt.Sprintf("n%d k%d e%d", c.n, c.k, c.e)
		book := randFloats(r, c.k*c.e, 1)
		z := randMap(r, c.e, 1, c.n, 0, 1)
		// Exact ties: a duplicated codebook row, and positions equal to it.
		if c.k > 10 {
			copy(book[9*c.e:10*c.e], book[4*c.e:5*c.e])
			for i := 0; i < c.n; i += 5 {
				for d := 0; d < c.e; d++ {
					z.X[d*c.n+i] = float64(book[4*c.e+d])
				}
			}
		}
		want, margin, err := ref.NearestCodes(z, book, c.k)
		if err != nil {
			t.Fatal(err)
		}
		zb, codes := upload(t, dev, hwc(z)), poisoned(t, dev, c.n)
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, q.Record(s, bind(t, zb), bind(t, upload(t, dev, book)), bind(t, codes), c.n, c.k, c.e))
		})
		got := download(t, codes, c.n)
		near, ties := 0, 0
		for i := range want {
			g := int32(math.Float32bits(got[i]))
			if c.k > 10 && i%5 == 0 {
				ties++
				if g != 4 {
					t.Fatalf("%s: position %d equals codes 4 and 9, got %d", name, i, g)
				}
			}
			if margin[i] < 1e-4 {
				near++
				continue
			}
			if g != want[i] {
				t.Fatalf("%s: position %d has code %d, the reference %d (margin %.3g)", name, i, g, want[i], margin[i])
			}
		}
		t.Logf("%s: %d exact ties, %d near-ties below 1e-4", name, ties, near)
	}
	b := bind(t, poisoned(t, dev, 16))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if q.Record(s, b, b, b, 5, 4, 4) == nil || q.Record(s, b, b, b, 0, 1, 1) == nil {
		t.Fatal("short buffers or no positions accepted")
	}
}

// A frame whose patches exceed a binding is convolved in bands of output pixels (here the binding
// is lowered so that a 15x20 output takes five bands, the last one partial).
func TestVQConvBands(t *testing.T) {
	dev, _ := newVQConv(t)
	r := seed(t)
	const in, out, kk, h, w = 7, 9, 3, 15, 20
	cols := in*kk*kk + 1
	restore := dev.SetMaxBindingForTest(int64(4 * cols * bandUnit))
	k, err := NewVQConv(dev, newTestMatmul(t, dev, matmulConfigFor(dev.Info)))
	restore()
	if err != nil {
		t.Fatal(err)
	}
	x := randMap(r, in, h, w, 0, 1)
	wt, bias := randFloats(r, out*in*kk*kk, 0.3), randFloats(r, out, 0.5)
	want, err := ref.Conv2D(x, wt, bias, out, kk, 1, ref.Pad4{Top: 1, Bottom: 1, Left: 1, Right: 1})
	if err != nil {
		t.Fatal(err)
	}
	cw, err := UploadConvWeight(dev, wt, bias, out, in, kk)
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Close()
	shape := ConvShape{H: h, W: w, Stride: 1, Top: 1, Bottom: 1, Left: 1, Right: 1}
	if got := k.ColFloats(cw, shape); got != bandUnit*cols {
		t.Fatalf("scratch of %d floats, want one band of %d pixels", got, bandUnit)
	}
	y := poisoned(t, dev, h*w*out)
	var cmds int
	run(t, dev, func(s *vk.Sequence) {
		mustRecord(t, k.Record(s, cw, shape, VQConvArgs{X: bind(t, upload(t, dev, hwc(x))), Col: bind(t, poisoned(t, dev, k.ColFloats(cw, shape))), Y: bind(t, y)}))
		cmds = s.Len()
	})
	if cmds != 2*5 {
		t.Fatalf("%d commands, want an im2col and a matmul for each of 5 bands", cmds)
	}
	checkErr(t, "banded", download(t, y, h*w*out), hwc(want), vqConvLimit)
}

// The decoder's Upsample: nearest x2 and a 3x3 conv in one pass, against the reference's two steps.
func TestVQConvUpsampled(t *testing.T) {
	dev, k := newVQConv(t)
	r := seed(t)
	for _, c := range []struct{ in, out, h, w int }{{32, 32, 5, 7}, {3, 8, 1, 1}, {64, 33, 12, 12}} {
		name := fmt.Sprintf("%d->%d %dx%d x2", c.in, c.out, c.w, c.h)
		x := randMap(r, c.in, c.h, c.w, 0, 1)
		wt, bias := randFloats(r, c.out*c.in*9, 1/math.Sqrt(float64(c.in*9))), randFloats(r, c.out, 0.5)
		want, err := ref.Conv2D(ref.Nearest(x, 2*c.h, 2*c.w), wt, bias, c.out, 3, 1, ref.Pad4{Top: 1, Bottom: 1, Left: 1, Right: 1})
		if err != nil {
			t.Fatal(err)
		}
		cw, err := UploadConvWeight(dev, wt, bias, c.out, c.in, 3)
		if err != nil {
			t.Fatal(err)
		}
		shape := ConvShape{H: c.h, W: c.w, Stride: 1, Top: 1, Bottom: 1, Left: 1, Right: 1, Up2: true}
		n := 4 * c.h * c.w * c.out
		y := poisoned(t, dev, n)
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, k.Record(s, cw, shape, VQConvArgs{X: bind(t, upload(t, dev, hwc(x))), Col: bind(t, poisoned(t, dev, k.ColFloats(cw, shape))), Y: bind(t, y)}))
		})
		checkErr(t, name, download(t, y, n), hwc(want), vqConvLimit)
		cw.Close()
	}
}
