package build

import (
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// Advancing n draws lands where n draws of Uint64 land.
func TestPCGAdvance(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []uint64{0, 1, 2, 3, 7, 64, 1000, uint64(r.IntN(100000)), uint64(r.IntN(100000))} {
		seq, jump := rand.NewPCG(r.Uint64(), r.Uint64()), rand.NewPCG(0, 0)
		*jump = *seq
		for i := uint64(0); i < n; i++ {
			seq.Uint64()
		}
		pcgAdvance(jump, n)
		for i := 0; i < 3; i++ {
			if a, b := seq.Uint64(), jump.Uint64(); a != b {
				t.Fatalf("n=%d draw %d: %#x after advancing, %#x drawn", n, i, b, a)
			}
		}
	}
}

// The parallel fill gives the values of the sequential one, chunk after chunk, at awkward sizes.
func TestFillParallelEqualsSequential(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(5))
	a := model.Arch{Layers: 1, Hidden: 96, Heads: 4, KVHeads: 2, HeadDim: 24, FFN: 160, Vocab: 1000}
	seq, par := newRandomStream(a, 9, model.TokEmbeddings), newRandomStream(a, 9, model.TokEmbeddings)
	for _, n := range []int{minParallelFill + 13, 7, 3*minParallelFill + 1} {
		want, got := make([]float32, n), make([]float32, n)
		for i := range got {
			got[i] = float32(i) // poison: every value must be written
		}
		seq.fill(want)
		par.fillParallel(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%d values: the parallel fill differs", n)
		}
	}
}

// BenchmarkWriteRandom writes a one-layer model of 8B-like proportions (hidden 1024, FFN 3584,
// q8_0); -cpu 1,N compares one core with N. It reports the values drawn per second.
func BenchmarkWriteRandom(b *testing.B) {
	o := RandomOptions{Arch: model.Arch{Layers: 1, Hidden: 1024, Heads: 8, KVHeads: 2, HeadDim: 128, FFN: 3584, Vocab: 4096,
		RopeTheta: 1e6, RMSEps: 1e-5}, DType: quant.Q8_0, Seed: 1}
	var values int64
	for _, name := range o.Arch.TensorNames() {
		shape, _ := o.Arch.TensorShape(name)
		n := int64(1)
		for _, d := range shape {
			n *= int64(d)
		}
		values += n
	}
	path := filepath.Join(b.TempDir(), "m.udvla")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := WriteRandom(path, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(values)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvalues/s")
}
