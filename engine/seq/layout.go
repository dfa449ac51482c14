// Package seq builds the token sequence of one UD-VLA control step (spec §3) and the attention
// masks of spec §4. It is shared by the CPU reference and the GPU engine, so that both lay out,
// restrict and mask the sequence in exactly the same way.
package seq

import (
	"fmt"
	"sort"

	"github.com/udvla/udvla/engine/model"
)

// Decoding spaces (spec §5 step 4): every generated position may only take the ids of its space.
const (
	SpaceImage  uint8 = 0 // future-image positions: visual ids, IMG, EOF and the size-header ids
	SpaceAction uint8 = 1 // the last ActionLen positions: the FAST range and EOA
	NumSpaces         = 2
)

// Block locates one image block, BOI .. EOI inclusive, inside Prefix or Region.
type Block struct {
	Camera int // index into Layout.Cameras
	Start  int // index of BOI
	Visual int // index of the first of the H*W visual tokens (row-major)
	End    int // index of EOI
	H, W   int
}

// Len is the number of tokens of the block, BOI and EOI included.
func (b Block) Len() int { return b.End - b.Start + 1 }

// Layout is the token sequence of one control step: the prefix (inputs) followed by the generation
// region (outputs), with everything per region position that decoding needs. Absolute position i of
// the whole sequence is Prefix[i] for i < P and Region[i-P] after; RoPE positions are absolute.
type Layout struct {
	Vocab   *model.Vocab
	Cameras []model.Camera

	// Prefix is BOS, the instruction, then one image block per camera.
	Prefix       []int32
	TextLen      int     // BOS plus the instruction: Prefix[:TextLen]
	PrefixImages []Block // offsets into Prefix

	// Region is the initial generation region: per camera the image block with every token strictly
	// between BOI and EOI replaced by MASK, then BOA and ActionLen-1 MASK.
	Region       []int32
	Known        []bool  // pre-filled positions: BOI, EOI of each block and BOA
	Space        []uint8 // decoding space per region position
	FutureImages []Block // offsets into Region
	BOA          int     // region index of BOA; the action positions are BOA .. N-1
	ActionLen    int

	// Allowed lists, per space, the ids a position of that space may take, sorted ascending.
	Allowed [NumSpaces][]int32
}

// P is the prefix length.
func (l *Layout) P() int { return len(l.Prefix) }

// N is the number of generated positions (pre-filled ones included, as in spec §5 step 7).
func (l *Layout) N() int { return len(l.Region) }

// Sequence returns prefix followed by region (a fresh slice). region must have N tokens.
func (l *Layout) Sequence(region []int32) []int32 {
	out := make([]int32, 0, len(l.Prefix)+len(region))
	out = append(out, l.Prefix...)
	return append(out, region...)
}

// AllowedIDs returns the sorted ids of a decoding space.
func (l *Layout) AllowedIDs(space uint8) []int32 { return l.Allowed[space] }

// Build lays out one control step from the model's vocabulary layout and decoding settings, the
// instruction tokens (text ids, without BOS) and the visual codes of each camera (H*W, row-major,
// in d.Cameras order). The "1*H*W" size headers are spelled with the layout's digit and '*' ids.
func Build(v *model.Vocab, d *model.Decoding, instruction []int32, codes [][]int32) (*Layout, error) {
	if v == nil {
		return nil, fmt.Errorf("seq: the model has no vocabulary layout: control steps need one")
	}
	return BuildWithHeader(v, d, instruction, codes, v.HeaderTokens)
}

// BuildWithHeader is Build with the size headers tokenized by header (the model's text tokenizer
// applied to model.HeaderText(h, w)); every id it returns must be a text id.
func BuildWithHeader(v *model.Vocab, d *model.Decoding, instruction []int32, codes [][]int32, header func(h, w int) []int32) (*Layout, error) {
	if v == nil {
		return nil, fmt.Errorf("seq: the model has no vocabulary layout: control steps need one")
	}
	if d == nil {
		return nil, fmt.Errorf("seq: the model has no decoding settings")
	}
	if err := checkVocab(v); err != nil {
		return nil, err
	}
	if len(d.Cameras) == 0 {
		return nil, fmt.Errorf("seq: decoding settings list no camera")
	}
	if d.ActionLen < 2 {
		return nil, fmt.Errorf("seq: action length %d must be at least 2 (BOA and one slot)", d.ActionLen)
	}
	if len(codes) != len(d.Cameras) {
		return nil, fmt.Errorf("seq: got codes for %d cameras, the model has %d", len(codes), len(d.Cameras))
	}
	for i, id := range instruction {
		if id < 0 || id >= v.TextSize {
			return nil, fmt.Errorf("seq: instruction token %d is id %d, not a text id (want 0..%d)", i, id, v.TextSize-1)
		}
	}
	for c, cam := range d.Cameras {
		if cam.H <= 0 || cam.W <= 0 || cam.H > 1<<12 || cam.W > 1<<12 {
			return nil, fmt.Errorf("seq: camera %d (%q) has grid %dx%d", c, cam.Name, cam.H, cam.W)
		}
		if len(codes[c]) != cam.H*cam.W {
			return nil, fmt.Errorf("seq: camera %d (%q) has %d codes, its %dx%d grid needs %d",
				c, cam.Name, len(codes[c]), cam.H, cam.W, cam.H*cam.W)
		}
		for i, code := range codes[c] {
			if code < 0 || code >= v.CodebookSize {
				return nil, fmt.Errorf("seq: camera %d (%q) code %d is %d, outside the codebook [0, %d)",
					c, cam.Name, i, code, v.CodebookSize)
			}
		}
	}

	l := &Layout{Vocab: v, Cameras: append([]model.Camera(nil), d.Cameras...), ActionLen: d.ActionLen}
	l.Prefix = append(l.Prefix, v.BOS)
	l.Prefix = append(l.Prefix, instruction...)
	l.TextLen = len(l.Prefix)
	for c, cam := range d.Cameras {
		b := Block{Camera: c, Start: len(l.Prefix), H: cam.H, W: cam.W}
		l.Prefix = append(l.Prefix, v.BOI)
		hdr := header(cam.H, cam.W)
		for _, id := range hdr {
			if id < 0 || id >= v.TextSize {
				return nil, fmt.Errorf("seq: camera %d (%q): header token %d is not a text id", c, cam.Name, id)
			}
		}
		l.Prefix = append(l.Prefix, hdr...)
		l.Prefix = append(l.Prefix, v.IMG)
		b.Visual = len(l.Prefix)
		for _, code := range codes[c] {
			l.Prefix = append(l.Prefix, v.VisualOffset+code)
		}
		l.Prefix = append(l.Prefix, v.EOF, v.EOI)
		b.End = len(l.Prefix) - 1
		l.PrefixImages = append(l.PrefixImages, b)
	}

	// The region copies each prefix image block with its inside masked: BOI and EOI stay known.
	for _, pb := range l.PrefixImages {
		fb := pb
		fb.Start = len(l.Region)
		fb.Visual = pb.Visual - pb.Start + fb.Start
		fb.End = fb.Start + pb.Len() - 1
		for i := 0; i < pb.Len(); i++ {
			tok, known := v.Mask, false
			if i == 0 || i == pb.Len()-1 {
				tok, known = l.Prefix[pb.Start+i], true
			}
			l.Region = append(l.Region, tok)
			l.Known = append(l.Known, known)
			l.Space = append(l.Space, SpaceImage)
		}
		l.FutureImages = append(l.FutureImages, fb)
	}
	l.BOA = len(l.Region)
	for i := 0; i < d.ActionLen; i++ {
		tok, known := v.Mask, false
		if i == 0 {
			tok, known = v.BOA, true
		}
		l.Region = append(l.Region, tok)
		l.Known = append(l.Known, known)
		l.Space = append(l.Space, SpaceAction)
	}

	l.Allowed[SpaceImage] = imageIDs(v, d.Cameras)
	l.Allowed[SpaceAction] = actionIDs(v)
	return l, nil
}

// imageIDs is the decoding space of image positions: visual ids, IMG, EOF and the size-header ids.
// The header ids come from the layout (v.HeaderIDs, the release's fixed set); a layout that carries
// none gets the ids its cameras' headers actually spell.
func imageIDs(v *model.Vocab, cams []model.Camera) []int32 {
	header := v.HeaderIDs
	if len(header) == 0 {
		header = v.HeaderIDSet(cams)
	}
	ids := make([]int32, 0, int(v.CodebookSize)+2+len(header))
	for k := int32(0); k < v.CodebookSize; k++ {
		ids = append(ids, v.VisualOffset+k)
	}
	ids = append(ids, v.IMG, v.EOF)
	ids = append(ids, header...)
	return sortedUnique(ids)
}

// actionIDs is the decoding space of action positions: the FAST range and EOA.
func actionIDs(v *model.Vocab) []int32 {
	ids := make([]int32, 0, int(v.FastSize)+1)
	for k := int32(0); k < v.FastSize; k++ {
		ids = append(ids, v.FastID(k))
	}
	return sortedUnique(append(ids, v.EOA))
}

func sortedUnique(ids []int32) []int32 {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := ids[:0]
	for i, id := range ids {
		if i == 0 || id != ids[i-1] {
			out = append(out, id)
		}
	}
	return out
}

// checkVocab rejects layouts whose special ids collide or whose ranges are empty: the sequence
// and the masks identify tokens by id, so every special id must mean one thing.
func checkVocab(v *model.Vocab) error {
	if v.TextSize <= 0 || v.CodebookSize <= 0 || v.FastSize <= 0 {
		return fmt.Errorf("seq: vocabulary has an empty range (text %d, codebook %d, fast %d)",
			v.TextSize, v.CodebookSize, v.FastSize)
	}
	special := map[string]int32{
		"PAD": v.Pad, "BOA": v.BOA, "EOA": v.EOA, "EOL": v.EOL, "EOF": v.EOF, "MASK": v.Mask,
		"BOS": v.BOS, "EOS": v.EOS, "IMG": v.IMG, "BOI": v.BOI, "EOI": v.EOI,
	}
	seen := map[int32]string{}
	for _, name := range []string{"PAD", "BOA", "EOA", "EOL", "EOF", "MASK", "BOS", "EOS", "IMG", "BOI", "EOI"} {
		id := special[name]
		if id < 0 {
			return fmt.Errorf("seq: vocabulary special id %s is negative (%d)", name, id)
		}
		if other, dup := seen[id]; dup {
			return fmt.Errorf("seq: vocabulary special ids %s and %s are both %d", other, name, id)
		}
		seen[id] = name
		if id < v.TextSize || v.IsVisual(id) {
			return fmt.Errorf("seq: vocabulary special id %s = %d lies inside the text or visual range", name, id)
		}
	}
	for i, id := range append(v.Digits[:], v.Star) {
		if id < 0 || id >= v.TextSize {
			return fmt.Errorf("seq: header character id %d (index %d of digits, then '*') is not a text id", id, i)
		}
	}
	lo, hi := v.FastID(0), v.FastID(v.FastSize-1)
	if lo > hi {
		lo, hi = hi, lo
	}
	if lo < 0 || hi >= v.TextSize {
		return fmt.Errorf("seq: FAST range [%d, %d] is not inside the text range [0, %d)", lo, hi, v.TextSize)
	}
	return nil
}
