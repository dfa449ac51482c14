package gpu

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
)

// mmWeight is a random [rows, cols] weight: its file bytes and the values they decode to, which
// the reference multiplies (so quantization error never enters the comparison).
type mmWeight struct {
	dt         quant.DType
	rows, cols int
	raw        []byte
	values     []float32
}

func randWeight(t testing.TB, r *rand.Rand, dt quant.DType, rows, cols int) mmWeight {
	t.Helper()
	x := randFloats(r, rows*cols, 0.5)
	raw, err := quant.Quantize(dt, rows, cols, x)
	if err != nil {
		t.Fatal(err)
	}
	v, err := quant.Dequantize(dt, rows, cols, raw)
	if err != nil {
		t.Fatal(err)
	}
	return mmWeight{dt: dt, rows: rows, cols: cols, raw: raw, values: v}
}

// uploadWeight puts w on dev and closes it when t ends.
func uploadWeight(t testing.TB, dev *vk.Device, w mmWeight) *Matrix {
	t.Helper()
	m, err := UploadMatrix(dev, w.dt, w.rows, w.cols, w.raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// newTestMatmul makes a Matmul with cfg's tiles for every dtype, closed when t ends.
func newTestMatmul(t testing.TB, dev *vk.Device, cfg matmulConfig) *Matmul {
	t.Helper()
	mm, err := newMatmul(dev, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mm.Close)
	return mm
}

// gpuMatmulConfig is the K-split layout of the subgroup variant (K split across the subgroup for one and few tokens,
// several subgroups per workgroup), specialized for the device at hand so that those paths are
// tested here too. The tiles are smaller than a GPU's: on a CPU device every unrolled load of
// the K-split loop expands into per-lane code and compiling a GPU-sized tile takes minutes, while
// 2 rows by 3 columns already exercise every index path (several rows per subgroup, columns not a
// power of two, partial column groups).
func gpuMatmulConfig(dev *vk.Device) matmulConfig {
	info := dev.Info
	info.Type = vk.TypeDiscrete
	cfg := matmulConfigOf(info, MatmulSubgroup)
	sg := cfg.SG
	for i := range cfg.Paths {
		cfg.Paths[i] = matmulPaths{
			One:  matmulTile{Local: 2 * sg, R: 2, C: 1, KSplit: sg},
			Few:  matmulTile{Local: 2 * sg, R: 1, C: 3, KSplit: sg},
			Many: matmulTile{Local: 2 * sg, R: 2, C: 3, KSplit: cfg.Paths[i].Many.KSplit},
		}
	}
	return cfg
}

// randRows is a sorted random subset of n distinct ids below rows.
func randRows(r *rand.Rand, rows, n int) []int32 {
	perm := r.Perm(rows)[:n]
	ids := make([]int32, n)
	for i, v := range perm {
		ids[i] = int32(v)
	}
	slices.Sort(ids)
	return ids
}

// roundHalf is x rounded to fp16 (to nearest, ties to even).
func roundHalf(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = quant.F16ToF32(quant.F32ToF16(v))
	}
	return out
}
