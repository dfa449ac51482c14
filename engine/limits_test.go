package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// MaxInstruction is bounded by what one forward embeds: Open refuses a larger value on both
// backends, naming the limit, and at the limit the longest request the engine accepts fills the
// forward exactly.
func TestMaxInstructionLimit(t *testing.T) {
	g := openTiny(t)
	cfg := g.Config()
	// the limit from a layout built the way steps build theirs, with no instruction
	req := randomRequest(cfg, rand.New(rand.NewPCG(1, 2)))
	l, err := seq.BuildWithHeader(cfg.Vocab, cfg.Decoding, nil, req.Codes, g.header)
	if err != nil {
		t.Fatal(err)
	}
	limit := gpu.MaxTokens - len(l.Prefix) - len(l.Region)

	for _, backend := range []Backend{BackendVulkan, BackendReference} {
		opts := Options{Backend: backend, Validate: true, Device: vktest.Options().Device}
		for _, n := range []int{limit + 1, 1 << 16, 1 << 30} {
			opts.MaxInstruction = n
			e, err := Open(tinyModel, opts)
			if err == nil {
				e.Close()
				t.Errorf("backend %d: MaxInstruction %d (limit %d) opened", backend, n, limit)
				continue
			}
			var le *InstructionLimitError
			if !errors.As(err, &le) || le.Limit != limit || le.Requested != n {
				t.Errorf("backend %d: MaxInstruction %d: %v, want an InstructionLimitError with limit %d", backend, n, err, limit)
			} else if !strings.Contains(err.Error(), strconv.Itoa(limit)) {
				t.Errorf("the message does not name the limit: %v", err)
			}
		}
	}

	opts := Options{Backend: BackendVulkan, Validate: true, Device: vktest.Options().Device, MaxInstruction: limit}
	e, err := Open(tinyModel, opts)
	if err != nil {
		t.Fatalf("MaxInstruction at the limit %d: %v", limit, err)
	}
	defer e.Close()
	vktest.Gate(t, vkOf(e).VulkanDevice().Instance())
	if got := vkOf(e).MaxSequence(); got != gpu.MaxTokens {
		t.Errorf("at the limit the engine sizes %d tokens per forward, want %d", got, gpu.MaxTokens)
	}
	// one token more than the engine was opened for is the request's error, before any forward
	req.Instruction = make([]int32, limit+1)
	if _, err := e.Step(context.Background(), req); err == nil || !strings.Contains(err.Error(), "exceeds the engine's limit") {
		t.Errorf("a request over MaxInstruction: %v", err)
	}
}
