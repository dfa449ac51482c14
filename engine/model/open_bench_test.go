package model_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

// writeSparseModel writes a model file of an 8B-parameter shape (Emu3's backbone, q4_0 matrices)
// whose data section is a hole: a multi-gigabyte file made in milliseconds, for timing Open. Its
// tensors read as zeros, so its checksums are wrong (Verify refuses it) but Open accepts it.
func writeSparseModel(b *testing.B) string {
	b.Helper()
	a := model.Arch{Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, FFN: 14336, Vocab: 184622, RopeTheta: 1e6, RMSEps: 1e-5}
	cfg := &model.Config{Arch: a}
	var dir []model.TensorInfo
	for _, name := range a.TensorNames() {
		shape, _ := a.TensorShape(name)
		dt := quant.Q4_0
		if len(shape) == 1 {
			dt = quant.F32
		}
		n, err := model.TensorBytes(dt, shape)
		if err != nil {
			b.Fatal(err)
		}
		dir = append(dir, model.TensorInfo{Name: name, DType: dt, Shape: shape, Length: n})
	}
	dataOff := model.AlignUp(int64(len(build.EncodeHeader(cfg, dir, 0, 0))) + 4)
	pos := dataOff
	for i := range dir {
		dir[i].Offset = pos
		pos = model.AlignUp(pos + dir[i].Length)
	}
	end := dir[len(dir)-1].Offset + dir[len(dir)-1].Length
	prefix, err := build.FilePrefix(build.EncodeHeader(cfg, dir, uint64(dataOff), uint64(end-dataOff)), dataOff)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "sparse.udvla")
	if err := os.WriteFile(path, prefix, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Truncate(path, end); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkOpenSparse8B times Open (header, directory and the zero-padding check) on a 4.8 GB
// file of 291 tensors; the padding sub-benchmark times the padding check alone.
//
//	go test -run '^$' -bench OpenSparse8B -benchtime 20x ./engine/model
func BenchmarkOpenSparse8B(b *testing.B) {
	path := writeSparseModel(b)
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
