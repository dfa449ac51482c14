package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
)

// The vision tokenizer as a user types it: `random --tiny-vq` writes the shipped file byte for
// byte, `random --vq` adds one to a language model, `convert --vq` packs a checkpoint alone, and
// `inspect` describes each.
func TestVQCommands(t *testing.T) {
	dir := t.TempDir()
	tiny := filepath.Join(dir, "tiny_vq.udvla")
	if _, e, code := runModelCmd(t, "random", "--tiny-vq", "--out", tiny); code != 0 {
		t.Fatalf("random --tiny-vq: exit %d: %s", code, e)
	}
	got, _ := os.ReadFile(tiny)
	want, err := os.ReadFile("../../testdata/tiny_vq.udvla")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("udvla random --tiny-vq differs from testdata/tiny_vq.udvla (%v)", err)
	}
	out, e, code := runModelCmd(t, "inspect", "--verify", tiny)
	if code != 0 || !strings.Contains(out, "arch      none (a vision tokenizer alone)") ||
		!strings.Contains(out, "vq        ch 32, ch_mult [1 1], 1 res blocks, attention at levels [1], codebook 256x4") ||
		!strings.Contains(out, "quantize.embedding.weight") || strings.Contains(out, "plain Llama") {
		t.Fatalf("inspect: exit %d\n%s%s", code, out, e)
	}

	both := filepath.Join(dir, "both.udvla")
	if _, e, code := runModelCmd(t, "random", "--out", both, "--vq", "--vq-ch-mult", "1,2", "--vq-attn", "", "--vq-res-blocks", "1", "--vq-dtype", "f16"); code != 0 {
		t.Fatalf("random --vq: exit %d: %s", code, e)
	}
	f, err := model.Open(both)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Config.HasLM() || f.Config.VQ == nil || !reflect.DeepEqual(f.Config.VQ.ChMult, []int{1, 2}) || len(f.Config.VQ.AttnResolutions) != 0 {
		t.Fatalf("random --vq wrote %+v", f.Config.VQ)
	}
	f.Close()

	ck := t.TempDir()
	if err := build.WriteRandomVQHF(ck, model.TinyVQConfig(), 5, "BF16"); err != nil {
		t.Fatal(err)
	}
	conv := filepath.Join(dir, "conv.udvla")
	out, e, code = runModelCmd(t, "convert", "--vq", ck, "--out", conv)
	if code != 0 || !strings.Contains(out, ": f32, ") || !strings.Contains(out, "vision tokenizer alone") || !strings.Contains(out, "vision tokenizer: ch 32") {
		t.Fatalf("convert --vq: exit %d\n%s%s", code, out, e)
	}
	if out, _, code := runModelCmd(t, "inspect", conv); code != 0 || !strings.Contains(out, "f32") {
		t.Fatalf("inspect of the converted file: exit %d\n%s", code, out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"random", "--tiny-vq", "--seed", "3", "--out", tiny}, "--seed"},
		{[]string{"random", "--vq-only", "--layers", "3", "--out", tiny}, "--layers"},
		{[]string{"random", "--vq-only", "--vq-ch", "40", "--out", tiny}, "multiple of 32"},
		{[]string{"random", "--vq-only", "--vq-dtype", "q8_0", "--out", tiny}, "f32 or f16"},
		{[]string{"random", "--vq", "--vq-attn", "x", "--out", tiny}, "--vq-attn"},
		{[]string{"convert", "--out", conv}, "--vq DIR"},
		{[]string{"convert", "--vq", dir, "--out", conv}, "config.json"},
	} {
		if _, e, code := runModelCmd(t, c.args...); code == 0 || !strings.Contains(e, c.want) {
			t.Errorf("%v: exit %d, %q does not say %q", c.args, code, e, c.want)
		}
	}
}
