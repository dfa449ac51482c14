package vision

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/udvla/udvla/engine/gpu"
)

// layerFigures are one layer type's totals over a frame's dispatches.
type layerFigures struct {
	flops float64
	t     time.Duration
}

// profileRun runs the recorded r once with timestamps and sums FLOPs and device time per layer
// type (run.tag) and per kernel.
func profileRun(b *testing.B, r *run) (map[string]*layerFigures, map[string]time.Duration) {
	b.Helper()
	if err := r.s.Run(); err != nil {
		b.Fatal(err)
	}
	d, err := r.s.Durations()
	if err != nil {
		b.Fatal(err)
	}
	if d == nil {
		b.Skip("the device has no timestamps")
	}
	per, kernels := map[string]*layerFigures{}, map[string]time.Duration{}
	for i, w := range r.s.Work()[:len(d)] {
		kernels[w.Label] += d[i]
		kind := "other"
		if i < len(r.kinds) {
			kind = r.kinds[i]
		}
		if per[kind] == nil {
			per[kind] = &layerFigures{}
		}
		per[kind].flops += w.FLOPs
		per[kind].t += d[i]
	}
	return per, kernels
}

// matmulAtConvShapes times the project's matmul alone at every distinct GEMM shape of the
// convolutions in gemms (the kernel matrix by a band of n patches, the patches already in place),
// weighted by how often each shape occurs: the FLOPs and device time of the same products without
// the im2col.
func matmulAtConvShapes(b *testing.B, e *core, gemms []convGEMM) layerFigures {
	b.Helper()
	type shape struct{ rows, cols, n int }
	count := map[shape]int{}
	mats := map[shape]*gpu.Matrix{}
	for _, g := range gemms {
		s := shape{g.m.Rows, g.m.Cols, g.n}
		count[s]++
		mats[s] = g.m
	}
	var total layerFigures
	rng := rand.New(rand.NewPCG(7, 8))
	for s, c := range count {
		r := &run{e: e}
		var err error
		if r.s, err = e.dev.NewSequence(); err != nil {
			b.Fatal(err)
		}
		r.s.Timing = true
		xb, x := r.alloc(s.n * s.cols)
		_, y := r.alloc(s.n * s.rows)
		if r.err != nil {
			b.Fatal(r.err)
		}
		raw := make([]byte, 4*s.n*s.cols)
		for i := 0; i < len(raw); i += 4 {
			binary.LittleEndian.PutUint32(raw[i:], math.Float32bits(float32(2*rng.Float64()-1)))
		}
		if err := xb.Write(0, raw); err != nil {
			b.Fatal(err)
		}
		if err := e.mm.Record(r.s, mats[s], gpu.MatmulArgs{X: x, Y: y, N: s.n}); err != nil {
			b.Fatal(err)
		}
		r.tag(kindConv)
		per, _ := profileRun(b, r)
		f := per[kindConv]
		r.close()
		total.flops += float64(c) * f.flops
		total.t += time.Duration(c) * f.t
	}
	return total
}

// reportLayers reports a frame's device time per kernel, its time, FLOPs and GFLOP/s per layer type, the convolutions' GFLOP/s
// against the matmul alone at their GEMM shapes, and logs a table.
func reportLayers(b *testing.B, e *core, r *run) {
	b.Helper()
	per, kernels := profileRun(b, r)
	for name, t := range kernels {
		if name != "" {
			b.ReportMetric(float64(t.Microseconds())/1000, "ms-"+strings.ReplaceAll(name, " ", "-"))
		}
	}
	var all layerFigures
	for _, kind := range []string{kindConv, kindNorm, kindAttention, kindQuantizer, "other"} {
		f := per[kind]
		if f == nil {
			continue
		}
		all.flops += f.flops
		all.t += f.t
		ms := float64(f.t.Microseconds()) / 1000
		b.ReportMetric(ms, "ms-"+kind)
		if f.flops > 0 {
			b.ReportMetric(f.flops/f.t.Seconds()/1e9, "GFLOP/s-"+kind)
		}
		b.Logf("%-9s %10.1f ms %9.3f GFLOP %8.2f GFLOP/s", kind, ms, f.flops/1e9, f.flops/f.t.Seconds()/1e9)
	}
	b.Logf("%-9s %10.1f ms %9.3f GFLOP %8.2f GFLOP/s (device time)", "frame", float64(all.t.Microseconds())/1000,
		all.flops/1e9, all.flops/all.t.Seconds()/1e9)
	conv := per[kindConv]
	if conv == nil {
		return
	}
	mm := matmulAtConvShapes(b, e, r.gemms)
	convRate, mmRate := conv.flops/conv.t.Seconds()/1e9, mm.flops/mm.t.Seconds()/1e9
	b.ReportMetric(mmRate, "GFLOP/s-matmul-same-shapes")
	b.ReportMetric(convRate/mmRate, "conv/matmul")
	b.Logf("matmul alone at the convolutions' %d GEMM bands: %.1f ms, %.2f GFLOP/s; conv/matmul %.3f",
		len(r.gemms), float64(mm.t.Microseconds())/1000, mmRate, convRate/mmRate)
}

// profileEncoder records one more frame of e with timestamps (the quantizer included) and reports
// its layer types.
func profileEncoder(b *testing.B, e *Encoder, px []float32, h, w int) {
	b.Helper()
	e.timing = true
	defer func() { e.timing = false }()
	r, _, _, err := e.recordCodes(px, h, w)
	if r != nil {
		defer r.close()
	}
	if err != nil {
		b.Fatal(err)
	}
	reportLayers(b, &e.core, r)
}
