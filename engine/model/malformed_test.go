package model_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
	"github.com/udvla/udvla/engine/quant"
)

// baseModel is a small valid model with every dtype in it, as parts and as file bytes.
func baseModel(t testing.TB) (*model.Config, []model.TensorInfo, map[string][]byte, []byte) {
	t.Helper()
	o := modeltest.TinyArchOptions(true)
	cfg, dir, data := modeltest.RandomModelParts(t, o)
	cfg.TextBPE = []byte("YQ== 0\nYg== 1\n")
	for i, d := range dir { // mix the dtypes: f16 keys, q8_0 up projections
		var dt quant.DType
		switch {
		case strings.HasSuffix(d.Name, ".wk"):
			dt = quant.F16
		case strings.HasSuffix(d.Name, ".w_up"):
			dt = quant.Q8_0
		default:
			continue
		}
		x, _ := build.RandomTensor(o.Arch, o.Seed, d.Name)
		b, err := quant.Quantize(dt, d.Rows(), d.Cols(), x)
		if err != nil {
			t.Fatal(err)
		}
		dir[i].DType, dir[i].Length, data[d.Name] = dt, int64(len(b)), b
	}
	placed := modeltest.CloneDir(dir)
	file := modeltest.EncodeModel(t, cfg, placed, data, -1)
	f, err := model.Parse(file)
	if err != nil {
		t.Fatalf("the base model does not open: %v", err)
	}
	if err := f.Verify(); err != nil {
		t.Fatalf("the base model does not verify: %v", err)
	}
	return cfg, placed, data, file
}

type mutant struct {
	name string
	data []byte
	want string // a word the error must contain ("" for random mutations)
}

func cloneConfig(c *model.Config) *model.Config {
	out := *c
	if c.Vocab != nil {
		v := *c.Vocab
		v.HeaderIDs = append([]int32(nil), c.Vocab.HeaderIDs...)
		out.Vocab = &v
	}
	if c.Decoding != nil {
		d := *c.Decoding
		d.Cameras = append([]model.Camera(nil), c.Decoding.Cameras...)
		out.Decoding = &d
	}
	if c.Fast != nil {
		f := *c.Fast
		f.Q01 = append([]float64(nil), c.Fast.Q01...)
		f.Q99 = append([]float64(nil), c.Fast.Q99...)
		out.Fast = &f
	}
	return &out
}

// malformedFiles crafts more than 1000 broken variants of the base model.
func malformedFiles(t *testing.T) []mutant {
	cfg, dir, data, file := baseModel(t)
	r, _ := modeltest.FreshRand(t)
	var ms []mutant
	add := func(name, want string, b []byte) { ms = append(ms, mutant{name, b, want}) }
	n := int64(binary.LittleEndian.Uint32(file))
	dataOff := model.AlignUp(8 + n)

	// Truncated at many points, in the header, its checksum, the padding and the tensors.
	cuts := map[int]bool{}
	for i := 0; i < 64; i++ {
		cuts[i] = true
	}
	for _, c := range []int{int(n) + 3, int(n) + 4, int(n) + 7, int(dataOff) - 1, int(dataOff), int(dataOff) + 1, len(file) - 1} {
		cuts[c] = true
	}
	for len(cuts) < 300 {
		cuts[r.IntN(len(file))] = true
	}
	for c := range cuts {
		add(fmt.Sprintf("truncated to %d", c), "", append([]byte(nil), file[:c]...))
	}

	// Random bit flips: in the header (caught by its checksum) and anywhere (tensor bytes are caught
	// by their checksums in Verify, padding by its zeros).
	for i := 0; i < 450; i++ {
		pos := r.IntN(len(file))
		if i < 150 {
			pos = r.IntN(int(dataOff))
		}
		b := append([]byte(nil), file...)
		b[pos] ^= 1 << r.IntN(8)
		add(fmt.Sprintf("bit flip at %d", pos), "", b)
	}

	// Bad identifier, with and without a fixed header checksum.
	for i := 8; i < 12; i++ {
		for _, x := range []byte{0, 'u', 0xff} {
			b := append([]byte(nil), file...)
			b[i] = x
			add(fmt.Sprintf("identifier byte %d = %#x", i, x), "identifier", b)
			add(fmt.Sprintf("identifier byte %d = %#x, checksum fixed", i, x), "identifier", modeltest.FixHeaderCRC(b))
		}
	}

	// Lying size prefix (the checksum then sits elsewhere or the header runs past the file).
	for _, d := range []int64{1, -1, 4, -4, -n, 1 << 31, int64(len(file))} {
		b := append([]byte(nil), file...)
		binary.LittleEndian.PutUint32(b, uint32(n+d))
		add(fmt.Sprintf("size prefix %+d", d), "", b)
	}
	// Lying data section size and trailing bytes.
	for _, d := range []int64{1, -1, 256, -256, dataOff - int64(len(file)), 1 << 40} {
		add(fmt.Sprintf("data size %+d", d), "data section", modeltest.EncodeModel(t, cfg, modeltest.CloneDir(dir), data, int64(len(file))-dataOff+d))
	}
	add("a trailing byte", "data section", append(append([]byte(nil), file...), 0))
	add("256 trailing bytes", "", append(append([]byte(nil), file...), make([]byte, 256)...))
	b := append([]byte(nil), file...)
	b[8+n+4] = 1
	add("non-zero header padding", "not zero", b)

	// Per tensor: lying lengths, misaligned and overlapping offsets, huge and broken shapes,
	// unknown dtypes, missing, duplicate and unknown names, wrong checksums.
	for i, ti := range dir {
		rebuilt := func(what, want string, edit func(d []model.TensorInfo)) {
			d := modeltest.CloneDir(dir)
			edit(d)
			add(fmt.Sprintf("%s: %s", ti.Name, what), want, modeltest.EncodeModel(t, cfg, d, data, -1))
		}
		for _, dl := range []int64{1, -1, 256, -ti.Length} {
			rebuilt(fmt.Sprintf("length %+d", dl), "bytes", func(d []model.TensorInfo) { d[i].Length += dl })
		}
		for _, do := range []int64{1, 4, 128, -256} {
			rebuilt(fmt.Sprintf("offset %+d", do), "", func(d []model.TensorInfo) {
				d[i].Offset += do
				for k := i + 1; k < len(d); k++ { // keep the others where they were
					d[k].Offset = dir[k].Offset
				}
			})
		}
		rebuilt("offset past the end", "outside", func(d []model.TensorInfo) { d[i].Offset = 1 << 40 })
		rebuilt("moved to the end, leaving a hole", "gap", func(d []model.TensorInfo) { d[i].Offset = model.AlignUp(int64(len(file))) + 256 })
		rebuilt("offset before the data section", "outside", func(d []model.TensorInfo) { d[i].Offset = 256 })
		rebuilt("offset 2^62", "", func(d []model.TensorInfo) { d[i].Offset = 1 << 62 })
		for j := range dir {
			if j != i {
				rebuilt(fmt.Sprintf("same offset as %s", dir[j].Name), "overlap", func(d []model.TensorInfo) { d[i].Offset = dir[j].Offset })
			}
		}
		for _, shape := range [][]int{{1 << 40}, {1 << 20, 1 << 21}, {-1}, {0, 32}, {2, 3, 4}, {}, {ti.Rows() * ti.Cols() * 2}, {ti.Rows() + 1, ti.Cols()}} {
			s := shape
			rebuilt(fmt.Sprintf("shape %v", s), "", func(d []model.TensorInfo) { d[i].Shape = s })
		}
		for _, dt := range []quant.DType{4, 7, 255} {
			rebuilt(fmt.Sprintf("dtype %d", dt), "dtype", func(d []model.TensorInfo) { d[i].DType = dt })
		}
		if len(ti.Shape) == 1 {
			rebuilt("vector stored as q8_0", "f32", func(d []model.TensorInfo) { d[i].DType = quant.Q8_0 })
		}
		rebuilt("wrong checksum", "checksum", func(d []model.TensorInfo) { d[i].CRC32C = ^crcOf(data[ti.Name]) })
		add(ti.Name+": missing", "missing", func() []byte {
			d := modeltest.CloneDir(dir)
			return modeltest.EncodeModel(t, cfg, append(d[:i:i], d[i+1:]...), data, -1)
		}())
		rebuilt("unknown name", "not a tensor", func(d []model.TensorInfo) { d[i].Name = "layers.7.wq" })
		rebuilt("duplicate name", "twice", func(d []model.TensorInfo) { d[i].Name = dir[(i+1)%len(dir)].Name })
		b := append([]byte(nil), file...)
		if end := ti.Offset + ti.Length; end < model.AlignUp(end) && end < int64(len(file)) {
			b[end] = 0x5a
			add(ti.Name+": non-zero padding after it", "not zero", b)
		}
	}

	// The configuration: architecture, layout, decoding defaults and FAST tokenizer.
	conf := func(what, want string, edit func(c *model.Config)) {
		c := cloneConfig(cfg)
		edit(c)
		add("config: "+what, want, modeltest.EncodeModel(t, c, modeltest.CloneDir(dir), data, -1))
	}
	archEdits := map[string]func(a *model.Arch){
		"layers -1": func(a *model.Arch) { a.Layers = -1 }, "layers 1024": func(a *model.Arch) { a.Layers = 1024 },
		"layers 2": func(a *model.Arch) { a.Layers = 2 }, "hidden -32": func(a *model.Arch) { a.Hidden = -32 },
		"hidden 2^16": func(a *model.Arch) { a.Hidden = 1 << 16 }, "hidden 48": func(a *model.Arch) { a.Hidden = 48 },
		"heads 0": func(a *model.Arch) { a.Heads = 0 }, "kv heads 3": func(a *model.Arch) { a.KVHeads = 3 },
		"head dim 15": func(a *model.Arch) { a.HeadDim = 15 }, "ffn 2^18": func(a *model.Arch) { a.FFN = 1 << 18 },
		"vocab 0": func(a *model.Arch) { a.Vocab = 0 }, "vocab 2^24": func(a *model.Arch) { a.Vocab = 1 << 24 },
		"vocab 2^31-1": func(a *model.Arch) { a.Vocab = math.MaxInt32 }, "rope theta 0.5": func(a *model.Arch) { a.RopeTheta = 0.5 },
		"rms eps 0": func(a *model.Arch) { a.RMSEps = 0 }, "rms eps NaN": func(a *model.Arch) { a.RMSEps = math.NaN() },
	}
	for what, e := range archEdits {
		conf("arch "+what, "", func(c *model.Config) { e(&c.Arch) })
	}
	// Huge but valid-looking dimensions: the directory follows the architecture, so the lengths it
	// implies lie far beyond the file.
	for _, a := range []model.Arch{
		{Layers: 1, Hidden: 1 << 16, Heads: 2, KVHeads: 1, HeadDim: 16, FFN: 32, Vocab: 1 << 24, RopeTheta: 500, RMSEps: 1e-5},
		{Layers: 1, Hidden: 32, Heads: 2, KVHeads: 1, HeadDim: 16, FFN: 1 << 18, Vocab: 37, RopeTheta: 500, RMSEps: 1e-5},
	} {
		d := modeltest.CloneDir(dir)
		for k := range d {
			d[k].Shape, _ = a.TensorShape(d[k].Name)
			if n, err := model.TensorBytes(d[k].DType, d[k].Shape); err == nil {
				d[k].Length = n
			}
		}
		c := cloneConfig(cfg)
		c.Arch, c.Vocab, c.Decoding = a, nil, nil
		add(fmt.Sprintf("huge arch %+v", a), "outside", modeltest.EncodeModel(t, c, d, data, -1))
	}
	vocabEdits := map[string]func(v *model.Vocab){
		"boa = eoa":               func(x *model.Vocab) { x.BOA = x.EOA },
		"mask = pad":              func(x *model.Vocab) { x.Mask = x.Pad },
		"bos = eos":               func(x *model.Vocab) { x.BOS = x.EOS },
		"boi in the visual range": func(x *model.Vocab) { x.BOI = x.VisualOffset + 1 },
		"eoi past the vocab":      func(x *model.Vocab) { x.EOI = int32(cfg.Arch.Vocab) },
		"img negative":            func(x *model.Vocab) { x.IMG = -1 },
		"eof a text id":           func(x *model.Vocab) { x.EOF = 3 },
		"text size 0":             func(x *model.Vocab) { x.TextSize = 0 },
		"text size past vocab":    func(x *model.Vocab) { x.TextSize = int32(cfg.Arch.Vocab) + 1 },
		"codebook past vocab":     func(x *model.Vocab) { x.CodebookSize++ },
		"codebook 2^31-1":         func(x *model.Vocab) { x.CodebookSize = math.MaxInt32 },
		"visual in text":          func(x *model.Vocab) { x.VisualOffset = x.TextSize - 1 },
		"fast past text":          func(x *model.Vocab) { x.FastBase = x.TextSize },
		"fast below 0":            func(x *model.Vocab) { x.FastSize = x.FastBase + 2 },
		"fast size 0":             func(x *model.Vocab) { x.FastSize = 0 },
		"fast over the digits":    func(x *model.Vocab) { x.FastSize = x.FastBase - 10 },
		"digit twice":             func(x *model.Vocab) { x.Digits[3] = x.Digits[4] },
		"star is a digit":         func(x *model.Vocab) { x.Star = x.Digits[0] },
		"digit not text":          func(x *model.Vocab) { x.Digits[9] = x.TextSize + 1 },
		"header id twice":         func(x *model.Vocab) { x.HeaderIDs = append(x.HeaderIDs, x.HeaderIDs[0]) },
		"header ids lack one":     func(x *model.Vocab) { x.HeaderIDs = x.HeaderIDs[1:] },
		"header id special":       func(x *model.Vocab) { x.HeaderIDs = append(x.HeaderIDs, x.BOS) },
	}
	for what, e := range vocabEdits {
		conf("vocab "+what, "", func(c *model.Config) { e(c.Vocab) })
	}
	decodingEdits := map[string]func(d *model.Decoding){
		"steps 0":          func(d *model.Decoding) { d.Steps = 0 },
		"steps huge":       func(d *model.Decoding) { d.Steps = 1 << 30 },
		"action len 1":     func(d *model.Decoding) { d.ActionLen = 1 },
		"no cameras":       func(d *model.Decoding) { d.Cameras = nil },
		"grid 0":           func(d *model.Decoding) { d.Cameras[0].W = 0 },
		"grid huge":        func(d *model.Decoding) { d.Cameras[0].H = 1 << 20 },
		"same camera name": func(d *model.Decoding) { d.Cameras = append(d.Cameras, d.Cameras[0]) },
		"empty camera":     func(d *model.Decoding) { d.Cameras[0].Name = "" },
		"mask 9":           func(d *model.Decoding) { d.Mask = 9 },
	}
	for what, e := range decodingEdits {
		conf("decoding "+what, "decoding", func(c *model.Config) { e(c.Decoding) })
	}
	conf("layout without decoding", "together", func(c *model.Config) { c.Decoding = nil })
	conf("decoding without layout", "together", func(c *model.Config) { c.Vocab = nil })
	fastEdits := map[string]func(f *model.Fast){
		"tokenizer not JSON": func(f *model.Fast) { f.TokenizerJSON = []byte("{") },
		"no tokenizer":       func(f *model.Fast) { f.TokenizerJSON = nil },
		"scale 0":            func(f *model.Fast) { f.Scale = 0 },
		"scale NaN":          func(f *model.Fast) { f.Scale = math.NaN() },
		"scale inf":          func(f *model.Fast) { f.Scale = math.Inf(1) },
		"horizon 0":          func(f *model.Fast) { f.Horizon = 0 },
		"dims 2":             func(f *model.Fast) { f.Dims = 2 },
		"q99 short":          func(f *model.Fast) { f.Q99 = nil },
		"q99 below q01":      func(f *model.Fast) { f.Q99[0] = f.Q01[0] - 1 },
		"q01 NaN":            func(f *model.Fast) { f.Q01[0] = math.NaN() },
	}
	for what, e := range fastEdits {
		conf("fast "+what, "fast", func(c *model.Config) { e(c.Fast) })
	}
	return ms
}

func crcOf(b []byte) uint32 { return model.Checksum(b) }

func TestMalformedFilesRejected(t *testing.T) {
	ms := malformedFiles(t)
	if len(ms) < 1000 {
		t.Fatalf("only %d malformed files", len(ms))
	}
	before, beforeParse := model.AccessorPanics.Load(), model.ParsePanics.Load()
	for _, m := range ms {
		f, err := model.Parse(m.data)
		if err == nil {
			err = f.Verify()
		}
		if err == nil {
			t.Errorf("%s: accepted", m.name)
			continue
		}
		if m.want != "" && !strings.Contains(err.Error(), m.want) {
			t.Errorf("%s: error %q does not say %q", m.name, err, m.want)
		}
	}
	if model.AccessorPanics.Load() != before || model.ParsePanics.Load() != beforeParse {
		t.Fatalf("%d accessor and %d parse panics were caught: the verifier let malformed headers through",
			model.AccessorPanics.Load()-before, model.ParsePanics.Load()-beforeParse)
	}
	t.Logf("%d malformed files rejected", len(ms))
}

// Header mutations with the checksum fixed reach the structural verifier: whatever it accepts
// must read without a panic being caught, and whatever parses must dequantize.
func TestHeaderMutationsReachVerifier(t *testing.T) {
	_, _, _, file := baseModel(t)
	r, _ := modeltest.FreshRand(t)
	n := int(binary.LittleEndian.Uint32(file))
	before, beforeParse := model.AccessorPanics.Load(), model.ParsePanics.Load()
	accepted := 0
	for i := 0; i < 3000; i++ {
		b := append([]byte(nil), file...)
		for k := 0; k <= r.IntN(3); k++ {
			pos := 4 + r.IntN(n)
			if r.IntN(2) == 0 {
				b[pos] ^= 1 << r.IntN(8)
			} else {
				b[pos] = byte(r.IntN(256))
			}
		}
		f, err := model.Parse(modeltest.FixHeaderCRC(b))
		if err != nil {
			continue
		}
		accepted++
		checkBackendReads(t, f)
	}
	if model.AccessorPanics.Load() != before || model.ParsePanics.Load() != beforeParse {
		t.Fatalf("%d accessor and %d parse panics were caught", model.AccessorPanics.Load()-before, model.ParsePanics.Load()-beforeParse)
	}
	t.Logf("3000 header mutations, %d still valid (values that any header could hold)", accepted)
}
