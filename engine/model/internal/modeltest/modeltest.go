package modeltest

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

func FreshRand(t testing.TB) (*rand.Rand, uint64) {
	seed := uint64(time.Now().UnixNano())
	if env := os.Getenv("UDVLA_TEST_SEED"); env != "" { // reproduce a logged failure
		if v, err := strconv.ParseUint(env, 10, 64); err == nil {
			seed = v
		}
	}
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 7)), seed
}

// SmallOptions is a random model with awkward sizes: 3 layers, GQA 3/1, a scaled layout.
func SmallOptions(seed uint64, dt quant.DType) build.RandomOptions {
	v, n := model.ScaledVocab(83, 40, 31)
	cams := []model.Camera{{Name: "front", H: 3, W: 4}, {Name: "hand", H: 2, W: 2}}
	v.HeaderIDs = v.HeaderIDSet(cams)
	return build.RandomOptions{
		Arch: model.Arch{Layers: 3, Hidden: 96, Heads: 3, KVHeads: 1, HeadDim: 32, FFN: 160, Vocab: n,
			RopeTheta: 10000, RMSEps: 1e-6},
		Vocab:    v,
		Decoding: &model.Decoding{Steps: 5, ActionLen: 7, Cameras: cams, Mask: model.MaskRelease},
		Fast: &model.Fast{TokenizerJSON: []byte(`{"model":{"vocab":{"a":0}}}`), Scale: 50, MinToken: -12,
			Horizon: 3, Dims: 2, Q01: []float64{-0.5, -1}, Q99: []float64{0.25, 1}},
		DType: dt,
		Seed:  seed,
	}
}

// TinyArchOptions is the smallest model the loader accepts, for the fuzz corpus and the malformed
// files: one layer of width 32.
func TinyArchOptions(withLayout bool) build.RandomOptions {
	o := build.RandomOptions{
		Arch:  model.Arch{Layers: 1, Hidden: 32, Heads: 2, KVHeads: 1, HeadDim: 16, FFN: 32, Vocab: 37, RopeTheta: 500, RMSEps: 1e-5},
		DType: quant.Q4_0,
		Seed:  3,
	}
	if withLayout {
		v, n := model.ScaledVocab(30, 4, 3)
		cams := []model.Camera{{Name: "c", H: 1, W: 2}}
		v.HeaderIDs = v.HeaderIDSet(cams)
		o.Arch.Vocab, o.Vocab = n, v
		o.Decoding = &model.Decoding{Steps: 2, ActionLen: 3, Cameras: cams, Mask: model.MaskRelease}
		o.Fast = &model.Fast{TokenizerJSON: []byte(`{}`), Scale: 10, MinToken: -3, Horizon: 2, Dims: 1, Q01: []float64{-1}, Q99: []float64{1}}
	}
	return o
}

// EncodeModel builds a whole file in memory from a configuration, a directory and the tensors'
// bytes, without any of the writer's checks: the tests use it to craft malformed files. Extents
// whose Offset is 0 are packed after the previous one; the others are kept as given, and bytes go
// where they say when that lies inside the file. dataSize < 0 means the true size.
func EncodeModel(t testing.TB, cfg *model.Config, dir []model.TensorInfo, data map[string][]byte, dataSize int64) []byte {
	t.Helper()
	hlen := len(build.EncodeHeader(cfg, dir, 0, 0))
	dataOff := model.AlignUp(int64(hlen) + 4)
	pos := dataOff
	end := dataOff
	for i := range dir {
		if dir[i].Offset == 0 {
			dir[i].Offset = model.AlignUp(pos)
		}
		if dir[i].CRC32C == 0 {
			dir[i].CRC32C = model.Checksum(data[dir[i].Name])
		}
		pos = dir[i].Offset + int64(len(data[dir[i].Name]))
		if pos < 1<<30 { // a lying offset far out does not grow the file
			end = max(end, pos)
		}
	}
	size := end - dataOff
	if dataSize >= 0 {
		size = dataSize
	}
	hdr := build.EncodeHeader(cfg, dir, uint64(dataOff), uint64(size))
	prefix, err := build.FilePrefix(hdr, dataOff)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, end)
	copy(out, prefix)
	for _, ti := range dir {
		if ti.Offset >= dataOff && ti.Offset+int64(len(data[ti.Name])) <= int64(len(out)) {
			copy(out[ti.Offset:], data[ti.Name])
		}
	}
	return out
}

// RandomModelParts returns the configuration, directory (unplaced) and tensors of a random model.
func RandomModelParts(t testing.TB, o build.RandomOptions) (*model.Config, []model.TensorInfo, map[string][]byte) {
	t.Helper()
	cfg := &model.Config{Arch: o.Arch, Vocab: o.Vocab, Decoding: o.Decoding, Fast: o.Fast}
	var dir []model.TensorInfo
	data := map[string][]byte{}
	for _, name := range o.Arch.TensorNames() {
		x, err := build.RandomTensor(o.Arch, o.Seed, name)
		if err != nil {
			t.Fatal(err)
		}
		shape, _ := o.Arch.TensorShape(name)
		dt := o.DType
		if len(shape) == 1 {
			dt = quant.F32
		}
		ti := model.TensorInfo{Name: name, DType: dt, Shape: shape}
		b, err := quant.Quantize(dt, ti.Rows(), ti.Cols(), x)
		if err != nil {
			t.Fatal(err)
		}
		ti.Length = int64(len(b))
		dir = append(dir, ti)
		data[name] = b
	}
	return cfg, dir, data
}

func CloneDir(dir []model.TensorInfo) []model.TensorInfo {
	out := make([]model.TensorInfo, len(dir))
	for i, t := range dir {
		out[i] = t
		out[i].Shape = append([]int(nil), t.Shape...)
	}
	return out
}

// FixHeaderCRC rewrites the header checksum of a file so that a mutation of the header reaches
// the structural verifier instead of stopping at the checksum. It returns nil when the size
// prefix does not fit the file.
func FixHeaderCRC(b []byte) []byte {
	if len(b) < 8 {
		return nil
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if 8+n > uint64(len(b)) {
		return nil
	}
	out := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(out[4+n:], model.Checksum(out[:4+n]))
	return out
}

// SparseFile writes a model file of architecture a whose data section is a hole: a multi-gigabyte
// file made in milliseconds, for Open's costs. Matrices are stored as matrixType, vectors as f32.
// Its tensors read as zeros, so their checksums are wrong (Verify refuses it) but Open accepts it.
// The test is skipped where the file system cannot hold a sparse file of that size.
func SparseFile(t testing.TB, a model.Arch, matrixType quant.DType) string {
	t.Helper()
	cfg := &model.Config{Arch: a}
	var dir []model.TensorInfo
	for _, name := range a.TensorNames() {
		shape, _ := a.TensorShape(name)
		dt := matrixType
		if len(shape) == 1 {
			dt = quant.F32
		}
		n, err := model.TensorBytes(dt, shape)
		if err != nil {
			t.Fatal(err)
		}
		dir = append(dir, model.TensorInfo{Name: name, DType: dt, Shape: shape, Length: n})
	}
	dataOff := model.AlignUp(int64(len(build.EncodeHeader(cfg, dir, 0, 0))) + 4)
	pos := dataOff
	for i := range dir {
		dir[i].Offset = pos
		pos = model.AlignUp(pos + dir[i].Length)
	}
	size := dir[len(dir)-1].Offset + dir[len(dir)-1].Length
	prefix, err := build.FilePrefix(build.EncodeHeader(cfg, dir, uint64(dataOff), uint64(size-dataOff)), dataOff)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sparse.udvla")
	if err := os.WriteFile(path, prefix, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Skipf("cannot make a sparse file of %d bytes here: %v", size, err)
	}
	return path
}
