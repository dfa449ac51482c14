package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vision"
)

func init() {
	register("vq-decode", "turn a grid of codes into a frame with the model's vision tokenizer (PNG)", runVQDecode)
}

// readCodeGrid reads the JSON of vq-encode: {"h": H, "w": W, "codes": [[row 0], [row 1], ...]}.
func readCodeGrid(path string) ([]int32, int, int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	var g vqCodes
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if g.H <= 0 || g.W <= 0 || g.H > 4096 || g.W > 4096 || len(g.Codes) != g.H {
		return nil, 0, 0, fmt.Errorf("%s: a %dx%d grid with %d rows", path, g.W, g.H, len(g.Codes))
	}
	var codes []int32
	for y, row := range g.Codes {
		if len(row) != g.W {
			return nil, 0, 0, fmt.Errorf("%s: row %d has %d codes, want %d", path, y, len(row), g.W)
		}
		codes = append(codes, row...)
	}
	return codes, g.H, g.W, nil
}

func runVQDecode(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("vq-decode", stderr)
	tf := addVQToolFlags(fs, "decoder")
	codesPath := fs.String("codes", "", `codes as JSON {"h": H, "w": W, "codes": [[row 0], ...]} (vq-encode --json) (required)`)
	out := fs.String("out", "", "PNG file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tf.model == "" || *codesPath == "" || *out == "" || fs.NArg() != 0 {
		return errors.New("want --model FILE --codes FILE --out FILE.png and no other arguments")
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
	if cfg.OutChannels != 3 {
		return fmt.Errorf("%s: the vision tokenizer decodes %d channels, not RGB", *tf.model, cfg.OutChannels)
	}
	codes, gh, gw, err := readCodeGrid(*codesPath)
	if err != nil {
		return err
	}
	fh, fw := gh*cfg.SpatialFactor(), gw*cfg.SpatialFactor()
	var frame ref.Map
	if useRef {
		m, err := ref.NewVQ(cfg, f.Float32)
		if err != nil {
			return err
		}
		if frame, err = m.Decode(codes, gh, gw); err != nil {
			return err
		}
	} else {
		dev, err := tf.openDevice()
		if err != nil {
			return err
		}
		defer dev.Close()
		d, err := vision.NewDecoder(dev, cfg, f.Float32)
		if err != nil {
			return err
		}
		defer d.Close()
		px, err := d.Decode(codes, gh, gw)
		if err != nil {
			return err
		}
		if frame, err = ref.MapFromFloat32(px, 3, fh, fw); err != nil {
			return err
		}
	}
	rgb, err := ref.ToRGB8(frame)
	if err != nil {
		return err
	}
	img := image.NewNRGBA(image.Rect(0, 0, fw, fh))
	for i := 0; i < fw*fh; i++ {
		copy(img.Pix[4*i:4*i+3], rgb[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	fd, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := png.Encode(fd, img); err != nil {
		fd.Close()
		os.Remove(*out)
		return err
	}
	if err := fd.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %dx%d from %dx%d codes\n", *out, fw, fh, gw, gh)
	return nil
}
