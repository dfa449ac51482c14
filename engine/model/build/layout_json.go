package build

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/udvla/udvla/engine/model"
)

// layoutJSON is the vocabulary layout as a JSON file, for checkpoints whose layout differs from
// the default (see ParseLayoutJSON).
type layoutJSON struct {
	TextSize     *int32   `json:"text_size"`
	Pad          *int32   `json:"pad"`
	BOA          *int32   `json:"boa"`
	EOA          *int32   `json:"eoa"`
	EOL          *int32   `json:"eol"`
	EOF          *int32   `json:"eof"`
	Mask         *int32   `json:"mask"`
	BOS          *int32   `json:"bos"`
	EOS          *int32   `json:"eos"`
	IMG          *int32   `json:"img"`
	BOI          *int32   `json:"boi"`
	EOI          *int32   `json:"eoi"`
	VisualOffset *int32   `json:"visual_offset"`
	CodebookSize *int32   `json:"codebook_size"`
	FastBase     *int32   `json:"fast_base"`
	FastSize     *int32   `json:"fast_size"`
	FastReversed *bool    `json:"fast_reversed"`
	Digits       []int32  `json:"digits"`
	Star         *int32   `json:"star"`
	HeaderIDs    *[]int32 `json:"header_ids,omitempty"`
}

// ParseLayoutJSON reads a vocabulary layout: a JSON object with every field of Vocab in snake case
// (text_size, pad, boa, eoa, eol, eof, mask, bos, eos, img, boi, eoi, visual_offset,
// codebook_size, fast_base, fast_size, fast_reversed, digits (10 ids), star) and optionally
// header_ids, which otherwise come from the cameras. Unknown and missing fields are errors.
func ParseLayoutJSON(b []byte) (v *model.Vocab, headerIDsGiven bool, err error) {
	var l layoutJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, false, fmt.Errorf("layout: %w", err)
	}
	v = &model.Vocab{}
	ints := []struct {
		name string
		src  *int32
		dst  *int32
	}{
		{"text_size", l.TextSize, &v.TextSize}, {"pad", l.Pad, &v.Pad}, {"boa", l.BOA, &v.BOA}, {"eoa", l.EOA, &v.EOA},
		{"eol", l.EOL, &v.EOL}, {"eof", l.EOF, &v.EOF}, {"mask", l.Mask, &v.Mask}, {"bos", l.BOS, &v.BOS},
		{"eos", l.EOS, &v.EOS}, {"img", l.IMG, &v.IMG}, {"boi", l.BOI, &v.BOI}, {"eoi", l.EOI, &v.EOI},
		{"visual_offset", l.VisualOffset, &v.VisualOffset}, {"codebook_size", l.CodebookSize, &v.CodebookSize},
		{"fast_base", l.FastBase, &v.FastBase}, {"fast_size", l.FastSize, &v.FastSize}, {"star", l.Star, &v.Star},
	}
	for _, f := range ints {
		if f.src == nil {
			return nil, false, fmt.Errorf("layout: field %q is missing", f.name)
		}
		*f.dst = *f.src
	}
	if l.FastReversed == nil {
		return nil, false, fmt.Errorf("layout: field \"fast_reversed\" is missing")
	}
	v.FastReversed = *l.FastReversed
	if len(l.Digits) != 10 {
		return nil, false, fmt.Errorf("layout: \"digits\" has %d ids, want the 10 of '0'..'9'", len(l.Digits))
	}
	copy(v.Digits[:], l.Digits)
	if l.HeaderIDs != nil {
		v.HeaderIDs = append([]int32(nil), (*l.HeaderIDs)...)
	}
	return v, l.HeaderIDs != nil, nil
}

// LayoutJSON writes a layout in the form ParseLayoutJSON reads.
func LayoutJSON(v *model.Vocab) []byte {
	p := func(x int32) *int32 { return &x }
	l := layoutJSON{
		TextSize: p(v.TextSize), Pad: p(v.Pad), BOA: p(v.BOA), EOA: p(v.EOA), EOL: p(v.EOL), EOF: p(v.EOF),
		Mask: p(v.Mask), BOS: p(v.BOS), EOS: p(v.EOS), IMG: p(v.IMG), BOI: p(v.BOI), EOI: p(v.EOI),
		VisualOffset: p(v.VisualOffset), CodebookSize: p(v.CodebookSize), FastBase: p(v.FastBase),
		FastSize: p(v.FastSize), FastReversed: &v.FastReversed, Digits: v.Digits[:], Star: p(v.Star),
	}
	if v.HeaderIDs != nil {
		ids := append([]int32(nil), v.HeaderIDs...)
		l.HeaderIDs = &ids
	}
	b, _ := json.MarshalIndent(l, "", "  ")
	return append(b, '\n')
}
