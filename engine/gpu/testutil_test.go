package gpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/vk"
)

// poison is the bit pattern written into every output before a kernel runs: a NaN, so an element
// the kernel forgot to write fails every comparison.
const poison = 0x7fc0dead

func randFloats(r *rand.Rand, n int, scale float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		v := r.NormFloat64() * scale
		if v == 0 {
			v = scale
		}
		out[i] = float32(v)
	}
	return out
}

// upload makes a device buffer holding x, inside guard bands (uploadBytes).
func upload(t testing.TB, dev *vk.Device, x []float32) *vk.Buffer {
	t.Helper()
	return uploadWords(t, dev, x, vk.WriteFloat32s)
}

// uploadWords makes a device buffer holding the 4-byte words x, inside guard bands (uploadBytes),
// written by write.
func uploadWords[T int32 | float32](t testing.TB, dev *vk.Device, x []T, write func(*vk.Buffer, int64, []T) error) *vk.Buffer {
	t.Helper()
	b := uploadBytes(t, dev, make([]byte, 4*len(x)))
	if err := write(b, 0, x); err != nil {
		t.Fatal(err)
	}
	return b
}

// poisoned makes a device buffer of n float32s filled with the poison pattern.
func poisoned(t testing.TB, dev *vk.Device, n int) *vk.Buffer {
	t.Helper()
	p := make([]float32, n)
	for i := range p {
		p[i] = math.Float32frombits(poison)
	}
	return upload(t, dev, p)
}

func download(t testing.TB, b *vk.Buffer, n int) []float32 {
	t.Helper()
	return downloadWords(t, b, n, vk.ReadFloat32s)
}

// downloadWords reads the first n 4-byte words of b with read.
func downloadWords[T int32 | float32](t testing.TB, b *vk.Buffer, n int, read func(*vk.Buffer, int64, []T) error) []T {
	t.Helper()
	out := make([]T, n)
	if err := read(b, 0, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// uploadI32 makes a device buffer holding x.
func uploadI32(t testing.TB, dev *vk.Device, x []int32) *vk.Buffer {
	t.Helper()
	return uploadWords(t, dev, x, vk.WriteInt32s)
}

func downloadI32(t testing.TB, b *vk.Buffer, n int) []int32 {
	t.Helper()
	return downloadWords(t, b, n, vk.ReadInt32s)
}

// bind binds the whole buffer; for a test buffer with guard bands, the band after it too.
func bind(t testing.TB, b *vk.Buffer) vk.Binding {
	t.Helper()
	if g, ok := guardedViews.Load(b); ok {
		bd, err := g.(*guardedBuffer).binding()
		if err != nil {
			t.Fatal(err)
		}
		return bd
	}
	bd, err := b.All()
	if err != nil {
		t.Fatal(err)
	}
	return bd
}

// run records f into a fresh sequence and runs it.
func run(t testing.TB, dev *vk.Device, f func(s *vk.Sequence)) {
	t.Helper()
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f(s)
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
}

// relErr is max|got-want| / max|want|: the normalised error every kernel test thresholds.
func relErr(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(float64(got[i])) || math.IsInf(float64(got[i]), 0) {
			return math.Inf(1)
		}
		num = math.Max(num, d)
		den = math.Max(den, math.Abs(float64(want[i])))
	}
	if den == 0 {
		den = 1
	}
	return num / den
}
