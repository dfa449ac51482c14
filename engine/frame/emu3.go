package frame

import (
	"fmt"
	"math"
)

// Processor is Emu3's image processor (Emu3VisionVQImageProcessor) with the settings that matter
// for a frame: the spatial factor and the pixel-count bounds of smart resize. Rescaling by 1/255
// and normalising with mean 0.5 and std 0.5 are fixed, as the release never changes them.
type Processor struct {
	Factor    int // sides become multiples of this (the VQ model's spatial downsampling, 8)
	MinPixels int // smaller frames are scaled up
	MaxPixels int // larger frames are scaled down
}

// Release is the processor as UD-VLA uses it: the vision tokenizer checkpoint's
// preprocessor_config.json (resample 3 = BICUBIC, rescale_factor 1/255, mean and std 0.5,
// spatial_factor 8, min_pixels 512*512, max_pixels 1024*1024) with min_pixels lowered to 80*80
// after loading (512*512 would blow a 200x200 frame up to 512x512).
var Release = Processor{Factor: 8, MinPixels: 80 * 80, MaxPixels: 1024 * 1024}

// SmartResize is Emu3's smart_resize: the size the processor resizes a height x width frame to.
// Both sides are rounded to multiples of factor (Python round: halves to even); if that area
// leaves [MinPixels, MaxPixels] the frame is scaled, keeping its aspect ratio, and the sides are
// floored (too large) or ceiled (too small) to multiples of factor. Like the Python, it refuses a
// side shorter than factor and an aspect ratio above 5.
func (p Processor) SmartResize(height, width int) (int, int, error) {
	if p.Factor <= 0 || p.MinPixels < 0 || p.MaxPixels <= 0 {
		return 0, 0, fmt.Errorf("processor: factor %d, min_pixels %d, max_pixels %d must be positive",
			p.Factor, p.MinPixels, p.MaxPixels)
	}
	if err := checkSize(width, height); err != nil {
		return 0, 0, err
	}
	if height < p.Factor || width < p.Factor {
		return 0, 0, fmt.Errorf("%w: height %d or width %d is smaller than the factor %d",
			ErrInvalid, height, width, p.Factor)
	}
	h, w := float64(height), float64(width)
	if ratio := math.Max(h, w) / math.Min(h, w); ratio > 5 {
		return 0, 0, fmt.Errorf("%w: aspect ratio %g of %dx%d exceeds 5", ErrInvalid, ratio, width, height)
	}
	f := float64(p.Factor)
	hBar := int(math.RoundToEven(h/f)) * p.Factor
	wBar := int(math.RoundToEven(w/f)) * p.Factor
	switch {
	case hBar*wBar > p.MaxPixels:
		beta := math.Sqrt(float64(height*width) / float64(p.MaxPixels))
		hBar = int(math.Floor(h/beta/f)) * p.Factor
		wBar = int(math.Floor(w/beta/f)) * p.Factor
	case hBar*wBar < p.MinPixels:
		beta := math.Sqrt(float64(p.MinPixels) / float64(height*width))
		hBar = int(math.Ceil(float64(h*beta)/f)) * p.Factor
		wBar = int(math.Ceil(float64(w*beta)/f)) * p.Factor
	}
	if err := checkSize(wBar, hBar); err != nil {
		return 0, 0, fmt.Errorf("smart resize of %dx%d: %w", width, height, err)
	}
	return hBar, wBar, nil
}

// Preprocess runs the processor on f: smart resize (with Pillow's bicubic resize, as the
// processor calls PIL through transformers' resize, which copies at an unchanged size), then
// float32(x * (1/255)) computed in double, then (x - 0.5) / 0.5 in float32, laid out CHW.
// It returns the pixels and the processed height and width.
func (p Processor) Preprocess(f *Frame) ([]float32, int, int, error) {
	if err := f.Validate(); err != nil {
		return nil, 0, 0, err
	}
	h, w, err := p.SmartResize(f.Height, f.Width)
	if err != nil {
		return nil, 0, 0, err
	}
	r, err := Resize(f, w, h)
	if err != nil {
		return nil, 0, 0, err
	}
	return normalisedCHW(r), h, w, nil
}

// Normalise is the processor's rescale and normalise of a valid frame at its own size (no smart
// resize): CHW float32. The engine uses it on frames resized to a camera's pixel grid, which the
// smart resize of a real camera (200x200, 80x80) leaves alone and that of a small test model's
// grid would change.
func Normalise(f *Frame) ([]float32, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return normalisedCHW(f.Packed()), nil
}

// normalisedCHW normalises a packed frame into CHW planes.
func normalisedCHW(r *Frame) []float32 {
	plane := r.Width * r.Height
	out := make([]float32, 3*plane)
	for i := 0; i < plane; i++ {
		for c := 0; c < 3; c++ {
			out[c*plane+i] = normalise(r.Pix[3*i+c])
		}
	}
	return out
}

// normalise is transformers' rescale (float64 product, then float32) followed by its normalize
// (float32 arithmetic with mean and std 0.5).
func normalise(v byte) float32 {
	x := float32(float64(v) * (1.0 / 255.0))
	const half float32 = 0.5
	return (x - half) / half
}

// Prepare is the whole release preprocessing of one camera frame: Pillow's resize to the
// camera's width x height (the token grid ×8), then Release.Preprocess.
func Prepare(f *Frame, width, height int) ([]float32, error) {
	r, err := Resize(f, width, height)
	if err != nil {
		return nil, err
	}
	px, h, w, err := Release.Preprocess(r)
	if err != nil {
		return nil, err
	}
	if h != height || w != width {
		return nil, fmt.Errorf("%w: camera size %dx%d is not kept by the image processor (it makes %dx%d)",
			ErrInvalid, width, height, w, h)
	}
	return px, nil
}
