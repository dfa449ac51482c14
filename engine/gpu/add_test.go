package gpu

import (
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

func TestAdd(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewAdd(dev)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, uint64(t.Name()[0])))
	for _, n := range []int{1, 7, 33, 817, 4096 + 96, 65535*64 + 77} {
		x := randFloats(r, n, 1)
		d := randFloats(r, n, 0.5)
		want, err := ref.Add(x, d)
		if err != nil {
			t.Fatal(err)
		}
		xb, db := upload(t, dev, x), upload(t, dev, d)
		run(t, dev, func(s *vk.Sequence) { k.Record(s, bind(t, xb), bind(t, db), n) })
		got := download(t, xb, n)
		// Addition of two float32s is exactly rounded on every device: demand equality.
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("n=%d: x[%d] = %g, want %g", n, i, got[i], want[i])
			}
		}
	}
}
