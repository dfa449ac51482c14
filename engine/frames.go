package engine

import (
	"errors"
	"fmt"

	"github.com/udvla/udvla/engine/frame"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// frameCodec is the model's vision tokenizer as a backend runs it: preprocessed frames (CHW,
// Emu3's normalisation) to codes, and codes to packed RGB8 frames.
type frameCodec interface {
	encode(px []float32, h, w int) ([]int32, error)
	decode(codes []int32, gh, gw int) ([]byte, error)
	close()
}

// codec returns the engine's vision tokenizer, opening it on the backend at its first use. A
// failed open is not kept: the engine stays as it was and the next request tries again.
func (e *Engine) codec() (frameCodec, error) {
	if e.vision != nil {
		return e.vision, nil
	}
	vq := e.cfg.VQ
	if vq == nil {
		return nil, errors.New("the model has no vision tokenizer (pack one with udvla convert --vq DIR): pass codes")
	}
	if vq.InChannels != 3 || vq.OutChannels != 3 {
		return nil, fmt.Errorf("the vision tokenizer maps %d channels to %d, not RGB", vq.InChannels, vq.OutChannels)
	}
	if e.cfg.Vocab != nil && int32(vq.CodebookSize) != e.cfg.Vocab.CodebookSize {
		return nil, fmt.Errorf("the vision tokenizer's codebook holds %d codes, the vocabulary %d", vq.CodebookSize, e.cfg.Vocab.CodebookSize)
	}
	c, err := e.openCodec()
	if err != nil {
		return nil, fmt.Errorf("opening the vision tokenizer: %w", err)
	}
	e.vision = c
	return c, nil
}

// cameraPixels is a camera's frame size: its token grid times the tokenizer's spatial factor.
func cameraPixels(cam model.Camera, vq *model.VQConfig) (w, h int) {
	f := vq.SpatialFactor()
	return cam.W * f, cam.H * f
}

// tokenizeFrames returns req with the codes of its frames: each camera's frame is resized to the
// camera's pixel grid as Pillow does (a frame already at that size passes through), normalised as
// Emu3's image processor does and encoded on the backend. req itself is not changed.
func (e *Engine) tokenizeFrames(req *Request) (*Request, error) {
	if len(req.Frames) == 0 {
		return req, nil
	}
	cams := e.cfg.Decoding.Cameras
	if len(req.Frames) > len(cams) {
		return nil, fmt.Errorf("udvla: %d frames for a model of %d cameras", len(req.Frames), len(cams))
	}
	if len(req.Codes) != 0 && len(req.Codes) != len(cams) {
		return nil, fmt.Errorf("udvla: got codes for %d cameras, the model has %d", len(req.Codes), len(cams))
	}
	codes := make([][]int32, len(cams))
	copy(codes, req.Codes)
	// Every frame is checked before any is encoded, so a bad frame costs no encoding.
	for i, f := range req.Frames {
		if f == nil {
			continue
		}
		if codes[i] != nil {
			return nil, fmt.Errorf("udvla: camera %d (%q) has both codes and a frame: pass one", i, cams[i].Name)
		}
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("udvla: camera %d (%q): %w", i, cams[i].Name, err)
		}
	}
	var c frameCodec
	for i, f := range req.Frames {
		if f == nil {
			continue
		}
		name := cams[i].Name
		if c == nil {
			var err error
			if c, err = e.codec(); err != nil {
				return nil, fmt.Errorf("udvla: camera %d (%q): %w", i, name, err)
			}
		}
		w, h := cameraPixels(cams[i], e.cfg.VQ)
		r, err := frame.Resize(f, w, h)
		if err != nil {
			return nil, fmt.Errorf("udvla: camera %d (%q): %w", i, name, err)
		}
		px, err := frame.Normalise(r)
		if err != nil {
			return nil, fmt.Errorf("udvla: camera %d (%q): %w", i, name, err)
		}
		if codes[i], err = c.encode(px, h, w); err != nil {
			return nil, fmt.Errorf("udvla: camera %d (%q): encoding the frame: %w", i, name, err)
		}
	}
	r := *req
	r.Codes = codes
	return &r, nil
}

// checkFutureFrames refuses a request for future frames that the model cannot decode, before the
// step runs.
func (e *Engine) checkFutureFrames(req *Request) error {
	if !req.DecodeFuture {
		return nil
	}
	if _, err := e.codec(); err != nil {
		return fmt.Errorf("udvla: future frames: %w", err)
	}
	return nil
}

// futureFrames decodes each camera's future codes to an RGB8 frame at the camera's pixel grid.
// A position whose token is not a visual code (-1 in FutureCodes) is decoded as code 0: the
// frame keeps its size, and FutureCodes tells where it holds such positions.
func (e *Engine) futureFrames(l *seq.Layout, codes [][]int32) ([]*frame.Frame, error) {
	c, err := e.codec()
	if err != nil {
		return nil, fmt.Errorf("udvla: future frames: %w", err)
	}
	out := make([]*frame.Frame, len(codes))
	for i, cc := range codes {
		visual := make([]int32, len(cc))
		for j, k := range cc {
			visual[j] = max(k, 0)
		}
		cam := l.Cameras[i]
		rgb, err := c.decode(visual, cam.H, cam.W)
		if err != nil {
			return nil, fmt.Errorf("udvla: camera %d (%q): decoding the future frame: %w", i, cam.Name, err)
		}
		w, h := cameraPixels(cam, e.cfg.VQ)
		out[i] = &frame.Frame{Width: w, Height: h, Stride: 3 * w, Pix: rgb}
	}
	return out, nil
}
