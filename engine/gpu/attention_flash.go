package gpu

import (
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// flashTiles is a flash-attention launch shape: workgroup size, queries per workgroup and keys
// per tile.
type flashTiles struct {
	local, bq, bk int
}

// flashMMA reports whether a flash variant multiplies 16×16×16 fp16 fragments (the NV build and
// its emulation); the SIMT build multiplies fp32 elements.
func flashMMA(variant string) bool {
	return variant == AttentionFlashNV || variant == AttentionFlashEmu
}

// flashShared is the shared memory of shaders/include/attention_flash.glsl for a head dim and
// tile: Q, K, V and P in fp16 (MMA builds) or fp32, S and O in fp32, the row statistics and
// mask words, the skip flags.
func flashShared(variant string, hd int, t flashTiles) int {
	fr, elem := 1, 4
	if flashMMA(variant) {
		fr, elem = 16, 2
	}
	hdp := (hd + fr - 1) / fr * fr
	qks := hdp // the row stride of Q and K: odd in the SIMT build (no bank conflicts)
	if fr == 1 {
		qks++
	}
	return (t.bq+t.bk)*qks*elem + t.bk*hdp*elem + t.bq*t.bk*(4+elem) + t.bq*hdp*4 + 4*(4*t.bq+t.bk+4)
}

// chooseFlashTiles picks the largest tile whose shared memory fits the device, queries first
// (each K/V tile read from memory serves bq queries). CPU devices get small tiles: their
// workgroups run invocations in turn, and lavapipe's compile time grows with the loops' bounds.
// ok is false when no tile fits (a head dim of 256 in 32 KiB): the caller keeps the per-query
// kernels.
func chooseFlashTiles(info vk.DeviceInfo, variant string, hd int) (flashTiles, bool) {
	local, bqs, bks := 128, []int{64, 32, 16}, []int{32, 16}
	if info.Type == vk.TypeCPU {
		local, bqs, bks = 32, []int{32, 16}, []int{16}
	}
	if !flashMMA(variant) { // the SIMT build takes any tile: head dim 256 fits 48 KiB at 8×8
		bqs, bks = append(bqs, 8), append(bks, 8)
	}
	for _, bq := range bqs {
		for _, bk := range bks {
			t := flashTiles{local: local, bq: bq, bk: bk}
			if flashShared(variant, hd, t) <= info.MaxSharedMemory {
				return t, true
			}
		}
	}
	return flashTiles{}, false
}

// flashShaders names the shader (and the dispatch label) of each flash variant.
var flashShaders = map[string]string{AttentionFlash: "attention_flash", AttentionFlashEmu: "attention_flash_emu",
	AttentionFlashNV: "attention_flash_nv"}

// newFlash creates the pipeline of a flash variant for a head layout, or nil when no tile fits
// the device's shared memory.
func newFlash(dev *vk.Device, variant string, s AttentionShape) (*vk.Pipeline, flashTiles, error) {
	t, ok := chooseFlashTiles(dev.Info, variant, s.HeadDim)
	if !ok {
		return nil, t, nil
	}
	name := flashShaders[variant]
	p, err := dev.Pipeline(name, shaders.MustSPIRV(name),
		[]uint32{uint32(t.local), uint32(s.HeadDim), uint32(t.bq), uint32(t.bk)}, 6, 36, 0)
	return p, t, err
}

// flashWork is the napkin math of one flash dispatch: FLOPs of every (query, key, head) below nk
// (tiles the mask hides are skipped, so this is an upper bound), and bytes moved: Q read and O
// written once, each K/V tile read once per query tile, the mask words read per query tile.
func flashWork(s AttentionShape, t flashTiles, nq, nk int) (flops, bytes float64) {
	qTiles := float64((nq + t.bq - 1) / t.bq)
	hd, heads := float64(s.HeadDim), float64(s.Heads)
	flops = 4 * hd * heads * float64(nq) * float64(nk)
	bytes = 4*2*heads*float64(nq)*hd + qTiles*heads*(2*4*float64(nk)*hd+4*float64(nk))
	return flops, bytes
}
