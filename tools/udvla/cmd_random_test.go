package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

func runModelCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := dispatch(args, nil, &out, &errb)
	return out.String(), errb.String(), code
}

// `udvla random --tiny` writes testdata/tiny.udvla byte for byte.
func TestRandomTiny(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.udvla")
	if _, e, code := runModelCmd(t, "random", "--tiny", "--fast-root", "../../testdata/fast", "--out", path); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	got, _ := os.ReadFile(path)
	want, err := os.ReadFile("../../testdata/tiny.udvla")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("udvla random --tiny differs from testdata/tiny.udvla (%v)", err)
	}
	if _, e, code := runModelCmd(t, "random", "--tiny", "--layers", "3", "--out", path); code != 1 || !strings.Contains(e, "--layers") {
		t.Fatalf("--tiny with --layers: exit %d, %s", code, e)
	}
}

func TestRandomCustom(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.udvla")
	_, e, code := runModelCmd(t, "random", "--out", path, "--layers", "3", "--hidden", "96", "--heads", "6", "--kv-heads", "3",
		"--head-dim", "16", "--ffn", "160", "--text-size", "1200", "--codebook", "100", "--cameras", "a:2x3",
		"--dtype", "q4_0", "--seed", "9", "--fast", "../../testdata/fast/fast_bridge_t5_s50", "--horizon", "5",
		"--stats", "../../testdata/fast/norm_stats_bridge.json", "--mask", "release")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	f, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &f.Config
	if c.Arch.Layers != 3 || c.Arch.Vocab != 1200+11+100 || c.Vocab.FastSize != 1024 || c.Fast.Horizon != 5 || c.Fast.Dims != 7 ||
		c.Decoding.Mask != model.MaskRelease || c.Decoding.Cameras[0] != (model.Camera{Name: "a", H: 2, W: 3}) {
		t.Fatalf("config %+v %+v %+v %+v", c.Arch, c.Vocab, c.Decoding, c.Fast)
	}
	x, _ := build.RandomTensor(c.Arch, 9, model.LMHead)
	want, _ := quant.Quantize(quant.Q4_0, c.Arch.Vocab, c.Arch.Hidden, x)
	if _, got, _ := f.Tensor(model.LMHead); !bytes.Equal(got, want) {
		t.Fatal("lm_head is not the seed's random tensor")
	}
	plain := filepath.Join(dir, "plain.udvla")
	if _, e, code := runModelCmd(t, "random", "--out", plain, "--no-layout", "--vocab", "77"); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	g, err := model.Open(plain)
	if err != nil || g.Config.Vocab != nil || g.Config.Arch.Vocab != 77 {
		t.Fatalf("plain model: %v", err)
	}
	g.Close()
	if _, e, code := runModelCmd(t, "random", "--out", plain, "--heads", "3"); code != 1 || !strings.Contains(e, "heads") {
		t.Fatalf("invalid arch: exit %d, %s", code, e)
	}
}
