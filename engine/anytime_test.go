package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
)

// stepClock is a clock of steps: before denoising step s it reads t0 + s*step, so every step
// measures exactly step, whatever the machine does and however the steps are submitted.
func stepClock(t0 time.Time, step time.Duration) func(s int) time.Time {
	return func(s int) time.Time { return t0.Add(time.Duration(s) * step) }
}

// budgetRequest runs req with a deadline of k.5 clock steps on an engine whose clock advances one
// hour per denoising step: the budget allows exactly max(k, 1) steps.
func budgetRequest(t testing.TB, e *Engine, req *Request, k int) *Result {
	t.Helper()
	const hour = time.Hour
	t0 := time.Now()
	e.now = stepClock(t0, hour)
	defer func() { e.now = nil }()
	ctx, cancel := context.WithDeadline(context.Background(), t0.Add(time.Duration(k)*hour+hour/2))
	defer cancel()
	res, err := e.Step(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// traceSampled is the reference's sampled tokens of every step of a full JD3P run of req.
func traceSampled(t *testing.T, e *Engine, req *Request) [][]int32 {
	t.Helper()
	l, steps, err := e.layout(req)
	if err != nil {
		t.Fatal(err)
	}
	rm := e.be.(*refBackend).m
	r, err := rm.JD3P(l, ref.Options{Seed: req.Seed, Steps: steps, Mask: req.Mask, Cache: req.Mask == model.MaskPaper, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]int32, len(r.Trace.Steps))
	for i, st := range r.Trace.Steps {
		out[i] = st.Sampled
	}
	return out
}

// A deadline that allows k steps runs exactly k (the first always), and the result is the k-th
// step's sampled tokens marked early, on both backends; a deadline that allows all T runs all and
// is not marked.
func TestAnytimeBudgetAllowsKSteps(t *testing.T) {
	g, rf := openPair(t, tinyModel)
	r := rand.New(rand.NewPCG(71, 72))
	for _, rule := range []model.MaskRule{model.MaskPaper, model.MaskRelease} {
		req := randomRequest(g.Config(), r)
		req.Mask = rule
		sampled := traceSampled(t, rf, req)
		T := len(sampled)
		for _, e := range []*Engine{g, rf} {
			for k := 0; k <= T+1; k++ {
				res := budgetRequest(t, e, req, k)
				want := max(k, 1)
				if want > T {
					want = T
				}
				if res.StepsRun != want || res.Early != (want < T) || len(res.Timings.Steps) != want && e == g {
					t.Fatalf("%s %v budget for %d steps: ran %d, early %v", e.BackendName(), rule, k, res.StepsRun, res.Early)
				}
				if !reflect.DeepEqual(res.Region, sampled[want-1]) {
					t.Fatalf("%s %v after %d steps: region\n %v\nwant the step's samples\n %v", e.BackendName(), rule, want, res.Region, sampled[want-1])
				}
			}
		}
		full, err := g.Step(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if full.Early || full.StepsRun != T || !reflect.DeepEqual(full.Region, sampled[T-1]) {
			t.Fatalf("a step without a deadline: early %v, %d steps", full.Early, full.StepsRun)
		}
	}
}

// The other modes never stop early: a deadline is only a limit for them.
func TestAnytimeOnlyJD3P(t *testing.T) {
	_, rf := openPair(t, tinyModel)
	req := randomRequest(rf.Config(), rand.New(rand.NewPCG(73, 74)))
	req.Mode, req.Steps, req.ActionSteps = ModeID, 3, 3
	res := budgetRequest(t, rf, req, 1)
	if res.Early || res.StepsRun != 6 {
		t.Fatalf("independent diffusion under a deadline: early %v, %d steps", res.Early, res.StepsRun)
	}
}

// How often a JD3P chunk stopped after k of T steps still decodes to a complete action chunk on
// the tiny model, over 40 seeds per mask rule, through the Vulkan engine's anytime path
// (docs/PERFORMANCE.md). Beside it: how often an EOA was found and how many of the chunk's action
// slots (BOA+1 .. N-1) already hold the full run's token. A benchmark so that the test suite
// does not pay for it:
//
//	go test -count=1 -run XXX -bench AnytimeCompleteChunks -benchtime 1x -v ./engine
func BenchmarkAnytimeCompleteChunks(b *testing.B) {
	for range b.N {
		anytimeTable(b)
	}
}

func anytimeTable(t *testing.B) {
	g, _ := openPair(t, tinyModel)
	r := rand.New(rand.NewPCG(75, 76))
	const seeds = 40
	T := g.Config().Decoding.Steps
	for _, rule := range []model.MaskRule{model.MaskPaper, model.MaskRelease} {
		complete, eoa, same := make([]int, T), make([]int, T), make([]int, T)
		slots := 0
		for i := 0; i < seeds; i++ {
			req := randomRequest(g.Config(), r)
			req.Mask = rule
			full := budgetRequest(t, g, req, T)
			if full.Early || full.StepsRun != T {
				t.Fatalf("a budget of T steps stopped early after %d", full.StepsRun)
			}
			l, _, err := g.layout(req)
			if err != nil {
				t.Fatal(err)
			}
			slots += l.N() - l.BOA - 1
			for k := 1; k <= T; k++ {
				res := full
				if k < T {
					res = budgetRequest(t, g, req, k)
				}
				if res.StepsRun != k || res.Early != (k < T) {
					t.Fatalf("budget of %d steps: ran %d, early %v", k, res.StepsRun, res.Early)
				}
				if res.ActionsComplete {
					complete[k-1]++
				}
				if res.EOAFound {
					eoa[k-1]++
				}
				for j := l.BOA + 1; j < l.N(); j++ {
					if res.Region[j] == full.Region[j] {
						same[k-1]++
					}
				}
			}
		}
		t.Logf("%v mask, %d seeds, T = %d", rule, seeds, T)
		t.Logf("%-6s %-15s %-10s %s", "steps", "complete chunk", "EOA found", "action slots equal to the T-step run")
		for k := range complete {
			t.Logf("%-6d %-15s %-10s %.1f%%", k+1, fmt.Sprintf("%d/%d", complete[k], seeds), fmt.Sprintf("%d/%d", eoa[k], seeds),
				100*float64(same[k])/float64(slots))
		}
	}
}

// A deadline that has already passed still gets the first step's answer in JD3P (marked early);
// the other modes refuse to start.
func TestAnytimePassedDeadline(t *testing.T) {
	g, _ := openPair(t, tinyModel)
	req := randomRequest(g.Config(), rand.New(rand.NewPCG(77, 78)))
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	res, err := g.Step(ctx, req)
	if err != nil || !res.Early || res.StepsRun != 1 {
		t.Fatalf("JD3P past its deadline: %v, %+v", err, res)
	}
	req.Mode = ModeARRestricted
	if _, err := g.Step(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AR past its deadline: %v", err)
	}
}
