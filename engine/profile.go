package engine

import (
	"context"
	"errors"
	"time"

	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/internal/vkbackend"
	"github.com/udvla/udvla/engine/vk"
)

// KernelTime is one kernel's part of a phase of a control step: the device time of its commands
// (from the timestamp written after each command) and their nominal work (vk.Work, stated by each
// kernel's Record), attention counting only the (query, key) pairs the step's mask lets through.
type KernelTime struct {
	Kernel     string // the shader, with the weight dtype for matmul and embed ("matmul q8_0"), or "copy"
	Dispatches int
	Time       time.Duration
	FLOPs      float64
	Bytes      float64
}

// GFLOPS is the achieved rate, 0 without time or FLOPs.
func (k KernelTime) GFLOPS() float64 {
	if k.Time <= 0 {
		return 0
	}
	return k.FLOPs / k.Time.Seconds() / 1e9
}

// GBPS is the achieved bandwidth over the kernel's minimal traffic, 0 without time or bytes.
func (k KernelTime) GBPS() float64 {
	if k.Time <= 0 {
		return 0
	}
	return k.Bytes / k.Time.Seconds() / 1e9
}

// PhaseProfile is one recorded sequence kind of a control step: "prefill" (the prefix into the KV
// cache), "step" (a denoising step: forward of the region, lm_head, sampling, selection),
// "handoff" (independent diffusion's switch from images to actions) or "ar" (the AR token
// passes). Kernels hold totals over the Runs the phase made in the control step, by descending
// time. A device keeps only the last replay's timestamps of a recorded sequence, so the kernels of
// a phase replayed Runs times (the denoising steps) keep their shares of the last replay, scaled
// so that the phase's total is the device time of all its replays (Timings.GPU); the AR passes
// are distinct recordings and are summed exactly.
type PhaseProfile struct {
	Name    string
	Runs    int
	Kernels []KernelTime
}

// Time is the phase's device time.
func (p *PhaseProfile) Time() time.Duration {
	var t time.Duration
	for _, k := range p.Kernels {
		t += k.Time
	}
	return t
}

// Profile is where the device time of one control step went.
type Profile struct {
	Phases []PhaseProfile
}

// Kernels merges the phases: each kernel's totals over the whole control step, by descending time.
func (p *Profile) Kernels() []KernelTime {
	sums := decode.KernelSums{}
	for _, ph := range p.Phases {
		for _, k := range ph.Kernels {
			sums.Add(decode.KernelTime(k))
		}
	}
	var out []KernelTime
	for _, k := range sums.Sorted() {
		out = append(out, KernelTime(k))
	}
	return out
}

// ErrNoProfile is returned by StepProfile where there is nothing to time: the CPU reference, or a
// device without timestamp queries.
var ErrNoProfile = errors.New("udvla: per-kernel profiles need the Vulkan backend on a device with timestamp queries")

// profiler is a backend that times every kernel of its last Decode.
type profiler interface {
	Profiles() bool // whether the device can
	Profile(job *decode.Job, res *decode.Result) ([]decode.Phase, error)
}

// device is a backend on a Vulkan device.
type device interface {
	DeviceInfo() vk.DeviceInfo
}

// Device describes the Vulkan device of the engine; false for the CPU reference.
func (e *Engine) Device() (vk.DeviceInfo, bool) {
	if b, ok := e.be.(device); ok {
		return b.DeviceInfo(), true
	}
	return vk.DeviceInfo{}, false
}

// StepProfile runs a control step exactly as Step does and returns, with its result, the device
// time of every kernel of that step.
func (e *Engine) StepProfile(ctx context.Context, req *Request) (*Result, *Profile, error) {
	if req == nil {
		return nil, nil, errors.New("udvla: nil request")
	}
	start := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, nil, ErrClosed
	}
	b, ok := e.be.(profiler)
	if !ok || !b.Profiles() {
		return nil, nil, ErrNoProfile
	}
	// Step's body, under the same lock as the profile, so no other step replays the recordings
	// in between.
	r, err := e.stepLocked(ctx, req, start)
	if err != nil {
		return nil, nil, err
	}
	phases, err := b.Profile(r.job, r.d)
	if errors.Is(err, vkbackend.ErrNoTimestamps) {
		return nil, nil, ErrNoProfile
	}
	if err != nil {
		return nil, nil, err
	}
	prof := &Profile{}
	for _, ph := range phases {
		p := PhaseProfile{Name: ph.Name, Runs: ph.Runs}
		for _, k := range ph.Kernels {
			p.Kernels = append(p.Kernels, KernelTime(k))
		}
		prof.Phases = append(prof.Phases, p)
	}
	return r.res, prof, nil
}
