package frame

import (
	"fmt"
	"math"
)

// Resize resizes f to width x height as Pillow's Image.resize((width, height)) does for an RGB
// image with its default filter (BICUBIC, a = -0.5, support widened by the downscale factor for
// antialiasing), to the same uint8 values. Pillow computes separable coefficients in double,
// normalises each set to sum 1, converts them to fixed point with 22 fractional bits, runs a
// horizontal pass over only the source rows the vertical pass will read, then a vertical pass,
// and clips with rounding. A pass whose size does not change is skipped; a frame already at the
// target size comes back as a packed copy. The result is always tightly packed.
func Resize(f *Frame, width, height int) (*Frame, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if err := checkSize(width, height); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	needH := width != f.Width
	needV := height != f.Height
	if !needH && !needV {
		return f.Packed(), nil
	}
	vert := bicubicCoeffs(f.Height, height)
	src, srcStride := f.Pix, f.RowStride()
	if needH {
		// Only the rows between the first and the last one any output row uses.
		first := vert.bounds[0]
		last := vert.bounds[2*(height-1)] + vert.bounds[2*(height-1)+1]
		tmp := make([]byte, 3*width*(last-first))
		horizontalPass(tmp, width, src[first*srcStride:], srcStride, last-first, bicubicCoeffs(f.Width, width))
		for i := 0; i < height; i++ {
			vert.bounds[2*i] -= first
		}
		src, srcStride = tmp, 3*width
	}
	out := &Frame{Width: width, Height: height, Stride: 3 * width, Pix: make([]byte, 3*width*height)}
	if needV {
		verticalPass(out.Pix, width, height, src, srcStride, vert)
	} else {
		copy(out.Pix, src[:len(out.Pix)])
	}
	return out, nil
}

// precisionBits is Pillow's PRECISION_BITS: 32 bits less 8 for the result and 2 for overshoot.
const precisionBits = 32 - 8 - 2

// coeffs holds, per output index, the first source index and the tap count (bounds), and
// ksize fixed-point taps (only the first count are used).
type coeffs struct {
	ksize  int
	bounds []int
	k      []int32
}

// bicubicFilter is Pillow's bicubic_filter with a = -0.5. The explicit float64 conversions keep
// the compiler from fusing a multiply and an add, which would change the last bit.
func bicubicFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		u := float64(float64(float64(1.5*x)-2.5) * x)
		return float64(u*x) + 1
	}
	if x < 2 {
		u := float64(float64(x-5) * x)
		u = float64(float64(u+8) * x)
		return float64(u-4) * -0.5
	}
	return 0
}

const bicubicSupport = 2.0

// bicubicCoeffs follows Pillow's precompute_coeffs (box = whole source) and
// normalize_coeffs_8bpc operation by operation, in double, as the C code does.
func bicubicCoeffs(inSize, outSize int) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := bicubicSupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	ss := 1.0 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := float64(float64(xx)+0.5) * scale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			v := bicubicFilter(float64(float64(x+xmin)-center+0.5) * ss)
			w[x] = v
			ww += v
		}
		k := c.k[xx*ksize : (xx+1)*ksize]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		c.bounds[2*xx] = xmin
		c.bounds[2*xx+1] = xmax
	}
	return c
}

// clip8 is Pillow's clip8: drop the fraction bits (arithmetic shift) and clamp to 0..255.
func clip8(ss int32) byte {
	v := ss >> precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// half is the rounding offset every accumulator starts from.
const half = int32(1) << (precisionBits - 1)

// horizontalPass resamples rows rows of src (stride srcStride) to width pixels into dst (packed).
func horizontalPass(dst []byte, width int, src []byte, srcStride, rows int, c coeffs) {
	for y := 0; y < rows; y++ {
		in := src[y*srcStride:]
		out := dst[y*3*width : (y+1)*3*width]
		for xx := 0; xx < width; xx++ {
			xmin, n := c.bounds[2*xx], c.bounds[2*xx+1]
			k := c.k[xx*c.ksize : xx*c.ksize+n]
			p := in[3*xmin : 3*(xmin+n)]
			s0, s1, s2 := half, half, half
			for x, kx := range k {
				s0 += int32(p[3*x]) * kx
				s1 += int32(p[3*x+1]) * kx
				s2 += int32(p[3*x+2]) * kx
			}
			out[3*xx], out[3*xx+1], out[3*xx+2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
}

// verticalPass resamples the columns of src (stride srcStride) to height rows into dst (packed,
// width pixels per row). Integer sums do not depend on order, so each output row accumulates
// one source row at a time, which reads memory in order.
func verticalPass(dst []byte, width, height int, src []byte, srcStride int, c coeffs) {
	row := 3 * width
	acc := make([]int32, row)
	for yy := 0; yy < height; yy++ {
		ymin, n := c.bounds[2*yy], c.bounds[2*yy+1]
		k := c.k[yy*c.ksize : yy*c.ksize+n]
		for i := range acc {
			acc[i] = half
		}
		for y, ky := range k {
			in := src[(ymin+y)*srcStride : (ymin+y)*srcStride+row]
			for i, v := range in {
				acc[i] += int32(v) * ky
			}
		}
		out := dst[yy*row : (yy+1)*row]
		for i, s := range acc {
			out[i] = clip8(s)
		}
	}
}
