package engine

import (
	"fmt"
	"time"

	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/seq"
)

// refBackend runs the CPU reference: slow, exact, and the yardstick of the Vulkan backend.
type refBackend struct {
	m   *ref.Model
	cfg *model.Config
}

func newRefBackend(f *model.File) (*refBackend, error) {
	m, err := ref.NewModel(f.Config.Arch, f.Float32)
	if err != nil {
		return nil, err
	}
	return &refBackend{m: m, cfg: &f.Config}, nil
}

func (b *refBackend) Name() string { return "reference (CPU)" }
func (b *refBackend) Close()       {}

func (b *refBackend) Decode(job *decode.Job) (*decode.Result, error) {
	l := job.Layout
	opt := ref.Options{Seed: job.Seed, Steps: job.Steps, Mask: job.Rule, Cache: !job.NoCache,
		ActionSteps: job.ActionSteps}
	var stopErr error
	opt.Continue = func(s int) bool {
		m, err := job.ProceedStep(s, 1, job.Steps)
		if err != nil {
			stopErr = err
		}
		return m > 0
	}
	start := time.Now()
	var r *ref.Result
	var err error
	switch job.Mode {
	case decode.JD3P:
		r, err = b.m.JD3P(l, opt)
	case decode.AR:
		r, err = b.m.GreedyAR(l, opt)
	case decode.ARRestricted:
		r, err = b.m.GreedyARRestricted(l, opt)
	case decode.ID:
		r, err = b.m.IndependentDiffusion(l, opt)
	default:
		err = fmt.Errorf("udvla: unknown mode %v", job.Mode)
	}
	if err != nil {
		return nil, err
	}
	if stopErr == nil && job.Mode != decode.JD3P && job.Proceed != nil {
		// The other modes' loops ask nothing on the way: cancellation shows at the end.
		if _, err := job.Proceed(r.Forwards, 0); err != nil {
			stopErr = fmt.Errorf("udvla: step cancelled: %w", err)
		}
	}
	if stopErr != nil {
		return nil, stopErr
	}
	d := &decode.Result{Region: r.Region, Generated: r.Generated, Timings: decode.Timings{Loop: time.Since(start)},
		StepsRun: r.Forwards}
	if job.Mode.Autoregressive() {
		d.StepsRun = r.Generated
	}
	return d, nil
}

func (b *refBackend) Logits(ids []int32, mask *seq.Mask) ([]float32, error) {
	pos := make([]int32, len(ids))
	for i := range pos {
		pos[i] = int32(i)
	}
	return b.m.Forward(ids, pos, ref.ForwardOptions{Mask: mask})
}
