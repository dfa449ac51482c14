package vision

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/vk"
)

// BenchmarkEncoder times one still frame through the device encoder, weights resident: the
// shipped tiny tokenizer, and the real configuration (ch 256, ch_mult 1,2,2,4, codebook 32768,
// random weights) at the release's wrist (80x80) and main (200x200) sizes. The real cases need
// about 1 GB and take seconds per frame on lavapipe: they run when UDVLA_BENCH_REAL=1.
//
//	UDVLA_BENCH_REAL=1 go test -run - -bench Encoder -benchtime 1x ./engine/vision
func BenchmarkEncoder(b *testing.B) {
	opts := vk.Options{}.WithEnv()
	dev, err := vk.Open(opts)
	if err != nil {
		b.Skip(err)
	}
	defer dev.Close()
	cases := []struct {
		name string
		cfg  *model.VQConfig
		side int
	}{{"tiny-80x80", model.TinyVQConfig(), 80}}
	if os.Getenv("UDVLA_BENCH_REAL") == "1" {
		cases = append(cases, struct {
			name string
			cfg  *model.VQConfig
			side int
		}{"real-80x80", model.EmuVQConfig(), 80}, struct {
			name string
			cfg  *model.VQConfig
			side int
		}{"real-200x200", model.EmuVQConfig(), 200})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			get := func(name string) ([]float32, error) { return build.RandomVQTensor(c.cfg, 1, name) }
			t0 := time.Now()
			e, err := NewEncoder(dev, c.cfg, get)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			b.Logf("weights drawn and uploaded in %v", time.Since(t0))
			px := randImage(rand.New(rand.NewPCG(1, 2)), 3*c.side*c.side)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				codes, err := e.Encode(px, c.side, c.side)
				if err != nil {
					b.Fatal(err)
				}
				if want := c.side / c.cfg.SpatialFactor(); len(codes) != want*want {
					b.Fatal(fmt.Sprintf("%d codes", len(codes)))
				}
			}
			b.StopTimer()
			// Device time and FLOPs per layer type, from one more frame recorded with timestamps.
			profileEncoder(b, e, px, c.side, c.side)
		})
	}
}

// BenchmarkDecoder times frame 0 of a grid of codes through the device decoder, weights resident:
// the shipped tiny tokenizer at the wrist camera's grid (80x80 pixels from 40x40 codes).
//
//	go test -run - -bench Decoder -benchtime 2x ./engine/vision
func BenchmarkDecoder(b *testing.B) {
	dev, err := vk.Open(vk.Options{}.WithEnv())
	if err != nil {
		b.Skip(err)
	}
	defer dev.Close()
	cfg := model.TinyVQConfig()
	get := func(name string) ([]float32, error) { return build.RandomVQTensor(cfg, 1, name) }
	d, err := NewDecoder(dev, cfg, get)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	const g = 40
	codes := make([]int32, g*g)
	r := rand.New(rand.NewPCG(1, 3))
	for i := range codes {
		codes[i] = int32(r.IntN(cfg.CodebookSize))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Decode(codes, g, g); err != nil {
			b.Fatal(err)
		}
	}
}
