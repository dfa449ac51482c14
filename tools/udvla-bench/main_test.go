package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/tools/udvla-bench/schema"
)

const tinyPath = "../../testdata/tiny.udvla"

func bench(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := dispatch(args, &out, &errb)
	return out.String(), errb.String(), code
}

// readReport checks a --json file against docs/bench.schema.json and decodes it.
func readReport(t *testing.T, path string) *report {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := os.ReadFile("../../docs/bench.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := schema.Parse(sb)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("%s does not follow docs/bench.schema.json: %v", path, err)
	}
	var r report
	if err := json.Unmarshal(doc, &r); err != nil {
		t.Fatal(err)
	}
	if r.Engine.Version == "" || r.Host.CPUs < 1 || r.Created == "" {
		t.Errorf("provenance missing: %+v %+v", r.Engine, r.Host)
	}
	return &r
}

func TestDevices(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devices.json")
	out, e, code := bench(t, "devices", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if !strings.Contains(out, "measured by default:") {
		t.Errorf("output:\n%s", out)
	}
	r := readReport(t, path)
	if r.Command != "devices" || len(r.Devices) == 0 || r.Device == nil || r.Device.Name == "" || r.Config != nil {
		t.Errorf("report: %+v", r)
	}
}

// `run` on the shipped tiny model: every mode, a schema-valid report whose figures hang together.
func TestRunTinyModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	out, e, code := bench(t, "run", "--model", tinyPath, "--runs", "3", "--warmup", "1", "--steps", "4", "--instruction-len", "11", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	// no --mask: the model's rule, release for tiny.udvla (a checkpoint with use_blockwise_attn_mask)
	for _, want := range []string{"mode          tokens", "jd3p", "ar ", "id ", "vs ar ", "tokens/s", "kernel", "matmul f32", "attention", "release mask", "text prefix cached (exact)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	r := readReport(t, path)
	c := r.Config
	if r.Command != "run" || r.Device == nil || c == nil || c.Source != "file" || c.Layers != 2 || c.Steps != 4 || c.WriteSeconds != nil ||
		c.Mask != "release" || !c.Cache {
		t.Fatalf("report: %+v %+v", r, c)
	}
	f, err := model.Open(tinyPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	f.Close()
	req := benchRequest(&cfg, 11, 1)
	l, err := seq.Build(cfg.Vocab, cfg.Decoding, req.Instruction, req.Codes)
	if err != nil {
		t.Fatal(err)
	}
	if c.PrefixTokens != l.P() || c.RegionTokens != l.N() || c.InstructionTokens != 11 {
		t.Errorf("config says P=%d N=%d, the layout %d and %d", c.PrefixTokens, c.RegionTokens, l.P(), l.N())
	}
	if len(r.Modes) != 3 {
		t.Fatalf("%d modes", len(r.Modes))
	}
	for _, m := range r.Modes {
		wantPasses := map[string]int{"jd3p": 4, "id": 4 + 28, "ar": m.Generated}[m.Mode]
		if m.Passes != wantPasses || m.LatencyMS.N != 3 || m.TokensPerSecond.Median <= 0 || m.RatioToAR == nil ||
			m.RatioBase == nil || *m.RatioBase != "ar" {
			t.Errorf("%s: %+v", m.Mode, m)
		}
		if s := m.LatencyMS; !(s.Min <= s.Median && s.Median <= s.P90 && s.P90 <= s.Max) {
			t.Errorf("%s: latency statistics out of order: %+v", m.Mode, s)
		}
		if m.Mode == "ar" && math.Abs(*m.RatioToAR-1) > 1e-12 {
			t.Errorf("AR's ratio to itself is %v", *m.RatioToAR)
		}
		if r.Device.Timestamps {
			p := m.Profile
			if p == nil || len(p.Kernels) == 0 || m.HostShareOfGPU == nil {
				t.Fatalf("%s: no profile on a device with timestamps", m.Mode)
			}
			var share, ms, phases float64
			for _, k := range p.Kernels {
				share += k.Share
				ms += k.TimeMS
			}
			for _, ph := range p.Phases {
				phases += ph.GPUMS
			}
			if math.Abs(share-1) > 1e-9 || math.Abs(ms-p.GPUMS) > 1e-6*p.GPUMS || math.Abs(phases-p.GPUMS) > 1e-6*p.GPUMS {
				t.Errorf("%s: kernel shares sum to %v, times to %v, phases to %v, of %v ms", m.Mode, share, ms, phases, p.GPUMS)
			}
		}
	}
}

// A synthetic configuration is written, measured and deleted.
func TestRunSyntheticConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	out, e, code := bench(t, "run", "--config", "custom", "--hidden", "96", "--heads", "6", "--kv-heads", "3", "--head-dim", "16",
		"--ffn", "160", "--layers", "3", "--cameras", "main:4x3", "--action-len", "9", "--dtype", "q8_0",
		"--modes", "jd3p,ar", "--runs", "1", "--warmup", "0", "--steps", "3", "--tmp", dir, "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if !strings.Contains(out, "synthetic custom") {
		t.Errorf("output:\n%s", out)
	}
	r := readReport(t, path)
	c := r.Config
	if c.Source != "synthetic" || c.Layers != 3 || c.Hidden != 96 || c.DType != "q8_0" || c.WriteSeconds == nil || c.ModelBytes <= 0 ||
		c.Cameras != "main:4x3" || len(r.Modes) != 2 {
		t.Errorf("config %+v, %d modes", c, len(r.Modes))
	}
	if r.Device.Timestamps && !strings.Contains(out, "matmul q8_0") {
		t.Errorf("no q8_0 matmul in the profile:\n%s", out)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "run.json" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// `ops` reports each kernel at each shape with the work its shape implies.
func TestOps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ops.json")
	out, e, code := bench(t, "ops", "--config", "tiny", "--dtypes", "q4_0,f16", "--n", "3,17", "--min-time", "1ms", "--max-reps", "3",
		"--kernels", "matmul,attention,rmsnorm,rope,silu_mul,lm_head", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	r := readReport(t, path)
	// tiny: hidden 64, q 4x16, kv 2x16, ffn 192: four matmul shapes, lm_head, per dtype and n;
	// four other kernels per n
	if want := (4+1)*2*2 + 4*2; len(r.Ops) != want {
		t.Fatalf("%d cases, want %d:\n%s", len(r.Ops), want, out)
	}
	seen := map[string]bool{}
	for _, o := range r.Ops {
		seen[o.Kernel] = true
		p := o.Params
		n := float64(p["n"])
		var want float64
		switch {
		case strings.HasPrefix(o.Kernel, "matmul"):
			want = 2 * n * float64(p["rows"]) * float64(p["cols"])
		case strings.HasPrefix(o.Kernel, "attention"):
			// causal, queries q0..q0+n-1: query q sees q+1 keys
			q0 := float64(p["q0"])
			want = 4 * 4 * 16 * (n*q0 + n*(n+1)/2)
		case o.Kernel == "rmsnorm":
			want = 4 * n * 64
		case o.Kernel == "rope":
			want = 3 * n * 16 * (4 + 2)
		case o.Kernel == "silu_mul":
			want = 5 * n * 192
		}
		if o.FLOPs != want || o.Reps < 3 || o.TimeUS.Median <= 0 || o.GFLOPS <= 0 {
			t.Errorf("%s %s: %g FLOPs (want %g), %d reps, %+v", o.Kernel, o.Shape, o.FLOPs, want, o.Reps, o.TimeUS)
		}
	}
	for _, k := range []string{"matmul q4_0", "matmul f16", "attention", "rmsnorm", "rope", "silu_mul"} {
		if !seen[k] && !(k == "attention" && seen["attention_scalar"]) {
			t.Errorf("no %s case", k)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "--model FILE, or --config"},
		{[]string{"run", "--model", tinyPath, "--config", "tiny"}, "--model FILE, or --config"},
		{[]string{"run", "--model", tinyPath, "--layers", "2"}, "drop them with --model"},
		{[]string{"run", "--config", "gpt-9"}, "unknown --config"},
		{[]string{"run", "--config", "tiny", "--dtype", "q2_k"}, "q2_k"},
		{[]string{"run", "--model", tinyPath, "--modes", "jd3p,beam"}, "--modes"},
		{[]string{"run", "--model", tinyPath, "--mask", "causal"}, "want model, release, paper or release-kv"},
		{[]string{"run", "--model", tinyPath, "--runs", "0"}, "at least one run"},
		{[]string{"ops", "--kernels", "fft"}, "unknown kernel"},
		{[]string{"ops", "--n", "0"}, "not a token count"},
		{[]string{"ops", "--model", tinyPath, "--config", "tiny"}, "not both"},
	} {
		_, e, code := bench(t, c.args...)
		if code != 1 || !strings.Contains(e, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, e, c.want)
		}
	}
	if _, e, code := bench(t, "frobnicate"); code != 2 || !strings.Contains(e, "unknown command") {
		t.Errorf("unknown command: exit %d, %s", code, e)
	}
	if out, _, code := bench(t, "--help"); code != 0 || !strings.Contains(out, "ops") {
		t.Errorf("--help: exit %d, %s", code, out)
	}
}

func TestSummarise(t *testing.T) {
	s := summarise([]float64{7, 1, 3, 9, 5})
	if s.Median != 5 || s.Min != 1 || s.Max != 9 || s.Mean != 5 || s.N != 5 || math.Abs(s.P90-8.2) > 1e-12 {
		t.Errorf("%+v", s)
	}
	if s := summarise([]float64{2, 4}); s.Median != 3 || math.Abs(s.P90-3.8) > 1e-12 {
		t.Errorf("%+v", s)
	}
	if s := summarise(nil); s.N != 0 {
		t.Errorf("%+v", s)
	}
}

// The 8B configurations have the real token counts of spec §3 without writing anything.
func TestSyntheticShapes(t *testing.T) {
	for _, c := range []struct {
		config                    string
		prefix, region, la, steps int
		header                    []int32
	}{
		{"calvin-8b", 1 + 20 + 636 + 111, 817, 70, 72, []int32{9, 15, 16, 17, 20}},
		{"libero-8b", 1 + 20 + 636 + 111, 817, 70, 72, []int32{9, 15, 16, 17, 18, 19, 20}},
		{"bridge-8b", 1 + 20 + 636, 708, 72, 96, []int32{9, 15, 16, 17, 18, 19, 20, 21}},
		{"tiny", 1 + 20 + 4 + 5 + 25 + 4 + 5 + 9, 4 + 5 + 25 + 4 + 5 + 9 + 16, 16, 8, []int32{9, 16, 18, 20}},
	} {
		fs := newFlagSet("run", &bytes.Buffer{})
		sf := addSynthFlags(fs)
		if err := fs.Parse([]string{"--config", c.config, "--layers", "2"}); err != nil {
			t.Fatal(err)
		}
		o, err := sf.options(5)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := build.RandomConfig(o)
		if err != nil {
			t.Fatal(err)
		}
		req := benchRequest(cfg, 20, 5)
		l, err := seq.Build(cfg.Vocab, cfg.Decoding, req.Instruction, req.Codes)
		if err != nil {
			t.Fatal(err)
		}
		if l.P() != c.prefix || l.N() != c.region || cfg.Decoding.ActionLen != c.la || o.Arch.Layers != 2 {
			t.Errorf("%s: P=%d N=%d L_a=%d layers %d, want %d, %d, %d, 2", c.config, l.P(), l.N(), cfg.Decoding.ActionLen, o.Arch.Layers, c.prefix, c.region, c.la)
		}
		if d := cfg.Decoding; d.Steps != c.steps || d.Mask != model.MaskRelease || !reflect.DeepEqual(cfg.Vocab.HeaderIDs, c.header) {
			t.Errorf("%s: T=%d, %v mask, header ids %v; want T=%d, release, %v", c.config, d.Steps, d.Mask, cfg.Vocab.HeaderIDs, c.steps, c.header)
		}
		if c.config != "tiny" && (o.Arch != (model.Arch{Layers: 2, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, FFN: 14336,
			Vocab: model.Emu3VocabSize, RopeTheta: 1e6, RMSEps: 1e-5}) || o.DType.String() != "q8_0") {
			t.Errorf("%s: %+v %v", c.config, o.Arch, o.DType)
		}
	}
	// 2 layers of calvin-8b in q8_0: embedding and lm_head 2 x 184,622 x 4,096, seven matrices per
	// layer, blocks of 32 values in 34 bytes
	fs := newFlagSet("run", &bytes.Buffer{})
	sf := addSynthFlags(fs)
	fs.Parse([]string{"--config", "calvin-8b", "--layers", "2"})
	o, _ := sf.options(1)
	perLayer := int64(4096*4096*2+1024*4096*2+14336*4096*3) / 32 * 34
	want := 2*int64(model.Emu3VocabSize)*4096/32*34 + 2*perLayer + 4*(2*2*4096+4096)
	if got := modelBytes(o); got < want || got > want+int64(16*256) {
		t.Errorf("calvin-8b, 2 layers: %d bytes, want %d plus alignment", got, want)
	}
}
