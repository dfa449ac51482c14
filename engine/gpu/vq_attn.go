package gpu

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// VQOps are the small kernels of the vision tokenizer besides convolution and GroupNorm: the
// attention's row softmax and transpose, and the per-channel affine map (BatchNorm in evaluation)
// with an optional SiLU.
type VQOps struct {
	softmax, transpose, affine, affineSiLU *vk.Pipeline
	modulate, modulateSiLU                 *vk.Pipeline
}

const vqLocal = 256

// NewVQOps creates the pipelines on dev.
func NewVQOps(dev *vk.Device) (*VQOps, error) {
	k := &VQOps{}
	var err error
	// On a CPU device a row is reduced by one subgroup, with no barrier (as RMSNorm).
	local, one, req := vqLocal, uint32(0), 0
	if dev.Info.Type == vk.TypeCPU && dev.Info.SubgroupSize > 0 {
		local, one, req = dev.Info.SubgroupSize, 1, dev.Info.SubgroupSize
	}
	if k.softmax, err = dev.Pipeline("vq_softmax", shaders.MustSPIRV("vq_softmax"), []uint32{uint32(local), one}, 1, pushSize[vqSoftmaxPush](), req); err != nil {
		return nil, err
	}
	if k.transpose, err = dev.Pipeline("vq_transpose", shaders.MustSPIRV("vq_transpose"), []uint32{vqLocal}, 2, pushSize[vqTransposePush](), 0); err != nil {
		return nil, err
	}
	affine := shaders.MustSPIRV("vq_affine")
	if k.affine, err = dev.Pipeline("vq_affine", affine, []uint32{vqLocal, 0}, 4, pushSize[vqAffinePush](), 0); err != nil {
		return nil, err
	}
	if k.affineSiLU, err = dev.Pipeline("vq_affine", affine, []uint32{vqLocal, 1}, 4, pushSize[vqAffinePush](), 0); err != nil {
		return nil, err
	}
	modulate := shaders.MustSPIRV("vq_modulate")
	if k.modulate, err = dev.Pipeline("vq_modulate", modulate, []uint32{vqLocal, 0}, 4, pushSize[vqModulatePush](), 0); err != nil {
		return nil, err
	}
	if k.modulateSiLU, err = dev.Pipeline("vq_modulate", modulate, []uint32{vqLocal, 1}, 4, pushSize[vqModulatePush](), 0); err != nil {
		return nil, err
	}
	return k, nil
}

// Softmax replaces each of the rows of s [rows][n] by softmax(scale * row), in place.
func (k *VQOps) Softmax(sq *vk.Sequence, s vk.Binding, rows, n int, scale float32) error {
	const op = "vq softmax"
	if rows <= 0 || n <= 0 || int64(rows)*int64(n) > math.MaxUint32 || !(scale > 0) {
		return fmt.Errorf("%s: bad shape [%d][%d], scale %g", op, rows, n, scale)
	}
	if err := needBytes(op, "s", s, 4*int64(rows)*int64(n)); err != nil {
		return err
	}
	p := vqSoftmaxPush{Rows: uint32(rows), N: uint32(n), Scale: scale}
	elems := float64(rows) * float64(n)
	work := vk.Work{Label: "vq_softmax", FLOPs: 5 * elems, Bytes: 4 * 4 * elems}
	gx, gy := grid(rows, 1)
	sq.Dispatch(k.softmax, work, gx, gy, 1, structBytes(&p), vk.W(s))
	return nil
}

// Transpose writes x [n][c] into y [c][ld] with zeros in columns n..ld-1 (ld >= n).
func (k *VQOps) Transpose(sq *vk.Sequence, x, y vk.Binding, n, c, ld int) error {
	const op = "vq transpose"
	if n <= 0 || c <= 0 || ld < n || int64(c)*int64(ld) > math.MaxUint32 {
		return fmt.Errorf("%s: bad shape [%d][%d] into rows of %d", op, n, c, ld)
	}
	if err := needBytes(op, "x", x, 4*int64(n)*int64(c)); err != nil {
		return err
	}
	if err := needBytes(op, "y", y, 4*int64(c)*int64(ld)); err != nil {
		return err
	}
	p := vqTransposePush{N: uint32(n), C: uint32(c), Ld: uint32(ld)}
	work := vk.Work{Label: "vq_transpose", Bytes: 4 * (float64(n)*float64(c) + float64(c)*float64(ld))}
	gx, gy := grid(c*ld, vqLocal)
	sq.Dispatch(k.transpose, work, gx, gy, 1, structBytes(&p), vk.R(x), vk.W(y))
	return nil
}

// Affine computes y = x * mul[ch] + add[ch] over x [n][c], then SiLU when silu; y may be x.
func (k *VQOps) Affine(sq *vk.Sequence, x, mul, add, y vk.Binding, n, c int, silu bool) error {
	const op = "vq affine"
	if n <= 0 || c <= 0 || int64(n)*int64(c) > math.MaxUint32 {
		return fmt.Errorf("%s: bad shape [%d][%d]", op, n, c)
	}
	for _, b := range []struct {
		what string
		b    vk.Binding
		n    int64
	}{{"x", x, int64(n) * int64(c)}, {"y", y, int64(n) * int64(c)}, {"mul", mul, int64(c)}, {"add", add, int64(c)}} {
		if err := needBytes(op, b.what, b.b, 4*b.n); err != nil {
			return err
		}
	}
	p := k.affine
	if silu {
		p = k.affineSiLU
	}
	push := vqAffinePush{N: uint32(n), C: uint32(c)}
	elems := float64(n) * float64(c)
	work := vk.Work{Label: "vq_affine", FLOPs: 2 * elems, Bytes: 4 * 2 * elems}
	if silu {
		work.FLOPs += 4 * elems
	}
	gx, gy := grid(n*c, vqLocal)
	sq.Dispatch(p, work, gx, gy, 1, structBytes(&push), vk.R(x), vk.R(mul), vk.R(add), vk.W(y))
	return nil
}

// Modulate is SpatialNorm's modulation: out = n * y[src] + b[src] over n [h*w][c], y and b
// [hz*wz][c] read at the nearest source pixel (hz and wz divide h and w in the model), then SiLU
// when silu.
func (k *VQOps) Modulate(sq *vk.Sequence, n, y, b, out vk.Binding, h, w, c, hz, wz int, silu bool) error {
	const op = "vq modulate"
	if h <= 0 || w <= 0 || c <= 0 || hz <= 0 || wz <= 0 || hz > h || wz > w || int64(h)*int64(w)*int64(c) > math.MaxUint32 ||
		int64(h)*int64(hz) > math.MaxUint32 || int64(w)*int64(wz) > math.MaxUint32 {
		return fmt.Errorf("%s: bad shape %dx%dx%d from %dx%d", op, h, w, c, hz, wz)
	}
	for _, x := range []struct {
		what string
		b    vk.Binding
		n    int64
	}{{"n", n, int64(h) * int64(w) * int64(c)}, {"out", out, int64(h) * int64(w) * int64(c)},
		{"y", y, int64(hz) * int64(wz) * int64(c)}, {"b", b, int64(hz) * int64(wz) * int64(c)}} {
		if err := needBytes(op, x.what, x.b, 4*x.n); err != nil {
			return err
		}
	}
	p := k.modulate
	if silu {
		p = k.modulateSiLU
	}
	push := vqModulatePush{H: uint32(h), W: uint32(w), C: uint32(c), Hz: uint32(hz), Wz: uint32(wz)}
	elems := float64(h) * float64(w) * float64(c)
	work := vk.Work{Label: "vq_modulate", FLOPs: 2 * elems, Bytes: 4 * 4 * elems}
	if silu {
		work.FLOPs += 4 * elems
	}
	gx, gy := grid(h*w*c, vqLocal)
	sq.Dispatch(p, work, gx, gy, 1, structBytes(&push), vk.R(n), vk.R(y), vk.R(b), vk.W(out))
	return nil
}

// NewActivationMatrix makes an f32 buffer that the matmul reads as a weight [rows, cols], rows
// of cols rounded up to 32 floats (ActivationStride) whose padding must stay zero: the
// attention's keys and transposed values. The matrix owns the buffer; Buffer gives it to the
// kernels that fill it.
func NewActivationMatrix(dev *vk.Device, rows, cols int) (*Matrix, error) {
	ld := ActivationStride(cols)
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("activation matrix: [%d, %d]", rows, cols)
	}
	m := &Matrix{DType: quant.F32, Rows: rows, Cols: cols, stride: ld, qBytes: 4 * int64(rows) * int64(ld)}
	var err error
	// Zeros at first (the padding columns stay so), with the tests' guard band like any matrix.
	if m.quants, m.qGuard, err = newMatrixBuffer(dev, make([]byte, m.qBytes), 4*int64(ld), quantsGuard(quant.F32)); err != nil {
		return nil, err
	}
	if err := m.split(4*int64(ld), 0); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// ActivationStride is the row length in floats of an activation matrix of cols columns.
func ActivationStride(cols int) int { return (cols + 31) / 32 * 32 }

// Buffer is the matrix's storage: rows of stride floats.
func (m *Matrix) Buffer() *vk.Buffer { return m.quants }
