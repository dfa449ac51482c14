package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/udvla/udvla/engine/internal/vkbackend"
	"github.com/udvla/udvla/engine/model"
)

func openTiny(t *testing.T) *Engine {
	t.Helper()
	g, _ := openPair(t, tinyModel)
	return g
}

// The same seed gives bit-identical results run after run; the KV-cached paper step equals the
// uncached one.
func TestDeterministicAndCacheExact(t *testing.T) {
	g := openTiny(t)
	r := rand.New(rand.NewPCG(21, 22))
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		req := randomRequest(g.Config(), r)
		a, err := g.Step(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := g.Step(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Region, b.Region) {
			t.Fatalf("seed %d: two runs differ", req.Seed)
		}
		nc := *req
		nc.NoCache = true
		c, err := g.Step(ctx, &nc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Region, c.Region) {
			t.Fatalf("seed %d: cached and uncached paper steps differ", req.Seed)
		}
		other := *req
		other.Seed++
		d, err := g.Step(ctx, &other)
		if err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(a.Region, d.Region) {
			t.Fatalf("seeds %d and %d gave the same region", req.Seed, other.Seed)
		}
	}
}

// A result carries a whole action chunk and the per-camera codes.
func TestResultShape(t *testing.T) {
	g := openTiny(t)
	req := randomRequest(g.Config(), rand.New(rand.NewPCG(1, 2)))
	res, err := g.Step(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	f := g.Config().Fast
	if len(res.Actions) != f.Horizon || len(res.Actions[0]) != f.Dims {
		t.Fatalf("actions %dx%d, want %dx%d", len(res.Actions), len(res.Actions[0]), f.Horizon, f.Dims)
	}
	for i, c := range g.Config().Decoding.Cameras {
		if len(res.FutureCodes[i]) != c.H*c.W {
			t.Fatalf("camera %d: %d codes", i, len(res.FutureCodes[i]))
		}
	}
	if len(res.Timings.Steps) != g.Config().Decoding.Steps || res.Timings.Loop <= 0 || res.TokensPerSecond() <= 0 {
		t.Fatalf("timings %+v", res.Timings)
	}
}

// stepCountdown is a context that is cancelled once Err has been asked n times: the decoding
// loop asks before every step, so it cancels in the middle of a control step.
type stepCountdown struct {
	context.Context
	mu sync.Mutex
	n  int
}

func (c *stepCountdown) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// A cancelled context stops between steps with a clear error and leaves the engine usable. The
// loop is submitted in segments of steps and checks the context before each, so the cancel lands
// after some steps and before the last.
func TestCancelLeavesEngineUsable(t *testing.T) {
	g := openTiny(t)
	req := randomRequest(g.Config(), rand.New(rand.NewPCG(3, 4)))
	want, err := g.Step(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// One check at the start of Step, then one per segment: cancel before the third segment.
	_, err = g.Step(&stepCountdown{Context: context.Background(), n: 3}, req)
	var done, of int
	if err != nil && strings.Contains(err.Error(), "after") {
		_, _ = fmt.Sscanf(err.Error()[strings.Index(err.Error(), "after"):], "after %d of %d", &done, &of)
	}
	if err == nil || !errors.Is(err, context.Canceled) || done < 2 || done >= of {
		t.Fatalf("cancelled step: err = %v", err)
	}
	got, err := g.Step(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Region, want.Region) {
		t.Fatal("the engine gives another result after a cancelled step")
	}
}

// Bad requests get clear errors and leave the engine usable; a closed engine says so.
func TestBadInput(t *testing.T) {
	g := openTiny(t)
	cfg := g.Config()
	good := func() *Request { return randomRequest(cfg, rand.New(rand.NewPCG(5, 6))) }
	cases := map[string]func(*Request){
		"token out of range":   func(r *Request) { r.Instruction[0] = int32(cfg.Arch.Vocab) + 5 },
		"negative token":       func(r *Request) { r.Instruction[0] = -1 },
		"code out of range":    func(r *Request) { r.Codes[0][3] = cfg.Vocab.CodebookSize },
		"missing camera":       func(r *Request) { r.Codes = r.Codes[:1] },
		"short grid":           func(r *Request) { r.Codes[1] = r.Codes[1][:2] },
		"bad mode":             func(r *Request) { r.Mode = 9 },
		"causal mask":          func(r *Request) { r.Mask = model.MaskCausal },
		"unknown mask":         func(r *Request) { r.Mask = 17 },
		"too many steps":       func(r *Request) { r.Steps = 5000 },
		"instruction too long": func(r *Request) { r.Instruction = make([]int32, 1000) },
	}
	for name, spoil := range cases {
		req := good()
		spoil(req)
		if _, err := g.Step(context.Background(), req); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), "udvla") {
			t.Errorf("%s: error %q does not say where it comes from", name, err)
		}
	}
	if _, err := g.Step(context.Background(), nil); err == nil {
		t.Error("nil request: no error")
	}
	if _, err := g.Step(context.Background(), good()); err != nil {
		t.Fatalf("engine unusable after bad requests: %v", err)
	}
	g.Close()
	if _, err := g.Step(context.Background(), good()); !errors.Is(err, ErrClosed) {
		t.Fatalf("step after close: %v", err)
	}
}

// Concurrent steps on one engine are safe and give the sequential results.
func TestConcurrentSteps(t *testing.T) {
	g := openTiny(t)
	r := rand.New(rand.NewPCG(7, 8))
	reqs := make([]*Request, 6)
	want := make([][]int32, len(reqs))
	for i := range reqs {
		reqs[i] = randomRequest(g.Config(), r)
		reqs[i].Steps = 3
		res, err := g.Step(context.Background(), reqs[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res.Region
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(reqs))
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, req := range reqs {
				res, err := g.Step(context.Background(), req)
				if err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(res.Region, want[i]) {
					errs <- errors.New("a concurrent step differs from the sequential one")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Requests of more shapes than the engine keeps recordings for still give the same results when
// an evicted shape comes back.
func TestPlanEviction(t *testing.T) {
	g := openTiny(t)
	r := rand.New(rand.NewPCG(9, 10))
	first := randomRequest(g.Config(), r)
	first.Steps = 2
	want, err := g.Step(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= vkbackend.MaxPlans+2; n++ { // instruction lengths 1.. give distinct prefix lengths
		req := randomRequest(g.Config(), r)
		req.Steps = 2
		req.Instruction = req.Instruction[:0]
		for i := 0; i < n+10; i++ {
			req.Instruction = append(req.Instruction, int32(40+i))
		}
		if _, err := g.Step(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if n := vkOf(g).Plans(); n > vkbackend.MaxPlans {
		t.Fatalf("%d recordings kept, limit %d", n, vkbackend.MaxPlans)
	}
	got, err := g.Step(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Region, want.Region) {
		t.Fatal("a re-recorded shape gives another result")
	}
}
