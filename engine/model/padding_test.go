package model_test

import (
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
	"github.com/udvla/udvla/engine/quant"
)

// Non-zero padding between a quantized tensor's quants and its scales is refused by Open itself,
// with the tensor's checksum made right, so that no backend ever sees such a file: the reference
// dequantizer would refuse it while the GPU upload would copy it unread.
func TestOpenRefusesNonZeroScalePadding(t *testing.T) {
	cfg, dir, data, _ := baseModel(t)
	r, _ := modeltest.FreshRand(t)
	tried := 0
	for i, ti := range dir {
		if !ti.DType.Quantized() {
			continue
		}
		qb, so, _ := quant.Layout(ti.DType, ti.Rows(), ti.Cols())
		if qb == so {
			continue
		}
		tried++
		poked := map[string][]byte{}
		for k, v := range data {
			poked[k] = v
		}
		b := append([]byte(nil), data[ti.Name]...)
		at := qb + r.Int64N(so-qb)
		b[at] = byte(1 + r.IntN(255))
		poked[ti.Name] = b
		d := modeltest.CloneDir(dir)
		d[i].CRC32C = crcOf(b)
		f, err := model.Parse(modeltest.EncodeModel(t, cfg, d, poked, -1))
		if err == nil {
			_, derr := f.Float32(ti.Name)
			t.Fatalf("%s: non-zero byte %d before the scales was accepted at Open (dequantize: %v)", ti.Name, at, derr)
		}
		if !strings.Contains(err.Error(), "before its scales") || !strings.Contains(err.Error(), ti.Name) {
			t.Errorf("%s: error %q does not name the tensor and the padding", ti.Name, err)
		}
	}
	if tried == 0 {
		t.Fatal("the base model has no quantized tensor with padding before its scales")
	}
}

// checkBackendReads reads every tensor of an accepted file the ways the backends do: the GPU path
// takes the raw bytes (vectors must be f32, a matrix must have exactly its layout's length) and
// the reference dequantizes. Every accepted file must pass.
func checkBackendReads(t *testing.T, f *model.File) {
	t.Helper()
	for _, ti := range f.Tensors {
		info, raw, err := f.Tensor(ti.Name)
		if err != nil {
			t.Fatalf("an accepted file has no raw tensor %s: %v", ti.Name, err)
		}
		if len(info.Shape) == 1 && info.DType != quant.F32 {
			t.Fatalf("an accepted file stores vector %s as %v", ti.Name, info.DType)
		}
		if err := quant.CheckShape(info.DType, info.Rows(), info.Cols()); err != nil {
			t.Fatalf("an accepted file's %s cannot be uploaded: %v", ti.Name, err)
		}
		if _, _, total := quant.Layout(info.DType, info.Rows(), info.Cols()); total != int64(len(raw)) {
			t.Fatalf("an accepted file's %s has %d bytes, its layout %d", ti.Name, len(raw), total)
		}
		if _, err := f.Float32(ti.Name); err != nil {
			t.Fatalf("an accepted file does not dequantize %s: %v", ti.Name, err)
		}
	}
}
