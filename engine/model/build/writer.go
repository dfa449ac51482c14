package build

import (
	"bufio"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// Writer streams a model file tensor by tensor, so that converting a checkpoint never holds more
// than a chunk of one tensor in memory. It writes to a temporary file next to the target and
// renames it on Close, so a failed conversion leaves no half-written model behind.
//
// The header comes first in the file but lists every tensor's extent. Its size depends only on
// the configuration and on the tensor names and shapes, all known from the architecture, so the
// writer reserves it up front and rewrites it with the extents on Close.
type Writer struct {
	path, tmp string
	f         *os.File
	bw        *bufio.Writer
	cfg       *model.Config
	dir       []model.TensorInfo // Config.TensorNames order
	index     map[string]int
	written   []bool
	headerLen int
	dataOff   int64
	pos       int64 // file offset of the next byte bw writes
	err       error // sticky: the first failure aborts the file
}

// NewWriter starts a model file at path for a configuration that must pass Validate. Every
// tensor of the architecture must then be written once, in any order, before Close; after a
// failure, Close or Abort removes the temporary file.
func NewWriter(path string, cfg *model.Config) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	names, shapes := cfg.TensorNames(), cfg.TensorShapes()
	w := &Writer{path: path, cfg: cfg, index: map[string]int{}, written: make([]bool, len(names))}
	for i, name := range names {
		shape := shapes[name]
		w.dir = append(w.dir, model.TensorInfo{Name: name, Shape: shape})
		w.index[name] = i
	}
	w.headerLen = len(EncodeHeader(cfg, w.dir, 0, 0))
	w.dataOff = model.AlignUp(int64(w.headerLen) + 4)
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	w.f, w.tmp = f, f.Name()
	if err := f.Chmod(0o644); err != nil {
		w.Abort()
		return nil, err
	}
	if _, err := f.Seek(w.dataOff, io.SeekStart); err != nil {
		w.Abort()
		return nil, err
	}
	w.bw = bufio.NewWriterSize(f, 1<<20)
	w.pos = w.dataOff
	return w, nil
}

// begin checks a tensor about to be written and pads the file to its offset.
func (w *Writer) begin(name string, dt quant.DType, shape []int) (int, int64, error) {
	if w.err != nil {
		return 0, 0, w.err
	}
	i, ok := w.index[name]
	if !ok {
		return 0, 0, fmt.Errorf("tensor %q is not a tensor of this architecture", name)
	}
	if w.written[i] {
		return 0, 0, fmt.Errorf("tensor %q written twice", name)
	}
	if !slices.Equal(shape, w.dir[i].Shape) {
		return 0, 0, fmt.Errorf("tensor %q has shape %v, the architecture implies %v", name, shape, w.dir[i].Shape)
	}
	n, err := model.TensorBytes(dt, shape)
	if err != nil {
		return 0, 0, fmt.Errorf("tensor %q: %w", name, err)
	}
	if err := w.zeros(model.AlignUp(w.pos) - w.pos); err != nil {
		return 0, 0, err
	}
	return i, n, nil
}

// end records a tensor written from offset to the current position.
func (w *Writer) end(i int, dt quant.DType, off, n int64, crc hash.Hash32) error {
	if w.pos-off != n {
		return w.fail(fmt.Errorf("internal: tensor %q wrote %d bytes, want %d", w.dir[i].Name, w.pos-off, n))
	}
	w.dir[i].DType, w.dir[i].Offset, w.dir[i].Length, w.dir[i].CRC32C = dt, off, n, crc.Sum32()
	w.written[i] = true
	return nil
}

func (w *Writer) write(b []byte, crc hash.Hash32) error {
	if crc != nil {
		crc.Write(b)
	}
	if _, err := w.bw.Write(b); err != nil {
		return w.fail(err)
	}
	w.pos += int64(len(b))
	return nil
}

var zeroPage [model.Alignment]byte

func (w *Writer) zeros(n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeroPage)))
		if err := w.write(zeroPage[:k], nil); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

// WriteTensor writes a tensor already encoded as dt (quant.Quantize's layout).
func (w *Writer) WriteTensor(name string, dt quant.DType, shape []int, data []byte) error {
	i, n, err := w.begin(name, dt, shape)
	if err != nil {
		return err
	}
	if int64(len(data)) != n {
		return fmt.Errorf("tensor %q: %v %v takes %d bytes, got %d", name, dt, shape, n, len(data))
	}
	off, crc := w.pos, model.NewChecksum()
	if err := w.write(data, crc); err != nil {
		return err
	}
	return w.end(i, dt, off, n, crc)
}

// WriteFloat32 encodes a float32 tensor as dt and writes it.
func (w *Writer) WriteFloat32(name string, dt quant.DType, shape []int, x []float32) error {
	if n := (model.TensorInfo{Shape: shape}); len(shape) == 0 || int64(len(x)) != int64(n.Rows())*int64(n.Cols()) {
		return fmt.Errorf("tensor %q: %d values for shape %v", name, len(x), shape)
	}
	return w.WriteRows(name, dt, shape, func(row0 int, dst []float32) error {
		copy(dst, x[row0*shape[len(shape)-1]:])
		return nil
	})
}

// chunkElems is the number of float32 values WriteRows asks for at a time (16 MiB).
const chunkElems = 1 << 22

// WriteRows encodes a tensor as dt from rows that fill supplies a chunk at a time: fill(row0, dst)
// must fill dst with the whole rows starting at row0. Only one chunk and, for quantized types, the
// tensor's scales (1/17 of a q8_0 tensor) are held in memory.
func (w *Writer) WriteRows(name string, dt quant.DType, shape []int, fill func(row0 int, dst []float32) error) error {
	i, n, err := w.begin(name, dt, shape)
	if err != nil {
		return err
	}
	t := model.TensorInfo{Shape: shape}
	rows, cols := t.Rows(), t.Cols()
	qr, sr := quant.RowBytes(dt, cols)
	qb, so, _ := quant.Layout(dt, rows, cols)
	chunk := max(1, min(rows, chunkElems/cols))
	x := make([]float32, chunk*cols)
	q := make([]byte, chunk*qr)
	scales := make([]byte, rows*sr)
	off, crc := w.pos, model.NewChecksum()
	for r0 := 0; r0 < rows; r0 += chunk {
		r1 := min(rows, r0+chunk)
		xs := x[:(r1-r0)*cols]
		if err := fill(r0, xs); err != nil {
			return w.fail(fmt.Errorf("tensor %q rows %d..%d: %w", name, r0, r1, err))
		}
		qs := q[:(r1-r0)*qr]
		if err := quant.EncodeRows(dt, cols, xs, qs, scales[r0*sr:r1*sr]); err != nil {
			return w.fail(fmt.Errorf("tensor %q rows %d..%d: %w", name, r0, r1, err))
		}
		if err := w.write(qs, crc); err != nil {
			return err
		}
	}
	if dt.Quantized() {
		if err := w.write(make([]byte, so-qb), crc); err != nil {
			return err
		}
		if err := w.write(scales, crc); err != nil {
			return err
		}
	}
	return w.end(i, dt, off, n, crc)
}

// Close writes the header and moves the file into place. It fails, and removes the temporary
// file, when a tensor is missing or anything failed before.
func (w *Writer) Close() error {
	if w.f == nil {
		return fmt.Errorf("writer for %s is closed", w.path)
	}
	err := w.finish()
	if err != nil {
		w.Abort()
		return err
	}
	w.f = nil
	return nil
}

func (w *Writer) finish() error {
	if w.err != nil {
		return w.err
	}
	for i, ok := range w.written {
		if !ok {
			return fmt.Errorf("tensor %q was not written", w.dir[i].Name)
		}
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	hdr := EncodeHeader(w.cfg, w.dir, uint64(w.dataOff), uint64(w.pos-w.dataOff))
	if len(hdr) != w.headerLen {
		return fmt.Errorf("internal: header of %d bytes, %d reserved", len(hdr), w.headerLen)
	}
	prefix, err := FilePrefix(hdr, w.dataOff)
	if err != nil {
		return err
	}
	if _, err := w.f.WriteAt(prefix, 0); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	return os.Rename(w.tmp, w.path)
}

// Abort discards the file being written.
func (w *Writer) Abort() {
	if w.f != nil {
		w.f.Close()
		os.Remove(w.tmp)
		w.f = nil
	}
}

// TensorData is one tensor for Write.
type TensorData struct {
	Name  string
	DType quant.DType
	Shape []int
	Data  []byte // the dtype's layout (quant.Quantize)
}

// Write writes a whole model file from encoded tensors.
func Write(path string, cfg *model.Config, tensors []TensorData) error {
	w, err := NewWriter(path, cfg)
	if err != nil {
		return err
	}
	for _, t := range tensors {
		if err := w.WriteTensor(t.Name, t.DType, t.Shape, t.Data); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}
