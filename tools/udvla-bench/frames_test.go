package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model/build"
)

// `run --frames` as a user types it: the tiny model's cameras fed by random frames through the
// shipped tiny tokenizer; the encode, step and end-to-end rows in the text and in a schema-valid
// report whose parts add up.
func TestRunFrames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frames.json")
	out, e, code := bench(t, "run", "--model", tinyPath, "--vq", "../../testdata/tiny_vq.udvla", "--frames", "--modes", "jd3p",
		"--runs", "2", "--warmup", "0", "--steps", "2", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	for _, want := range []string{"frames to actions (jd3p", "main 10x10 -> 5x5", "wrist 6x6 -> 3x3", "encode ", "end to end "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	f := readReport(t, path).Frames
	if f == nil || len(f.Cameras) != 2 || f.Mode != "jd3p" || f.EncodeMS.N != 2 || f.StepMS.N != 2 || f.EndToEndMS.N != 2 {
		t.Fatalf("frames report: %+v", f)
	}
	if f.EncodeMS.Min <= 0 || f.StepMS.Min <= 0 || f.EndToEndMS.Min < f.EncodeMS.Min+f.StepMS.Min-0.01 {
		t.Errorf("end to end %+v is not encode %+v plus step %+v", f.EndToEndMS, f.EncodeMS, f.StepMS)
	}
}

// --frames refuses a model without a vision tokenizer by name, and --vq alone.
func TestRunFramesRefuses(t *testing.T) {
	plain := filepath.Join(t.TempDir(), "novq.udvla") // tiny.udvla itself carries a tokenizer
	if err := build.WriteTinyLM(plain, "../../testdata/fast"); err != nil {
		t.Fatal(err)
	}
	_, e, code := bench(t, "run", "--model", plain, "--frames", "--modes", "jd3p", "--runs", "1", "--warmup", "0", "--steps", "1")
	if code == 0 || !strings.Contains(e, "has no vision tokenizer") {
		t.Errorf("a model without a tokenizer: exit %d, %s", code, e)
	}
	_, e, code = bench(t, "run", "--model", tinyPath, "--vq", "../../testdata/tiny_vq.udvla")
	if code == 0 || !strings.Contains(e, "give --frames too") {
		t.Errorf("--vq alone: exit %d, %s", code, e)
	}
}
