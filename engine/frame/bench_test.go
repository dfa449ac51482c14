package frame

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkResize: a VGA camera frame to the release's two camera sizes, and the whole
// preprocessing (resize + Emu3 processor) of the 200x200 camera.
func BenchmarkResize(b *testing.B) {
	f := randomFrame(rand.New(rand.NewPCG(9, 10)), 640, 480, 0)
	for _, side := range []int{200, 80} {
		b.Run("640x480_to_"+itoa(side)+"x"+itoa(side), func(b *testing.B) {
			b.SetBytes(int64(len(f.Pix)))
			for b.Loop() {
				if _, err := Resize(f, side, side); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("prepare_640x480_to_200x200", func(b *testing.B) {
		b.SetBytes(int64(len(f.Pix)))
		for b.Loop() {
			if _, err := Prepare(f, 200, 200); err != nil {
				b.Fatal(err)
			}
		}
	})
}
