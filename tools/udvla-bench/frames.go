package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/frame"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/vision"
	"github.com/udvla/udvla/engine/vk"
)

// framesReport is run --frames: camera frames in, actions out. Each measured run preprocesses and
// encodes one random RGB8 frame per camera on the device (engine/vision), puts the codes into the
// request and runs a JD3P control step; end_to_end_ms is the whole of it, encode_ms its first part.
type framesReport struct {
	VQModel    string        `json:"vq_model"`
	Cameras    []frameCamera `json:"cameras"`
	EncodeMS   stat          `json:"encode_ms"`
	StepMS     stat          `json:"step_ms"`
	EndToEndMS stat          `json:"end_to_end_ms"`
	Mode       string        `json:"mode"`
}

// frameCamera is one camera's frame: its pixel size and its code grid (rows x columns).
type frameCamera struct {
	Name   string `json:"name"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Grid   string `json:"grid"`
}

// measureFrames runs warm-up and measured frames-to-actions steps: random frames of each camera's
// grid times the tokenizer's spatial factor, encoded with the vision tokenizer of vqPath.
func measureFrames(ctx context.Context, e *engine.Engine, req *engine.Request, vqPath, device string, runs, warmup int, prog *progress) (*framesReport, error) {
	f, err := model.Open(vqPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vq := f.Config.VQ
	if vq == nil {
		return nil, fmt.Errorf("--frames: %s has no vision tokenizer (give one with --vq FILE)", vqPath)
	}
	mc := e.Config()
	if vq.CodebookSize > int(mc.Vocab.CodebookSize) {
		return nil, fmt.Errorf("--frames: the tokenizer of %s has %d codes, the model's vocabulary %d", vqPath, vq.CodebookSize, mc.Vocab.CodebookSize)
	}
	dev, err := vk.Open(vk.Options{Device: device}.WithEnv())
	if err != nil {
		return nil, err
	}
	defer dev.Close()
	enc, err := vision.NewEncoder(dev, vq, f.Float32)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	sf := vq.SpatialFactor()
	proc := frame.Processor{Factor: sf, MinPixels: 0, MaxPixels: frame.Release.MaxPixels}
	rep := &framesReport{VQModel: vqPath, Mode: engine.ModeJD3P.String()}
	r := rand.New(rand.NewPCG(req.Seed, 0x6672616d6573)) // "frames"
	var frames []*frame.Frame
	for _, c := range mc.Decoding.Cameras {
		fr, err := frame.New(c.W*sf, c.H*sf)
		if err != nil {
			return nil, err
		}
		for i := range fr.Pix {
			fr.Pix[i] = byte(r.UintN(256))
		}
		frames = append(frames, fr)
		rep.Cameras = append(rep.Cameras, frameCamera{Name: c.Name, Width: fr.Width, Height: fr.Height, Grid: fmt.Sprintf("%dx%d", c.H, c.W)})
	}
	step := *req
	step.Mode = engine.ModeJD3P
	step.Codes = make([][]int32, len(frames))
	var encT, stepT, all []float64
	prog.begin()
	defer prog.done()
	for i := 0; i < warmup+runs; i++ {
		if i < warmup {
			prog.update("frames to actions: warm-up %d of %d", i+1, warmup)
		} else {
			prog.update("frames to actions: run %d of %d", i-warmup+1, runs)
		}
		t0 := time.Now()
		for c, fr := range frames {
			px, h, w, err := proc.Preprocess(fr)
			if err != nil {
				return nil, fmt.Errorf("camera %s: %w", rep.Cameras[c].Name, err)
			}
			if step.Codes[c], err = enc.Encode(px, h, w); err != nil {
				return nil, fmt.Errorf("camera %s: %w", rep.Cameras[c].Name, err)
			}
		}
		t1 := time.Now()
		if _, err := e.Step(ctx, &step); err != nil {
			return nil, err
		}
		t2 := time.Now()
		if i >= warmup {
			encT, stepT, all = append(encT, msOf(t1.Sub(t0))), append(stepT, msOf(t2.Sub(t1))), append(all, msOf(t2.Sub(t0)))
		}
	}
	rep.EncodeMS, rep.StepMS, rep.EndToEndMS = summarise(encT), summarise(stepT), summarise(all)
	return rep, nil
}

// printFrames writes the frames-to-actions rows of run --frames.
func printFrames(w io.Writer, fr *framesReport) {
	if fr == nil {
		return
	}
	fmt.Fprintf(w, "\nframes to actions (%s, tokenizer of %s):", fr.Mode, fr.VQModel)
	for _, c := range fr.Cameras {
		fmt.Fprintf(w, " %s %dx%d -> %s", c.Name, c.Width, c.Height, c.Grid)
	}
	fmt.Fprintf(w, "\n  %-12s %10s %10s %10s %10s\n", "", "median ms", "p90", "min", "max")
	for _, row := range []struct {
		name string
		s    stat
	}{{"encode", fr.EncodeMS}, {"step", fr.StepMS}, {"end to end", fr.EndToEndMS}} {
		fmt.Fprintf(w, "  %-12s %10.2f %10.2f %10.2f %10.2f\n", row.name, row.s.Median, row.s.P90, row.s.Min, row.s.Max)
	}
}
