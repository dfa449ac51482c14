package gpu

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// VQConv is a 2-D convolution of the vision tokenizer as a GEMM on the project's matmul kernel:
// shaders/vq_im2col.comp lays the input's patches out as rows [OH*OW][C*K*K+1] (the last column
// 1, for the bias), and Matmul multiplies them by the kernel stored as [out, C*K*K+1] (the
// model file's [out, in*k*k] with the bias appended as a column), giving the output HWC
// [OH*OW][out] (ref.Conv2D on a CHW map).
type VQConv struct {
	im2col *vk.Pipeline
	mm     *Matmul
	local  int
	limit  int64 // the largest binding: the patches of a large frame go in bands
}

// NewVQConv creates the im2col pipeline; mm must have f32 pipelines.
func NewVQConv(dev *vk.Device, mm *Matmul) (*VQConv, error) {
	const local = 256
	p, err := dev.Pipeline("vq_im2col", shaders.MustSPIRV("vq_im2col"), []uint32{local}, 2, pushSize[vqIm2colPush](), 0)
	if err != nil {
		return nil, err
	}
	return &VQConv{im2col: p, mm: mm, local: local, limit: int64(dev.Info.MaxStorageBufferRange)}, nil
}

// ConvWeight is a convolution kernel on the device: [out, in*k*k+1] f32, bias last.
type ConvWeight struct {
	M          *Matrix
	Out, In, K int
}

// UploadConvWeight uploads a kernel w [out, in, k, k] (the model file's [out, in*k*k]) and its
// bias [out].
func UploadConvWeight(dev *vk.Device, w, bias []float32, out, in, k int) (*ConvWeight, error) {
	if out <= 0 || in <= 0 || k <= 0 || len(w) != out*in*k*k || len(bias) != out {
		return nil, fmt.Errorf("vq conv: %d weights and %d biases for %d -> %d channels of %dx%d", len(w), len(bias), in, out, k, k)
	}
	cols := in*k*k + 1
	raw := make([]byte, 4*out*cols)
	for o := 0; o < out; o++ {
		for j := 0; j < cols-1; j++ {
			binary.LittleEndian.PutUint32(raw[4*(o*cols+j):], math.Float32bits(w[o*(cols-1)+j]))
		}
		binary.LittleEndian.PutUint32(raw[4*(o*cols+cols-1):], math.Float32bits(bias[o]))
	}
	m, err := UploadMatrix(dev, quant.F32, out, cols, raw)
	if err != nil {
		return nil, err
	}
	return &ConvWeight{M: m, Out: out, In: in, K: k}, nil
}

// Close frees the kernel's buffers.
func (w *ConvWeight) Close() {
	if w != nil {
		w.M.Close()
	}
}

// ConvShape is one convolution's geometry: an HWC input of H x W pixels, the stride, and the
// zero padding above, below, left and right (the release's downsample pads below and right only).
type ConvShape struct {
	H, W, Stride             int
	Top, Bottom, Left, Right int
	// Up2 reads the input upsampled by nearest x2 (the decoder's Upsample before its conv): the
	// padding and the output then refer to the 2H x 2W map.
	Up2 bool
}

// up is the input's scale: 1, or 2 with Up2.
func (c ConvShape) up() int {
	if c.Up2 {
		return 2
	}
	return 1
}

// Out is the output size.
func (c ConvShape) Out(k int) (oh, ow int) {
	u := c.up()
	return (u*c.H+c.Top+c.Bottom-k)/c.Stride + 1, (u*c.W+c.Left+c.Right-k)/c.Stride + 1
}

// bandUnit is the granularity of a band in output pixels: with it every band's output starts at a
// multiple of 256 bytes, the strictest storage-offset alignment Vulkan allows.
const bandUnit = 64

// band is the number of output pixels whose patches fill at most one binding.
func (k *VQConv) band(w *ConvWeight, oh, ow int) int {
	n := int(k.limit / (4 * int64(w.M.Cols)) / bandUnit * bandUnit)
	return min(n, oh*ow)
}

// ColFloats is the size of the im2col scratch buffer a convolution needs, in floats: the patches
// of the whole output, or of one band of it when they exceed a binding.
func (k *VQConv) ColFloats(w *ConvWeight, c ConvShape) int {
	oh, ow := c.Out(w.K)
	return max(k.band(w, oh, ow), 1) * w.M.Cols
}

// VQConvArgs are the buffers of one convolution: the input x HWC [H][W][In], the scratch col
// (VQConv.ColFloats floats) and the output y HWC [OH][OW][Out]; with Accumulate the product is added to
// y (a residual connection).
type VQConvArgs struct {
	X, Col, Y  vk.Binding
	Accumulate bool
}

// Record appends the convolution to s: the im2col dispatch, then the matmul.
func (k *VQConv) Record(s *vk.Sequence, w *ConvWeight, c ConvShape, a VQConvArgs) error {
	const op = "vq conv"
	if w == nil || w.M == nil {
		return fmt.Errorf("%s: no weight", op)
	}
	switch {
	case c.H <= 0 || c.W <= 0 || c.Stride <= 0 || c.Top < 0 || c.Bottom < 0 || c.Left < 0 || c.Right < 0:
		return fmt.Errorf("%s: bad geometry %+v", op, c)
	case c.Top >= w.K || c.Left >= w.K || c.up()*c.H+c.Top+c.Bottom < w.K || c.up()*c.W+c.Left+c.Right < w.K:
		return fmt.Errorf("%s: a %dx%d kernel does not fit %+v", op, w.K, w.K, c)
	}
	oh, ow := c.Out(w.K)
	if int64(oh)*int64(ow)*int64(w.M.Cols) > math.MaxUint32 {
		return fmt.Errorf("%s: %dx%d outputs of %d columns are too many", op, ow, oh, w.M.Cols)
	}
	if err := needBytes(op, "x", a.X, 4*int64(c.H)*int64(c.W)*int64(w.In)); err != nil {
		return err
	}
	band := k.band(w, oh, ow)
	if band <= 0 {
		return fmt.Errorf("%s: %d patch columns do not fit a binding of %d bytes in bands of %d pixels", op, w.M.Cols, k.limit, bandUnit)
	}
	if err := needBytes(op, "col", a.Col, 4*int64(band)*int64(w.M.Cols)); err != nil {
		return err
	}
	if err := needBytes(op, "y", a.Y, 4*int64(oh)*int64(ow)*int64(w.Out)); err != nil {
		return err
	}
	for p0 := 0; p0 < oh*ow; p0 += band {
		count := min(band, oh*ow-p0)
		p := vqIm2colPush{H: uint32(c.H), W: uint32(c.W), C: uint32(w.In), OH: uint32(oh), OW: uint32(ow),
			K: uint32(w.K), Stride: uint32(c.Stride), PadTop: uint32(c.Top), PadLeft: uint32(c.Left),
			P0: uint32(p0), Count: uint32(count), Up: uint32(c.up())}
		// A copy: each patch value read once and written once.
		work := vk.Work{Label: "vq_im2col", Bytes: 2 * 4 * float64(count) * float64(w.M.Cols)}
		gx, gy := grid(count*w.In, k.local)
		s.Dispatch(k.im2col, work, gx, gy, 1, structBytes(&p), vk.R(a.X), vk.W(a.Col))
		y := vk.Binding{Buf: a.Y.Buf, Off: a.Y.Off + 4*int64(p0)*int64(w.Out), Size: 4 * int64(count) * int64(w.Out)}
		if err := k.mm.Record(s, w.M, MatmulArgs{X: a.Col, Y: y, N: count, Accumulate: a.Accumulate}); err != nil {
			return err
		}
	}
	return nil
}
