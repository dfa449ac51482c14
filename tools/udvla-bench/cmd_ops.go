package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// opReport is one microbenchmark (docs/BENCH.md, "ops").
type opReport struct {
	Kernel string         `json:"kernel"` // as in run's profiles: "matmul q8_0", "attention", ...
	Shape  string         `json:"shape"`  // readable, e.g. "w_gate [14336x4096] n=817"
	Params map[string]int `json:"params"`
	Reps   int            `json:"reps"`
	TimeUS stat           `json:"time_us"` // device time of one dispatch sequence
	FLOPs  float64        `json:"flops"`
	Bytes  float64        `json:"bytes"`
	GFLOPS float64        `json:"gflops"` // at the median time
	GBPS   float64        `json:"gbps"`
}

var opKernels = []string{"matmul", "attention", "rmsnorm", "rope", "silu_mul", "lm_head"}

// opShape is what the kernels are benchmarked at: a model's architecture and token counts.
type opShape struct {
	a                model.Arch
	prefix, region   int
	imageRows        int // the lm_head rows of the image decoding space
	name             string
	ns               []int
	dtypes           []quant.DType
	kernels          map[string]bool
	minTime          time.Duration
	maxReps          int
	dev              *vk.Device
	rng              *rand.Rand
	out              []opReport
	prog             *progress
	progDone, nCases int
}

func runOps(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ops", stderr)
	modelPath := fs.String("model", "", "take the shapes from this model file's architecture (or --config)")
	sf := addSynthFlags(fs)
	device := fs.String("device", "", "Vulkan device index or name substring (default: $UDVLA_DEVICE, else the best)")
	kernelsS := fs.String("kernels", "matmul,attention,rmsnorm,rope,silu_mul", "kernels to measure: "+strings.Join(opKernels, ",")+
		"; family=variant measures that family with that variant (e.g. matmul=subgroup; `udvla-bench devices` lists the variants)")
	dtypesS := fs.String("dtypes", "f32,f16,q8_0,q4_0", "weight dtypes of matmul and lm_head")
	nsS := fs.String("n", "", "token counts (default: 1, 16 and the region of a control step)")
	minTime := fs.Duration("min-time", 300*time.Millisecond, "measure each case at least this long (and at least 3 times)")
	maxReps := fs.Int("max-reps", 50, "at most this many measured repetitions per case")
	jsonPath := fs.String("json", "", "also write the figures to this JSON file (docs/bench.schema.json)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: udvla-bench ops [--config tiny|calvin-8b|libero-8b|bridge-8b|custom | --model FILE] [--kernels K,...] [--dtypes DT,...] [--n N,...]")
		fmt.Fprintln(stderr, "Times each kernel alone at the shapes of a model (default --config tiny) with random inputs.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *modelPath != "" && *sf.config != "" {
		return errors.New("take the shapes from --model FILE or --config NAME, not both")
	}
	var cfg *model.Config
	if *modelPath != "" {
		f, err := model.Open(*modelPath)
		if err != nil {
			return err
		}
		c := f.Config
		f.Close()
		cfg = &c
	} else {
		if *sf.config == "" {
			*sf.config = "tiny"
		}
		o, err := sf.options(1)
		if err != nil {
			return err
		}
		if cfg, err = build.RandomConfig(o); err != nil {
			return err
		}
	}
	sh := &opShape{a: cfg.Arch, name: *sf.config, kernels: map[string]bool{}, minTime: *minTime, maxReps: max(*maxReps, 1),
		rng: rand.New(rand.NewPCG(1, 2)), prog: newProgress(stderr)}
	if *modelPath != "" {
		sh.name = *modelPath
	}
	sh.region, sh.prefix = 1, 0
	if cfg.Vocab != nil && cfg.Decoding != nil {
		instr := make([]int32, 20)
		codes := [][]int32{}
		for _, c := range cfg.Decoding.Cameras {
			codes = append(codes, make([]int32, c.H*c.W))
		}
		l, err := seq.Build(cfg.Vocab, cfg.Decoding, instr, codes)
		if err != nil {
			return err
		}
		sh.prefix, sh.region, sh.imageRows = l.P(), l.N(), len(l.Allowed[seq.SpaceImage])
	}
	var variants []string // the family=variant items: an override of the kernel table
	for _, k := range strings.Split(*kernelsS, ",") {
		k = strings.TrimSpace(k)
		if family, _, ok := strings.Cut(k, "="); ok {
			if err := gpu.CheckKernels(k); err != nil {
				return fmt.Errorf("--kernels: %w", err)
			}
			variants = append(variants, k)
			if !contains(opKernels, family) {
				continue
			}
			k = family
		}
		if !contains(opKernels, k) {
			return fmt.Errorf("--kernels: unknown kernel %q (want %s)", k, strings.Join(opKernels, ", "))
		}
		sh.kernels[k] = true
	}
	if sh.kernels["lm_head"] && sh.imageRows == 0 {
		return errors.New("lm_head needs a model with a vocabulary layout")
	}
	for _, d := range strings.Split(*dtypesS, ",") {
		dt, err := quant.Parse(strings.TrimSpace(d))
		if err != nil {
			return fmt.Errorf("--dtypes: %w", err)
		}
		sh.dtypes = append(sh.dtypes, dt)
	}
	if *nsS == "" {
		sh.ns = uniqueInts([]int{1, 16, sh.region})
	} else {
		for _, f := range strings.Split(*nsS, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("--n: %q is not a token count in [1, 65535]", f)
			}
			sh.ns = append(sh.ns, n)
		}
		sh.ns = uniqueInts(sh.ns)
	}
	opts := vk.Options{Device: *device, Kernels: strings.Join(variants, ",")}
	if *device == "" {
		opts = opts.WithEnv()
	}
	dev, err := vk.Open(opts)
	if err != nil {
		return err
	}
	defer dev.Close()
	sh.dev = dev
	rep := newReport("ops")
	d := toDeviceInfo(dev.Info)
	k, err := gpu.KernelsFor(dev)
	if err != nil {
		return err
	}
	d.Kernels = k.Map()
	rep.Device = &d
	sh.prog.begin()
	err = sh.runAll()
	sh.prog.done()
	if err != nil {
		return err
	}
	rep.Ops = sh.out
	fmt.Fprintf(stdout, "device   %d: %s (%s, %s, driver %s)\n", d.Index, d.Name, d.Vendor, d.Type, d.Driver)
	fmt.Fprintf(stdout, "kernels  %s\n", kernelsLine(d))
	fmt.Fprintf(stdout, "shapes   %s: hidden %d, heads %d/%d x %d, ffn %d; attention keys = %d prefix tokens + n\n\n",
		sh.name, sh.a.Hidden, sh.a.Heads, sh.a.KVHeads, sh.a.HeadDim, sh.a.FFN, sh.prefix)
	fmt.Fprintf(stdout, "%-14s %-34s %5s %12s %12s %10s %9s\n", "kernel", "shape", "reps", "median us", "min us", "GFLOP/s", "GB/s")
	for _, o := range sh.out {
		gf := "-"
		if o.FLOPs > 0 {
			gf = fmt.Sprintf("%.2f", o.GFLOPS)
		}
		fmt.Fprintf(stdout, "%-14s %-34s %5d %12.1f %12.1f %10s %9.2f\n", o.Kernel, o.Shape, o.Reps, o.TimeUS.Median, o.TimeUS.Min, gf, o.GBPS)
	}
	if *jsonPath != "" {
		return rep.write(*jsonPath)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func uniqueInts(xs []int) []int {
	var out []int
	for _, x := range xs {
		if !containsInt(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func containsInt(xs []int, v int) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

// runAll measures every selected kernel at every shape.
func (sh *opShape) runAll() error {
	a := sh.a
	qw, kw := a.Heads*a.HeadDim, a.KVHeads*a.HeadDim
	type mat struct {
		name       string
		rows, cols int
	}
	var mats []mat
	for _, m := range []mat{{"wq", qw, a.Hidden}, {"wk/wv", kw, a.Hidden}, {"wo", a.Hidden, qw}, {"w_gate/w_up", a.FFN, a.Hidden}, {"w_down", a.Hidden, a.FFN}} {
		dup := false
		for _, x := range mats {
			dup = dup || (x.rows == m.rows && x.cols == m.cols)
		}
		if !dup {
			mats = append(mats, m)
		}
	}
	if sh.kernels["matmul"] {
		sh.nCases += len(mats) * len(sh.dtypes) * len(sh.ns)
	}
	if sh.kernels["lm_head"] {
		sh.nCases += len(sh.dtypes) * len(sh.ns)
	}
	for _, k := range []string{"attention", "rmsnorm", "rope", "silu_mul"} {
		if sh.kernels[k] {
			sh.nCases += len(sh.ns)
		}
	}
	for _, dt := range sh.dtypes {
		if sh.kernels["matmul"] {
			for _, m := range mats {
				if err := sh.matmul(dt, m.name, m.rows, m.cols, 0); err != nil {
					return err
				}
			}
		}
		if sh.kernels["lm_head"] {
			if err := sh.matmul(dt, "lm_head image rows", a.Vocab, a.Hidden, sh.imageRows); err != nil {
				return err
			}
		}
	}
	for _, n := range sh.ns {
		for _, k := range []struct {
			name string
			f    func(n int) error
		}{{"attention", sh.attention}, {"rmsnorm", sh.rmsnorm}, {"rope", sh.rope}, {"silu_mul", sh.siluMul}} {
			if sh.kernels[k.name] {
				if err := k.f(n); err != nil {
					return fmt.Errorf("%s n=%d: %w", k.name, n, err)
				}
			}
		}
	}
	return nil
}

// buffers tracks the buffers of one case.
type buffers []*vk.Buffer

func (b *buffers) close() {
	for _, x := range *b {
		x.Close()
	}
}

// f32 makes a buffer of n random floats (standard normal) bound whole.
func (sh *opShape) f32(bufs *buffers, n, width int) (vk.Binding, error) {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(sh.rng.NormFloat64())
	}
	b, err := sh.newBuffer(bufs, 4*int64(n), int64(width)*4)
	if err != nil {
		return vk.Binding{}, err
	}
	if err := vk.WriteFloat32s(b, 0, v); err != nil {
		return vk.Binding{}, err
	}
	return b.Bind(0, 4*int64(n))
}

// i32 makes a buffer holding v, bound whole.
func (sh *opShape) i32(bufs *buffers, v []int32) (vk.Binding, error) {
	b, err := sh.newBuffer(bufs, 4*int64(len(v)), 0)
	if err != nil {
		return vk.Binding{}, err
	}
	if err := vk.WriteInt32s(b, 0, v); err != nil {
		return vk.Binding{}, err
	}
	return b.Bind(0, 4*int64(len(v)))
}

// newBuffer makes a device buffer of size bytes that bufs closes.
func (sh *opShape) newBuffer(bufs *buffers, size, unit int64) (*vk.Buffer, error) {
	b, err := sh.dev.NewBuffer(size, vk.DeviceLocal, unit)
	if err != nil {
		return nil, err
	}
	*bufs = append(*bufs, b)
	return b, nil
}

// measure records one case, runs it until minTime has passed (at least 3 and at most maxReps
// measured runs after one warm-up) and reports its device time and work. allowed, when set, makes
// attention count visible pairs only.
func (sh *opShape) measure(kernel, shape string, params map[string]int, allowed func(q, k int) bool, record func(s *vk.Sequence) error) error {
	sh.progDone++
	sh.prog.update("ops: case %d of %d: %s %s", sh.progDone, sh.nCases, kernel, shape)
	s, err := sh.dev.NewSequence()
	if err != nil {
		return err
	}
	defer s.Close()
	s.Timing = sh.dev.Info.Timestamps
	if err := record(s); err != nil {
		return err
	}
	if err := s.Run(); err != nil { // warm-up: first-use costs of the driver
		return err
	}
	var times []float64
	start := time.Now()
	for len(times) < 3 || (time.Since(start) < sh.minTime && len(times) < sh.maxReps) {
		t := time.Now()
		if err := s.Run(); err != nil {
			return err
		}
		wall := time.Since(t)
		durs, err := s.Durations()
		if err != nil {
			return err
		}
		if durs == nil { // no timestamps: the wall time of the submission
			times = append(times, float64(wall)/1e3)
			continue
		}
		var sum time.Duration
		for _, d := range durs {
			sum += d
		}
		times = append(times, float64(sum)/1e3)
	}
	o := opReport{Kernel: kernel, Shape: shape, Params: params, Reps: len(times), TimeUS: summarise(times)}
	for _, w := range s.Work() {
		if w.Pairs.NQ > 0 && allowed != nil {
			w.FLOPs = w.Pairs.FLOPsPerPair * w.Pairs.VisiblePairs(allowed)
		}
		if strings.HasPrefix(w.Label, "matmul") || strings.HasPrefix(w.Label, "attention") || w.Label == "rmsnorm" || w.Label == "rope" || w.Label == "silu_mul" {
			o.Kernel = w.Label
		}
		o.FLOPs += w.FLOPs
		o.Bytes += w.Bytes
	}
	if sec := o.TimeUS.Median / 1e6; sec > 0 {
		o.GFLOPS, o.GBPS = o.FLOPs/sec/1e9, o.Bytes/sec/1e9
	}
	sh.out = append(sh.out, o)
	return nil
}

// matmul measures y = W·x for every n; subset > 0 restricts W to that many rows (the lm_head of
// a decoding space, rows spread over the vocabulary as the image ids are).
func (sh *opShape) matmul(dt quant.DType, name string, rows, cols, subset int) error {
	var bufs buffers
	defer bufs.close()
	sh.prog.update("ops: making a %v [%dx%d] weight", dt, rows, cols)
	w := make([]float32, rows*cols)
	std := 1 / math.Sqrt(float64(cols))
	for i := range w {
		w[i] = float32(sh.rng.NormFloat64() * std)
	}
	raw, err := quant.Quantize(dt, rows, cols, w)
	if err != nil {
		return err
	}
	w = nil
	m, err := gpu.UploadMatrix(sh.dev, dt, rows, cols, raw)
	if err != nil {
		return err
	}
	defer m.Close()
	mm, err := gpu.NewMatmul(sh.dev, dt)
	if err != nil {
		return err
	}
	defer mm.Close()
	maxN := 0
	for _, n := range sh.ns {
		maxN = max(maxN, n)
	}
	out := rows
	var rowsB vk.Binding
	if subset > 0 {
		out = subset
		ids := make([]int32, subset)
		for i := range ids {
			ids[i] = int32(int64(i) * int64(rows) / int64(subset))
		}
		if rowsB, err = sh.i32(&bufs, ids); err != nil {
			return err
		}
	}
	x, err := sh.f32(&bufs, maxN*cols, cols)
	if err != nil {
		return err
	}
	y, err := sh.f32(&bufs, maxN*out, out)
	if err != nil {
		return err
	}
	for _, n := range sh.ns {
		shape := fmt.Sprintf("%s [%dx%d] n=%d", name, rows, cols, n)
		if subset > 0 {
			shape = fmt.Sprintf("%s [%d of %dx%d] n=%d", name, subset, rows, cols, n)
		}
		args := gpu.MatmulArgs{X: sub(x, n*cols), Y: sub(y, n*out), N: n}
		if subset > 0 {
			args.Rows, args.NRows = rowsB, subset
		}
		err := sh.measure("matmul "+dt.String(), shape, map[string]int{"n": n, "rows": out, "cols": cols},
			nil, func(s *vk.Sequence) error { return mm.Record(s, m, args) })
		if err != nil {
			return fmt.Errorf("%s: %w", shape, err)
		}
	}
	return nil
}

// sub is the first n floats of a binding.
func sub(b vk.Binding, n int) vk.Binding {
	b.Size = 4 * int64(n)
	return b
}

// attention: n queries after the prefix over prefix+n keys under the causal mask.
func (sh *opShape) attention(n int) error {
	a := sh.a
	var bufs buffers
	defer bufs.close()
	qw, kw := a.Heads*a.HeadDim, a.KVHeads*a.HeadDim
	nk := sh.prefix + n
	k, err := gpu.NewAttention(sh.dev, gpu.AttentionShape{Heads: a.Heads, KVHeads: a.KVHeads, HeadDim: a.HeadDim})
	if err != nil {
		return err
	}
	q, err := sh.f32(&bufs, n*qw, qw)
	if err != nil {
		return err
	}
	kb, err := sh.f32(&bufs, nk*kw, kw)
	if err != nil {
		return err
	}
	vb, err := sh.f32(&bufs, nk*kw, kw)
	if err != nil {
		return err
	}
	o, err := sh.f32(&bufs, n*qw, qw)
	if err != nil {
		return err
	}
	m := seq.CausalMask(nk)
	words, err := gpu.MaskWords(m, nil)
	if err != nil {
		return err
	}
	mb, err := sh.i32(&bufs, words)
	if err != nil {
		return err
	}
	args := gpu.AttentionArgs{Q: q, K: kb, V: vb, Mask: mb, Out: o, NQ: n, NK: nk, Q0: sh.prefix}
	return sh.measure("attention", fmt.Sprintf("causal n=%d keys=%d", n, nk), map[string]int{"n": n, "keys": nk, "q0": sh.prefix},
		m.Allowed, func(s *vk.Sequence) error { return k.Record(s, args) })
}

func (sh *opShape) rmsnorm(n int) error {
	a := sh.a
	var bufs buffers
	defer bufs.close()
	k, err := gpu.NewRMSNorm(sh.dev, a.RMSEps)
	if err != nil {
		return err
	}
	x, err := sh.f32(&bufs, n*a.Hidden, a.Hidden)
	if err != nil {
		return err
	}
	w, err := sh.f32(&bufs, a.Hidden, a.Hidden)
	if err != nil {
		return err
	}
	y, err := sh.f32(&bufs, n*a.Hidden, a.Hidden)
	if err != nil {
		return err
	}
	return sh.measure("rmsnorm", fmt.Sprintf("n=%d dim=%d", n, a.Hidden), map[string]int{"n": n, "dim": a.Hidden},
		nil, func(s *vk.Sequence) error { return k.Record(s, x, w, y, n, a.Hidden) })
}

func (sh *opShape) rope(n int) error {
	a := sh.a
	var bufs buffers
	defer bufs.close()
	k, err := gpu.NewRoPE(sh.dev, a.Heads, a.KVHeads, a.HeadDim, a.RopeTheta, sh.prefix+n)
	if err != nil {
		return err
	}
	defer k.Close()
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(sh.prefix + i)
	}
	pb, err := sh.i32(&bufs, pos)
	if err != nil {
		return err
	}
	q, err := sh.f32(&bufs, n*a.Heads*a.HeadDim, a.Heads*a.HeadDim)
	if err != nil {
		return err
	}
	kb, err := sh.f32(&bufs, n*a.KVHeads*a.HeadDim, a.KVHeads*a.HeadDim)
	if err != nil {
		return err
	}
	return sh.measure("rope", fmt.Sprintf("n=%d heads=%d/%d", n, a.Heads, a.KVHeads), map[string]int{"n": n},
		nil, func(s *vk.Sequence) error { return k.Record(s, gpu.RoPEArgs{Pos: pb, N: n, Q: q, K: kb}) })
}

func (sh *opShape) siluMul(n int) error {
	a := sh.a
	var bufs buffers
	defer bufs.close()
	k, err := gpu.NewSiLUMul(sh.dev)
	if err != nil {
		return err
	}
	g, err := sh.f32(&bufs, n*a.FFN, a.FFN)
	if err != nil {
		return err
	}
	u, err := sh.f32(&bufs, n*a.FFN, a.FFN)
	if err != nil {
		return err
	}
	o, err := sh.f32(&bufs, n*a.FFN, a.FFN)
	if err != nil {
		return err
	}
	return sh.measure("silu_mul", fmt.Sprintf("n=%d ffn=%d", n, a.FFN), map[string]int{"n": n, "ffn": a.FFN},
		nil, func(s *vk.Sequence) error { return k.Record(s, g, u, o, n, a.FFN) })
}
