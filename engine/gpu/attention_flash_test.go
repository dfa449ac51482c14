package gpu

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// attnF16Limit bounds the fp16 flash variants against a reference fed the same fp16-rounded q, k
// and v: what remains is P rounded to fp16 (unit roundoff 2^-11 ≈ 4.9e-4 per weight, the running
// sum adding the rounded weights so that the normalisation matches), an output error of at most
// 4.9e-4·max|v| (|v| ≤ ~4.5 over these draws) against outputs of order 1, plus the fp32 terms of
// attnLimit: 3e-3 leaves a margin over the worst case, while a wrong mask, tile or stride
// gives errors of order 1.
const attnF16Limit = 3e-3

// withKernels runs f with the test device's kernel override set to spec.
func withKernels(dev *vk.Device, spec string, f func()) {
	saved := dev.Kernels
	defer func() { dev.Kernels = saved }()
	dev.Kernels = spec
	f()
}

// roundF16 is x rounded to fp16, as the MMA builds store Q, K and V.
func roundF16(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = quant.F16ToF32(quant.F32ToF16(v))
	}
	return out
}

// flashCases are awkward sizes for the flash tiles (16 or 32 queries, 8 or 16 keys on lavapipe):
// query and key counts off the tile, GQA, queries after a KV-cache prefix, strided rows, head
// dims off the fp16 fragment (40) and the largest that fits lavapipe's 32 KiB (128), the CALVIN
// masks at their real extent, and a query that sees nothing.
func flashCases(t *testing.T) []attnCase {
	r := seed(t)
	paper, release := calvinMasks()
	lonely := randMask(r, 70)
	lonely.Pad[0], lonely.Bidir[0] = true, false
	all := &seq.Mask{Block: make([]int32, 600), Bidir: make([]bool, 600), Pad: make([]bool, 600)}
	for i := range all.Bidir {
		all.Bidir[i] = true
	}
	return []attnCase{
		{name: "mha hd=40", heads: 3, kv: 3, hd: 40, nq: 45, nk: 83, q0: 38, mask: randMask(r, 83)},
		{name: "mha hd=40 without reach", heads: 3, kv: 3, hd: 40, nq: 45, nk: 83, q0: 38, mask: randMask(r, 83), noReach: true},
		{name: "gqa x4 hd=128 after a cached prefix", heads: 8, kv: 2, hd: 128, nq: 21, nk: 50, q0: 29, mask: randMask(r, 50)},
		{name: "gqa x2 hd=40 queries before the last keys", heads: 4, kv: 2, hd: 40, nq: 20, nk: 61, q0: 10, mask: randMask(r, 61)},
		{name: "strided key rows", heads: 4, kv: 2, hd: 40, nq: 19, nk: 45, q0: 26, mask: randMask(r, 45), kStride: 87},
		{name: "no visible key", heads: 2, kv: 1, hd: 40, nq: 70, nk: 70, q0: 0, mask: lonely},
		{name: "causal", heads: 2, kv: 1, hd: 40, nq: 77, nk: 77, q0: 0, mask: seq.CausalMask(77)},
		{name: "calvin paper 817x1587", heads: 2, kv: 1, hd: 40, nq: 817, nk: 1587, q0: 770, mask: paper},
		{name: "calvin release 817x1587", heads: 2, kv: 1, hd: 40, nq: 817, nk: 1587, q0: 770, mask: release, noReach: true},
		{name: "600 keys, large logits", heads: 2, kv: 1, hd: 40, nq: 5, nk: 600, q0: 595, mask: all, qScale: 20, kScale: 20},
	}
}

// TestFlashAttention runs the SIMT flash kernel and the emulated-MMA build of flash-nv against the
// reference, selected through the kernel override as a user selects them.
func TestFlashAttention(t *testing.T) {
	dev := vktest.Device(t)
	if want := os.Getenv("UDVLA_FLASH_CHILD"); want != "" && want != strconv.Itoa(dev.Info.SubgroupSize) {
		t.Fatalf("the child run has subgroups of %d, want %s", dev.Info.SubgroupSize, want)
	}
	t.Logf("subgroups of %d", dev.Info.SubgroupSize)
	r := seed(t)
	for _, variant := range []string{AttentionFlash, AttentionFlashEmu} {
		withKernels(dev, "attention="+variant, func() {
			for _, c := range flashCases(t) {
				c.name = variant + " " + c.name
				c.flash, c.f16 = true, variant == AttentionFlashEmu
				c.limit = attnLimit
				if c.f16 {
					c.limit = attnF16Limit
				}
				if c.qScale == 0 {
					c.qScale, c.kScale = 1, 1
				} else {
					c.limit = attnLargeLogitLimit
				}
				runAttention(t, dev, r, c)
			}
		})
	}
}

// TestFlashAttentionSubgroupSizes runs the flash tests again at lavapipe's other subgroup size:
// the emulated fragments are dealt out by subgroup and multiplied by its lanes.
func TestFlashAttentionSubgroupSizes(t *testing.T) {
	if os.Getenv("UDVLA_FLASH_CHILD") != "" {
		t.Skip("already the child run")
	}
	dev := vktest.Device(t)
	if dev.Info.Type != vk.TypeCPU || testing.Short() {
		t.Skip("the subgroup size is set through lavapipe's vector width")
	}
	width, size := "128", "4"
	if dev.Info.SubgroupSize == 4 {
		width, size = "256", "8"
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFlashAttention$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "LP_NATIVE_VECTOR_WIDTH="+width, "UDVLA_FLASH_CHILD="+size)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("LP_NATIVE_VECTOR_WIDTH=%s: %v\n%s", width, err, out)
	}
	t.Logf("LP_NATIVE_VECTOR_WIDTH=%s:\n%s", width, out)
}

// TestFlashAttentionSkipsHiddenTiles: keys [32, 96) are PAD, whole key tiles at every tile size,
// and their K and V rows hold NaN. A kernel that loads a tile no query can see multiplies NaN by a
// zero weight and writes NaN; the flash kernels must skip those tiles, with and without the reach
// buffer (which does not bound PAD runs in the middle of the keys).
func TestFlashAttentionSkipsHiddenTiles(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	m := randMask(r, 140)
	for i := 32; i < 96; i++ {
		m.Pad[i] = true
	}
	for _, variant := range []string{AttentionFlash, AttentionFlashEmu} {
		withKernels(dev, "attention="+variant, func() {
			for _, noReach := range []bool{false, true} {
				c := attnCase{name: variant + " PAD keys hold NaN", heads: 2, kv: 1, hd: 40, nq: 51, nk: 140, q0: 89, mask: m,
					qScale: 1, kScale: 1, limit: attnLimit, flash: true, f16: variant == AttentionFlashEmu, noReach: noReach,
					nanKeys: [2]int{32, 96}}
				if c.f16 {
					c.limit = attnF16Limit
				}
				runAttention(t, dev, r, c)
			}
		})
	}
}

// The flash tiles must fit the device's shared memory as the shader declares it, take the most
// queries that fit, and give way to the per-query kernels where nothing fits.
func TestFlashTiles(t *testing.T) {
	for _, c := range []struct {
		info    vk.DeviceInfo
		variant string
		hd      int
		want    flashTiles
		ok      bool
	}{
		{vk.DeviceInfo{Type: vk.TypeCPU, MaxSharedMemory: 32 << 10}, AttentionFlashEmu, 128, flashTiles{32, 16, 16}, true},
		{vk.DeviceInfo{Type: vk.TypeCPU, MaxSharedMemory: 32 << 10}, AttentionFlash, 128, flashTiles{32, 16, 8}, true},
		{vk.DeviceInfo{Type: vk.TypeCPU, MaxSharedMemory: 32 << 10}, AttentionFlash, 256, flashTiles{}, false},
		{vk.DeviceInfo{Type: vk.TypeDiscrete, MaxSharedMemory: 48 << 10}, AttentionFlashNV, 128, flashTiles{128, 32, 32}, true},
		{vk.DeviceInfo{Type: vk.TypeDiscrete, MaxSharedMemory: 48 << 10}, AttentionFlashNV, 256, flashTiles{128, 16, 16}, true},
		{vk.DeviceInfo{Type: vk.TypeDiscrete, MaxSharedMemory: 64 << 10}, AttentionFlash, 128, flashTiles{128, 32, 16}, true},
		{vk.DeviceInfo{Type: vk.TypeDiscrete, MaxSharedMemory: 48 << 10}, AttentionFlash, 256, flashTiles{128, 8, 8}, true},
	} {
		got, ok := chooseFlashTiles(c.info, c.variant, c.hd)
		if got != c.want || ok != c.ok {
			t.Errorf("%v %s hd=%d: %+v %v, want %+v %v", c.info.Type, c.variant, c.hd, got, ok, c.want, c.ok)
		}
		if ok && flashShared(c.variant, c.hd, got) > c.info.MaxSharedMemory {
			t.Errorf("%s hd=%d: %d bytes of shared memory", c.variant, c.hd, flashShared(c.variant, c.hd, got))
		}
	}
}

// Where no flash tile fits the device's shared memory (here shrunk to 4 KiB), NewAttention falls
// back to the per-query kernels, with the same results.
func TestFlashAttentionFallsBackWhereNoTileFits(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	saved := dev.Info.MaxSharedMemory
	t.Cleanup(func() { dev.Info.MaxSharedMemory = saved })
	dev.Info.MaxSharedMemory = 4 << 10
	withKernels(dev, "attention="+AttentionFlash, func() {
		k, err := NewAttention(dev, AttentionShape{Heads: 2, KVHeads: 1, HeadDim: 40})
		if err != nil {
			t.Fatal(err)
		}
		if k.flash != nil || k.fast == nil {
			t.Fatalf("4 KiB of shared memory: flash %v, subgroup %v", k.flash != nil, k.fast != nil)
		}
		runAttention(t, dev, r, attnCase{name: "flash in 4 KiB (fallback)", heads: 2, kv: 1, hd: 40, nq: 9, nk: 30, q0: 21,
			mask: randMask(r, 30), qScale: 1, kScale: 1, limit: attnLimit})
	})
}

// BenchmarkFlashAttention times the flash variants against the table's kernel in one run, on
// the masks and shape of BenchmarkAttention (Emu3-8B's head layout with 8 of its 32 heads; GFLOP/s
// of the visible pairs). The device's kernel table is overridden per variant, as UDVLA_KERNELS
// does; variants the device cannot run (flash-nv without cooperative matrices) are skipped.
func BenchmarkFlashAttention(b *testing.B) {
	dev := benchDevice(b)
	heads, kv, hd := 8, 2, 128
	for _, variant := range []string{AttentionSubgroup, AttentionFlash, AttentionFlashEmu, AttentionFlashNV} {
		if _, err := OverrideKernels(ChooseKernels(dev.Info), dev.Info, "attention="+variant); err != nil {
			continue
		}
		for _, mc := range benchMasks() {
			b.Run(fmt.Sprintf("%s/%s/heads=%d", variant, mc.name, heads), func(b *testing.B) {
				withKernels(dev, "attention="+variant, func() { benchAttention(b, dev, heads, kv, hd, mc.m, mc.reach) })
			})
		}
	}
}
