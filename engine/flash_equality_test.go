package engine

import (
	"testing"

	"github.com/udvla/udvla/engine/gpu"
)

// The engine with a flash attention kernel selected as a user selects it (UDVLA_KERNELS) decodes
// as the reference does, within the tolerance of every equality test: the SIMT kernel in fp32 and
// the emulated-MMA build of flash-nv with fp16 operands.
func TestEqualityFlashAttention(t *testing.T) {
	for _, variant := range []string{gpu.AttentionFlash, gpu.AttentionFlashEmu} {
		t.Run(variant, func(t *testing.T) {
			t.Setenv("UDVLA_KERNELS", "attention="+variant)
			g, _ := openPair(t, tinyModel)
			if k, _ := g.Kernels(); k.Attention != variant {
				t.Fatalf("UDVLA_KERNELS=attention=%s runs %s", variant, k.Attention)
			}
			checkEquality(t, tinyModel, 10)
		})
	}
}
