package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// matmulFLOPs is the matmul work of a control step counted from the architecture: every
// projection of every layer for every token forwarded, and the lm_head rows of each position's
// decoding space.
// Independent diffusion runs steps image steps over the image positions and actionSteps steps
// over the whole region.
func matmulFLOPs(a model.Arch, l *seq.Layout, mode Mode, steps, actionSteps, generated int) float64 {
	qw, kw := a.Heads*a.HeadDim, a.KVHeads*a.HeadDim
	perToken := 2 * float64(a.Layers) * float64(a.Hidden*(qw+2*kw)+qw*a.Hidden+3*a.Hidden*a.FFN)
	P, N := l.P(), l.N()
	head := func(space uint8, rows int) float64 { return 2 * float64(a.Hidden*rows*len(l.Allowed[space])) }
	prefill := float64(P) * perToken
	switch mode {
	case ModeAR, ModeARRestricted:
		total := prefill
		for j := 0; j < generated; j++ {
			if mode == ModeAR {
				total += 2 * float64(a.Hidden*a.Vocab) // unconstrained: every lm_head row
			} else {
				total += head(l.Space[j], 1)
			}
			if j < N-1 {
				total += perToken
			}
		}
		return total
	case ModeID:
		image := float64(l.BOA)*perToken + head(seq.SpaceImage, l.BOA)
		return prefill + float64(steps)*image + float64(actionSteps)*(float64(N)*perToken+head(seq.SpaceImage, l.BOA)+head(seq.SpaceAction, N-l.BOA))
	}
	step := float64(N)*perToken + head(seq.SpaceImage, l.BOA) + head(seq.SpaceAction, N-l.BOA)
	return prefill + float64(steps)*step
}

// visiblePairs counts the (query, key) pairs a mask lets through for queries [q0, q0+nq) over
// keys [0, nk).
func visiblePairs(m *seq.Mask, q0, nq, nk int) float64 {
	n := 0
	for q := q0; q < q0+nq; q++ {
		for k := 0; k < nk; k++ {
			if m.Allowed(q, k) {
				n++
			}
		}
	}
	return float64(n)
}

func TestStepProfile(t *testing.T) {
	g, ref := openPair(t, tinyModel)
	cfg := g.Config()
	a := cfg.Arch
	if _, ok := g.Device(); !ok {
		t.Fatal("no device info on the Vulkan backend")
	}
	if _, _, err := ref.StepProfile(context.Background(), randomRequest(cfg, rand.New(rand.NewPCG(1, 1)))); !errors.Is(err, ErrNoProfile) {
		t.Fatalf("reference profile: %v, want ErrNoProfile", err)
	}
	if info, _ := g.Device(); !info.Timestamps {
		t.Skip("the device has no timestamps")
	}
	r := rand.New(rand.NewPCG(21, 22))
	// Under the model's rule, release, the text is forwarded once (the prefill phase) and the
	// current images with the region at every step; with NoCache there is no prefill phase for
	// the diffusion modes.
	for _, c := range []struct {
		mode    Mode
		noCache bool
		want    []string
	}{
		{ModeJD3P, false, []string{"prefill", "step"}}, {ModeJD3P, true, []string{"step"}},
		{ModeAR, false, []string{"prefill", "ar"}}, {ModeARRestricted, false, []string{"prefill", "ar"}},
		{ModeID, false, []string{"prefill", "image-step", "action-step", "handoff"}},
		{ModeID, true, []string{"image-step", "action-step", "handoff"}},
	} {
		mode, want := c.mode, c.want
		req := randomRequest(cfg, r)
		req.Mode, req.Steps, req.ActionSteps, req.NoCache = mode, 2, 2, c.noCache
		_, p, err := g.StepProfile(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ph := range p.Phases {
			names = append(names, ph.Name)
		}
		if !reflect.DeepEqual(names, want) {
			t.Fatalf("release rule, %v, NoCache %v: phases %v, want %v", mode, c.noCache, names, want)
		}
	}
	// The paper mode caches the prefix; the FLOP counts below follow its passes.
	for _, mode := range Modes {
		req := randomRequest(cfg, r)
		req.Mode, req.Steps, req.ActionSteps, req.Mask = mode, 3+r.IntN(3), 2+r.IntN(3), model.MaskPaper
		res, p, err := g.StepProfile(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := g.Step(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Region, plain.Region) {
			t.Errorf("%v: the profiled step decoded %v, the plain one %v", mode, res.Region, plain.Region)
		}
		var names []string
		for _, ph := range p.Phases {
			names = append(names, ph.Name)
		}
		want := map[Mode][]string{ModeJD3P: {"prefill", "step"}, ModeAR: {"prefill", "ar"}, ModeARRestricted: {"prefill", "ar"}, ModeID: {"prefill", "image-step", "action-step", "handoff"}}[mode]
		if !reflect.DeepEqual(names, want) {
			t.Fatalf("%v: phases %v, want %v", mode, names, want)
		}
		// The decoding loop's phases add up to the loop's measured device time.
		loopPhases := p.Phases[1:2]
		if mode == ModeID {
			loopPhases = p.Phases[1:3]
		}
		var loopTime time.Duration
		kernelCount := 0
		for _, ph := range loopPhases {
			loopTime += ph.Time()
			kernelCount += len(ph.Kernels)
		}
		if d := loopTime - res.Timings.GPU; d < -time.Microsecond*time.Duration(kernelCount) || d > time.Microsecond*time.Duration(kernelCount) {
			t.Errorf("%v: loop phases %v, loop GPU time %v", mode, loopTime, res.Timings.GPU)
		}
		l, _, err := g.layout(req)
		if err != nil {
			t.Fatal(err)
		}
		kernels := map[string]KernelTime{}
		for _, k := range p.Kernels() {
			kernels[k.Kernel] = k
		}
		if got, want := kernels["matmul f32"].FLOPs, matmulFLOPs(a, l, mode, req.Steps, req.ActionSteps, res.Generated); got != want {
			t.Errorf("%v: matmul %g FLOPs, the architecture says %g", mode, got, want)
		}
		// Attention counts the pairs the mask lets through.
		P, N := l.P(), l.N()
		perPair := 4 * float64(a.Heads*a.HeadDim*a.Layers)
		var pairs float64
		switch mode {
		case ModeAR, ModeARRestricted:
			m := seq.CausalMask(P + N)
			pairs = visiblePairs(m, 0, P, P)
			for j := 0; j < res.Generated && j < N-1; j++ {
				pairs += visiblePairs(m, P+j, 1, P+j+1)
			}
		default:
			m := seq.PaperMask(l)
			pairs = visiblePairs(m, 0, P, P) + float64(req.Steps)*visiblePairs(m, P, N, P+N)
			if mode == ModeID {
				pairs = visiblePairs(m, 0, P, P) + float64(req.Steps)*visiblePairs(m, P, l.BOA, P+l.BOA) +
					float64(req.ActionSteps)*visiblePairs(m, P, N, P+N)
			}
		}
		if got := kernels["attention"].FLOPs + kernels["attention_scalar"].FLOPs; got != perPair*pairs {
			t.Errorf("%v: attention %g FLOPs, the mask says %g", mode, got, perPair*pairs)
		}
		for _, k := range p.Kernels() {
			if k.Time <= 0 || k.Dispatches <= 0 {
				t.Errorf("%v: kernel %+v has no time or dispatches", mode, k)
			}
		}
	}
}
