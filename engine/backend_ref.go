package engine

import (
	"context"
	"fmt"
	"time"

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

func (b *refBackend) name() string { return "reference (CPU)" }
func (b *refBackend) close()       {}

func (b *refBackend) decode(ctx context.Context, l *seq.Layout, req *Request, steps int, at *anytime) (*decoded, error) {
	opt := ref.Options{Seed: req.Seed, Steps: steps, Mask: req.Mask, Cache: !req.NoCache && req.Mask == model.MaskPaper,
		ActionSteps: req.actionSteps()}
	opt.Continue = func(s int) bool { return at.next(s) && !at.expired(ctx, s) }
	start := time.Now()
	var r *ref.Result
	var err error
	switch req.Mode {
	case ModeJD3P:
		r, err = b.m.JD3P(l, opt)
	case ModeAR:
		r, err = b.m.GreedyAR(l, opt)
	case ModeARRestricted:
		r, err = b.m.GreedyARRestricted(l, opt)
	case ModeID:
		r, err = b.m.IndependentDiffusion(l, opt)
	default:
		err = fmt.Errorf("udvla: unknown mode %v", req.Mode)
	}
	if err != nil {
		return nil, err
	}
	loop := time.Since(start)
	d := &decoded{region: r.Region, generated: r.Generated, timings: Timings{Loop: loop}, early: at != nil && at.stopped,
		stepsRun: r.Forwards}
	if req.Mode.autoregressive() {
		d.stepsRun = r.Generated
	}
	if err := ctx.Err(); err != nil && !(at != nil && err == context.DeadlineExceeded) {
		return nil, err
	}
	return d, nil
}

func (b *refBackend) logits(ids []int32, rule model.MaskRule) ([]float32, error) {
	mask, err := seq.MaskForIDs(rule, ids, b.cfg.Vocab, cameraCount(b.cfg))
	if err != nil {
		return nil, err
	}
	pos := make([]int32, len(ids))
	for i := range pos {
		pos[i] = int32(i)
	}
	return b.m.Forward(ids, pos, ref.ForwardOptions{Mask: mask})
}

func cameraCount(cfg *model.Config) int {
	if cfg.Decoding == nil {
		return 0
	}
	return len(cfg.Decoding.Cameras)
}
