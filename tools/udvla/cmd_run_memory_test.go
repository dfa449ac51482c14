package main

import (
	"reflect"
	"strings"
	"testing"
)

// `udvla run` with device-local memory the host cannot map (UDVLA_TEST_MEMORY=hide-hvdl, a
// discrete card) prints the result of mapped memory; on a heap too small for the model it exits 1
// naming the buffer and the bytes short.
func TestRunDeviceMemory(t *testing.T) {
	args := []string{"--model", tinyPath, "--tokens", "31,77,402,9", "--seed", "5", "--steps", "5"}
	mapped := runJSON(t, args...)
	t.Setenv("UDVLA_TEST_MEMORY", "hide-hvdl")
	staged := runJSON(t, args...)
	if !reflect.DeepEqual(staged.FutureCodes, mapped.FutureCodes) || !reflect.DeepEqual(staged.ActionTokens, mapped.ActionTokens) ||
		!reflect.DeepEqual(staged.Actions, mapped.Actions) {
		t.Errorf("staged:\n %v %v\nmapped:\n %v %v", staged.FutureCodes, staged.ActionTokens, mapped.FutureCodes, mapped.ActionTokens)
	}
	t.Setenv("UDVLA_TEST_MEMORY", "hide-hvdl,heap=64K")
	_, e, code := runModelCmd(t, append([]string{"run"}, args...)...)
	if code != 1 || !strings.Contains(e, "upload embeddings") || !strings.Contains(e, "bytes short") {
		t.Errorf("a heap of 64 KiB: exit %d, stderr %q", code, e)
	}
}
