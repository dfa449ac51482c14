package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// RMSNorm normalises rows: y = x / sqrt(mean(x^2) + eps) * w over x [n][dim], statistics in fp32
// (ref.RMSNorm). dim must be a multiple of 4 (the model's hidden size is of 32) and bindings
// 16-byte aligned: rows are moved as vec4s.
type RMSNorm struct {
	p   *vk.Pipeline
	eps float32
}

// rmsnormPush is rmsnorm.comp's push_constant block.
type rmsnormPush struct {
	N, Dim uint32
	Eps    float32
}

// NewRMSNorm creates the pipeline on dev for the model's eps. On a CPU device (lavapipe) a row is
// reduced by one subgroup alone, with no barrier or shared memory; elsewhere by 256 invocations.
func NewRMSNorm(dev *vk.Device, eps float64) (*RMSNorm, error) {
	if !(eps > 0 && eps < 1) {
		return nil, fmt.Errorf("rmsnorm: eps %g out of range", eps)
	}
	local, one, req := 256, uint32(0), 0
	if dev.Info.Type == vk.TypeCPU && dev.Info.SubgroupSize > 0 {
		local, one, req = dev.Info.SubgroupSize, 1, dev.Info.SubgroupSize
	}
	p, err := dev.Pipeline("rmsnorm", shaders.MustSPIRV("rmsnorm"), []uint32{uint32(local), one}, 3, pushSize[rmsnormPush](), req)
	if err != nil {
		return nil, err
	}
	return &RMSNorm{p: p, eps: float32(eps)}, nil
}

// Record normalises the n rows of x [n][dim] with weight w [dim] into y [n][dim]; y may be x.
func (r *RMSNorm) Record(s *vk.Sequence, x, w, y vk.Binding, n, dim int) error {
	const op = "rmsnorm"
	if n <= 0 || dim <= 0 || dim%4 != 0 || n > maxGroupsY*maxGroupsY {
		return fmt.Errorf("%s: bad shape [%d][%d] (dim a multiple of 4)", op, n, dim)
	}
	for _, b := range []vk.Binding{x, w, y} {
		if b.Off%16 != 0 {
			return fmt.Errorf("%s: binding offset %d is not 16-byte aligned", op, b.Off)
		}
	}
	for _, e := range []error{
		needRows(op, "x", x, n, dim, dim), needRows(op, "y", y, n, dim, dim), needRows(op, "weight", w, 1, dim, dim),
	} {
		if e != nil {
			return e
		}
	}
	p := rmsnormPush{N: uint32(n), Dim: uint32(dim), Eps: r.eps}
	// 4 FLOPs an element (square, sum, scale, weight); x read and y written, the weight read once.
	rows, d := float64(n), float64(dim)
	work := vk.Work{Label: "rmsnorm", FLOPs: 4 * rows * d, Bytes: 4 * (2*rows*d + d)}
	gx, gy := grid(n, 1)
	s.Dispatch(r.p, work, gx, gy, 1, structBytes(&p), vk.R(x), vk.R(w), vk.W(y))
	return nil
}
