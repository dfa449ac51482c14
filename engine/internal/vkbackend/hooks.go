package vkbackend

import (
	"bytes"
	"errors"

	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// The hooks below let tests and tools look inside the backend; decoding never calls them.

// VulkanDevice is the backend's device: for the validation gate and fault injection.
func (b *Backend) VulkanDevice() *vk.Device { return b.dev }

// MaxSequence is the longest sequence the buffers hold now.
func (b *Backend) MaxSequence() int { return b.maxL }

// Plans is the number of request shapes whose recordings are kept (at most MaxPlans).
func (b *Backend) Plans() int { return len(b.plans) }

// TraceStates turns on (or off) reading the region state back after every denoising step, a
// readback the loop otherwise never does; it clears the states kept.
func (b *Backend) TraceStates(on bool) { b.trace, b.states = on, nil }

// States are the region states read back since TraceStates, one per step.
func (b *Backend) States() [][]int32 { return b.states }

// PoisonLogits fills the logits buffer with NaNs, so that stale values cannot pass for results.
func (b *Backend) PoisonLogits() error {
	return b.acts.logits.Write(0, bytes.Repeat([]byte{0xff, 0xff, 0xbf, 0x7f}, int(b.logitsFloats)))
}

// RegionLogits returns the raw restricted logits the last Decode's last step wrote: those of the
// image positions over the image space, then those of the action positions over the action space.
func (b *Backend) RegionLogits() ([]byte, error) {
	if b.last == nil {
		return nil, errors.New("udvla: no decode ran")
	}
	l := b.lastJob.Layout
	nImg, nAct := len(l.Allowed[seq.SpaceImage]), len(l.Allowed[seq.SpaceAction])
	img := make([]byte, 4*l.BOA*nImg)
	act := make([]byte, 4*(l.N()-l.BOA)*nAct)
	if err := b.acts.logits.Read(0, img); err != nil {
		return nil, err
	}
	if err := b.acts.logits.Read(int64(4*b.last.actOff), act); err != nil {
		return nil, err
	}
	return append(img, act...), nil
}

// SetLoopSegments sets how many segments a denoising loop is cut into (at least 1; 0 restores the
// default): for benchmarks that weigh submissions against cancellation latency.
func (b *Backend) SetLoopSegments(n int) {
	if n <= 0 {
		n = loopSegments
	}
	b.segments = n
}

// MappedBuffers reports whether the host maps the activations, the step parameters and the
// weights directly (else they travel through the staging ring).
func (b *Backend) MappedBuffers() (activations, stepParams, weights bool) {
	return b.acts.x.Mappable(), b.acts.params.Mappable(), b.w.embedBuf.Mappable()
}
