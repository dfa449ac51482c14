package engine

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udvla/udvla/engine/model"
)

// maskVariant is one way of running the release-trained model: a rule and whether the prefix
// positions that allow it are cached.
type maskVariant struct {
	name    string
	rule    model.MaskRule
	noCache bool
}

var maskVariants = []maskVariant{
	{"release-nocache", model.MaskRelease, true},
	{"release", model.MaskRelease, false},
	{"release-kv", model.MaskReleaseKV, false},
	{"paper", model.MaskPaper, false},
}

// BenchmarkReleaseCacheCALVIN times a denoising step of each variant at the CALVIN token counts
// with a long instruction (128 tokens: a 876-token prefix of which 129 are text, N = 817), all
// in one run: the exact release step uncached and with its text cached, release-kv and the
// cached paper step. Requests of two steps alternate between the variants, so that a change of
// the machine's load falls on all of them; it reports the median and the fastest step of each
// (the fastest is the figure least moved by other processes on a shared CPU device) and the
// median prefill.
func BenchmarkReleaseCacheCALVIN(b *testing.B) {
	e, req := openCalvinShaped(b, 128)
	defer e.Close()
	req.Steps = 2 // a step's time does not depend on T
	ctx := context.Background()
	run := func(v maskVariant) *Result {
		r := *req
		r.Mask, r.NoCache = v.rule, v.noCache
		res, err := e.Step(ctx, &r)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	for _, v := range maskVariants { // record the plans once
		run(v)
	}
	b.ResetTimer()
	steps := make([][]time.Duration, len(maskVariants))
	prefill := make([][]time.Duration, len(maskVariants))
	for i := 0; i < b.N; i++ {
		for k, v := range maskVariants {
			res := run(v)
			steps[k] = append(steps[k], res.Timings.Steps...)
			prefill[k] = append(prefill[k], res.Timings.Prefill)
		}
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 }
	for k, v := range maskVariants {
		slices.Sort(steps[k])
		slices.Sort(prefill[k])
		b.ReportMetric(ms(steps[k][len(steps[k])/2]), v.name+"-median-ms/step")
		b.ReportMetric(ms(steps[k][0]), v.name+"-min-ms/step")
		b.ReportMetric(ms(prefill[k][len(prefill[k])/2]), v.name+"-prefill-ms")
	}
	// The work of one step as the profile counts it from the recorded dispatches: matmul FLOPs,
	// and attention FLOPs over the pairs the mask lets through.
	b.StopTimer()
	for _, v := range maskVariants {
		r := *req
		r.Mask, r.NoCache, r.Steps = v.rule, v.noCache, 1
		_, p, err := e.StepProfile(ctx, &r)
		if err != nil {
			b.Fatal(err)
		}
		var mm, att float64
		for _, ph := range p.Phases {
			for _, k := range ph.Kernels {
				switch {
				case ph.Name != "step":
				case strings.HasPrefix(k.Kernel, "matmul"):
					mm += k.FLOPs
				case strings.HasPrefix(k.Kernel, "attention"):
					att += k.FLOPs
				}
			}
		}
		b.ReportMetric(mm/1e9, v.name+"-matmul-GFLOP/step")
		b.ReportMetric(att/1e9, v.name+"-attention-GFLOP/step")
	}
}

// BenchmarkMaskModeDistance measures how far release-kv and the paper mask are from the exact
// release run on the tiny random model, over 40 seeds: the NMSE of the first step's region
// logits (sum of squared differences over the release run's sum of squares, both decoding
// spaces, every position), the share of region positions whose final token agrees, the same
// share over the action slots (after BOA), and the runs whose whole region is identical. The
// text-cached release run is measured the same way and comes out exact.
func BenchmarkMaskModeDistance(b *testing.B) {
	g, err := Open(tinyModel, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	const seeds = 40
	type dist struct{ se, ss, agree, pos, actAgree, acts, same float64 }
	for i := 0; i < b.N; i++ {
		r := rand.New(rand.NewPCG(71, 72))
		d := make([]dist, len(maskVariants))
		for s := 0; s < seeds; s++ {
			req := randomRequest(g.Config(), r)
			l, _, err := g.layout(req)
			if err != nil {
				b.Fatal(err)
			}
			var base []float32
			var baseRegion []int32
			for k, v := range maskVariants {
				q := *req
				q.Mask, q.NoCache = v.rule, v.noCache
				lg := float32s(firstStepLogits(b, g, q))
				res, err := g.Step(context.Background(), &q)
				if err != nil {
					b.Fatal(err)
				}
				if k == 0 {
					base, baseRegion = lg, res.Region
				}
				x := &d[k]
				for j := range lg {
					diff := float64(lg[j]) - float64(base[j])
					x.se += diff * diff
					x.ss += float64(base[j]) * float64(base[j])
				}
				same := true
				for j, tok := range res.Region {
					ok := tok == baseRegion[j]
					same = same && ok
					x.pos++
					if ok {
						x.agree++
					}
					if j > l.BOA {
						x.acts++
						if ok {
							x.actAgree++
						}
					}
				}
				if same {
					x.same++
				}
			}
		}
		for k, v := range maskVariants[1:] {
			x := d[k+1]
			b.ReportMetric(x.se/x.ss, v.name+"-nmse")
			b.ReportMetric(100*x.agree/x.pos, v.name+"-agree%")
			b.ReportMetric(100*x.actAgree/x.acts, v.name+"-action-agree%")
			b.ReportMetric(x.same, v.name+"-identical-runs")
		}
	}
}

// float32s decodes little-endian float32s.
func float32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
