package vkbackend

import (
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk/vktest"
)

const tinyModel = "../../../testdata/tiny.udvla"

// openTiny opens the tiny model on a validated device and on the reference; the layouts of
// randomLayout spell their size headers with the vocabulary's digit ids.
func openTiny(t *testing.T) (*Backend, *ref.Model, *model.File) {
	t.Helper()
	f, err := model.Open(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b, err := Open(f, Options{Device: vktest.Options().Device, Validate: true, MaxInstruction: 32, Header: f.Config.Vocab.HeaderTokens})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	vktest.Gate(t, b.VulkanDevice().Instance())
	rm, err := ref.NewModel(f.Config.Arch, f.Float32)
	if err != nil {
		t.Fatal(err)
	}
	return b, rm, f
}

// randomLayout lays out random instruction tokens (n of them) and camera codes.
func randomLayout(t *testing.T, cfg *model.Config, r *rand.Rand, n int) *seq.Layout {
	t.Helper()
	instr := make([]int32, n)
	for i := range instr {
		instr[i] = 30 + r.Int32N(cfg.Vocab.TextSize-30)
	}
	var codes [][]int32
	for _, c := range cfg.Decoding.Cameras {
		cc := make([]int32, c.H*c.W)
		for i := range cc {
			cc[i] = r.Int32N(cfg.Vocab.CodebookSize)
		}
		codes = append(codes, cc)
	}
	l, err := seq.BuildWithHeader(cfg.Vocab, cfg.Decoding, instr, codes, cfg.Vocab.HeaderTokens)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// refRun runs a job on the reference.
func refRun(t *testing.T, rm *ref.Model, job *decode.Job) *ref.Result {
	t.Helper()
	opt := ref.Options{Seed: job.Seed, Steps: job.Steps, Mask: job.Rule, Cache: !job.NoCache, ActionSteps: job.ActionSteps}
	var res *ref.Result
	var err error
	switch job.Mode {
	case decode.JD3P:
		res, err = rm.JD3P(job.Layout, opt)
	case decode.AR:
		res, err = rm.GreedyAR(job.Layout, opt)
	case decode.ARRestricted:
		res, err = rm.GreedyARRestricted(job.Layout, opt)
	case decode.ID:
		res, err = rm.IndependentDiffusion(job.Layout, opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}
