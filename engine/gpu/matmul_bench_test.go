package gpu

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/udvla/udvla/engine/internal/blas"
	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
)

// The benchmark shapes are those of Emu3-8B: attention q/o (4096×4096), k/v (1024×4096), FFN
// gate/up (14336×4096) and down (4096×14336), each at N = 1 (AR decode), 512 and 817 (the tokens
// a JD3P denoising pass generates), and the lm_head restricted to a decoding space: the 32,768
// visual tokens and 20 special ids of an image position, or ~1k action ids, out of 184,622 rows.
//
//	go test -run '^$' -bench Matmul ./engine/gpu                         # the targets (~2 min on lavapipe)
//	go test -run '^$' -bench Matmul ./engine/gpu -args -matmul.shapes=8b  # every shape (long on lavapipe)
//	go test -run '^$' -bench Matmul ./engine/gpu -args -matmul.shapes=4096x14336:1/512 -matmul.dtypes=q4_0
//	go test -run '^$' -bench Matmul ./engine/gpu -args -matmul.shapes=1536x4096:192 -matmul.tile=4,12
//	go test -run '^$' -bench Matmul ./engine/gpu -args -matmul.shapes=4096x4096:512 -matmul.variants=tiled,tiled-emu,int8-emu
//
// UDVLA_MATMUL_SHAPES and UDVLA_MATMUL_DTYPES set the same. Every case also runs OpenBLAS sgemm
// (fp32, all cores) on the same shape: the machine's fp32 ceiling, measured in the same run.
var (
	benchShapes = flag.String("matmul.shapes", envOr("UDVLA_MATMUL_SHAPES", "targets"),
		`matmul benchmark cases: "targets", "8b", or MxK:N1/N2/... and lmhead-image:N1/..., lmhead-action:N1/..., comma-separated`)
	benchDTypes   = flag.String("matmul.dtypes", envOr("UDVLA_MATMUL_DTYPES", "f16,q8_0,q4_0"), "matmul benchmark weight dtypes")
	benchVariants = flag.String("matmul.variants", envOr("UDVLA_MATMUL_VARIANTS", ""),
		`matmul kernel variants to run next to the device's choice in the same run, comma-separated (e.g. "tiled,tiled-emu,int8-emu")`)
	benchTile = flag.String("matmul.tile", "", `R,C[,KSPLIT]: run every case with this tile instead of the device's choice (KSPLIT 1: rows per invocation; the subgroup size: K split across the subgroup)`)
)

// benchConfig is the device's tile choice, or every path set to the -matmul.tile override.
func benchConfig(dev *vk.Device) (matmulConfig, error) {
	cfg := matmulConfigFor(dev.Info)
	if *benchTile == "" {
		return cfg, nil
	}
	var v []int
	for _, f := range strings.Split(*benchTile, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("-matmul.tile %q: want R,C[,KSPLIT] of positive integers", *benchTile)
		}
		v = append(v, n)
	}
	if len(v) == 2 {
		v = append(v, 1)
	}
	if len(v) != 3 {
		return cfg, fmt.Errorf("-matmul.tile %q: want R,C[,KSPLIT]", *benchTile)
	}
	t := matmulTile{Local: cfg.SG, R: v[0], C: v[1], KSplit: v[2]}
	for i := range cfg.Paths {
		cfg.Paths[i] = matmulPaths{One: t, Few: t, Many: t}
	}
	return cfg, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// The restricted lm_head: Emu3's vocabulary, the visual-token range of an image position plus a
// few specials, and an action position's FAST range.
const (
	benchVocab      = 184622
	benchVisualBase = 151854
	benchVisual     = 32768
	benchSpecials   = 20
	benchActions    = 1024
)

type benchCase struct {
	name    string
	m, k, n int
	subset  []int32 // rows of an m-row weight, or nil
}

var benchSets = map[string]string{
	"targets": "4096x14336:1/512,4096x4096:1,1024x4096:1,14336x4096:1,lmhead-image:1",
	"8b": "4096x4096:1/512/817,1024x4096:1/512/817,14336x4096:1/512/817,4096x14336:1/512/817," +
		"lmhead-image:1/817,lmhead-action:1/817",
}

func parseBenchCases(spec string) ([]benchCase, error) {
	if s, ok := benchSets[spec]; ok {
		spec = s
	}
	var out []benchCase
	for _, item := range strings.Split(spec, ",") {
		shape, ns, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok {
			return nil, fmt.Errorf("matmul case %q: want SHAPE:N1/N2", item)
		}
		var c benchCase
		switch shape {
		case "lmhead-image", "lmhead-action":
			c = benchCase{name: shape, m: benchVocab, k: 4096, subset: lmHeadRows(shape == "lmhead-image")}
		default:
			ms, ks, ok := strings.Cut(shape, "x")
			m, err1 := strconv.Atoi(ms)
			k, err2 := strconv.Atoi(ks)
			if !ok || err1 != nil || err2 != nil || m <= 0 || k <= 0 || k%32 != 0 {
				return nil, fmt.Errorf("matmul case %q: shape is not MxK with K a multiple of 32", item)
			}
			c = benchCase{name: fmt.Sprintf("M=%d,K=%d", m, k), m: m, k: k}
		}
		for _, f := range strings.Split(ns, "/") {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("matmul case %q: bad N %q", item, f)
			}
			c.n = n
			out = append(out, c)
		}
	}
	return out, nil
}

// lmHeadRows is the sorted id set of an image position (the visual tokens and a few specials
// below them) or of an action position (a FAST range below the specials).
func lmHeadRows(image bool) []int32 {
	var ids []int32
	if image {
		for i := 0; i < benchSpecials; i++ {
			ids = append(ids, int32(benchVisualBase-benchSpecials+i))
		}
		for i := 0; i < benchVisual; i++ {
			ids = append(ids, int32(benchVisualBase+i))
		}
		return ids
	}
	for i := 0; i < benchActions; i++ {
		ids = append(ids, int32(151642-benchActions+1+i))
	}
	return append(ids, 151844, 151845)
}

var (
	mmBenchOnce sync.Once
	mmBenchDev  *vk.Device
	mmBenchErr  error
)

// mmBenchDevice is a plain device (no validation layer) shared by the benchmarks.
func mmBenchDevice(b *testing.B) *vk.Device {
	mmBenchOnce.Do(func() { mmBenchDev, mmBenchErr = vk.Open(vk.Options{}.WithEnv()) })
	if mmBenchErr != nil {
		b.Fatal(mmBenchErr)
	}
	return mmBenchDev
}

// benchRaw is a random [rows, cols] tensor in dt's file layout, made directly in that layout
// (quantizing hundreds of millions of floats would dominate the benchmark's set-up).
func benchRaw(r *rand.Rand, dt quant.DType, rows, cols int) []byte {
	qb, so, total := quant.Layout(dt, rows, cols)
	raw := make([]byte, total)
	fill := func(b []byte) {
		for i := 0; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], r.Uint64())
		}
	}
	// A finite fp16 value of magnitude in [2^-6, 2^-1).
	half := func() uint16 { return uint16(r.Uint32()&0x83ff) | uint16(9+r.IntN(5))<<10 }
	switch dt {
	case quant.F32:
		for i := int64(0); i < qb; i += 4 {
			binary.LittleEndian.PutUint32(raw[i:], math.Float32bits(float32(r.Float64()-0.5)))
		}
	case quant.F16:
		for i := int64(0); i+8 <= qb; i += 8 {
			// Four halves: random signs and mantissas, exponents 11..14 (magnitudes [2^-4, 1)).
			binary.LittleEndian.PutUint64(raw[i:], r.Uint64()&0x8fff8fff8fff8fff|0x2c002c002c002c00)
		}
	default:
		fill(raw[:qb])
		for i := so; i < total; i += 2 {
			binary.LittleEndian.PutUint16(raw[i:], half())
		}
	}
	return raw
}

func benchFloats(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.Float64() - 0.5)
	}
	return x
}

// BenchmarkMatmul reports GFLOP/s (2·rows·K·N per product) and GB/s (weights read once, plus x
// and y) per case and dtype, and OpenBLAS's fp32 sgemm on the same shape.
func BenchmarkMatmul(b *testing.B) {
	cases, err := parseBenchCases(*benchShapes)
	if err != nil {
		b.Fatal(err)
	}
	var dts []quant.DType
	for _, s := range strings.Split(*benchDTypes, ",") {
		dt, err := quant.Parse(strings.TrimSpace(s))
		if err != nil {
			b.Fatal(err)
		}
		dts = append(dts, dt)
	}
	r := rand.New(rand.NewPCG(11, 13))
	for _, c := range cases {
		b.Run(fmt.Sprintf("%s,N=%d", c.name, c.n), func(b *testing.B) {
			for _, dt := range dts {
				b.Run(dt.String(), func(b *testing.B) {
					dev := mmBenchDevice(b)
					cfg, err := benchConfig(dev)
					if err != nil {
						b.Fatal(err)
					}
					benchMatmul(b, r, c, dt, cfg)
				})
				for _, v := range benchVariantList() {
					b.Run(dt.String()+"-"+v, func(b *testing.B) {
						dev := mmBenchDevice(b)
						if _, err := OverrideKernels(ChooseKernels(dev.Info), dev.Info, "matmul="+v); err != nil {
							b.Skip(err)
						}
						benchMatmul(b, r, c, dt, matmulConfigOf(dev.Info, v))
					})
				}
			}
			b.Run("openblas-f32", func(b *testing.B) { benchBLAS(b, r, c) })
		})
	}
}

// benchVariantList is -matmul.variants split.
func benchVariantList() []string {
	var vs []string
	for _, v := range strings.Split(*benchVariants, ",") {
		if v = strings.TrimSpace(v); v != "" {
			vs = append(vs, v)
		}
	}
	return vs
}

func benchMatmul(b *testing.B, r *rand.Rand, c benchCase, dt quant.DType, cfg matmulConfig) {
	dev := mmBenchDevice(b)
	mm, err := newMatmul(dev, cfg, []quant.DType{dt})
	if err != nil {
		b.Fatal(err)
	}
	defer mm.Close()
	w, err := UploadMatrix(dev, dt, c.m, c.k, benchRaw(r, dt, c.m, c.k))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	out := c.m
	if c.subset != nil {
		out = len(c.subset)
	}
	var bufs []*vk.Buffer
	defer func() {
		for _, x := range bufs {
			x.Close()
		}
	}()
	buffer := func(data []byte) vk.Binding {
		buf, err := dev.NewBuffer(int64(len(data)), vk.DeviceLocal, 0)
		if err != nil {
			b.Fatal(err)
		}
		bufs = append(bufs, buf)
		if err := buf.Write(0, data); err != nil {
			b.Fatal(err)
		}
		bd, err := buf.All()
		if err != nil {
			b.Fatal(err)
		}
		return bd
	}
	a := MatmulArgs{X: bind(b, upload(b, dev, benchFloats(r, c.n*c.k))), Y: buffer(make([]byte, 4*c.n*out)), N: c.n}
	if c.subset != nil {
		a.Rows, a.NRows = bind(b, uploadI32(b, dev, c.subset)), len(c.subset)
	}
	s, err := dev.NewSequence()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := mm.Record(s, w, a); err != nil {
		b.Fatal(err)
	}
	if err := s.Run(); err != nil { // compiles the pipeline and warms the caches
		b.Fatal(err)
	}
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Submit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	qr, sr := quant.RowBytes(dt, c.k)
	bytes := float64(out)*float64(qr+sr) + 4*float64(c.n)*float64(c.k+out)
	if many := cfg.Paths[dt].Many; many.Tiled != tiledNone && c.n > cfg.Paths[dt].Few.C {
		_, bytes = tiledWork(many.Tiled, dt, out, c.n, c.k, false)
	}
	reportMatmul(b, out, c, bytes)
	// On lavapipe the work runs on the process's own threads: the CPU time they got says what the
	// kernel would reach with every core to itself, when other load shares the machine.
	flops := 2 * float64(out) * float64(c.k) * float64(c.n)
	b.ReportMetric(flops*float64(b.N)/((cpuSeconds()-cpu0)/float64(runtime.NumCPU()))/1e9, "GFLOP/s-cpu")
}

func benchBLAS(b *testing.B, r *rand.Rand, c benchCase) {
	if err := blas.Available(); err != nil {
		b.Skip(err)
	}
	out := c.m
	if c.subset != nil {
		out = len(c.subset) // the gathered rows, as a dense fp32 matrix
	}
	w := benchFloats(r, out*c.k)
	x := benchFloats(r, c.n*c.k)
	y := make([]float32, c.n*out)
	if err := blas.MatMulT(y, x, w, c.n, out, c.k); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := blas.MatMulT(y, x, w, c.n, out, c.k); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportMatmul(b, out, c, 4*float64(out)*float64(c.k)+4*float64(c.n)*float64(c.k+out))
}

// cpuSeconds is the CPU time of the whole process (all threads) so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func reportMatmul(b *testing.B, out int, c benchCase, bytes float64) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(2*float64(out)*float64(c.k)*float64(c.n)/sec/1e9, "GFLOP/s")
	b.ReportMetric(bytes/sec/1e9, "GB/s")
	b.ReportMetric(sec*1e3, "ms/op")
	b.ReportMetric(0, "ns/op")
}
