package gpu

import (
	"fmt"
	"testing"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// siluMulLimit: g/(1+exp(-g))·u is three roundings and an exp of a few ulp on every Vulkan device
// (lavapipe's exp is LLVM's, GPUs' about 2-3 ulp after exp2 range reduction): 8 ulp (5e-7) of the
// largest output is the budget, 1e-6 leaves a 2x margin.
const siluMulLimit = 1e-6

func TestSiLUMul(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewSiLUMul(dev)
	if err != nil {
		t.Fatal(err)
	}
	r := seed(t)
	for _, c := range []struct{ n, ffn int }{{1, 4}, {7, 36}, {33, 4096 + 4}, {817, 100}, {3, 4 * 1111}} {
		gate, up := randFloats(r, c.n*c.ffn, 4), randFloats(r, c.n*c.ffn, 1)
		gate[0] = -120 // exp(120) overflows fp32: silu must still give -0, not NaN
		want, err := ref.SiLUMul(gate, up)
		if err != nil {
			t.Fatal(err)
		}
		// two buffers
		gb, ub, ob := upload(t, dev, gate), upload(t, dev, up), poisoned(t, dev, c.n*c.ffn)
		run(t, dev, func(s *vk.Sequence) { mustRecord(t, k.Record(s, bind(t, gb), bind(t, ub), bind(t, ob), c.n, c.ffn)) })
		checkErr(t, fmt.Sprintf("split n=%d ffn=%d", c.n, c.ffn), download(t, ob, c.n*c.ffn), want, siluMulLimit)
		// one [n][2*ffn] buffer of [gate | up] rows
		gu := make([]float32, 0, 2*c.n*c.ffn)
		for i := range c.n {
			gu = append(append(gu, gate[i*c.ffn:(i+1)*c.ffn]...), up[i*c.ffn:(i+1)*c.ffn]...)
		}
		gub, ob2 := upload(t, dev, gu), poisoned(t, dev, c.n*c.ffn)
		run(t, dev, func(s *vk.Sequence) { mustRecord(t, k.RecordFused(s, bind(t, gub), bind(t, ob2), c.n, c.ffn)) })
		checkErr(t, fmt.Sprintf("fused n=%d ffn=%d", c.n, c.ffn), download(t, ob2, c.n*c.ffn), want, siluMulLimit)
	}
}

func TestSiLUMulRejectsShortBuffers(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewSiLUMul(dev)
	if err != nil {
		t.Fatal(err)
	}
	b := bind(t, poisoned(t, dev, 100))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if k.Record(s, b, b, b, 2, 64) == nil || k.RecordFused(s, b, b, 1, 64) == nil || k.Record(s, b, b, b, 0, 4) == nil ||
		k.Record(s, b, b, b, 2, 33) == nil {
		t.Fatal("short buffers, an empty shape or ffn 33 accepted")
	}
	if s.Len() != 0 {
		t.Fatalf("rejected records left %d commands", s.Len())
	}
}

// BenchmarkSiLUMul: Emu3 shape, 817 tokens of ffn 14336 from a fused [gate | up] buffer.
func BenchmarkSiLUMul(b *testing.B) {
	dev := benchDevice(b)
	k, err := NewSiLUMul(dev)
	if err != nil {
		b.Fatal(err)
	}
	const n, ffn = 817, 14336
	r := seed(b)
	gu, out := upload(b, dev, randFloats(r, 2*n*ffn, 1)), poisoned(b, dev, n*ffn)
	benchRun(b, dev, 3*4*n*ffn, 0, func(s *vk.Sequence) { mustRecord(b, k.RecordFused(s, bind(b, gu), bind(b, out), n, ffn)) })
}
