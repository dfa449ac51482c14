package main

import (
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/gpu"
)

// `udvla run --kernels` runs the override and names the variants it ran, in the text and the JSON;
// a bad override, or one with the CPU reference, is refused.
func TestRunKernelsFlag(t *testing.T) {
	got := runJSON(t, "--model", tinyPath, "--tokens", "40,50,60", "--steps", "2", "--kernels", "attention=scalar")
	if !strings.Contains(got.Kernels, "attention="+gpu.AttentionScalar) || !strings.Contains(got.Kernels, "matmul=") {
		t.Errorf("kernels %q", got.Kernels)
	}
	out, e, code := runModelCmd(t, "run", "--model", tinyPath, "--tokens", "40,50,60", "--steps", "2", "--kernels", "attention=scalar")
	if code != 0 || !strings.Contains(out, "kernels  attention=scalar,matmul=") {
		t.Errorf("exit %d, %s\n%s", code, e, out)
	}
	if ref := runJSON(t, "--model", tinyPath, "--tokens", "40", "--steps", "1", "--backend", "reference"); ref.Kernels != "" {
		t.Errorf("reference names kernels %q", ref.Kernels)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kernels", "matmul=bogus"}, "variants"},
		{[]string{"--kernels", "conv=x"}, "family=variant"},
		{[]string{"--kernels", "attention=scalar", "--backend", "reference"}, "drop them"},
	} {
		args := append([]string{"run", "--model", tinyPath, "--tokens", "40"}, c.args...)
		if _, e, code := runModelCmd(t, args...); code != 1 || !strings.Contains(e, c.want) {
			t.Errorf("%v: exit %d, %q, want %q", c.args, code, e, c.want)
		}
	}
}
