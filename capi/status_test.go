package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/vk"
)

func TestProtectRecoversPanics(t *testing.T) {
	var nilMap map[string]int
	bodies := map[string]func() error{
		"explicit": func() error { panic("boom") },
		"nil map":  func() error { nilMap["x"] = 1; return nil },
		"index": func() error {
			s := []int{1, 2, 3}
			i := len(s) + 2
			return fmt.Errorf("%d", s[i])
		},
	}
	for name, body := range bodies {
		err := protect(body)
		if statusOf(err) != statusInternal {
			t.Errorf("%s: status %v (%v), want INTERNAL", name, statusOf(err), err)
		}
		if !strings.Contains(err.Error(), "internal error") {
			t.Errorf("%s: message %q", name, err)
		}
	}
	if err := protect(func() error { return nil }); err != nil {
		t.Errorf("a body that succeeds: %v", err)
	}
	want := errorf(statusOutOfRange, "x")
	if err := protect(func() error { return want }); err != want {
		t.Errorf("a body's error: %v", err)
	}
}

func TestStatusOf(t *testing.T) {
	cases := []struct {
		err  error
		want status
	}{
		{nil, statusOK},
		{errorf(statusModel, "m"), statusModel},
		{fmt.Errorf("wrapped: %w", errorf(statusDevice, "d")), statusDevice},
		{engine.ErrClosed, statusClosed},
		{errors.New("something else"), statusEngine},
		{wrap(statusNotFound, errorf(statusModel, "kept")), statusModel},
	}
	for _, c := range cases {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("statusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestClassifyStep(t *testing.T) {
	cases := []struct {
		err  error
		want status
	}{
		{engine.ErrClosed, statusClosed},
		{engine.ErrNoLayout, statusUnsupported},
		{errors.New("udvla: the model packs no text vocabulary: pass instruction tokens"), statusUnsupported},
		{errors.New("udvla: instruction of 300 tokens exceeds the engine's limit 128 (Options.MaxInstruction)"), statusOutOfRange},
		{errors.New("udvla: seq: camera 1 (\"wrist\") code 3 is 999, outside the codebook [0, 256)"), statusOutOfRange},
		{&vk.Error{Op: "vkQueueSubmit", Result: -4}, statusDevice},
		{fmt.Errorf("step: %w", vk.ErrNoDevice), statusDevice},
		{errors.New("udvla: decoding failed"), statusEngine},
	}
	for _, c := range cases {
		if got := statusOf(classifyStep(c.err)); got != c.want {
			t.Errorf("classifyStep(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// TestClassifyOpenFile opens real bad files with model.Open and checks their statuses.
func TestClassifyOpenFile(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.udvla")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a model ", 37)), 0o644); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "unreadable.udvla")
	if err := os.WriteFile(unreadable, make([]byte, 64), 0o000); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want status
	}{
		{filepath.Join(dir, "missing.udvla"), statusNotFound},
		{junk, statusModel},
		{dir, statusModel}, // open() reports a directory as NOT_FOUND before model.Open sees it
	}
	if os.Getuid() != 0 { // root reads any file
		cases = append(cases, struct {
			path string
			want status
		}{unreadable, statusNotFound})
	}
	for _, c := range cases {
		_, err := model.Open(c.path)
		if err == nil {
			t.Fatalf("%s opened", c.path)
		}
		if got := statusOf(classifyOpenFile(err)); got != c.want {
			t.Errorf("%s: %v: status %d, want %d", c.path, err, got, c.want)
		}
	}
	if got := statusOf(classifyOpenFile(fmt.Errorf("open: %w", fs.ErrPermission))); got != statusNotFound {
		t.Errorf("a wrapped fs.ErrPermission: status %d, want NOT_FOUND", got)
	}
}

func TestClassifyOpenEngine(t *testing.T) {
	cases := []struct {
		err     error
		backend engine.Backend
		want    status
	}{
		{errors.New(`vulkan: no device matches "x" (have: llvmpipe)`), engine.BackendVulkan, statusDevice},
		{&vk.Error{Op: "vkAllocateMemory", Result: -2}, engine.BackendVulkan, statusDevice},
		{errors.New("udvla: the model's FAST tokenizer: bad merges"), engine.BackendVulkan, statusModel},
		{errors.New("matmul: tile does not fit subgroup size 4"), engine.BackendVulkan, statusDevice},
		{errors.New("ref: weights"), engine.BackendReference, statusEngine},
	}
	for _, c := range cases {
		if got := statusOf(classifyOpenEngine(c.err, c.backend)); got != c.want {
			t.Errorf("classifyOpenEngine(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// An INTERNAL message is one line for the caller; UDVLA_DEBUG=1, read at the time of the call
// through libc's environment, appends the goroutine stack.
func TestInternalMessageStackBehindDebug(t *testing.T) {
	boom := func() error { panic("boom\nsecond line") }
	t.Setenv("UDVLA_DEBUG", "")
	msg := protect(boom).Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "boom") || strings.Contains(msg, "goroutine") {
		t.Errorf("without UDVLA_DEBUG: %q, want one line naming the panic", msg)
	}
	t.Setenv("UDVLA_DEBUG", "0")
	if msg := protect(boom).Error(); strings.Contains(msg, "\n") {
		t.Errorf("UDVLA_DEBUG=0: %q, want one line", msg)
	}
	t.Setenv("UDVLA_DEBUG", "1")
	msg = protect(boom).Error()
	first, stack, ok := strings.Cut(msg, "\n")
	if !ok || !strings.Contains(first, "boom") || !strings.Contains(stack, "goroutine") || !strings.Contains(stack, "protect") {
		t.Errorf("UDVLA_DEBUG=1: %q, want the panic's line and then the stack", msg)
	}
	if statusOf(protect(boom)) != statusInternal {
		t.Error("status is not INTERNAL")
	}
}
