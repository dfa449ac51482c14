package main

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/frame"
	"github.com/udvla/udvla/engine/model"
)

// imageFlags collects `--image NAME=FILE`, repeatable: one camera frame per camera name.
type imageFlags []string

func (f *imageFlags) String() string { return strings.Join(*f, " ") }

func (f *imageFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("%q: want NAME=FILE, e.g. main=frame.png", v)
	}
	*f = append(*f, v)
	return nil
}

// readFrames decodes the --image files into the request's per-camera frames (PNG or JPEG) and
// describes where each camera's input comes from ("main=F.png wrist=random").
func readFrames(images imageFlags, cfg *model.Config) ([]*frame.Frame, string, error) {
	cams := cfg.Decoding.Cameras
	frames := make([]*frame.Frame, len(cams))
	from := make([]string, len(cams))
	for _, v := range images {
		name, path, _ := strings.Cut(v, "=")
		i := cameraIndex(cams, name)
		if i < 0 {
			return nil, "", fmt.Errorf("--image %s: the model has no camera %q (its cameras: %s)", v, name, model.FormatCameras(cams))
		}
		if frames[i] != nil {
			return nil, "", fmt.Errorf("--image %s: camera %q has a frame already", v, name)
		}
		f, err := frame.DecodeFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("--image %s: %w", v, err)
		}
		frames[i] = f
		from[i] = v
	}
	for i, c := range cams {
		if from[i] == "" {
			from[i] = c.Name + "=random"
		}
	}
	return frames, strings.Join(from, " "), nil
}

func cameraIndex(cams []model.Camera, name string) int {
	for i, c := range cams {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// framesAndCodes fills req from --image and the random codes: a camera named by --image takes its
// frame, every other camera random codes from the seed.
func framesAndCodes(req *engine.Request, images imageFlags, cfg *model.Config, seed uint64) (string, error) {
	frames, from, err := readFrames(images, cfg)
	if err != nil {
		return "", err
	}
	req.Frames, req.Codes = frames, randomCodes(cfg, seed)
	for i, f := range frames {
		if f != nil {
			req.Codes[i] = nil
		}
	}
	return from, nil
}

// printFrameTimings prints the first run's frame encoding and future-frame decoding, when it had
// them (included in its total).
func printFrameTimings(w io.Writer, t engine.Timings) {
	if t.Encode > 0 || t.FutureDecode > 0 {
		fmt.Fprintf(w, "frames   encode %.2f ms, future frames decode %.2f ms (in run 1's total)\n", ms(t.Encode), ms(t.FutureDecode))
	}
}

// saveFutureFrames writes one PNG per camera, DIR/NAME.png, and returns the paths.
func saveFutureFrames(dir string, res *engine.Result, cams []model.Camera) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--save-future: %w", err)
	}
	var paths []string
	for i, f := range res.FutureFrames {
		path := filepath.Join(dir, cams[i].Name+".png")
		if err := writeFramePNG(path, f); err != nil {
			return nil, fmt.Errorf("--save-future: %w", err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// writeFramePNG writes a packed RGB8 frame as an opaque PNG.
func writeFramePNG(path string, f *frame.Frame) error {
	img := image.NewNRGBA(image.Rect(0, 0, f.Width, f.Height))
	for i := 0; i < f.Width*f.Height; i++ {
		copy(img.Pix[4*i:4*i+3], f.Pix[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	fd, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(fd, img); err != nil {
		fd.Close()
		os.Remove(path)
		return err
	}
	return fd.Close()
}
