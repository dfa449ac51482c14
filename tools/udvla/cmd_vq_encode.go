package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/udvla/udvla/engine/frame"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vision"
)

func init() {
	register("vq-encode", "tokenize an image with the model's vision tokenizer; print its codes", runVQEncode)
}

// vqCodes is the JSON of a code grid: {"h": H, "w": W, "codes": [[row 0], [row 1], ...]}.
type vqCodes struct {
	H     int       `json:"h"`
	W     int       `json:"w"`
	Codes [][]int32 `json:"codes"`
}

func runVQEncode(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("vq-encode", stderr)
	tf := addVQToolFlags(fs, "encoder")
	image := fs.String("image", "", "PNG or JPEG frame (required)")
	size := fs.String("size", "", "resize to WxH first, with Pillow's bicubic as the release does (default: the frame's own size)")
	asJSON := fs.Bool("json", false, `print {"h": H, "w": W, "codes": [[row 0], ...]}`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tf.model == "" || *image == "" || fs.NArg() != 0 {
		return errors.New("want --model FILE --image FILE and no other arguments")
	}
	useRef, err := tf.reference()
	if err != nil {
		return err
	}
	f, err := tf.open()
	if err != nil {
		return err
	}
	defer f.Close()
	cfg := f.Config.VQ
	px, h, w, err := loadFrame(*image, *size)
	if err != nil {
		return err
	}
	var codes []int32
	if useRef {
		m, err := ref.NewVQ(cfg, f.Float32)
		if err != nil {
			return err
		}
		if codes, _, err = m.Encode(px, h, w); err != nil {
			return err
		}
	} else {
		dev, err := tf.openDevice()
		if err != nil {
			return err
		}
		defer dev.Close()
		e, err := vision.NewEncoder(dev, cfg, f.Float32)
		if err != nil {
			return err
		}
		defer e.Close()
		if codes, err = e.Encode(px, h, w); err != nil {
			return err
		}
	}
	out := vqCodes{H: h / cfg.SpatialFactor(), W: w / cfg.SpatialFactor()}
	for y := 0; y < out.H; y++ {
		out.Codes = append(out.Codes, codes[y*out.W:(y+1)*out.W])
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "%dx%d codes (h x w) of a %dx%d frame:\n", out.H, out.W, h, w)
	for _, row := range out.Codes {
		fmt.Fprintln(stdout, row)
	}
	return nil
}

// loadFrame decodes an image, resizes it to size ("WxH", or its own size when empty) as Pillow
// does, and runs Emu3's image processor on it: CHW float32 pixels and their height and width.
func loadFrame(path, size string) ([]float32, int, int, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer fd.Close()
	fr, err := frame.Decode(fd)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if size != "" {
		var w, h int
		if n, err := fmt.Sscanf(size, "%dx%d", &w, &h); n != 2 || err != nil || fmt.Sprintf("%dx%d", w, h) != size {
			return nil, 0, 0, fmt.Errorf("--size %q: want WxH, e.g. 200x200", size)
		}
		if fr, err = frame.Resize(fr, w, h); err != nil {
			return nil, 0, 0, fmt.Errorf("--size %s: %w", size, err)
		}
	}
	px, h, w, err := frame.Release.Preprocess(fr)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return px, h, w, nil
}
