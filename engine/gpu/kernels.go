package gpu

import (
	"fmt"
	"sort"
	"strings"

	"github.com/udvla/udvla/engine/vk"
)

// Kernels names the variant of each op family that a device runs. ChooseKernels is the one table
// from device facts to variants; Options.Kernels (UDVLA_KERNELS) overrides it per family, for tests
// and benchmarks.
type Kernels struct {
	Matmul    string
	Attention string
}

// Matmul variants.
const (
	// MatmulRegTile is shaders/matmul.comp with invocations owning rows and keeping an R×C register
	// tile, x shared by subgroup broadcasts and no shared memory: CPU devices, whose lanes are SIMD
	// lanes (subgroups of 8 or more).
	MatmulRegTile = "regtile"
	// MatmulSubgroup is shaders/matmul.comp with K split across the subgroup for one and few tokens
	// (coalesced weight reads, subgroupAdd) and a register tile for many.
	MatmulSubgroup = "subgroup"
	// MatmulTiled is MatmulSubgroup with the many-token path in shaders/matmul_tiled.comp:
	// workgroup tiles of W and x staged through shared memory, fp32 FMAs from there (SIMT).
	MatmulTiled = "tiled"
	// MatmulTiledNV is MatmulTiled multiplying fp16 fragments with GL_NV_cooperative_matrix.
	MatmulTiledNV = "tiled-nv"
	// MatmulTiledEmu is MatmulTiledNV's tile logic with the fragment multiply in plain
	// arithmetic: it runs anywhere, for tests and benchmarks.
	MatmulTiledEmu = "tiled-emu"
	// MatmulInt8NV multiplies q8_0 weights by x quantized per block as q8_1 with int8
	// cooperative matrices and int32 sums (other dtypes as MatmulTiledNV). It changes the
	// numerics, so the table never picks it.
	MatmulInt8NV = "int8-nv"
	// MatmulInt8Emu is MatmulInt8NV with the fragment multiply in plain arithmetic.
	MatmulInt8Emu = "int8-emu"
)

// Attention variants.
const (
	// AttentionSubgroup is shaders/attention.comp: a query per lane, K/V rows broadcast across the
	// subgroup; head dims that are multiples of 4 (others fall back to the scalar kernel).
	AttentionSubgroup = "subgroup"
	// AttentionScalar is shaders/attention_scalar.comp: any head dim, no subgroup operations.
	AttentionScalar = "scalar"
	// AttentionFlash is shaders/attention_flash.comp: a tile of queries per workgroup, K/V tiles
	// staged in shared memory, tiles the mask hides skipped, fp32 products per invocation.
	AttentionFlash = "flash"
	// AttentionFlashNV is the same source with Q·Kᵀ and P·V on NV cooperative matrices (fp16
	// operands, fp32 accumulation): devices that report a 16×16×16 fp16 shape.
	AttentionFlashNV = "flash-nv"
	// AttentionFlashEmu is the NV build with the cooperative multiply in plain arithmetic: it
	// tests the tile logic of flash-nv on any device (tests and benchmarks only).
	AttentionFlashEmu = "flash-emu"
)

// flashNV: the 16×16×16 fp16 fragments of shaders/attention_flash_nv.comp.
func flashNV(d vk.DeviceInfo) bool { return coopMatHas(d, "f16", "f32", 16) }

// kernelRow is one row of the table: a variant and the device facts it needs.
type kernelRow struct {
	variant string
	runs    func(vk.DeviceInfo) bool // whether the device can run the variant at all
	prefer  func(vk.DeviceInfo) bool // whether the table picks it (the first preferred row wins)
}

func always(vk.DeviceInfo) bool { return true }
func never(vk.DeviceInfo) bool  { return false }

// gpu: shared-memory tiles pay where invocations are GPU threads; on a CPU device (lavapipe) each
// barrier switches coroutines and the register tile without shared memory is faster.
func gpu(d vk.DeviceInfo) bool { return d.Type != vk.TypeCPU }

// kernelTable lists each family's variants, preferred first. A variant a device can run but the
// table does not prefer is still reachable through the override.
var kernelTable = map[string][]kernelRow{
	"matmul": {
		{MatmulRegTile, func(d vk.DeviceInfo) bool { return d.SubgroupSize%8 == 0 },
			func(d vk.DeviceInfo) bool { return d.Type == vk.TypeCPU }},
		{MatmulTiledNV, runsTiledNV, gpu},
		{MatmulTiled, runsTiled, gpu},
		{MatmulSubgroup, always, always},
		{MatmulTiledEmu, runsEmu, never},
		{MatmulInt8NV, runsInt8NV, never},
		{MatmulInt8Emu, runsInt8Emu, never},
	},
	// flash-nv first where tensor cores exist: its products run at the fp16 matrix rate, several
	// times the fp32 rate that bounds the SIMT kernels. Then flash on GPUs: the subgroup kernel
	// keeps a query and an output row padded to 4 dims per lane (2×128 floats per invocation at a
	// subgroup of 32, 2×256 at 64) plus a partial per lane, beyond the 255 registers of an
	// invocation, so it spills in its key loop; the flash kernel keeps its rows in shared memory
	// and a few registers per invocation (docs/PERFORMANCE.md, flash attention). CPU devices keep
	// the subgroup kernel, which is 15-20x faster there than the flash kernel.
	"attention": {
		{AttentionFlashNV, flashNV, func(d vk.DeviceInfo) bool { return flashNV(d) && gpu(d) }},
		{AttentionFlash, always, gpu},
		{AttentionSubgroup, always, always},
		{AttentionScalar, always, always},
		{AttentionFlashEmu, always, never},
	},
}

// field returns the family's slot in k.
func (k *Kernels) field(family string) *string {
	switch family {
	case "matmul":
		return &k.Matmul
	case "attention":
		return &k.Attention
	}
	return nil
}

// ChooseKernels is the table's choice for a device.
func ChooseKernels(info vk.DeviceInfo) Kernels {
	var k Kernels
	for family, rows := range kernelTable {
		for _, r := range rows {
			if r.runs(info) && r.prefer(info) {
				*k.field(family) = r.variant
				break
			}
		}
	}
	return k
}

// KernelsFor is the table's choice for dev with dev.Kernels applied over it.
func KernelsFor(dev *vk.Device) (Kernels, error) {
	return OverrideKernels(ChooseKernels(dev.Info), dev.Info, dev.Kernels)
}

// OverrideKernels applies an override "family=variant,..." (e.g. "matmul=subgroup") to k. An
// unknown family or variant, or one the device cannot run, is an error naming the choices.
func OverrideKernels(k Kernels, info vk.DeviceInfo, spec string) (Kernels, error) {
	items, err := parseKernels(spec)
	if err != nil {
		return k, err
	}
	for _, it := range items {
		if !it.row.runs(info) {
			return k, fmt.Errorf("kernels %q: %s cannot run on %s (subgroup %d)", it.item, it.row.variant, info.Name, info.SubgroupSize)
		}
		*k.field(it.family) = it.row.variant
	}
	return k, nil
}

// CheckKernels checks an override's syntax and names without a device (whether the device can
// run the variants is OverrideKernels' check).
func CheckKernels(spec string) error {
	_, err := parseKernels(spec)
	return err
}

type kernelItem struct {
	item, family string
	row          kernelRow
}

// parseKernels reads "family=variant,..." into rows of the table.
func parseKernels(spec string) ([]kernelItem, error) {
	var out []kernelItem
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		family, variant, ok := strings.Cut(item, "=")
		rows, known := kernelTable[family]
		if !ok || !known {
			return nil, fmt.Errorf("kernels %q: want family=variant with a family of %s", item, strings.Join(KernelFamilies(), ", "))
		}
		var names []string
		found := false
		for _, r := range rows {
			names = append(names, r.variant)
			if r.variant == variant {
				out, found = append(out, kernelItem{item, family, r}), true
			}
		}
		if !found {
			return nil, fmt.Errorf("kernels %q: %s has the variants %s", item, family, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// KernelFamilies lists the op families of the table.
func KernelFamilies() []string {
	var f []string
	for family := range kernelTable {
		f = append(f, family)
	}
	sort.Strings(f)
	return f
}

// String is the override syntax of k: "attention=subgroup,matmul=regtile".
func (k Kernels) String() string {
	var parts []string
	for _, f := range KernelFamilies() {
		parts = append(parts, f+"="+*k.field(f))
	}
	return strings.Join(parts, ",")
}
