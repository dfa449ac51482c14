package engine

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/frame"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/ref"
)

// randomFrame is a frame of random pixels; stride pads each row (0: packed).
func randomFrame(r *rand.Rand, w, h, pad int) *frame.Frame {
	stride := 3*w + pad
	f := &frame.Frame{Width: w, Height: h, Stride: stride, Pix: make([]byte, stride*h)}
	for i := range f.Pix {
		f.Pix[i] = byte(r.IntN(256))
	}
	return f
}

// refCodes are the codes the float64 reference gives a frame for a camera: Pillow's resize to
// the camera's pixel grid, Emu3's normalisation, the reference encoder. It also returns the
// smallest near-tie margin among them.
func refCodes(t *testing.T, vq *ref.VQ, f *frame.Frame, cam model.Camera) ([]int32, float64) {
	t.Helper()
	s := vq.Cfg.SpatialFactor()
	r, err := frame.Resize(f, cam.W*s, cam.H*s)
	if err != nil {
		t.Fatal(err)
	}
	px, err := frame.Normalise(r)
	if err != nil {
		t.Fatal(err)
	}
	codes, margin, err := vq.Encode(px, cam.H*s, cam.W*s)
	if err != nil {
		t.Fatal(err)
	}
	least := 1.0
	for _, m := range margin {
		least = min(least, m)
	}
	return codes, least
}

func openRefVQ(t *testing.T, e *Engine) *ref.VQ {
	t.Helper()
	vq, err := ref.NewVQ(e.cfg.VQ, e.file.Float32)
	if err != nil {
		t.Fatal(err)
	}
	return vq
}

// A step on frames is the step on the frames' codes as the reference tokenizes them, on the
// device and on the reference backend: frames of awkward sizes with padded rows, one already at
// its camera's pixel grid (passed through), and a camera mixing frames with codes.
func TestStepFramesEqualsCodes(t *testing.T) {
	g, refEng := openPair(t, tinyModel)
	vq := openRefVQ(t, g)
	cams := g.Config().Decoding.Cameras
	r := rand.New(rand.NewPCG(21, 22))
	sizes := [][2][3]int{ // per camera: width, height, row padding
		{{23, 17, 0}, {7, 9, 5}},
		{{10, 10, 3}, {31, 13, 0}}, // main already at 5x5 codes times 2
		{{41, 37, 1}, {6, 6, 0}},
	}
	for i, sz := range sizes {
		base := randomRequest(g.Config(), r)
		frames := []*frame.Frame{randomFrame(r, sz[0][0], sz[0][1], sz[0][2]), randomFrame(r, sz[1][0], sz[1][1], sz[1][2])}
		withCodes := *base
		withCodes.Codes = make([][]int32, len(cams))
		for c, f := range frames {
			codes, margin := refCodes(t, vq, f, cams[c])
			if margin < 1e-4 {
				t.Logf("case %d camera %d: a near-tie (margin %.3g): the device may pick the other code", i, c, margin)
			}
			withCodes.Codes[c] = codes
		}
		withFrames := *base
		withFrames.Codes, withFrames.Frames = nil, frames
		want, err := g.Step(context.Background(), &withCodes)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := stepBoth(t, g, refEng, &withFrames)
		if got.Timings.Encode <= 0 || got.Timings.Encode > got.Timings.Total {
			t.Errorf("case %d: encode %v of a step of %v", i, got.Timings.Encode, got.Timings.Total)
		}
		if !reflect.DeepEqual(got.Region, want.Region) || !reflect.DeepEqual(got.Actions, want.Actions) {
			t.Errorf("case %d: frames give region %v, their reference codes %v", i, got.Region, want.Region)
		}
		// The wrist camera by codes, the main camera by frame.
		mixed := *base
		mixed.Codes = [][]int32{nil, withCodes.Codes[1]}
		mixed.Frames = frames[:1]
		if got, err := g.Step(context.Background(), &mixed); err != nil || !reflect.DeepEqual(got.Region, want.Region) {
			t.Errorf("case %d: a frame and codes mixed: %v", i, err)
		}
	}
}

// DecodeFuture returns each camera's future codes decoded to RGB8 at the camera's pixel grid,
// within one grey level of the float64 reference's decode of the same codes (the random tiny
// model's steps include non-visual tokens at image positions, decoded as code 0).
func TestStepFutureFrames(t *testing.T) {
	g, _ := openPair(t, tinyModel)
	vq := openRefVQ(t, g)
	s := g.Config().VQ.SpatialFactor()
	r := rand.New(rand.NewPCG(31, 32))
	for i := 0; i < 3; i++ {
		req := randomRequest(g.Config(), r)
		req.DecodeFuture = true
		res, err := g.Step(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.FutureFrames) != len(res.FutureCodes) {
			t.Fatalf("%d future frames for %d cameras", len(res.FutureFrames), len(res.FutureCodes))
		}
		for c, cam := range g.Config().Decoding.Cameras {
			f := res.FutureFrames[c]
			if f == nil || f.Width != cam.W*s || f.Height != cam.H*s || f.Stride != 3*f.Width || len(f.Pix) != 3*f.Width*f.Height {
				t.Fatalf("camera %d: future frame %+v, want %dx%d packed", c, f, cam.W*s, cam.H*s)
			}
			codes := make([]int32, len(res.FutureCodes[c]))
			for j, k := range res.FutureCodes[c] {
				codes[j] = max(k, 0) // a non-visual token decodes as code 0
			}
			m, err := vq.Decode(codes, cam.H, cam.W)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.ToRGB8(m)
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range f.Pix {
				if d := int(v) - int(want[j]); d < -1 || d > 1 {
					t.Fatalf("camera %d byte %d: %d, the reference %d", c, j, v, want[j])
				}
			}
		}
		if res.Timings.FutureDecode <= 0 || res.Timings.Encode != 0 {
			t.Errorf("timings: future decode %v, encode %v of a step on codes", res.Timings.FutureDecode, res.Timings.Encode)
		}
		plain := *req
		plain.DecodeFuture = false
		res2, err := g.Step(context.Background(), &plain)
		if err != nil || res2.FutureFrames != nil || !reflect.DeepEqual(res2.Region, res.Region) || res2.Timings.FutureDecode != 0 {
			t.Fatalf("without DecodeFuture: frames %v, err %v", res2.FutureFrames, err)
		}
	}
}

// writeNoVQModel writes the tiny language model without a vision tokenizer.
func writeNoVQModel(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "novq.udvla")
	if err := build.WriteTinyLM(path, "../testdata/fast"); err != nil {
		t.Fatal(err)
	}
	return path
}

// Bad frames get an error that names the camera, and the engine goes on to answer a good request
// exactly as before.
func TestStepFramesErrors(t *testing.T) {
	g, _ := openPair(t, tinyModel)
	noVQ, _ := openPair(t, writeNoVQModel(t))
	r := rand.New(rand.NewPCG(41, 42))
	good := randomRequest(g.Config(), r)
	goodFrames := *good
	goodFrames.Codes = nil
	goodFrames.Frames = []*frame.Frame{randomFrame(r, 13, 11, 0), randomFrame(r, 9, 8, 0)}
	ctx := context.Background()
	want, err := g.Step(ctx, &goodFrames)
	if err != nil {
		t.Fatal(err)
	}
	short := randomFrame(r, 13, 11, 0)
	short.Pix = short.Pix[:len(short.Pix)-1]
	with := func(main, wrist *frame.Frame) []*frame.Frame { return []*frame.Frame{main, wrist} }
	ok := randomFrame(r, 12, 12, 0)
	cases := []struct {
		e     *Engine
		codes [][]int32
		fr    []*frame.Frame
		fut   bool
		want  string
	}{
		{g, nil, with(ok, short), false, `camera 1 ("wrist"): invalid frame: pixel buffer holds`},
		{g, nil, with(&frame.Frame{Width: 4, Height: 4}, ok), false, `camera 0 ("main"): invalid frame: nil pixel buffer`},
		{g, nil, with(&frame.Frame{Width: 4, Height: 4, Stride: 5, Pix: make([]byte, 64)}, ok), false, `camera 0 ("main"): invalid frame: stride 5`},
		{g, nil, with(ok, &frame.Frame{Width: 0, Height: 4, Pix: make([]byte, 64)}), false, `camera 1 ("wrist"): invalid frame: size 0x4`},
		{g, good.Codes, with(ok, nil), false, `camera 0 ("main") has both codes and a frame`},
		{g, nil, []*frame.Frame{ok, ok, ok}, false, "3 frames for a model of 2 cameras"},
		{g, good.Codes[:1], with(nil, ok), false, "got codes for 1 cameras"},
		{g, nil, with(ok, nil), false, `camera 1 ("wrist") has 0 codes`},
		{noVQ, nil, with(ok, ok), false, `camera 0 ("main"): the model has no vision tokenizer`},
		{noVQ, good.Codes, nil, true, "future frames: the model has no vision tokenizer"},
	}
	for i, c := range cases {
		req := *good
		req.Codes, req.Frames, req.DecodeFuture = c.codes, c.fr, c.fut
		res, err := c.e.Step(ctx, &req)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v (result %v), want an error saying %q", i, err, res != nil, c.want)
		}
	}
	got, err := g.Step(ctx, &goodFrames)
	if err != nil || !reflect.DeepEqual(got.Region, want.Region) {
		t.Fatalf("after the errors: %v", err)
	}
	if _, err := noVQ.Step(ctx, good); err != nil {
		t.Fatalf("the model without a vision tokenizer, on codes: %v", err)
	}
}

// TestBadFrameCostsNoEncoding: every frame of a request is checked before any is encoded, so a
// bad wrist frame leaves the vision tokenizer unopened on a fresh engine.
func TestBadFrameCostsNoEncoding(t *testing.T) {
	g, _ := openPair(t, tinyModel)
	r := rand.New(rand.NewPCG(43, 44))
	req := *randomRequest(g.Config(), r)
	short := randomFrame(r, 13, 11, 0)
	short.Pix = short.Pix[:len(short.Pix)-1]
	req.Codes, req.Frames = nil, []*frame.Frame{randomFrame(r, 12, 12, 0), short}
	if _, err := g.Step(context.Background(), &req); err == nil || !strings.Contains(err.Error(), `camera 1 ("wrist")`) {
		t.Fatalf("got %v, want the wrist camera's error", err)
	}
	if g.vision != nil {
		t.Error("the main camera's frame was encoded before the wrist camera's frame was refused")
	}
}
