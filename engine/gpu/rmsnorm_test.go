package gpu

import (
	"fmt"
	"testing"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// rmsNormLimit: each lane sums dim/LOCAL_X squares in fp32 (a random-walk error of about
// sqrt(dim/LOCAL_X)·2^-24 relative: 1.4e-6 at dim 4192 on lavapipe's 8 lanes, halved by the
// square root), then inversesqrt and two products add a few ulp (1 ulp = 6e-8). Measured:
// at most 2.7e-7 on lavapipe.
const rmsNormLimit = 2e-6

func TestRMSNorm(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewRMSNorm(dev, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	r := seed(t)
	for _, c := range []struct{ n, dim int }{{1, 4}, {7, 36}, {33, 4096 + 4}, {817, 100}, {5, 1004}} {
		for _, inPlace := range []bool{false, true} {
			x := randFloats(r, c.n*c.dim, 3)
			w := randFloats(r, c.dim, 1)
			want, err := ref.RMSNorm(x, c.n, c.dim, w, 1e-5)
			if err != nil {
				t.Fatal(err)
			}
			xb, wb := upload(t, dev, x), upload(t, dev, w)
			yb := xb
			if !inPlace {
				yb = poisoned(t, dev, c.n*c.dim)
			}
			run(t, dev, func(s *vk.Sequence) { mustRecord(t, k.Record(s, bind(t, xb), bind(t, wb), bind(t, yb), c.n, c.dim)) })
			checkErr(t, fmt.Sprintf("n=%d dim=%d in place=%v", c.n, c.dim, inPlace), download(t, yb, c.n*c.dim), want, rmsNormLimit)
		}
	}
}

func TestRMSNormRejectsBadShapes(t *testing.T) {
	dev := vktest.Device(t)
	if _, err := NewRMSNorm(dev, 0); err == nil {
		t.Fatal("eps 0 accepted")
	}
	k, err := NewRMSNorm(dev, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	x := bind(t, poisoned(t, dev, 64))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct{ n, dim int }{{0, 32}, {3, 32}, {2, -1}, {2, 30}} {
		if err := k.Record(s, x, x, x, c.n, c.dim); err == nil {
			t.Errorf("n=%d dim=%d on 64 floats accepted", c.n, c.dim)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("rejected records left %d commands", s.Len())
	}
}

// BenchmarkRMSNorm: Emu3 shape, 817 tokens of 4096 (x read twice from cache, written once).
func BenchmarkRMSNorm(b *testing.B) {
	dev := benchDevice(b)
	k, err := NewRMSNorm(dev, 1e-5)
	if err != nil {
		b.Fatal(err)
	}
	const n, dim = 817, 4096
	r := seed(b)
	xb, wb, yb := upload(b, dev, randFloats(r, n*dim, 1)), upload(b, dev, randFloats(r, dim, 1)), poisoned(b, dev, n*dim)
	benchRun(b, dev, 2*4*n*dim, 0, func(s *vk.Sequence) { mustRecord(b, k.Record(s, bind(b, xb), bind(b, wb), bind(b, yb), n, dim)) })
}
