package model_test

import (
	"runtime"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
	"github.com/udvla/udvla/engine/quant"
)

// Opening a model maps it: an 8 GB file (sparse here) costs the Go heap only its header.
func TestOpenDoesNotReadTensors(t *testing.T) {
	if testing.Short() {
		t.Skip("creates an 8 GB sparse file")
	}
	a := model.Arch{Layers: 1, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, FFN: 14336, Vocab: 1 << 18, RopeTheta: 1e6, RMSEps: 1e-5}
	path := modeltest.SparseFile(t, a, quant.F32)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, b, err := f.Tensor(model.LMHead)
	if err != nil {
		t.Fatal(err)
	}
	sum := b[0] + b[len(b)/2] + b[len(b)-1] // touch three pages
	runtime.ReadMemStats(&after)
	if f.Size < 8<<30 || int64(len(b)) != 4<<30 || sum != 0 {
		t.Fatalf("file %d bytes, lm_head %d bytes", f.Size, len(b))
	}
	if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 1<<20 {
		t.Fatalf("opening an %d-byte model allocated %d bytes on the Go heap", f.Size, grew)
	}
	t.Logf("opened %.1f GB, %d bytes allocated", float64(f.Size)/(1<<30), after.TotalAlloc-before.TotalAlloc)
}
