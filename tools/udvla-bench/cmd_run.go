package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// runConfig is what `run` measured on (docs/BENCH.md, "config").
type runConfig struct {
	Source            string   `json:"source"` // "file" or "synthetic"
	Model             string   `json:"model"`  // the file ("" for a synthetic model not kept)
	Name              string   `json:"name"`   // the --config name, or the file's base name
	DType             string   `json:"dtype"`  // of the layer matrices
	Layers            int      `json:"layers"`
	Hidden            int      `json:"hidden"`
	Heads             int      `json:"heads"`
	KVHeads           int      `json:"kv_heads"`
	HeadDim           int      `json:"head_dim"`
	FFN               int      `json:"ffn"`
	Vocab             int      `json:"vocab"`
	Cameras           string   `json:"cameras"`
	ActionLen         int      `json:"action_len"`
	Steps             int      `json:"steps"` // T of the measured steps
	Mask              string   `json:"mask"`
	Cache             bool     `json:"cache"`
	InstructionTokens int      `json:"instruction_tokens"`
	PrefixTokens      int      `json:"prefix_tokens"`
	RegionTokens      int      `json:"region_tokens"`
	Runs              int      `json:"runs"`
	Warmup            int      `json:"warmup"`
	Seed              uint64   `json:"seed"`
	ModelBytes        int64    `json:"model_bytes"`
	WriteSeconds      *float64 `json:"write_seconds"` // writing the synthetic model; null for a file
	OpenSeconds       float64  `json:"open_seconds"`  // opening the engine: weights uploaded, buffers made
}

// modeReport is one decoding mode's figures (docs/BENCH.md, "modes").
type modeReport struct {
	Mode            string         `json:"mode"`
	Generated       int            `json:"generated"` // tokens per control step
	Passes          int            `json:"passes"`    // forward passes of the decoding loop per control step
	LatencyMS       stat           `json:"latency_ms"`
	PrefillMS       stat           `json:"prefill_ms"`
	LoopMS          stat           `json:"loop_ms"`
	GPUMS           stat           `json:"gpu_ms"`
	HostMSPerPass   stat           `json:"host_ms_per_pass"`
	TokensPerSecond stat           `json:"tokens_per_second"`
	RatioToAR       *float64       `json:"ratio_to_ar"`       // median tokens/s over AR's; null without AR
	HostShareOfGPU  *float64       `json:"host_share_of_gpu"` // host time of the loop over its GPU time; null without timestamps
	Profile         *profileReport `json:"profile"`           // null without timestamps
	// RatioBase names the AR mode RatioToAR divides by: "ar" (the release's unconstrained AR) when
	// it was measured, else "ar-restricted"; null without either.
	RatioBase *string `json:"ratio_base"`
}

type profileReport struct {
	GPUMS   float64        `json:"gpu_ms"` // the profiled control step's device time
	Phases  []phaseReport  `json:"phases"`
	Kernels []kernelReport `json:"kernels"` // the phases merged
}

type phaseReport struct {
	Name    string         `json:"name"`
	Runs    int            `json:"runs"`
	GPUMS   float64        `json:"gpu_ms"`
	Kernels []kernelReport `json:"kernels"`
}

type kernelReport struct {
	Kernel     string  `json:"kernel"`
	Dispatches int     `json:"dispatches"`
	TimeMS     float64 `json:"time_ms"`
	Share      float64 `json:"share"` // of the profiled control step's device time
	FLOPs      float64 `json:"flops"`
	Bytes      float64 `json:"bytes"`
	GFLOPS     float64 `json:"gflops"`
	GBPS       float64 `json:"gbps"`
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	modelPath := fs.String("model", "", "model file to measure (or --config)")
	sf := addSynthFlags(fs)
	save := fs.String("save", "", "keep the synthetic model in this file (reuse it with --model)")
	tmpDir := fs.String("tmp", "", "directory for the synthetic model (default: the system's temporary directory)")
	device := fs.String("device", "", "Vulkan device index or name substring (default: $UDVLA_DEVICE, else the best)")
	modesS := fs.String("modes", "jd3p,ar,id", "decoding modes to measure, comma-separated: jd3p, id, ar (the release's AR: "+
		"unconstrained greedy, nothing pre-filled), ar-restricted (greedy AR over each position's decoding space)")
	runs := fs.Int("runs", 5, "measured control steps per mode")
	warmup := fs.Int("warmup", 1, "control steps per mode run first and not measured")
	steps := fs.Int("steps", 0, "denoising steps T (0: the model's default)")
	maskS := fs.String("mask", "model", "mask rule: model (the model file's: release for the released checkpoints and the synthetic configs), "+
		"release, paper (opt-in speed mode: its outputs differ from what the weights were trained for) or release-kv (the release's KV-cached variant, opt-in, outputs differ from release)")
	noCache := fs.Bool("no-cache", false, "recompute the prefix at every step (release and paper give the same tokens either way)")
	instrLen := fs.Int("instruction-len", 20, "instruction tokens (random text ids; CALVIN instructions are about 20)")
	seed := fs.Uint64("seed", 1, "seed of the weights, the request and the decoding")
	profile := fs.Bool("profile", true, "time every kernel of the measured steps (timestamp queries)")
	jsonPath := fs.String("json", "", "also write the figures to this JSON file (docs/bench.schema.json)")
	kernels := fs.String("kernels", "", kernelsUsage)
	frames := fs.Bool("frames", false, "also measure frames to actions: a random camera frame per camera encoded on the device by the vision tokenizer, then a JD3P step (encode time as its own row)")
	vqPath := fs.String("vq", "", "with --frames: the model file holding the vision tokenizer (default: the measured model)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: udvla-bench run (--model FILE | --config tiny|calvin-8b|libero-8b|bridge-8b|custom [--layers N] [--dtype DT]) [flags]")
		fmt.Fprintln(stderr, "Measures control steps end to end: latency, prefill, tokens/s per mode, per-kernel GPU time, host overhead.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q (flags come as --name value)", fs.Args())
	}
	if (*modelPath == "") == (*sf.config == "") {
		return errors.New("give what to measure once: --model FILE, or --config tiny|calvin-8b|libero-8b|bridge-8b|custom for synthetic random weights")
	}
	if *modelPath != "" && (*sf.layers != 0 || *sf.dtype != "" || *save != "") {
		return errors.New("--layers, --dtype and --save shape a synthetic --config model: drop them with --model")
	}
	if *runs < 1 || *warmup < 0 {
		return fmt.Errorf("--runs %d and --warmup %d: want at least one run and no negative warm-up", *runs, *warmup)
	}
	if *vqPath != "" && !*frames {
		return errors.New("--vq names the tokenizer of --frames: give --frames too")
	}
	if *instrLen < 0 || *steps < 0 {
		return errors.New("--instruction-len and --steps cannot be negative")
	}
	modes, err := parseModes(*modesS)
	if err != nil {
		return err
	}
	rule, err := model.ParseMaskRule(*maskS)
	if err != nil || rule == model.MaskCausal {
		return fmt.Errorf("--mask %q: want model, release, paper or release-kv", *maskS)
	}
	if err := gpu.CheckKernels(*kernels); err != nil {
		return err
	}
	rep := newReport("run")
	prog := newProgress(stderr)
	cfg := &runConfig{Source: "file", Model: *modelPath, Runs: *runs, Warmup: *warmup, Seed: *seed, InstructionTokens: *instrLen}
	path := *modelPath
	if path == "" {
		o, err := sf.options(*seed)
		if err != nil {
			return err
		}
		cfg.Source, cfg.Name, cfg.Model = "synthetic", *sf.config, *save
		if path = *save; path == "" {
			dir, err := os.MkdirTemp(*tmpDir, "udvla-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			path = filepath.Join(dir, *sf.config+".udvla")
		}
		fmt.Fprintf(stderr, "writing a random %s model (%d layers, %v, %.2f GB) to %s\n", *sf.config, o.Arch.Layers, o.DType,
			float64(modelBytes(o))/1e9, path)
		took, err := writeSynthetic(path, o, prog)
		if err != nil {
			return err
		}
		secs := took.Seconds()
		cfg.WriteSeconds = &secs
	} else {
		cfg.Name = filepath.Base(path)
	}
	if err := describeModel(path, cfg); err != nil {
		return err
	}
	start := time.Now()
	stop := prog.ticker(func() string { return "opening the engine (uploading the weights)" })
	e, err := engine.Open(path, engine.Options{Device: *device, MaxInstruction: max(128, *instrLen), Kernels: *kernels})
	stop()
	if err != nil {
		return err
	}
	defer e.Close()
	cfg.OpenSeconds = time.Since(start).Seconds()
	mc := e.Config()
	if mc.Vocab == nil || mc.Decoding == nil {
		return fmt.Errorf("%s has no UD-VLA vocabulary layout: control steps cannot run on it", path)
	}
	if info, ok := e.Device(); ok {
		d := toDeviceInfo(info)
		if k, ok := e.Kernels(); ok {
			d.Kernels = k.Map()
		}
		rep.Device = &d
	}
	rule = rule.Resolve(mc.Decoding) // the figures name the rule they ran under
	if rule == model.MaskCausal {
		return fmt.Errorf("%s: the model's mask rule is causal (a checkpoint trained without a block mask); give --mask release or paper", path)
	}
	cfg.Mask = rule.String()
	req := benchRequest(mc, *instrLen, *seed)
	req.Mask, req.NoCache, req.Steps = rule, *noCache, *steps
	l, err := seq.Build(mc.Vocab, mc.Decoding, req.Instruction, req.Codes)
	if err != nil {
		return err
	}
	cfg.PrefixTokens, cfg.RegionTokens = l.P(), l.N()
	cfg.Steps = *steps
	if cfg.Steps == 0 {
		cfg.Steps = mc.Decoding.Steps
	}
	cfg.Cache = engine.PrefixCaching(engine.ModeJD3P, rule, *noCache) != "none"
	rep.Config = cfg
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	for _, m := range modes {
		r := *req
		r.Mode = m
		mr, err := measureMode(ctx, e, &r, *runs, *warmup, *profile, prog)
		if err != nil {
			return fmt.Errorf("%v: %w", m, err)
		}
		rep.Modes = append(rep.Modes, *mr)
	}
	setRatios(rep.Modes)
	if *frames {
		vq := *vqPath
		if vq == "" {
			vq = path
		}
		if rep.Frames, err = measureFrames(ctx, e, req, vq, *device, *runs, *warmup, prog); err != nil {
			return fmt.Errorf("frames: %w", err)
		}
	}
	printRunReport(stdout, rep)
	printFrames(stdout, rep.Frames)
	if *jsonPath != "" {
		return rep.write(*jsonPath)
	}
	return nil
}

func parseModes(s string) ([]engine.Mode, error) {
	var out []engine.Mode
	seen := map[engine.Mode]bool{}
	for _, f := range strings.Split(s, ",") {
		m, err := engine.ParseMode(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--modes: %w", err)
		}
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out, nil
}

// describeModel fills the architecture and sizes from the model file's header.
func describeModel(path string, cfg *runConfig) error {
	f, err := model.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	a := f.Config.Arch
	cfg.Layers, cfg.Hidden, cfg.Heads, cfg.KVHeads, cfg.HeadDim, cfg.FFN, cfg.Vocab = a.Layers, a.Hidden, a.Heads, a.KVHeads, a.HeadDim, a.FFN, a.Vocab
	if d := f.Config.Decoding; d != nil {
		cfg.Cameras, cfg.ActionLen = model.FormatCameras(d.Cameras), d.ActionLen
	}
	if info, _, err := f.Tensor(model.LayerTensor(0, "wq")); err == nil {
		cfg.DType = info.DType.String()
	}
	if st, err := os.Stat(path); err == nil {
		cfg.ModelBytes = st.Size()
	}
	return nil
}

// benchRequest makes a request of random instruction tokens and codes.
func benchRequest(cfg *model.Config, instr int, seed uint64) *engine.Request {
	r := rand.New(rand.NewPCG(seed, 0x62656e6368)) // "bench"
	req := &engine.Request{Seed: seed}
	lo := min(int32(30), cfg.Vocab.TextSize-1) // clear of the digit and '*' ids
	for i := 0; i < instr; i++ {
		req.Instruction = append(req.Instruction, lo+r.Int32N(cfg.Vocab.TextSize-lo))
	}
	for _, c := range cfg.Decoding.Cameras {
		codes := make([]int32, c.H*c.W)
		for i := range codes {
			codes[i] = r.Int32N(cfg.Vocab.CodebookSize)
		}
		req.Codes = append(req.Codes, codes)
	}
	return req
}

// measureMode runs warm-up and measured control steps of one mode. With profile, the measured
// steps run through StepProfile (its timestamp reading comes after the step's timings end) and
// the last one's kernel times are kept.
func measureMode(ctx context.Context, e *engine.Engine, req *engine.Request, runs, warmup int, profile bool, prog *progress) (*modeReport, error) {
	mr := &modeReport{Mode: req.Mode.String()}
	var lat, pre, loop, gpuT, host, tps []float64
	prog.begin()
	defer prog.done()
	for i := 0; i < warmup+runs; i++ {
		if i < warmup {
			prog.update("%v: warm-up %d of %d", req.Mode, i+1, warmup)
		} else {
			prog.update("%v: run %d of %d", req.Mode, i-warmup+1, runs)
		}
		var res *engine.Result
		var p *engine.Profile
		var err error
		if profile && i >= warmup {
			res, p, err = e.StepProfile(ctx, req)
			if errors.Is(err, engine.ErrNoProfile) {
				profile = false
				res, err = e.Step(ctx, req)
			}
		} else {
			res, err = e.Step(ctx, req)
		}
		if err != nil {
			return nil, err
		}
		if i < warmup {
			continue
		}
		if p != nil {
			mr.Profile = profileOf(p)
		}
		t := res.Timings
		mr.Generated, mr.Passes = res.Generated, len(t.Steps)
		lat = append(lat, msOf(t.Total))
		pre = append(pre, msOf(t.Prefill))
		loop = append(loop, msOf(t.Loop))
		gpuT = append(gpuT, msOf(t.GPU))
		tps = append(tps, res.TokensPerSecond())
		if len(t.Steps) > 0 && t.GPU > 0 {
			var wall time.Duration
			for _, s := range t.Steps {
				wall += s
			}
			host = append(host, msOf(wall-t.GPU)/float64(len(t.Steps)))
		}
	}
	mr.LatencyMS, mr.PrefillMS, mr.LoopMS, mr.GPUMS = summarise(lat), summarise(pre), summarise(loop), summarise(gpuT)
	mr.HostMSPerPass, mr.TokensPerSecond = summarise(host), summarise(tps)
	if len(host) > 0 && mr.GPUMS.Median > 0 {
		share := mr.HostMSPerPass.Median * float64(mr.Passes) / mr.GPUMS.Median
		mr.HostShareOfGPU = &share
	}
	return mr, nil
}

func profileOf(p *engine.Profile) *profileReport {
	pr := &profileReport{Phases: []phaseReport{}}
	for _, ph := range p.Phases {
		pr.GPUMS += msOf(ph.Time())
	}
	kernels := func(ks []engine.KernelTime) []kernelReport {
		out := []kernelReport{}
		for _, k := range ks {
			kr := kernelReport{Kernel: k.Kernel, Dispatches: k.Dispatches, TimeMS: msOf(k.Time), FLOPs: k.FLOPs, Bytes: k.Bytes,
				GFLOPS: k.GFLOPS(), GBPS: k.GBPS()}
			if pr.GPUMS > 0 {
				kr.Share = kr.TimeMS / pr.GPUMS
			}
			out = append(out, kr)
		}
		return out
	}
	for _, ph := range p.Phases {
		pr.Phases = append(pr.Phases, phaseReport{Name: ph.Name, Runs: ph.Runs, GPUMS: msOf(ph.Time()), Kernels: kernels(ph.Kernels)})
	}
	pr.Kernels = kernels(p.Kernels())
	return pr
}

// setRatios sets each mode's median tokens/s over AR's: the release's AR when it was measured,
// else the space-restricted AR, and names which.
func setRatios(modes []modeReport) {
	for _, base := range []engine.Mode{engine.ModeAR, engine.ModeARRestricted} {
		name := base.String()
		ar := 0.0
		for _, m := range modes {
			if m.Mode == name {
				ar = m.TokensPerSecond.Median
			}
		}
		if ar <= 0 {
			continue
		}
		for i := range modes {
			r := modes[i].TokensPerSecond.Median / ar
			modes[i].RatioToAR, modes[i].RatioBase = &r, &name
		}
		return
	}
}

func printRunReport(w io.Writer, rep *report) {
	c := rep.Config
	what := c.Name
	if c.Source == "synthetic" {
		what = fmt.Sprintf("synthetic %s (random weights, written in %.1f s)", c.Name, *c.WriteSeconds)
	}
	fmt.Fprintf(w, "model    %s: %d layers, hidden %d, heads %d/%d x %d, ffn %d, vocab %d, %s, %.2f GB; opened in %.1f s\n",
		what, c.Layers, c.Hidden, c.Heads, c.KVHeads, c.HeadDim, c.FFN, c.Vocab, c.DType, float64(c.ModelBytes)/1e9, c.OpenSeconds)
	if d := rep.Device; d != nil {
		fmt.Fprintf(w, "device   %d: %s (%s, %s, driver %s, Vulkan %s)\n", d.Index, d.Name, d.Vendor, d.Type, d.Driver, d.APIVersion)
		fmt.Fprintf(w, "kernels  %s\n", kernelsLine(*d))
	}
	commit := rep.Engine.Commit
	if commit == "" {
		commit = "unknown"
	} else if len(commit) > 12 {
		commit = commit[:12]
	}
	if m := rep.Engine.Modified; m != nil && *m {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "engine   %s, commit %s, %s\n", rep.Engine.Version, commit, rep.Engine.Go)
	cache := "prefix recomputed each step"
	switch {
	case c.Cache && c.Mask == model.MaskRelease.String():
		cache = "text prefix cached (exact)"
	case c.Cache:
		cache = "cached prefix"
	}
	fmt.Fprintf(w, "request  %d prefix tokens (%d instruction), %d region tokens, cameras %s, T=%d, %s mask, %s\n",
		c.PrefixTokens, c.InstructionTokens, c.RegionTokens, c.Cameras, c.Steps, c.Mask, cache)
	fmt.Fprintf(w, "runs     %d per mode after %d warm-up, seed %d\n\n", c.Runs, c.Warmup, c.Seed)
	vs := "vs AR"
	if len(rep.Modes) > 0 && rep.Modes[0].RatioBase != nil {
		vs = "vs " + *rep.Modes[0].RatioBase
	}
	fmt.Fprintf(w, "%-13s %6s %6s | %10s %10s %10s %10s | %10s | %10s %8s | %10s %8s\n", "mode", "tokens", "passes",
		"latency ms", "p90", "min", "max", "prefill ms", "tokens/s", vs, "host ms/pass", "host/GPU")
	for _, m := range rep.Modes {
		ratio, share := "-", "-"
		if m.RatioToAR != nil {
			ratio = fmt.Sprintf("%.2fx", *m.RatioToAR)
		}
		if m.HostShareOfGPU != nil {
			share = fmt.Sprintf("%.1f%%", 100**m.HostShareOfGPU)
		}
		fmt.Fprintf(w, "%-13s %6d %6d | %10.2f %10.2f %10.2f %10.2f | %10.2f | %10.1f %8s | %12.3f %8s\n", m.Mode, m.Generated, m.Passes,
			m.LatencyMS.Median, m.LatencyMS.P90, m.LatencyMS.Min, m.LatencyMS.Max, m.PrefillMS.Median, m.TokensPerSecond.Median,
			ratio, m.HostMSPerPass.Median, share)
	}
	for _, m := range rep.Modes {
		if m.Profile == nil {
			continue
		}
		var phases []string
		for _, ph := range m.Profile.Phases {
			phases = append(phases, fmt.Sprintf("%s %d x %.2f ms", ph.Name, ph.Runs, ph.GPUMS/float64(max(ph.Runs, 1))))
		}
		fmt.Fprintf(w, "\n%s: GPU time of one control step %.2f ms (%s)\n", m.Mode, m.Profile.GPUMS, strings.Join(phases, ", "))
		fmt.Fprintf(w, "  %-14s %10s %10s %7s %10s %9s\n", "kernel", "dispatches", "time ms", "share", "GFLOP/s", "GB/s")
		for _, k := range m.Profile.Kernels {
			gf := "-"
			if k.FLOPs > 0 {
				gf = fmt.Sprintf("%.2f", k.GFLOPS)
			}
			fmt.Fprintf(w, "  %-14s %10d %10.3f %6.1f%% %10s %9.2f\n", k.Kernel, k.Dispatches, k.TimeMS, 100*k.Share, gf, k.GBPS)
		}
	}
	if c.Source == "synthetic" && c.Model == "" {
		fmt.Fprintln(w, "\n(the synthetic model was deleted; --save FILE keeps it for --model FILE)")
	}
}
