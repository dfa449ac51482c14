package frame

import "math"

// naiveResize is Pillow's algorithm read the simplest way: float coefficients per output index,
// fixed point as normalize_coeffs_8bpc does, a full horizontal pass over every source row, then
// a vertical pass, one output sample at a time. Resize must agree at any size.
func naiveResize(f *Frame, ow, oh int) []byte {
	coef := func(in, out int) (mins []int, taps [][]int32) {
		scale := float64(in) / float64(out)
		fs := math.Max(scale, 1)
		support := 2 * fs
		for o := 0; o < out; o++ {
			center := (float64(o) + 0.5) * scale
			lo := max(int(center-support+0.5), 0)
			hi := min(int(center+support+0.5), in)
			var ws []float64
			sum := 0.0
			for x := lo; x < hi; x++ {
				w := bicubicFilter((float64(x) - center + 0.5) / fs)
				ws = append(ws, w)
				sum += w
			}
			k := make([]int32, len(ws))
			for i, w := range ws {
				k[i] = int32(math.Round(w / sum * (1 << 22))) // half away from zero, as the C does
			}
			mins = append(mins, lo)
			taps = append(taps, k)
		}
		return
	}
	clip := func(s int32) byte { return byte(min(max(s>>22, 0), 255)) }
	stride := f.RowStride()
	tmp := make([]byte, 3*ow*f.Height)
	if ow == f.Width {
		for y := 0; y < f.Height; y++ {
			copy(tmp[3*ow*y:], f.Pix[y*stride:y*stride+3*ow])
		}
	} else {
		mins, taps := coef(f.Width, ow)
		for y := 0; y < f.Height; y++ {
			for x := 0; x < ow; x++ {
				for c := 0; c < 3; c++ {
					s := int32(1 << 21)
					for i, k := range taps[x] {
						s += int32(f.Pix[y*stride+3*(mins[x]+i)+c]) * k
					}
					tmp[3*(y*ow+x)+c] = clip(s)
				}
			}
		}
	}
	if oh == f.Height {
		return tmp
	}
	out := make([]byte, 3*ow*oh)
	mins, taps := coef(f.Height, oh)
	for y := 0; y < oh; y++ {
		for i := 0; i < 3*ow; i++ {
			s := int32(1 << 21)
			for j, k := range taps[y] {
				s += int32(tmp[(mins[y]+j)*3*ow+i]) * k
			}
			out[3*ow*y+i] = clip(s)
		}
	}
	return out
}
