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
			if got := g.be.(*vkBackend).k.attn.Variant(); got != variant {
				t.Fatalf("UDVLA_KERNELS=attention=%s runs %s", variant, got)
			}
			checkEquality(t, tinyModel, 10)
		})
	}
}
