package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/frame"
	"github.com/udvla/udvla/engine/model/build"
)

const (
	mainFrame  = "../../testdata/cameras/main.png"
	wristFrame = "../../testdata/cameras/wrist.png"
)

// noVQModel writes the tiny language model without its vision tokenizer.
func noVQModel(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "novq.udvla")
	if err := build.WriteTinyLM(path, "../../testdata/fast"); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodePNG(t *testing.T, path string) *frame.Frame {
	t.Helper()
	f, err := frame.DecodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The README's job as a user types it: the shipped camera frames in, the actions printed and one
// future frame per camera written, equal to what the engine gives the same request.
func TestRunImagesSaveFuture(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	args := []string{"run", "--model", tinyPath, "--tokens", "40,50,60", "--seed", "7", "--validate",
		"--image", "main=" + mainFrame, "--image", "wrist=" + wristFrame, "--save-future", dir}
	out, e, code := runModelCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	for _, want := range []string{"main=" + mainFrame + " wrist=" + wristFrame, "actions  10x7", "frames   encode ",
		"future   wrote " + filepath.Join(dir, "main.png"), "future   wrote " + filepath.Join(dir, "wrist.png")} {
		if !strings.Contains(out, want) {
			t.Fatalf("output does not say %q:\n%s", want, out)
		}
	}
	e2, err := engine.Open(tinyPath, engine.Options{Validate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	req := &engine.Request{Instruction: []int32{40, 50, 60}, Seed: 7, DecodeFuture: true,
		Frames: []*frame.Frame{decodePNG(t, mainFrame), decodePNG(t, wristFrame)}}
	res, err := e2.Step(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"main", "wrist"} {
		got := decodePNG(t, filepath.Join(dir, name+".png"))
		if !reflect.DeepEqual(got, res.FutureFrames[i]) {
			t.Errorf("%s.png: %dx%d, not the engine's future frame %dx%d", name, got.Width, got.Height, res.FutureFrames[i].Width, res.FutureFrames[i].Height)
		}
	}
	if got := runJSON(t, args[1:len(args)-2]...); !reflect.DeepEqual(got.Actions, res.Actions) || !reflect.DeepEqual(got.FutureCodes, res.FutureCodes) {
		t.Errorf("--json: actions %v, the engine's %v", got.Actions, res.Actions)
	}
	// One camera by frame, the other by random codes.
	one, e, code := runModelCmd(t, "run", "--model", tinyPath, "--tokens", "40,50,60", "--image", "wrist="+wristFrame)
	if code != 0 || !strings.Contains(one, "main=random wrist="+wristFrame) {
		t.Fatalf("one image: exit %d\n%s%s", code, one, e)
	}
}

// Bad --image and --save-future arguments fail with a message that says what is wrong.
func TestRunImagesErrors(t *testing.T) {
	plain := noVQModel(t)
	base := []string{"run", "--tokens", "40,50,60"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", tinyPath, "--image", "main"}, "want NAME=FILE"},
		{[]string{"--model", tinyPath, "--image", "top=" + mainFrame}, `no camera "top" (its cameras: main:5x5,wrist:3x3)`},
		{[]string{"--model", tinyPath, "--image", "main=" + mainFrame, "--image", "main=" + wristFrame}, `camera "main" has a frame already`},
		{[]string{"--model", tinyPath, "--image", "main=nothing.png"}, "nothing.png"},
		{[]string{"--model", tinyPath, "--image", "main=" + tinyPath}, "--image main=" + tinyPath},
		{[]string{"--model", tinyPath, "--image", "main=" + mainFrame, "--codes", "x.json"}, "--codes FILE or --image"},
		{[]string{"--model", plain, "--image", "main=" + mainFrame}, `camera 0 ("main"): the model has no vision tokenizer`},
		{[]string{"--model", plain, "--save-future", t.TempDir()}, "future frames: the model has no vision tokenizer"},
		{[]string{"--model", tinyPath, "--save-future", filepath.Join(mainFrameDir(t), "x")}, "--save-future"},
	} {
		if _, e, code := runModelCmd(t, append(base, c.args...)...); code == 0 || !strings.Contains(e, c.want) {
			t.Errorf("%v: exit %d, %q does not say %q", c.args, code, e, c.want)
		}
	}
}

// mainFrameDir is a path under a plain file, where no directory can be made.
func mainFrameDir(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(p)
}
