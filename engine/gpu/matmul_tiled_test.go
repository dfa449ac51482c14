package gpu

import (
	"fmt"
	"testing"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// tiledTestConfig is the device's matmul configuration with the many-token path on a small tile
// of build b: 16×8 SIMT tiles of 2×2 per invocation, or 32×16 fragment tiles over two subgroups.
// Every index path of the GPU tiles is there (several invocations per row and column, several
// subgroups, fragments at offsets in both dimensions) while the pipelines stay cheap to compile on
// a CPU device.
func tiledTestConfig(dev *vk.Device, b tiledBuild) matmulConfig {
	cfg := matmulConfigFor(dev.Info)
	for dt := range cfg.Paths {
		t := matmulTile{Tiled: b, Local: 32, R: 16, C: 8, TM: 2, TN: 2}
		if b.mma() {
			bb := b
			if b.int8() && quant.DType(dt) != quant.Q8_0 {
				bb = tiledEmu
			}
			t = matmulTile{Tiled: bb, Local: 2 * cfg.SG, R: 32, C: 16}
		}
		cfg.Paths[dt].Many = t
	}
	return cfg
}

// TestMatmulTiled runs the SIMT and emulated-fragment tiles on every dtype at sizes that fill no
// tile: M of 101 and 45 rows, K of 33 blocks, 3 blocks and (f32, f16) 77 elements, N of 1, 7, 33
// and 70 tokens, all through the many-token tile. The fragment tiles round W and x to fp16, as the
// cooperative-matrix build does, and are held to the fp16 operands' exact product.
func TestMatmulTiled(t *testing.T) {
	dev := vktest.Device(t)
	for _, b := range []tiledBuild{tiledSIMT, tiledEmu} {
		t.Run(b.shader(), func(t *testing.T) {
			mm := newTestMatmul(t, dev, tiledTestConfig(dev, b))
			r := seed(t)
			for _, dt := range quant.DTypes {
				shapes := []struct{ rows, cols int }{{101, 1056}, {45, 96}}
				if !dt.Quantized() {
					shapes = append(shapes, struct{ rows, cols int }{29, 77})
				}
				for _, sh := range shapes {
					w := randWeight(t, r, dt, sh.rows, sh.cols)
					m := uploadWeight(t, dev, w)
					for _, n := range []int{1, 7, 33, 70} {
						checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, manyTile: true, half: b.mma()})
					}
				}
			}
		})
	}
}

// TestMatmulTiledRowsAndPieces: row subsets, accumulation into a slice of a wider y, and weights
// split into pieces of 4 KiB bindings, through the tiles.
func TestMatmulTiledRowsAndPieces(t *testing.T) {
	dev := vktest.Device(t)
	for _, b := range []tiledBuild{tiledSIMT, tiledEmu} {
		mm := newTestMatmul(t, dev, tiledTestConfig(dev, b))
		r := seed(t)
		for _, dt := range []quant.DType{quant.F16, quant.Q8_0, quant.Q4_0} {
			w := randWeight(t, r, dt, 517, 96)
			restore := dev.SetMaxBindingForTest(4096)
			m := uploadWeight(t, dev, w)
			restore()
			if m.Pieces() < 3 {
				t.Fatalf("%v: %d pieces, want several", dt, m.Pieces())
			}
			for _, n := range []int{9, 33} {
				h := b.mma()
				checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, half: h})
				ids := randRows(r, w.rows, 150)
				checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, subset: ids, half: h})
				checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, subset: ids, accumulate: true, ldy: len(ids) + 45, off: 13, half: h})
				checkMatmul(t, dev, mm, w, m, r, mmRun{n: n, accumulate: true, ldy: 601, off: 57, half: h})
			}
		}
	}
}

// TestMatmulTiledBadTile: tiles the shader cannot run are errors when the kernel is made.
func TestMatmulTiledBadTile(t *testing.T) {
	dev := vktest.Device(t)
	sg := matmulConfigFor(dev.Info).SG
	for _, c := range []struct {
		t  matmulTile
		dt quant.DType
	}{
		{matmulTile{Tiled: tiledSIMT, Local: 31, R: 16, C: 8, TM: 2, TN: 2}, quant.F16},
		{matmulTile{Tiled: tiledSIMT, Local: 32, R: 16, C: 8, TM: 3, TN: 2}, quant.F16},
		{matmulTile{Tiled: tiledEmu, Local: 2 * sg, R: 24, C: 16}, quant.F16},
		{matmulTile{Tiled: tiledEmu, Local: 4 * sg, R: 32, C: 16}, quant.F16},
		{matmulTile{Tiled: int8Emu, Local: 2 * sg, R: 32, C: 16}, quant.Q4_0},
		{matmulTile{Tiled: tiledSIMT, Local: 256, R: 1024, C: 1024, TM: 64, TN: 64}, quant.F16},
	} {
		cfg := matmulConfigFor(dev.Info)
		cfg.Paths[c.dt].Many = c.t
		if mm, err := newMatmul(dev, cfg, []quant.DType{c.dt}); err == nil {
			mm.Close()
			t.Errorf("%+v: no error", c.t)
		} else {
			t.Logf("%s: %v", fmt.Sprint(c.t), err)
		}
	}
}

// TestMatmulTiledVariants makes each tiled variant through the override, with the tiles it has
// in production, and runs a many-token product on it; the NV variants are refused where the
// device reports no cooperative-matrix shapes for them.
func TestMatmulTiledVariants(t *testing.T) {
	dev := vktest.Device(t)
	saved := dev.Kernels
	t.Cleanup(func() { dev.Kernels = saved })
	r := seed(t)
	wf := randWeight(t, r, quant.F16, 130, 96)
	wq := randWeight(t, r, quant.Q8_0, 130, 96)
	mf, mq := uploadWeight(t, dev, wf), uploadWeight(t, dev, wq)
	for _, v := range []string{MatmulTiled, MatmulTiledEmu, MatmulInt8Emu, MatmulTiledNV, MatmulInt8NV} {
		dev.Kernels = "matmul=" + v
		mm, err := NewMatmul(dev, quant.F16, quant.Q8_0)
		if nv := v == MatmulTiledNV || v == MatmulInt8NV; nv {
			has := runsTiledNV(dev.Info) && (v == MatmulTiledNV || runsInt8NV(dev.Info))
			if (err == nil) != has {
				t.Fatalf("%s on a device with shapes %v: %v", v, dev.Info.CoopMat, err)
			}
			if err != nil {
				t.Logf("%s: %v", v, err)
				continue
			}
		} else if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		t.Cleanup(mm.Close)
		if mm.pipes[quant.F16].paths.Many.Tiled != tiledVariants[v] && v != MatmulInt8Emu && v != MatmulInt8NV {
			t.Fatalf("%s: many-token path %+v", v, mm.pipes[quant.F16].paths.Many)
		}
		mma := tiledVariants[v].mma()
		checkMatmul(t, dev, mm, wf, mf, r, mmRun{n: 70, half: mma})
		if tiledVariants[v].int8() {
			wqq, wqd := q80Parts(wq)
			checkInt8(t, dev, mm, wq, mq, wqq, wqd, r, 70)
		} else {
			checkMatmul(t, dev, mm, wq, mq, r, mmRun{n: 70, half: mma})
		}
	}
}
