package build

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/udvla/udvla/engine/quant"
)

// A Hugging Face checkpoint: model.safetensors, or shards listed by model.safetensors.index.json.
// A safetensors file is an 8-byte little-endian header length, a JSON header mapping tensor names
// to {dtype, shape, data_offsets: [begin, end)} relative to the end of the header, and the data.

// maxSafetensorsHeader bounds the JSON header (real ones are well under a megabyte).
const maxSafetensorsHeader = 100 << 20

type stTensor struct {
	name  string
	dtype string // BF16, F16 or F32 (others are refused when read)
	shape []int64
	begin int64 // absolute file offset
	size  int64
	file  *os.File
	path  string
}

type checkpoint struct {
	tensors map[string]*stTensor
	files   []*os.File
}

func (c *checkpoint) Close() {
	for _, f := range c.files {
		f.Close()
	}
}

// openCheckpoint indexes the tensors of a checkpoint directory without reading their data.
func openCheckpoint(dir string) (*checkpoint, error) {
	c := &checkpoint{tensors: map[string]*stTensor{}}
	var shards []string
	if raw, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json")); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, fmt.Errorf("model.safetensors.index.json: %w", err)
		}
		seen := map[string]bool{}
		for _, f := range idx.WeightMap {
			if f == "" || filepath.Base(f) != f {
				return nil, fmt.Errorf("model.safetensors.index.json: shard %q is not a file name in the checkpoint directory", f)
			}
			if !seen[f] {
				seen[f] = true
				shards = append(shards, f)
			}
		}
		sort.Strings(shards)
		if len(shards) == 0 {
			return nil, fmt.Errorf("model.safetensors.index.json lists no shards")
		}
	} else if os.IsNotExist(err) {
		shards = []string{"model.safetensors"}
	} else {
		return nil, err
	}
	for _, s := range shards {
		if err := c.addFile(filepath.Join(dir, s)); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *checkpoint) addFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	c.files = append(c.files, f)
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var lenBuf [8]byte
	if _, err := f.ReadAt(lenBuf[:], 0); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > maxSafetensorsHeader || int64(hlen)+8 > st.Size() {
		return fmt.Errorf("%s: safetensors header of %d bytes in a file of %d", path, hlen, st.Size())
	}
	raw := make([]byte, hlen)
	if _, err := f.ReadAt(raw, 8); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return fmt.Errorf("%s: safetensors header: %w", path, err)
	}
	base, dataSize := 8+int64(hlen), st.Size()-8-int64(hlen)
	for name, m := range hdr {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType       string  `json:"dtype"`
			Shape       []int64 `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(m, &e); err != nil {
			return fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		if len(e.DataOffsets) != 2 || e.DataOffsets[0] < 0 || e.DataOffsets[1] < e.DataOffsets[0] || e.DataOffsets[1] > dataSize {
			return fmt.Errorf("%s: tensor %q: data offsets %v outside the %d data bytes", path, name, e.DataOffsets, dataSize)
		}
		if _, dup := c.tensors[name]; dup {
			return fmt.Errorf("%s: tensor %q appears in two shards", path, name)
		}
		c.tensors[name] = &stTensor{name: name, dtype: e.DType, shape: e.Shape, begin: base + e.DataOffsets[0],
			size: e.DataOffsets[1] - e.DataOffsets[0], file: f, path: path}
	}
	return nil
}

func stElemSize(dtype string) int64 {
	switch dtype {
	case "F32":
		return 4
	case "F16", "BF16":
		return 2
	}
	return 0
}

// check verifies that a source tensor has the shape and a dtype the converter can read.
func (t *stTensor) check(shape []int) error {
	es := stElemSize(t.dtype)
	if es == 0 {
		return fmt.Errorf("%s: tensor %q has dtype %s; the converter reads BF16, F16 and F32", t.path, t.name, t.dtype)
	}
	if len(t.shape) != len(shape) {
		return fmt.Errorf("%s: tensor %q has shape %v, the config implies %v", t.path, t.name, t.shape, shape)
	}
	n := int64(1)
	for i, d := range shape {
		if t.shape[i] != int64(d) {
			return fmt.Errorf("%s: tensor %q has shape %v, the config implies %v", t.path, t.name, t.shape, shape)
		}
		n *= int64(d)
	}
	if n*es != t.size {
		return fmt.Errorf("%s: tensor %q: %v %s needs %d bytes, its data offsets span %d", t.path, t.name, t.shape, t.dtype, n*es, t.size)
	}
	return nil
}

// reader returns a function filling float32 rows of the tensor (cols wide) from the file, with
// one reusable byte buffer: the converter holds one chunk of one tensor at a time.
func (t *stTensor) reader(cols int) func(row0 int, dst []float32) error {
	es := stElemSize(t.dtype)
	var buf []byte
	return func(row0 int, dst []float32) error {
		n := int64(len(dst)) * es
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		b := buf[:n]
		if _, err := t.file.ReadAt(b, t.begin+int64(row0)*int64(cols)*es); err != nil {
			return fmt.Errorf("%s: reading %q: %w", t.path, t.name, err)
		}
		switch t.dtype {
		case "F32":
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		case "F16":
			quant.DecodeF16(dst, b)
		case "BF16":
			for i := range dst {
				dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
			}
		}
		return nil
	}
}
