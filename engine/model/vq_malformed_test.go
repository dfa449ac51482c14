package model_test

import (
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
	"github.com/udvla/udvla/engine/quant"
)

// vqModelParts is a small file that holds a vision tokenizer alone, as parts.
func vqModelParts(t testing.TB) (*model.Config, []model.TensorInfo, map[string][]byte) {
	t.Helper()
	c := model.TinyVQConfig()
	values := build.RandomVQTensors(c, 3)
	var dir []model.TensorInfo
	data := map[string][]byte{}
	for _, x := range c.Tensors() {
		ti := model.TensorInfo{Name: x.Name, DType: quant.F32, Shape: x.Stored()}
		b, err := quant.Quantize(quant.F32, ti.Rows(), ti.Cols(), values[x.Name])
		if err != nil {
			t.Fatal(err)
		}
		ti.Length = int64(len(b))
		dir = append(dir, ti)
		data[x.Name] = b
	}
	return &model.Config{VQ: c}, dir, data
}

// Malformed vision-tokenizer fields and tensors are refused at Open with a clear message.
func TestMalformedVQFilesRejected(t *testing.T) {
	cfg, dir, data := vqModelParts(t)
	if _, err := model.Parse(modeltest.EncodeModel(t, cfg, modeltest.CloneDir(dir), data, -1)); err != nil {
		t.Fatalf("the base VQ file does not open: %v", err)
	}
	withVQ := func(edit func(c *model.VQConfig)) *model.Config {
		c := &model.Config{VQ: cloneVQ(cfg.VQ)}
		edit(c.VQ)
		return c
	}
	cases := []struct {
		name string
		cfg  *model.Config
		dir  func([]model.TensorInfo) []model.TensorInfo
		want string
	}{
		{"codebook 0", withVQ(func(c *model.VQConfig) { c.CodebookSize = 0 }), nil, "codebook size"},
		{"z != embed", withVQ(func(c *model.VQConfig) { c.ZChannels = 5 }), nil, "z_channels"},
		{"double_z", withVQ(func(c *model.VQConfig) { c.DoubleZ = true }), nil, "double_z"},
		{"no levels", withVQ(func(c *model.VQConfig) { c.ChMult = nil }), nil, "levels"},
		{"too many levels", withVQ(func(c *model.VQConfig) { c.ChMult = make([]int, 20) }), nil, "levels"},
		{"negative mult", withVQ(func(c *model.VQConfig) { c.ChMult = []int{1, -1} }), nil, "level 1"},
		{"huge mult", withVQ(func(c *model.VQConfig) { c.ChMult = []int{1, 1 << 30} }), nil, "level 1"},
		{"ch 40", withVQ(func(c *model.VQConfig) { c.Ch = 40 }), nil, "multiple of 32"},
		{"attn level 2", withVQ(func(c *model.VQConfig) { c.AttnResolutions = []int{2} }), nil, "attn_resolutions"},
		{"attn twice", withVQ(func(c *model.VQConfig) { c.AttnResolutions = []int{1, 1} }), nil, "attn_resolutions"},
		{"temporal 6", withVQ(func(c *model.VQConfig) { c.TemporalDownsampleFactor = 6 }), nil, "power of 2"},
		{"in channels 0", withVQ(func(c *model.VQConfig) { c.InChannels = 0 }), nil, "in/out"},
		{"res blocks 0", withVQ(func(c *model.VQConfig) { c.NumResBlocks = 0 }), nil, "num_res_blocks"},
		{"dropout 1", withVQ(func(c *model.VQConfig) { c.Dropout = 1 }), nil, "dropout"},
		{"more res blocks than tensors", withVQ(func(c *model.VQConfig) { c.NumResBlocks = 2 }), nil, "missing"},
		{"a layout without an LM", &model.Config{VQ: cfg.VQ, Vocab: &model.Vocab{}, Decoding: &model.Decoding{}}, nil, "no architecture"},
		{"nothing at all", &model.Config{}, nil, "no architecture and no VQ"},
		{"kernel shape", cfg, func(d []model.TensorInfo) []model.TensorInfo {
			d[6].Shape = []int{d[6].Shape[1], d[6].Shape[0]}
			return d
		}, "implies"},
		{"quantized kernel", cfg, func(d []model.TensorInfo) []model.TensorInfo {
			d[6].DType = quant.Q8_0
			return d
		}, "f32 or f16"},
		{"missing codebook", cfg, func(d []model.TensorInfo) []model.TensorInfo {
			for i := range d {
				if d[i].Name == "quantize.embedding.weight" {
					return append(d[:i], d[i+1:]...)
				}
			}
			return d
		}, "missing"},
		{"a BatchNorm counter", cfg, func(d []model.TensorInfo) []model.TensorInfo {
			return append(d, model.TensorInfo{Name: "encoder.time_res_stack.0.norm1.num_batches_tracked", DType: quant.F32, Shape: []int{1}, Length: 4})
		}, "not a tensor"},
	}
	for _, k := range cases {
		d := modeltest.CloneDir(dir)
		if k.dir != nil {
			d = k.dir(d)
		}
		_, err := model.Parse(modeltest.EncodeModel(t, k.cfg, d, data, -1))
		if err == nil || !strings.Contains(err.Error(), k.want) {
			t.Errorf("%s: error %v, want one that says %q", k.name, err, k.want)
		}
	}
}

// Random mutations of a VQ file's header, checksum fixed so they reach the verifier, are refused
// or read cleanly: never a panic caught in the accessors or the parser.
func TestVQHeaderMutations(t *testing.T) {
	cfg, dir, data := vqModelParts(t)
	file := modeltest.EncodeModel(t, cfg, modeltest.CloneDir(dir), data, -1)
	r, _ := modeltest.FreshRand(t)
	n := int(file[0]) | int(file[1])<<8 | int(file[2])<<16
	before, beforeParse := model.AccessorPanics.Load(), model.ParsePanics.Load()
	refused := 0
	for i := 0; i < 2000; i++ {
		b := append([]byte(nil), file...)
		for k := 0; k <= r.IntN(3); k++ {
			b[4+r.IntN(n)] ^= 1 << r.IntN(8)
		}
		f, err := model.Parse(modeltest.FixHeaderCRC(b))
		if err != nil {
			refused++
			continue
		}
		checkBackendReads(t, f)
	}
	if model.AccessorPanics.Load() != before || model.ParsePanics.Load() != beforeParse {
		t.Fatal("a panic was caught while parsing a mutated VQ header")
	}
	if refused < 1000 {
		t.Fatalf("only %d of 2000 mutated headers refused", refused)
	}
}

func cloneVQ(c *model.VQConfig) *model.VQConfig {
	out := *c
	out.ChMult = append([]int(nil), c.ChMult...)
	out.AttnResolutions = append([]int(nil), c.AttnResolutions...)
	return &out
}
