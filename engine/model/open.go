package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"syscall"

	"github.com/udvla/udvla/engine/quant"
)

// File is an open .udvla model. Its tensors are slices of a read-only memory mapping of the file:
// opening a model of many gigabytes reads its header only, and the kernel pages tensor bytes in as
// they are used.
type File struct {
	Config  Config
	Tensors []TensorInfo // in directory order
	Size    int64        // bytes of the file
	// DataOffset is where the data section starts; the bytes before it are the header.
	DataOffset int64

	data   []byte // the whole file
	unmap  func([]byte) error
	byName map[string]int
}

// Open maps a model file and checks everything but the tensor values (Verify checks those): the
// size prefix, identifier and checksum of the header, the FlatBuffer structure, the configuration,
// and that the tensor directory is exactly the architecture's tensors, with the shapes it implies,
// lengths their dtypes imply, at aligned, non-overlapping offsets that pack the data section.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size < minFileSize {
		return nil, fmt.Errorf("%s: %d bytes is too short for a .udvla file", path, size)
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s: %d bytes do not fit in the address space", path, size)
	}
	data, err := syscall.Mmap(int(fd.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	f, err := parse(data)
	if err != nil {
		syscall.Munmap(data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.unmap = syscall.Munmap
	return f, nil
}

// minFileSize is the size prefix, root offset, identifier and checksum.
const minFileSize = 16

// parsePanics counts panics that parse turned into errors: a bug in the checks, which the tests
// require to stay 0 (see also accessorPanics).
var parsePanics atomic.Int64

// parse checks a whole file held in data and returns a File that refers to it.
func parse(data []byte) (f *File, err error) {
	defer func() {
		if r := recover(); r != nil {
			parsePanics.Add(1)
			f, err = nil, fmt.Errorf("malformed file: %v", r)
		}
	}()
	size := int64(len(data))
	if size < minFileSize {
		return nil, fmt.Errorf("%d bytes is too short for a .udvla file", size)
	}
	if id := string(data[8:12]); id != FileIdentifier {
		return nil, fmt.Errorf("not a .udvla file: identifier %q, want %q", id, FileIdentifier)
	}
	n := int64(binary.LittleEndian.Uint32(data))
	if 4+n+4 > size {
		return nil, fmt.Errorf("header size %d runs past the end of the %d-byte file", n, size)
	}
	hb := data[:4+n]
	if got, want := binary.LittleEndian.Uint32(data[4+n:]), Checksum(hb); got != want {
		return nil, fmt.Errorf("header checksum %#08x, computed %#08x: the header is corrupt", got, want)
	}
	if err := verifyHeader(hb); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	h, err := readHeader(hb)
	if err != nil {
		return nil, err
	}
	if h.version != FormatVersion {
		return nil, fmt.Errorf("format version %d, this reader knows %d", h.version, FormatVersion)
	}
	dataOff := AlignUp(8 + n)
	if h.dataOffset != uint64(dataOff) {
		return nil, fmt.Errorf("data section declared at %d, the header ends it at %d", h.dataOffset, dataOff)
	}
	if dataOff > size || h.dataSize != uint64(size-dataOff) {
		return nil, fmt.Errorf("data section declared as %d bytes at %d, the file has %d", h.dataSize, h.dataOffset, size-min(dataOff, size))
	}
	for i, c := range data[8+n : dataOff] {
		if c != 0 {
			return nil, fmt.Errorf("byte %d between header and data section is %#x, not zero", 8+n+int64(i), c)
		}
	}
	if err := h.cfg.Validate(); err != nil {
		return nil, err
	}
	byName, err := checkDirectory(h.cfg, h.dir, dataOff, size)
	if err != nil {
		return nil, err
	}
	if err := checkPadding(data, h.dir); err != nil {
		return nil, err
	}
	return &File{Config: *h.cfg, Tensors: h.dir, Size: size, DataOffset: dataOff, data: data, byName: byName}, nil
}

// checkPadding requires zeros in every byte a tensor's layout leaves unused: after each tensor up
// to the next aligned offset, and in a q8_0 or q4_0 tensor between its quants and its scales. A
// file is accepted or refused here, at Open, so that every backend sees the same files: the
// reference dequantizer refuses such padding and the GPU upload would copy it unread. The bytes
// checked are fewer than 2*Alignment per tensor, so Open still reads about a page or two per
// tensor of the mapping and stays cheap on a large file.
func checkPadding(data []byte, dir []TensorInfo) error {
	size := int64(len(data))
	for _, t := range dir {
		end := min(AlignUp(t.Offset+t.Length), size)
		for i, c := range data[t.Offset+t.Length : end] {
			if c != 0 {
				return fmt.Errorf("padding byte %d after tensor %q is %#x, not zero", t.Offset+t.Length+int64(i), t.Name, c)
			}
		}
		if t.DType.Quantized() {
			qb, so, _ := quant.Layout(t.DType, t.Rows(), t.Cols())
			for i, c := range data[t.Offset+qb : t.Offset+so] {
				if c != 0 {
					return fmt.Errorf("tensor %q: padding byte %d before its scales is %#x, not zero", t.Name, qb+int64(i), c)
				}
			}
		}
	}
	return nil
}

// checkDirectory checks the tensor directory against the configuration (the architecture and
// the vision tokenizer) and the data section [dataOff, size), and indexes it by name.
func checkDirectory(c *Config, dir []TensorInfo, dataOff, size int64) (map[string]int, error) {
	want := c.TensorShapes()
	byName := make(map[string]int, len(dir))
	for i, t := range dir { // names first: a duplicate is reported as one, not as a wrong shape
		if want[t.Name] == nil {
			return nil, fmt.Errorf("tensor %d: %q is not a tensor of this architecture", i, t.Name)
		}
		if _, dup := byName[t.Name]; dup {
			return nil, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		byName[t.Name] = i
	}
	for _, t := range dir {
		shape := want[t.Name]
		if !sameShape(shape, t.Shape) {
			return nil, fmt.Errorf("tensor %q has shape %v, the architecture implies %v", t.Name, t.Shape, shape)
		}
		if !t.DType.Valid() {
			return nil, fmt.Errorf("tensor %q has unknown dtype %d", t.Name, uint8(t.DType))
		}
		n, err := TensorBytes(t.DType, t.Shape)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if err := CheckVQDType(t.DType); isVQTensor(t.Name) && err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if t.Length != n {
			return nil, fmt.Errorf("tensor %q: %v %v takes %d bytes, the directory says %d", t.Name, t.DType, t.Shape, n, t.Length)
		}
		if t.Offset%Alignment != 0 {
			return nil, fmt.Errorf("tensor %q at offset %d, not a multiple of %d", t.Name, t.Offset, Alignment)
		}
		if t.Offset < dataOff || t.Offset > size || t.Length > size-t.Offset {
			return nil, fmt.Errorf("tensor %q: [%d, %d) lies outside the data section [%d, %d)", t.Name, t.Offset, t.Offset+t.Length, dataOff, size)
		}
	}
	for _, name := range c.TensorNames() {
		if _, ok := byName[name]; !ok {
			return nil, fmt.Errorf("tensor %q is missing", name)
		}
	}
	order := make([]int, len(dir))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return dir[order[i]].Offset < dir[order[j]].Offset })
	for k := 1; k < len(order); k++ {
		p, t := dir[order[k-1]], dir[order[k]]
		if t.Offset < p.Offset+p.Length {
			return nil, fmt.Errorf("tensors %q [%d, %d) and %q [%d, %d) overlap", p.Name, p.Offset, p.Offset+p.Length, t.Name, t.Offset, t.Offset+t.Length)
		}
	}
	next := dataOff // where the next tensor must start: the data section is packed
	for _, i := range order {
		t := dir[i]
		if t.Offset != next {
			return nil, fmt.Errorf("tensor %q at %d leaves a gap: the data before it ends at %d (aligned)", t.Name, t.Offset, next)
		}
		next = AlignUp(t.Offset + t.Length)
	}
	if end := dir[order[len(order)-1]]; end.Offset+end.Length != size {
		return nil, fmt.Errorf("the last tensor %q ends at %d but the file has %d bytes", end.Name, end.Offset+end.Length, size)
	}
	return byName, nil
}

var errClosed = errors.New("model file is closed")

// Tensor returns a tensor's directory entry and its bytes, a slice of the mapping: no copy, valid
// until Close.
func (f *File) Tensor(name string) (TensorInfo, []byte, error) {
	if f.data == nil {
		return TensorInfo{}, nil, errClosed
	}
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("no tensor %q", name)
	}
	t := f.Tensors[i]
	return t, f.data[t.Offset : t.Offset+t.Length : t.Offset+t.Length], nil
}

// Float32 returns a tensor dequantized to a new float32 slice (row-major).
func (f *File) Float32(name string) ([]float32, error) {
	t, b, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	return quant.Dequantize(t.DType, t.Rows(), t.Cols(), b)
}

// Verify reads every tensor and checks its CRC-32C: Open checks the structure and the zero
// padding only, so that opening a large model stays cheap.
func (f *File) Verify() error {
	if f.data == nil {
		return errClosed
	}
	for _, t := range f.Tensors {
		b := f.data[t.Offset : t.Offset+t.Length]
		if got := Checksum(b); got != t.CRC32C {
			return fmt.Errorf("tensor %q: checksum %#08x, the directory says %#08x: the data is corrupt", t.Name, got, t.CRC32C)
		}
	}
	return nil
}

// Close unmaps the file. Tensor slices obtained before must not be used after.
func (f *File) Close() error {
	if f.data == nil {
		return nil
	}
	data := f.data
	f.data, f.byName = nil, nil
	if f.unmap != nil {
		return f.unmap(data)
	}
	return nil
}
