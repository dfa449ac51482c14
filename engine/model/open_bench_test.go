package model_test

import (
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
	"github.com/udvla/udvla/engine/quant"
)

// BenchmarkOpenSparse8B times Open (header, directory and the zero-padding check) on a 4.8 GB
// file of 291 tensors; the padding sub-benchmark times the padding check alone.
//
//	go test -run '^$' -bench OpenSparse8B -benchtime 20x ./engine/model
func BenchmarkOpenSparse8B(b *testing.B) {
	a := model.Arch{Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, FFN: 14336, Vocab: 184622, RopeTheta: 1e6, RMSEps: 1e-5}
	path := modeltest.SparseFile(b, a, quant.Q4_0) // Emu3's backbone
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			f, err := model.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("padding", func(b *testing.B) {
		f, err := model.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		for b.Loop() {
			if err := model.CheckPadding(f); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(f.Size)/1e9, "GB")
		b.ReportMetric(float64(len(f.Tensors)), "tensors")
	})
}
