package model

import (
	"encoding/binary"
	"fmt"
)

// The Go FlatBuffers runtime reads whatever offsets a buffer holds. This verifier walks the header
// the way the C++ verifier does, from a description of the schema below, so that every table,
// vtable, scalar, struct, string and vector the accessors will touch lies inside the header and is
// aligned, before any accessor runs.

type fieldKind uint8

const (
	kScalar      fieldKind = iota // inline scalar of size bytes
	kStruct                       // inline struct of size bytes
	kString                       // offset to a string
	kVector                       // offset to a vector of scalars of size bytes
	kTable                        // offset to a table
	kTableVector                  // offset to a vector of offsets to tables
)

type fieldSpec struct {
	name  string
	kind  fieldKind
	size  int        // scalar, struct or vector element size
	table *tableSpec // for kTable and kTableVector
}

type tableSpec struct {
	name   string
	fields []fieldSpec // in declaration order: field i has vtable entry i
}

func scalars(size int, names ...string) []fieldSpec {
	out := make([]fieldSpec, len(names))
	for i, n := range names {
		out[i] = fieldSpec{name: n, kind: kScalar, size: size}
	}
	return out
}

func concat(parts ...[]fieldSpec) []fieldSpec {
	var out []fieldSpec
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// The schema of udvla.fbs. TestVerifierSchemaMatchesGenerated checks it against the generated code.
var (
	archSpec = &tableSpec{"Arch", concat(
		scalars(4, "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "vocab"),
		scalars(8, "rope_theta", "rms_eps"))}
	vocabSpec = &tableSpec{"Vocab", concat(
		scalars(4, "text_size", "pad", "boa", "eoa", "eol", "eof", "mask", "bos", "eos", "img", "boi", "eoi",
			"visual_offset", "codebook_size", "fast_base", "fast_size"),
		scalars(1, "fast_reversed"),
		[]fieldSpec{{name: "digits", kind: kVector, size: 4}},
		scalars(4, "star"),
		[]fieldSpec{{name: "header_ids", kind: kVector, size: 4}})}
	cameraSpec = &tableSpec{"Camera", concat(
		[]fieldSpec{{name: "name", kind: kString}},
		scalars(4, "h", "w"))}
	decodingSpec = &tableSpec{"Decoding", concat(
		scalars(4, "steps", "action_len"),
		[]fieldSpec{{name: "cameras", kind: kTableVector, table: cameraSpec}},
		scalars(1, "mask"),
		[]fieldSpec{{name: "preset", kind: kString}})}
	fastSpec = &tableSpec{"Fast", concat(
		[]fieldSpec{{name: "tokenizer_json", kind: kVector, size: 1}},
		scalars(8, "scale"),
		scalars(4, "min_token", "horizon", "dims"),
		[]fieldSpec{{name: "q01", kind: kVector, size: 8}, {name: "q99", kind: kVector, size: 8}},
		scalars(1, "clean_up_spaces"),
		scalars(8, "gripper_threshold"))}
	tensorSpec = &tableSpec{"Tensor", []fieldSpec{
		{name: "name", kind: kString},
		{name: "shape", kind: kVector, size: 8},
		{name: "extent", kind: kStruct, size: 24}}}
	headerSpec = &tableSpec{"Header", []fieldSpec{
		{name: "version", kind: kScalar, size: 4},
		{name: "arch", kind: kTable, table: archSpec},
		{name: "vocab", kind: kTable, table: vocabSpec},
		{name: "decoding", kind: kTable, table: decodingSpec},
		{name: "fast", kind: kTable, table: fastSpec},
		{name: "text_bpe", kind: kVector, size: 1},
		{name: "tensors", kind: kTableVector, table: tensorSpec},
		{name: "data", kind: kStruct, size: 16},
		{name: "vq", kind: kTable, table: vqSpec}}}
)

// verifier checks a FlatBuffer buf whose bytes before lo are not part of it (the size prefix).
type verifier struct {
	buf   []byte
	lo    uint64
	depth int
}

func (v *verifier) u32(at uint64) uint32 { return binary.LittleEndian.Uint32(v.buf[at:]) }
func (v *verifier) u16(at uint64) uint16 { return binary.LittleEndian.Uint16(v.buf[at:]) }

// inside checks that [at, at+n) lies in the buffer and at is a multiple of align.
func (v *verifier) inside(what string, at, n, align uint64) error {
	end := uint64(len(v.buf))
	if at < v.lo || at > end || n > end-at {
		return fmt.Errorf("%s: %d bytes at %d lie outside the header [%d, %d)", what, n, at, v.lo, end)
	}
	if at%align != 0 {
		return fmt.Errorf("%s: offset %d is not a multiple of %d", what, at, align)
	}
	return nil
}

// deref follows the uoffset stored at at.
func (v *verifier) deref(what string, at uint64) (uint64, error) {
	if err := v.inside(what, at, 4, 4); err != nil {
		return 0, err
	}
	return at + uint64(v.u32(at)), nil
}

// table verifies the table at pos and, recursively, everything it references.
func (v *verifier) table(pos uint64, spec *tableSpec, path string) error {
	if v.depth++; v.depth > 8 { // the schema nests 3 deep: deeper means a cycle of offsets
		return fmt.Errorf("%s: tables nested too deep", path)
	}
	defer func() { v.depth-- }()
	if err := v.inside(path+" table", pos, 4, 4); err != nil {
		return err
	}
	vt := int64(pos) - int64(int32(v.u32(pos)))
	if vt < 0 {
		return fmt.Errorf("%s: vtable offset points before the file", path)
	}
	if err := v.inside(path+" vtable", uint64(vt), 4, 2); err != nil {
		return err
	}
	vtSize, tSize := uint64(v.u16(uint64(vt))), uint64(v.u16(uint64(vt)+2))
	if vtSize < 4 || vtSize%2 != 0 {
		return fmt.Errorf("%s: vtable size %d is invalid", path, vtSize)
	}
	if err := v.inside(path+" vtable", uint64(vt), vtSize, 2); err != nil {
		return err
	}
	if tSize < 4 {
		return fmt.Errorf("%s: table size %d is invalid", path, tSize)
	}
	if err := v.inside(path+" table", pos, tSize, 4); err != nil {
		return err
	}
	for i, f := range spec.fields {
		entry := uint64(4 + 2*i)
		if entry+2 > vtSize {
			break // fields past the vtable are absent
		}
		off := uint64(v.u16(uint64(vt) + entry))
		if off == 0 {
			continue
		}
		fpath := path + "." + f.name
		size, align := uint64(f.size), uint64(f.size)
		switch f.kind {
		case kStruct:
			align = 8
		case kString, kVector, kTable, kTableVector:
			size, align = 4, 4
		}
		if off < 4 || off+size > tSize {
			return fmt.Errorf("%s: field at %d of %d bytes runs past its table of %d bytes", fpath, off, size, tSize)
		}
		at := pos + off
		if err := v.inside(fpath, at, size, align); err != nil {
			return err
		}
		if f.kind == kScalar || f.kind == kStruct {
			continue
		}
		target, err := v.deref(fpath, at)
		if err != nil {
			return err
		}
		switch f.kind {
		case kTable:
			if err := v.table(target, f.table, fpath); err != nil {
				return err
			}
		case kString:
			if err := v.vector(target, 1, fpath); err != nil {
				return err
			}
			n := uint64(v.u32(target))
			if err := v.inside(fpath+" terminator", target+4+n, 1, 1); err != nil {
				return err
			}
			if v.buf[target+4+n] != 0 {
				return fmt.Errorf("%s: string is not zero-terminated", fpath)
			}
		case kVector:
			if err := v.vector(target, uint64(f.size), fpath); err != nil {
				return err
			}
		case kTableVector:
			if err := v.vector(target, 4, fpath); err != nil {
				return err
			}
			n := uint64(v.u32(target))
			for j := uint64(0); j < n; j++ {
				el, err := v.deref(fmt.Sprintf("%s[%d]", fpath, j), target+4+4*j)
				if err != nil {
					return err
				}
				if err := v.table(el, f.table, fmt.Sprintf("%s[%d]", fpath, j)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// vector checks a vector's length word and that its elements fit, aligned to their size.
func (v *verifier) vector(pos, elem uint64, path string) error {
	if err := v.inside(path+" length", pos, 4, 4); err != nil {
		return err
	}
	n := uint64(v.u32(pos))
	if err := v.inside(path, pos+4, n*elem, max(elem, 1)); err != nil {
		return fmt.Errorf("%s: vector of %d elements of %d bytes does not fit: %w", path, n, elem, err)
	}
	return nil
}

// verifyHeader verifies the size-prefixed FlatBuffer hb (size prefix included) as a Header.
func verifyHeader(hb []byte) error {
	v := &verifier{buf: hb, lo: 4}
	root, err := v.deref("root offset", 4)
	if err != nil {
		return err
	}
	return v.table(root, headerSpec, "Header")
}
