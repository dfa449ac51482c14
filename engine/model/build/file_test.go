package build

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/quant"
)

func TestWriteOpenRoundTrip(t *testing.T) {
	_, seed := freshRand(t)
	dir := t.TempDir()
	for _, dt := range quant.DTypes {
		o := smallOptions(seed, dt)
		path := filepath.Join(dir, dt.String()+FileExtension)
		if err := WriteRandom(path, o); err != nil {
			t.Fatal(err)
		}
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := RandomConfig(o)
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
			x, _ := RandomTensor(o.Arch, seed, name)
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
			if info.Offset%Alignment != 0 {
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
		if _, _, err := f.Tensor(LMHead); err == nil {
			t.Fatal("Tensor after Close succeeded")
		}
	}
}

// Write from encoded tensors, in a shuffled order, of a plain Llama (no layout) with a text
// vocabulary: Open returns the same bytes.
func TestWriteEncodedTensors(t *testing.T) {
	r, seed := freshRand(t)
	o := tinyArchOptions(false)
	o.Seed = seed
	cfg, dir, data := randomModelParts(t, o)
	cfg.TextBPE = []byte("IQ== 0\nIg== 1\n")
	var tensors []TensorData
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
		tensors = append(tensors, TensorData{Name: d.Name, DType: dt, Shape: d.Shape, Data: b})
	}
	path := filepath.Join(t.TempDir(), "m.udvla")
	if err := Write(path, cfg, tensors); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
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
	o := tinyArchOptions(true)
	cfg, _ := RandomConfig(o)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.udvla")
	w, err := NewWriter(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 32*32)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	wq := LayerTensor(0, "wq")
	for _, c := range []struct {
		name  string
		dt    quant.DType
		shape []int
		x     []float32
		want  string
	}{
		{"layers.1.wq", quant.F32, []int{32, 32}, x, "not a tensor"},
		{wq, quant.F32, []int{32, 16}, x[:512], "shape"},
		{FinalNorm, quant.Q8_0, []int{32}, x[:32], "f32"},
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
	if err := w.WriteTensor(LayerTensor(0, "wk"), quant.F16, []int{16, 32}, make([]byte, 10)); err == nil {
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
	if _, err := NewWriter(path, &bad); err == nil {
		t.Fatal("NewWriter accepted a layout without decoding defaults")
	}
}

// The random weights give logits with a spread: embedding -> final norm -> lm_head of random
// tokens, computed here in float64.
func TestRandomLogitsSpread(t *testing.T) {
	r, seed := freshRand(t)
	o, err := TinyOptions("../../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	a := o.Arch
	w := RandomTensors(a, seed)
	for k := 0; k < 5; k++ {
		tok := r.IntN(a.Vocab)
		h := w[TokEmbeddings][tok*a.Hidden : (tok+1)*a.Hidden]
		var ss float64
		for _, v := range h {
			ss += float64(v) * float64(v)
		}
		inv := 1 / math.Sqrt(ss/float64(a.Hidden)+a.RMSEps)
		lo, hi, sum, sum2 := 1e300, -1e300, 0.0, 0.0
		for row := 0; row < a.Vocab; row++ {
			var z float64
			for j, v := range h {
				z += float64(v) * inv * float64(w[FinalNorm][j]) * float64(w[LMHead][row*a.Hidden+j])
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
	nw := w[LayerTensor(1, "ffn_norm")]
	if nw[0] == nw[1] || abs(mean32(nw)-1) > 0.05 || abs(rms32(w[TokEmbeddings])-1) > 0.05 {
		t.Fatalf("norm weights mean %g, embedding rms %g", mean32(nw), rms32(w[TokEmbeddings]))
	}
	if a2 := RandomTensors(a, seed+1); reflect.DeepEqual(a2[LMHead], w[LMHead]) {
		t.Fatal("two seeds gave the same lm_head")
	}
}

// testdata/tiny.udvla is exactly what TinyOptions and WriteRandom make (see generate.go).
func TestTinyModelRegenerates(t *testing.T) {
	o, err := TinyOptions("../../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.udvla")
	if err := WriteRandom(path, o); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../testdata/tiny.udvla")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("regenerated tiny model (%d bytes) differs from testdata/tiny.udvla (%d bytes): run go generate ./engine/model", len(got), len(want))
	}
	f, err := Open("../../testdata/tiny.udvla")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &f.Config
	if c.Arch.Vocab != 1367 || c.Fast.MinToken != -158 || c.Fast.Scale != 50 || c.Fast.Horizon != 10 || len(c.Fast.Q99) != 7 ||
		!reflect.DeepEqual(c.Vocab.HeaderIDs, []int32{9, 16, 18, 20}) || c.Decoding.Cameras[1] != (Camera{"wrist", 3, 3}) {
		t.Fatalf("tiny model config %+v %+v %+v", c.Arch, c.Vocab, c.Decoding)
	}
	if f.Size > 4<<20 {
		t.Fatalf("tiny model is %d bytes", f.Size)
	}
}

// Opening a model maps it: an 8 GB file (sparse here) costs the Go heap only its header.
func TestOpenDoesNotReadTensors(t *testing.T) {
	if testing.Short() {
		t.Skip("creates an 8 GB sparse file")
	}
	a := Arch{Layers: 1, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, FFN: 14336, Vocab: 1 << 18, RopeTheta: 1e6, RMSEps: 1e-5}
	cfg := &Config{Arch: a}
	var dir []TensorInfo
	for _, name := range a.TensorNames() {
		shape, _ := a.TensorShape(name)
		ti := TensorInfo{Name: name, DType: quant.F32, Shape: shape}
		ti.Length, _ = TensorBytes(ti.DType, shape)
		dir = append(dir, ti)
	}
	dataOff := alignUp(int64(len(buildHeader(cfg, dir, 0, 0))) + 4)
	pos := dataOff
	for i := range dir {
		dir[i].Offset, dir[i].CRC32C = pos, 1
		pos = alignUp(pos + dir[i].Length)
	}
	size := dir[len(dir)-1].Offset + dir[len(dir)-1].Length
	prefix, err := filePrefix(buildHeader(cfg, dir, uint64(dataOff), uint64(size-dataOff)), dataOff)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "big.udvla")
	fd, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fd.Write(prefix); err != nil {
		t.Fatal(err)
	}
	if err := fd.Truncate(size); err != nil {
		t.Skipf("cannot make a sparse file of %d bytes here: %v", size, err)
	}
	fd.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, b, err := f.Tensor(LMHead)
	if err != nil {
		t.Fatal(err)
	}
	sum := b[0] + b[len(b)/2] + b[len(b)-1] // touch three pages
	runtime.ReadMemStats(&after)
	if f.Size < 8<<30 || int64(len(b)) != 4<<30 || sum != 0 {
		t.Fatalf("file %d bytes, lm_head %d bytes", f.Size, len(b))
	}
	if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 1<<20 {
		t.Fatalf("opening an %d-byte model allocated %d bytes on the Go heap", f.Size, grew)
	}
	t.Logf("opened %.1f GB, %d bytes allocated", float64(f.Size)/(1<<30), after.TotalAlloc-before.TotalAlloc)
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
