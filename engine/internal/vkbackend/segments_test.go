package vkbackend

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/model"
)

// A denoising loop gives the reference's region bit for bit however it is cut into submissions:
// one step each, a few segments, the whole loop at once, and the uneven cuts Proceed asks for
// (anytime decoding), in JD3P and in both loops of independent diffusion.
func TestLoopSegmentsEqualReference(t *testing.T) {
	b, rm, f := openTiny(t)
	r := rand.New(rand.NewPCG(91, 92))
	const steps = 7
	// uneven grants the first step alone, then at most 2 steps at a time
	uneven := func(s, n int) (int, error) {
		if s == 0 {
			return 1, nil
		}
		return min(n, 2), nil
	}
	for _, mode := range []decode.Mode{decode.JD3P, decode.ID} {
		for _, rule := range []model.MaskRule{model.MaskPaper, model.MaskRelease} {
			job := &decode.Job{Layout: randomLayout(t, &f.Config, r, 3+r.IntN(5)), Mode: mode, Rule: rule,
				Seed: r.Uint64(), Steps: steps, ActionSteps: 5}
			want := refRun(t, rm, job)
			for _, c := range []struct {
				segments int
				proceed  func(s, n int) (int, error)
			}{{steps, nil}, {3, nil}, {1, nil}, {4, uneven}, {1, uneven}} {
				b.segments = c.segments
				job.Proceed = c.proceed
				got, err := b.Decode(job)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Region, want.Region) {
					t.Errorf("%v %v, %d segments (uneven %v):\n gpu %v\n ref %v", mode, rule, c.segments, c.proceed != nil, got.Region, want.Region)
				}
				if wantSteps := want.Forwards; got.StepsRun != wantSteps || len(got.Timings.Steps) != wantSteps {
					t.Errorf("%v: %d steps run, %d step times, want %d", mode, got.StepsRun, len(got.Timings.Steps), wantSteps)
				}
			}
		}
	}
}

// segmentLen cuts a loop into the configured number of near-equal segments, one step each while
// the state is traced.
func TestSegmentLen(t *testing.T) {
	b := &Backend{}
	for _, c := range []struct {
		segments, steps int
		want            []int
	}{
		{4, 10, []int{3, 3, 3, 1}}, {4, 3, []int{1, 1, 1}}, {1, 5, []int{5}}, {2, 1, []int{1}}, {3, 9, []int{3, 3, 3}},
	} {
		b.segments = c.segments
		var got []int
		for s := 0; s < c.steps; s += got[len(got)-1] {
			got = append(got, b.segmentLen(s, c.steps))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%d steps in %d segments: %v, want %v", c.steps, c.segments, got, c.want)
		}
	}
	b.trace = true
	if n := b.segmentLen(0, 10); n != 1 {
		t.Errorf("tracing: a segment of %d steps", n)
	}
}

// A cancellation between segments fails the job with what ran, and the next job decodes as the
// reference does; the cancellation is asked only at segment boundaries.
func TestLoopCancelBetweenSegments(t *testing.T) {
	b, rm, f := openTiny(t)
	r := rand.New(rand.NewPCG(93, 94))
	job := &decode.Job{Layout: randomLayout(t, &f.Config, r, 4), Mode: decode.JD3P, Rule: model.MaskRelease,
		Seed: r.Uint64(), Steps: 8}
	b.segments = 4
	var asked []int
	cancel := errors.New("cancelled")
	job.Proceed = func(s, n int) (int, error) {
		asked = append(asked, s)
		if s >= 4 {
			return 0, cancel
		}
		return n, nil
	}
	_, err := b.Decode(job)
	if !errors.Is(err, cancel) || !strings.Contains(err.Error(), "after 4 of 8") {
		t.Fatalf("cancelled job: %v", err)
	}
	if !reflect.DeepEqual(asked, []int{0, 2, 4}) {
		t.Errorf("asked before steps %v, want the segment starts [0 2 4]", asked)
	}
	job.Proceed = nil
	got, err := b.Decode(job)
	if err != nil {
		t.Fatal(err)
	}
	if want := refRun(t, rm, job); !reflect.DeepEqual(got.Region, want.Region) {
		t.Errorf("after a cancel:\n gpu %v\n ref %v", got.Region, want.Region)
	}
}
