package engine

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

// calvinShaped writes a random model with the real CALVIN token counts (main camera 25x25,
// wrist 10x10, L_a = 70, T = 72: N = 817 generated positions) and a small backbone.
func calvinShaped(b *testing.B, arch model.Arch, dt quant.DType) string {
	o, err := build.TinyOptions("../testdata/fast")
	if err != nil {
		b.Fatal(err)
	}
	v, n := model.ScaledVocab(1100, 2048, 1024)
	cams := []model.Camera{{Name: "main", H: 25, W: 25}, {Name: "wrist", H: 10, W: 10}}
	v.HeaderIDs = v.HeaderIDSet(cams)
	arch.Vocab, arch.RopeTheta, arch.RMSEps = n, 1e6, 1e-5
	o.Arch, o.Vocab, o.DType, o.Seed = arch, v, dt, 3
	o.Decoding = &model.Decoding{Steps: 72, ActionLen: 70, Cameras: cams, Mask: model.MaskPaper}
	path := filepath.Join(b.TempDir(), "calvin.udvla")
	if err := build.WriteRandom(path, o); err != nil {
		b.Fatal(err)
	}
	return path
}

// openCalvinShaped opens a CALVIN-shaped model with a small backbone and makes a request with an
// instruction of instr tokens.
func openCalvinShaped(b *testing.B, instr int) (*Engine, *Request) {
	path := calvinShaped(b, model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 192}, quant.F32)
	e, err := Open(path, Options{MaxInstruction: max(instr, 128)})
	if err != nil {
		b.Fatal(err)
	}
	req := randomRequest(e.Config(), rand.New(rand.NewPCG(1, 1)))
	req.Instruction = req.Instruction[:0]
	for i := 0; i < instr; i++ {
		req.Instruction = append(req.Instruction, int32(100+i))
	}
	return e, req
}

// BenchmarkControlStepCALVIN prints tokens per second of JD3P, AR and independent diffusion on
// the CALVIN token counts (instruction 20 tokens, 747 image-block tokens, L_a 70, T 72), the
// ratio JD3P/AR measured in the same run, and the host time per step as a share of GPU time.
func BenchmarkControlStepCALVIN(b *testing.B) {
	e, req := openCalvinShaped(b, 20)
	defer e.Close()
	ctx := context.Background()
	run := func(m Mode) *Result {
		r := *req
		r.Mode = m
		res, err := e.Step(ctx, &r)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	for _, m := range []Mode{ModeJD3P, ModeAR, ModeID} { // record the plans once
		run(m)
	}
	b.ResetTimer()
	var tps [3]float64
	var host, gpuT time.Duration
	for i := 0; i < b.N; i++ {
		for k, m := range []Mode{ModeJD3P, ModeAR, ModeID} {
			res := run(m)
			tps[k] += res.TokensPerSecond()
			if m == ModeJD3P {
				host += res.Timings.Loop - res.Timings.GPU
				gpuT += res.Timings.GPU
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(tps[0]/n, "jd3p-tok/s")
	b.ReportMetric(tps[1]/n, "ar-tok/s")
	b.ReportMetric(tps[2]/n, "id-tok/s")
	b.ReportMetric(tps[0]/tps[1], "jd3p/ar")
	if gpuT > 0 {
		b.ReportMetric(100*host.Seconds()/gpuT.Seconds(), "host%ofGPU")
	}
}
