package gpu

import (
	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
)

// matmulTile is one specialization of shaders/matmul.comp, or with Tiled set of a build of
// shaders/matmul_tiled.comp.
type matmulTile struct {
	Local  int // workgroup size, a multiple of the subgroup size
	R      int // rows per invocation (KSplit 1) or per subgroup (KSplit = subgroup size); Tiled: rows per workgroup
	C      int // columns (tokens) per workgroup
	KSplit int // 1: invocations own rows; the subgroup size: a subgroup splits K and reduces
	// Tiled names the shared-memory tile's build (tiledSIMT, tiledEmu, ...); TM×TN is the SIMT
	// build's register tile per invocation.
	Tiled  tiledBuild
	TM, TN int
}

// matmulPaths are the tiles of one dtype: One for a single token, Few for 2..Few.C tokens (each
// weight read once), Many for more.
type matmulPaths struct {
	One, Few, Many matmulTile
}

// matmulConfig is the per-device choice of tiles.
type matmulConfig struct {
	SG    int // subgroup size the pipelines are pinned to
	Paths [numDTypes]matmulPaths
}

// rowsPerGroup is how many output rows one workgroup of t covers.
func (t matmulTile) rowsPerGroup(sg int) int {
	if t.Tiled != tiledNone {
		return t.R
	}
	if t.KSplit == 1 {
		return t.Local * t.R
	}
	return t.Local / sg * t.R
}

// matmulConfigFor chooses the tiles for a device.
//
// On a CPU device (lavapipe) an invocation is one SIMD lane, every buffer access is a scalar load
// per lane with a bounds check, and barriers switch coroutines: invocations own rows and keep an
// R×C register tile, x is shared by subgroup broadcasts, and there is no shared memory. The R and
// C values were measured on lavapipe (docs/PERFORMANCE.md, "Matmul").
//
// On a GPU the single-token and few-token paths split K across the subgroup so that weight loads
// coalesce and reduce with subgroupAdd (memory bound: each weight is read once), and the many-token
// path keeps the register tile, which reuses each weight for C tokens and each x for the rows of
// a whole subgroup.
func matmulConfigFor(info vk.DeviceInfo) matmulConfig {
	return matmulConfigOf(info, ChooseKernels(info).Matmul)
}

// matmulConfigOf is the configuration of one matmul variant on a device. The shared-memory tiled
// variants are MatmulSubgroup's one- and few-token paths with a tiled many-token path.
func matmulConfigOf(info vk.DeviceInfo, variant string) matmulConfig {
	if tiled, ok := tiledVariants[variant]; ok {
		c := matmulConfigOf(info, MatmulSubgroup)
		for dt := range c.Paths {
			c.Paths[dt].Many = tiledTileFor(tiled, quant.DType(dt), c.SG)
		}
		return c
	}
	sg := max(info.SubgroupSize, 1)
	var c matmulConfig
	c.SG = sg
	if variant == MatmulRegTile && sg%8 == 0 {
		for i := range c.Paths {
			c.Paths[i] = matmulPaths{
				One:  matmulTile{Local: sg, R: 4, C: 1, KSplit: 1},
				Few:  matmulTile{Local: sg, R: 4, C: 8, KSplit: 1},
				Many: matmulTile{Local: sg, R: 4, C: 8, KSplit: 1},
			}
		}
		return c
	}
	local := max(sg, 128/sg*sg)
	many := matmulTile{Local: max(sg, 64/sg*sg), R: 4, C: 8, KSplit: 1}
	if sg%8 != 0 {
		// The register tile hands x around in runs of 4*sg values, whole blocks of 32 only.
		many = matmulTile{Local: local, R: 2, C: 8, KSplit: sg}
	}
	for i := range c.Paths {
		c.Paths[i] = matmulPaths{
			One:  matmulTile{Local: local, R: 2, C: 1, KSplit: sg},
			Few:  matmulTile{Local: local, R: 1, C: 8, KSplit: sg},
			Many: many,
		}
	}
	return c
}

// numDTypes is the number of weight dtypes (quant.F32 .. quant.Q4_0), for per-dtype tables.
const numDTypes = int(quant.Q4_0) + 1
