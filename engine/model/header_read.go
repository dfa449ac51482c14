package model

import (
	"fmt"
	"sync/atomic"

	"github.com/udvla/udvla/engine/model/fb"
	"github.com/udvla/udvla/engine/quant"
)

// accessorPanics counts runtime panics inside generated accessors that the recover in readHeader
// turned into errors. verifyHeader should leave none to catch; the tests check that it stays 0.
var accessorPanics atomic.Int64

// header is what the FlatBuffer says, before the semantic checks.
type header struct {
	version    uint32
	cfg        *Config
	dir        []TensorInfo
	dataOffset uint64
	dataSize   uint64
}

// readHeader copies a verified header into Go values. Every accessor runs under a recover, so a
// FlatBuffer that slipped past verifyHeader still gives an error, never a crash.
func readHeader(hb []byte) (h *header, err error) {
	defer func() {
		if r := recover(); r != nil {
			accessorPanics.Add(1)
			h, err = nil, fmt.Errorf("header: malformed FlatBuffer: %v", r)
		}
	}()
	root := fb.GetSizePrefixedRootAsHeader(hb, 0)
	h = &header{version: root.Version(), cfg: &Config{}}
	if q := root.Vq(nil); q != nil {
		h.cfg.VQ = readVQ(q)
	}
	a := root.Arch(nil)
	if a == nil && h.cfg.VQ == nil {
		return nil, fmt.Errorf("header: no architecture and no VQ model")
	}
	if a != nil {
		h.cfg.Arch = Arch{
			Layers: int(a.Layers()), Hidden: int(a.Hidden()), Heads: int(a.Heads()), KVHeads: int(a.KvHeads()),
			HeadDim: int(a.HeadDim()), FFN: int(a.Ffn()), Vocab: int(a.Vocab()),
			RopeTheta: a.RopeTheta(), RMSEps: a.RmsEps(),
		}
	}
	if v := root.Vocab(nil); v != nil {
		if h.cfg.Vocab, err = readVocab(v); err != nil {
			return nil, err
		}
	}
	if d := root.Decoding(nil); d != nil {
		h.cfg.Decoding = readDecoding(d)
	}
	if f := root.Fast(nil); f != nil {
		h.cfg.Fast = readFast(f)
	}
	if b := root.TextBpeBytes(); len(b) > 0 {
		h.cfg.TextBPE = append([]byte(nil), b...)
	}
	ds := root.Data(nil)
	if ds == nil {
		return nil, fmt.Errorf("header: no data section")
	}
	h.dataOffset, h.dataSize = ds.Offset(), ds.Size()
	var t fb.Tensor
	var e fb.Extent
	n := root.TensorsLength()
	h.dir = make([]TensorInfo, 0, min(n, 1<<16))
	for i := 0; i < n; i++ {
		root.Tensors(&t, i)
		ti := TensorInfo{Name: string(t.Name())}
		if t.Extent(&e) == nil {
			return nil, fmt.Errorf("header: tensor %d (%q) has no extent", i, ti.Name)
		}
		if t.ShapeLength() < 1 || t.ShapeLength() > 2 {
			return nil, fmt.Errorf("header: tensor %q has %d dimensions, want 1 or 2", ti.Name, t.ShapeLength())
		}
		for j := 0; j < t.ShapeLength(); j++ {
			d := t.Shape(j)
			if d <= 0 || d > quant.MaxElements {
				return nil, fmt.Errorf("header: tensor %q dimension %d is %d", ti.Name, j, d)
			}
			ti.Shape = append(ti.Shape, int(d))
		}
		if e.Offset() > 1<<62 || e.Length() > 1<<62 {
			return nil, fmt.Errorf("header: tensor %q extent %d+%d is beyond any file", ti.Name, e.Offset(), e.Length())
		}
		ti.Offset, ti.Length, ti.CRC32C, ti.DType = int64(e.Offset()), int64(e.Length()), e.Crc32c(), quant.DType(e.Dtype())
		h.dir = append(h.dir, ti)
	}
	return h, nil
}

func readVocab(v *fb.Vocab) (*Vocab, error) {
	out := &Vocab{
		TextSize: v.TextSize(), Pad: v.Pad(),
		BOA: v.Boa(), EOA: v.Eoa(), EOL: v.Eol(), EOF: v.Eof(), Mask: v.Mask(),
		BOS: v.Bos(), EOS: v.Eos(), IMG: v.Img(), BOI: v.Boi(), EOI: v.Eoi(),
		VisualOffset: v.VisualOffset(), CodebookSize: v.CodebookSize(),
		FastBase: v.FastBase(), FastSize: v.FastSize(), FastReversed: v.FastReversed(),
		Star: v.Star(),
	}
	if v.DigitsLength() != 10 {
		return nil, fmt.Errorf("vocab: %d digit ids, want 10", v.DigitsLength())
	}
	for i := range out.Digits {
		out.Digits[i] = v.Digits(i)
	}
	for i := 0; i < v.HeaderIdsLength(); i++ {
		out.HeaderIDs = append(out.HeaderIDs, v.HeaderIds(i))
	}
	return out, nil
}

func readDecoding(d *fb.Decoding) *Decoding {
	out := &Decoding{Steps: int(d.Steps()), ActionLen: int(d.ActionLen()), Mask: maskFromFile(d.Mask()), Preset: string(d.Preset())}
	var c fb.Camera
	for i := 0; i < d.CamerasLength() && i <= maxCameras; i++ { // one past the limit fails validation
		d.Cameras(&c, i)
		out.Cameras = append(out.Cameras, Camera{Name: string(c.Name()), H: int(c.H()), W: int(c.W())})
	}
	return out
}

func readFast(f *fb.Fast) *Fast {
	out := &Fast{Scale: f.Scale(), MinToken: f.MinToken(), Horizon: int(f.Horizon()), Dims: int(f.Dims()),
		CleanUpSpaces: f.CleanUpSpaces(), GripperThreshold: f.GripperThreshold()}
	if b := f.TokenizerJsonBytes(); len(b) > 0 {
		out.TokenizerJSON = append([]byte(nil), b...)
	}
	for i := 0; i < f.Q01Length() && i <= maxFastDims; i++ {
		out.Q01 = append(out.Q01, f.Q01(i))
	}
	for i := 0; i < f.Q99Length() && i <= maxFastDims; i++ {
		out.Q99 = append(out.Q99, f.Q99(i))
	}
	return out
}

// maskFromFile maps the schema's MaskRule (Paper = 0, its default, Release = 1, Causal = 2) to the
// Go rule; an unknown value maps to itself past the known ones and fails validation.
func maskFromFile(m fb.MaskRule) MaskRule {
	switch m {
	case fb.MaskRulePaper:
		return MaskPaper
	case fb.MaskRuleRelease:
		return MaskRelease
	case fb.MaskRuleCausal:
		return MaskCausal
	}
	return MaskCausal + 1 + MaskRule(m)
}
