package build_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
	"github.com/udvla/udvla/engine/quant"
)

func TestWriteOpenRoundTrip(t *testing.T) {
	_, seed := modeltest.FreshRand(t)
	dir := t.TempDir()
	for _, dt := range quant.DTypes {
		o := modeltest.SmallOptions(seed, dt)
		path := filepath.Join(dir, dt.String()+model.FileExtension)
		if err := build.WriteRandom(path, o); err != nil {
			t.Fatal(err)
		}
		f, err := model.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := build.RandomConfig(o)
		if !reflect.DeepEqual(&f.Config, want) {
			t.Fatalf("%v: config read back differs:\n got %+v\nwant %+v", dt, f.Config, want)
		}
		if err := f.Verify(); err != nil {
			t.Fatal(err)
		}
		if len(f.Tensors) != len(o.Arch.TensorNames()) {
			t.Fatalf("%d tensors, want %d", len(f.Tensors), len(o.Arch.TensorNames()))
		}
		for _, name := range o.Arch.TensorNames() {
			x, _ := build.RandomTensor(o.Arch, seed, name)
			info, got, err := f.Tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			wantDT := dt
			if len(info.Shape) == 1 {
				wantDT = quant.F32
			}
			enc, err := quant.Quantize(wantDT, info.Rows(), info.Cols(), x)
			if err != nil {
				t.Fatal(err)
			}
			if info.DType != wantDT || !bytes.Equal(got, enc) {
				t.Fatalf("%v: tensor %s (%v) differs from its direct encoding", dt, name, info.DType)
			}
			if info.Offset%model.Alignment != 0 {
				t.Fatalf("tensor %s at %d", name, info.Offset)
			}
			y, err := f.Float32(name)
			if err != nil {
				t.Fatal(err)
			}
			if dt == quant.F32 && !reflect.DeepEqual(y, x) {
				t.Fatalf("f32 tensor %s does not read back identical", name)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.Tensor(model.LMHead); err == nil {
			t.Fatal("Tensor after Close succeeded")
		}
	}
}

// Write from encoded tensors, in a shuffled order, of a plain Llama (no layout) with a text
// vocabulary: Open returns the same bytes.
func TestWriteEncodedTensors(t *testing.T) {
	r, seed := modeltest.FreshRand(t)
	o := modeltest.TinyArchOptions(false)
	o.Seed = seed
	cfg, dir, data := modeltest.RandomModelParts(t, o)
	cfg.TextBPE = []byte("IQ== 0\nIg== 1\n")
	var tensors []build.TensorData
	for _, i := range r.Perm(len(dir)) {
		d := dir[i]
		dt := quant.DTypes[r.IntN(4)]
		if len(d.Shape) == 1 {
			dt = quant.F32
		}
		x := make([]float32, d.Rows()*d.Cols())
		for k := range x {
			x[k] = float32(r.NormFloat64())
		}
		b, err := quant.Quantize(dt, d.Rows(), d.Cols(), x)
		if err != nil {
			t.Fatal(err)
		}
		data[d.Name] = b
		tensors = append(tensors, build.TensorData{Name: d.Name, DType: dt, Shape: d.Shape, Data: b})
	}
	path := filepath.Join(t.TempDir(), "m.udvla")
	if err := build.Write(path, cfg, tensors); err != nil {
		t.Fatal(err)
	}
	f, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Config.Vocab != nil || f.Config.Decoding != nil || f.Config.Fast != nil || !bytes.Equal(f.Config.TextBPE, cfg.TextBPE) {
		t.Fatalf("config %+v", f.Config)
	}
	for name, want := range data {
		_, got, err := f.Tensor(name)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("tensor %s differs (%v)", name, err)
		}
	}
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestWriterRejects(t *testing.T) {
	o := modeltest.TinyArchOptions(true)
	cfg, _ := build.RandomConfig(o)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.udvla")
	w, err := build.NewWriter(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 32*32)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	wq := model.LayerTensor(0, "wq")
	for _, c := range []struct {
		name  string
		dt    quant.DType
		shape []int
		x     []float32
		want  string
	}{
		{"layers.1.wq", quant.F32, []int{32, 32}, x, "not a tensor"},
		{wq, quant.F32, []int{32, 16}, x[:512], "shape"},
		{model.FinalNorm, quant.Q8_0, []int{32}, x[:32], "f32"},
		{wq, quant.F32, []int{32, 32}, x[:100], "values"},
	} {
		if err := w.WriteFloat32(c.name, c.dt, c.shape, c.x); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteFloat32(%s %v %v): %v, want an error about %q", c.name, c.dt, c.shape, err, c.want)
		}
	}
	if err := w.WriteFloat32(wq, quant.Q8_0, []int{32, 32}, x); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFloat32(wq, quant.Q8_0, []int{32, 32}, x); err == nil {
		t.Error("a tensor written twice was accepted")
	}
	if err := w.WriteTensor(model.LayerTensor(0, "wk"), quant.F16, []int{16, 32}, make([]byte, 10)); err == nil {
		t.Error("WriteTensor accepted 10 bytes for f16 [16, 32]")
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "was not written") {
		t.Fatalf("Close of an incomplete model: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("an incomplete model left files: %v", ents)
	}
	bad := *cfg
	bad.Decoding = nil
	if _, err := build.NewWriter(path, &bad); err == nil {
		t.Fatal("NewWriter accepted a layout without decoding defaults")
	}
}

// The random weights give logits with a spread: embedding -> final norm -> lm_head of random
// tokens, computed here in float64.
func TestRandomLogitsSpread(t *testing.T) {
	r, seed := modeltest.FreshRand(t)
	o, err := build.TinyOptions("../../../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	a := o.Arch
	w := build.RandomTensors(a, seed)
	for k := 0; k < 5; k++ {
		tok := r.IntN(a.Vocab)
		h := w[model.TokEmbeddings][tok*a.Hidden : (tok+1)*a.Hidden]
		var ss float64
		for _, v := range h {
			ss += float64(v) * float64(v)
		}
		inv := 1 / math.Sqrt(ss/float64(a.Hidden)+a.RMSEps)
		lo, hi, sum, sum2 := 1e300, -1e300, 0.0, 0.0
		for row := 0; row < a.Vocab; row++ {
			var z float64
			for j, v := range h {
				z += float64(v) * inv * float64(w[model.FinalNorm][j]) * float64(w[model.LMHead][row*a.Hidden+j])
			}
			lo, hi, sum, sum2 = min(lo, z), max(hi, z), sum+z, sum2+z*z
		}
		mean := sum / float64(a.Vocab)
		std := math.Sqrt(sum2/float64(a.Vocab) - mean*mean)
		if hi-lo < 1 || std < 0.5 || std > 2 {
			t.Fatalf("token %d: logits in [%g, %g], std %g: want a spread of at least 1 and std near 1", tok, lo, hi, std)
		}
	}
	// norm weights are near 1 but not all equal; embeddings have unit scale
	nw := w[model.LayerTensor(1, "ffn_norm")]
	if nw[0] == nw[1] || abs(mean32(nw)-1) > 0.05 || abs(rms32(w[model.TokEmbeddings])-1) > 0.05 {
		t.Fatalf("norm weights mean %g, embedding rms %g", mean32(nw), rms32(w[model.TokEmbeddings]))
	}
	if a2 := build.RandomTensors(a, seed+1); reflect.DeepEqual(a2[model.LMHead], w[model.LMHead]) {
		t.Fatal("two seeds gave the same lm_head")
	}
}

// testdata/tiny.udvla is exactly what TinyOptions and WriteRandom make (tools/generate.sh makes it).
func TestTinyModelRegenerates(t *testing.T) {
	o, err := build.TinyOptions("../../../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.udvla")
	if err := build.WriteRandom(path, o); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../../testdata/tiny.udvla")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("regenerated tiny model (%d bytes) differs from testdata/tiny.udvla (%d bytes): run tools/generate.sh (or go generate ./...)", len(got), len(want))
	}
	f, err := model.Open("../../../testdata/tiny.udvla")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &f.Config
	if c.Arch.Vocab != 1367 || c.Fast.MinToken != -158 || c.Fast.Scale != 50 || c.Fast.Horizon != 10 || len(c.Fast.Q99) != 7 ||
		!reflect.DeepEqual(c.Vocab.HeaderIDs, []int32{9, 16, 18, 20}) || c.Decoding.Cameras[1] != (model.Camera{Name: "wrist", H: 3, W: 3}) {
		t.Fatalf("tiny model config %+v %+v %+v", c.Arch, c.Vocab, c.Decoding)
	}
	if f.Size > 4<<20 {
		t.Fatalf("tiny model is %d bytes", f.Size)
	}
}

func abs(x float64) float64 { return max(x, -x) }

func mean32(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s / float64(len(x))
}

func rms32(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}
