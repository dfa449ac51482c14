package main

import (
	"reflect"
	"strings"
	"testing"
)

// `UDVLA_KERNELS=attention=flash udvla run ...` (and flash-emu) decodes the request as the
// device's own choice does; flash-nv, where the device cannot run it, is refused with its name.
func TestRunAttentionKernelOverride(t *testing.T) {
	args := []string{"--model", tinyPath, "--tokens", "31,415,926", "--seed", "3", "--steps", "4", "--mask", "paper"}
	want := runJSON(t, args...)
	for _, k := range []string{"attention=flash", "attention=flash-emu"} {
		t.Setenv("UDVLA_KERNELS", k)
		got := runJSON(t, args...)
		if !reflect.DeepEqual(got.FutureCodes, want.FutureCodes) || !reflect.DeepEqual(got.ActionTokens, want.ActionTokens) ||
			!reflect.DeepEqual(got.Actions, want.Actions) {
			t.Errorf("UDVLA_KERNELS=%s: %+v\nthe device's choice: %+v", k, got, want)
		}
	}
	t.Setenv("UDVLA_KERNELS", "attention=flash-nv")
	_, e, code := runModelCmd(t, append([]string{"run"}, args...)...)
	if code != 0 && (code != 1 || !strings.Contains(e, "flash-nv cannot run")) { // 0: the device has cooperative matrices
		t.Errorf("UDVLA_KERNELS=attention=flash-nv: exit %d, %q", code, e)
	}
}
