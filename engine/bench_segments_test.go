package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkLoopSegments runs JD3P control steps of the tiny model with T = 64 and the denoising
// loop submitted step by step (segments=64, one fence wait per step, the baseline), in the
// default split, in 2, and as one submission; each in the same run. It reports the loop's time
// per step and the host's share beside the device time.
func BenchmarkLoopSegments(b *testing.B) {
	e, err := Open(tinyModel, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	const T = 64
	req := randomRequest(e.Config(), rand.New(rand.NewPCG(1, 1)))
	req.Steps = T
	vb := vkOf(e)
	ctx := context.Background()
	for _, k := range []int{T, 0, 2, 1} {
		name := fmt.Sprintf("segments=%d", k)
		if k == 0 {
			name = "segments=default"
		}
		b.Run(name, func(b *testing.B) {
			vb.SetLoopSegments(k)
			defer vb.SetLoopSegments(0)
			if _, err := e.Step(ctx, req); err != nil { // records the segments
				b.Fatal(err)
			}
			b.ResetTimer()
			var loop, gpuT time.Duration
			for i := 0; i < b.N; i++ {
				res, err := e.Step(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				loop += res.Timings.Loop
				gpuT += res.Timings.GPU
			}
			perStep := func(d time.Duration) float64 { return d.Seconds() * 1e6 / float64(b.N*T) }
			b.ReportMetric(perStep(loop), "loop-us/step")
			if gpuT > 0 {
				b.ReportMetric(perStep(loop-gpuT), "host-us/step")
			}
		})
	}
}
