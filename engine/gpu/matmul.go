package gpu

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// Matmul is y = W·x with fp32 accumulation for weights in f32, f16, q8_0 and q4_0
// (shaders/matmul.comp): a single-token path, a few-token path that reads each weight once for up
// to 8 tokens, and a many-token register-tiled path, with tiles chosen per device. The tiled
// variants take their many-token path from a build of shaders/matmul_tiled.comp instead
// (matmul_tiled.go), and the int8 ones quantize x first (matmul_int8.go).
type Matmul struct {
	cfg   matmulConfig
	pipes [numDTypes]*matmulPipes
	dummy *vk.Buffer // bound where a dispatch has no scales or no row subset
	blank vk.Binding
	q81   *q81Scratch // x quantized as q8_1 for the int8 tile, when a dtype takes it
}

type matmulPipes struct {
	one, few, many *vk.Pipeline
	paths          matmulPaths
	label          string // "matmul q8_0": the profile's name of the kernel
	manyLabel      string // the many-token path's: "matmul_tiled q8_0" for a tiled build
}

// matmulPush is matmul.comp's push_constant block.
type matmulPush struct {
	First, Count uint32 // output rows [First, First+Count) are this dispatch's
	Lo, Hi       uint32 // rows [Lo, Hi) of W are in this piece's bindings
	QRow, SRow   uint32 // row Lo is row QRow of the quant binding, row SRow of the scale binding
	K, NB        uint32 // row length, and blocks of 32 per stored row
	N, LDX       uint32 // columns, and the x row stride in floats
	LDY, YOff    uint32 // y[n][o] is y[n*LDY + YOff + o]
	Flags        uint32 // matmulSubset | matmulAccumulate
	Total        uint32 // rows of W
}

const (
	matmulSubset     = 1
	matmulAccumulate = 2
)

// MatmulArgs are the operands of one product: x is [N][K] float32 (K = W.Cols, rows K floats
// apart), and y[n][i] = Σ_k W[row(i)][k]·x[n][k] lands at float index n*LDY + Offset + i, for i
// below W.Rows, or below NRows with a row subset.
type MatmulArgs struct {
	X, Y vk.Binding
	N    int
	// LDY is the y row stride in floats (0: the output width, W.Rows or NRows); Offset is the
	// column of y where the output starts. Together they let the result land in a slice of a
	// wider buffer.
	LDY, Offset int
	// Accumulate adds the product to y instead of overwriting it (the residual add after the
	// attention output and down projections).
	Accumulate bool
	// Rows, when NRows > 0, holds NRows int32 row ids of W (sorted ascending for speed; any order
	// is correct): row(i) = Rows[i]. This is the lm_head restricted to a decoding space. An id
	// outside [0, W.Rows) yields NaN.
	Rows  vk.Binding
	NRows int
	// ManyTile takes the many-token tile whatever N: each column's sums then run in the order of
	// a longer product's, so a few rows computed alone (a cached prefix) equal bit for bit the
	// same rows computed among many. The one- and few-token paths may split K differently.
	ManyTile bool
}

// NewMatmul creates the pipelines for the given weight dtypes (all of them when none is given)
// with the tile shapes chosen for dev.
func NewMatmul(dev *vk.Device, dts ...quant.DType) (*Matmul, error) {
	k, err := KernelsFor(dev)
	if err != nil {
		return nil, err
	}
	return newMatmul(dev, matmulConfigOf(dev.Info, k.Matmul), dts)
}

func newMatmul(dev *vk.Device, cfg matmulConfig, dts []quant.DType) (*Matmul, error) {
	if len(dts) == 0 {
		dts = quant.DTypes
	}
	m := &Matmul{cfg: cfg}
	var err error
	if m.dummy, err = dev.NewBuffer(16, vk.DeviceLocal, 0); err != nil {
		return nil, err
	}
	if m.blank, err = m.dummy.All(); err != nil {
		m.Close()
		return nil, err
	}
	spirv := shaders.MustSPIRV("matmul")
	for _, dt := range dts {
		if !dt.Valid() {
			m.Close()
			return nil, fmt.Errorf("matmul: unknown dtype %v", dt)
		}
		paths := cfg.Paths[dt]
		mp := &matmulPipes{paths: paths, label: "matmul " + dt.String()}
		mp.manyLabel = mp.label
		if paths.Many.Tiled != tiledNone {
			mp.manyLabel = paths.Many.Tiled.shader() + " " + dt.String()
		}
		for _, x := range []struct {
			p **vk.Pipeline
			t matmulTile
		}{{&mp.one, paths.One}, {&mp.few, paths.Few}, {&mp.many, paths.Many}} {
			if *x.p, err = m.pipeline(dev, spirv, dt, x.t); err != nil {
				m.Close()
				return nil, err
			}
		}
		if paths.Many.Tiled.int8() && m.q81 == nil {
			if m.q81, err = newQ81Scratch(dev); err != nil {
				m.Close()
				return nil, err
			}
		}
		m.pipes[dt] = mp
	}
	return m, nil
}

// pipeline creates the pipeline of one tile: a specialization of shaders/matmul.comp (spirv) or
// of a build of shaders/matmul_tiled.comp.
func (m *Matmul) pipeline(dev *vk.Device, spirv []byte, dt quant.DType, t matmulTile) (*vk.Pipeline, error) {
	sg := m.cfg.SG
	if t.Tiled != tiledNone {
		if err := checkTiled(t, dt, sg, dev.Info.MaxSharedMemory); err != nil {
			return nil, err
		}
		name := t.Tiled.shader()
		return dev.Pipeline(name, shaders.MustSPIRV(name), tiledSpec(t, dt, sg), 5, pushSize[matmulPush](), tiledSubgroup(t, sg))
	}
	if t.Local%sg != 0 || (t.KSplit != 1 && t.KSplit != sg) || (t.KSplit == 1 && sg%8 != 0) {
		return nil, fmt.Errorf("matmul: tile %+v does not fit subgroup size %d", t, sg)
	}
	spec := []uint32{uint32(t.Local), uint32(sg), uint32(dt), uint32(t.R), uint32(t.C), uint32(t.KSplit)}
	return dev.Pipeline("matmul", spirv, spec, 5, pushSize[matmulPush](), sg)
}

// Close frees the kernel's own buffers (pipelines belong to the device).
func (m *Matmul) Close() {
	if m != nil {
		m.dummy.Close()
		m.dummy = nil
		m.q81.Close()
		m.q81 = nil
	}
}

// Record appends y = W·x (or y += W·x) to s: one dispatch per piece of W (per group of 65535
// workgroups for the largest ones).
func (m *Matmul) Record(s *vk.Sequence, w *Matrix, a MatmulArgs) error {
	if w == nil || w.pieces == nil {
		return fmt.Errorf("matmul: no weight (nil or closed)")
	}
	if !w.DType.Valid() || m.pipes[w.DType] == nil {
		return fmt.Errorf("matmul: no pipelines for %v weights (pass it to NewMatmul)", w.DType)
	}
	out := w.Rows
	subset := a.NRows > 0
	if subset {
		out = a.NRows
	}
	ldy := a.LDY
	if ldy == 0 {
		ldy = out
	}
	switch {
	case a.N <= 0:
		return fmt.Errorf("matmul: %d columns", a.N)
	case a.NRows < 0:
		return fmt.Errorf("matmul: %d subset rows", a.NRows)
	case a.Offset < 0 || a.Offset+out > ldy:
		return fmt.Errorf("matmul: output [%d,+%d) does not fit a y row of %d", a.Offset, out, ldy)
	case int64(a.N)*int64(max(ldy, w.Cols)) > math.MaxUint32:
		return fmt.Errorf("matmul: %d columns of %d floats overflow 32-bit indexing", a.N, max(ldy, w.Cols))
	}
	if err := needRows("matmul", "x", a.X, a.N, w.Cols, w.Cols); err != nil {
		return err
	}
	if err := needBytes("matmul", "y", a.Y, 4*(int64(a.N-1)*int64(ldy)+int64(a.Offset+out))); err != nil {
		return err
	}
	rowsB := m.blank
	if subset {
		if err := needBytes("matmul", "rows", a.Rows, 4*int64(a.NRows)); err != nil {
			return err
		}
		rowsB = a.Rows
	}
	mp := m.pipes[w.DType]
	p, t, label := mp.many, mp.paths.Many, mp.manyLabel
	switch {
	case a.ManyTile:
	case a.N == 1:
		p, t, label = mp.one, mp.paths.One, mp.label
	case a.N <= mp.paths.Few.C:
		p, t, label = mp.few, mp.paths.Few, mp.label
	}
	gy := (a.N + t.C - 1) / t.C
	if gy > maxGroupsY {
		return fmt.Errorf("matmul: %d columns exceed %d workgroups of %d", a.N, maxGroupsY, t.C)
	}
	per := t.rowsPerGroup(m.cfg.SG)
	const maxGroupsX = 65535
	flags := uint32(0)
	if subset {
		flags |= matmulSubset
	}
	if a.Accumulate {
		flags |= matmulAccumulate
	}
	yAcc := vk.W(a.Y)
	x, ldx := a.X, uint32(w.Cols)
	if t.Tiled.int8() {
		var err error
		if x, ldx, err = m.q81.record(s, a.X, a.N, w.Cols, w.stride/32); err != nil {
			return err
		}
	}
	for _, pc := range w.pieces {
		scales := pc.scales
		if w.scales == nil {
			scales = m.blank
		}
		first, end := pc.lo, pc.hi
		if subset {
			first, end = 0, a.NRows
		}
		for first < end {
			count := min(end-first, maxGroupsX*per)
			push := matmulPush{First: uint32(first), Count: uint32(count), Lo: uint32(pc.lo), Hi: uint32(pc.hi),
				QRow: uint32(pc.qrow), SRow: uint32(pc.srow), K: uint32(w.Cols), NB: uint32(w.stride / 32),
				N: uint32(a.N), LDX: ldx, LDY: uint32(ldy), YOff: uint32(a.Offset), Flags: flags, Total: uint32(w.Rows)}
			work := matmulWork(label, w, count, a, subset && pc.lo != 0)
			if t.Tiled != tiledNone && work.FLOPs > 0 {
				work.FLOPs, work.Bytes = tiledWork(t.Tiled, w.DType, count, a.N, w.Cols, a.Accumulate)
			}
			s.Dispatch(p, work, uint32((count+per-1)/per), uint32(gy), 1, structBytes(&push),
				vk.R(pc.quants), vk.R(scales), vk.R(x), yAcc, vk.R(rowsB))
			first += count
		}
	}
	return nil
}

// matmulWork is the work of a dispatch computing count output rows: 2·K FLOPs per row and column;
// x read once, y written (and read when accumulating), and the count rows of W read. A row subset
// over a weight of several pieces is one dispatch per piece, each computing the subset's rows that
// lie in it: the subset's work is counted once, in the first piece's dispatch (later is set for
// the others).
func matmulWork(label string, w *Matrix, count int, a MatmulArgs, later bool) vk.Work {
	if later {
		return vk.Work{Label: label}
	}
	rows, n, k := float64(count), float64(a.N), float64(w.Cols)
	y := 4 * rows * n
	if a.Accumulate {
		y *= 2
	}
	q, sc := quant.RowBytes(w.DType, w.Cols)
	return vk.Work{Label: label, FLOPs: 2 * rows * n * k, Bytes: 4*n*k + y + rows*float64(q+sc)}
}
