package engine

import (
	"context"
	"testing"

	"github.com/udvla/udvla/engine/frame"
)

// BenchmarkStepTinyFrames is the tiny model's control step on the shipped camera frames
// (testdata/cameras: 37x29 and 13x11, resized to 10x10 and 6x6): codes in (the frames' codes,
// the baseline), frames in (resize, normalise and encode on the device, then the step), and frames
// in with the future frames decoded out.
func BenchmarkStepTinyFrames(b *testing.B) {
	e, err := Open(tinyModel, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var frames []*frame.Frame
	for _, p := range []string{"../testdata/cameras/main.png", "../testdata/cameras/wrist.png"} {
		f, err := frame.DecodeFile(p)
		if err != nil {
			b.Fatal(err)
		}
		frames = append(frames, f)
	}
	ctx := context.Background()
	withFrames := &Request{Instruction: []int32{40, 50, 60}, Seed: 1, Frames: frames}
	if _, err := e.Step(ctx, withFrames); err != nil { // opens the tokenizer, records the shapes
		b.Fatal(err)
	}
	tok, err := e.tokenizeFrames(withFrames)
	if err != nil {
		b.Fatal(err)
	}
	withCodes := &Request{Instruction: withFrames.Instruction, Seed: 1, Codes: tok.Codes}
	future := *withFrames
	future.DecodeFuture = true
	if _, err := e.Step(ctx, &future); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		req  *Request
	}{{"codes", withCodes}, {"frames", withFrames}, {"frames+future", &future}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := e.Step(ctx, c.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
