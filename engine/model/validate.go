package model

import (
	"encoding/json"
	"fmt"
	"math"
)

// Limits on the decoding defaults and the FAST tokenizer: generous for real models, small enough
// that a lying header cannot make a consumer allocate without bound.
const (
	maxSteps     = 1 << 14
	maxActionLen = 1 << 14
	maxCameras   = 16
	maxGrid      = 1024 // camera grid side, in tokens
	maxFastDims  = 1 << 10
	maxHorizon   = 1 << 12
)

// Validate checks a configuration as the loader does: the architecture, the vocabulary layout
// against the vocabulary size, the decoding defaults against the layout, and the FAST tokenizer.
func (c *Config) Validate() error {
	if c.VQ != nil {
		if err := c.VQ.Validate(); err != nil {
			return err
		}
		if !c.HasLM() {
			return c.validateVQAlone()
		}
	}
	if err := c.Arch.Validate(); err != nil {
		return err
	}
	if (c.Vocab == nil) != (c.Decoding == nil) {
		return fmt.Errorf("config: a vocabulary layout and decoding defaults come together (layout %v, decoding %v)",
			c.Vocab != nil, c.Decoding != nil)
	}
	if c.Vocab != nil {
		if err := c.Vocab.validate(c.Arch.Vocab); err != nil {
			return err
		}
		if err := c.Decoding.validate(c.Vocab); err != nil {
			return err
		}
	}
	if c.Fast != nil {
		if err := c.Fast.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (v *Vocab) validate(n int) error {
	in := func(id int32, lo, hi int64) bool { return int64(id) >= lo && int64(id) < hi }
	text := int64(v.TextSize)
	if v.TextSize <= 0 || text > int64(n) {
		return fmt.Errorf("vocab: text size %d outside (0, %d]", v.TextSize, n)
	}
	if v.CodebookSize <= 0 || int64(v.VisualOffset) < text || int64(v.VisualOffset)+int64(v.CodebookSize) > int64(n) {
		return fmt.Errorf("vocab: visual ids [%d, %d) must lie in [text size %d, vocab %d)",
			v.VisualOffset, int64(v.VisualOffset)+int64(v.CodebookSize), text, n)
	}
	lo, hi := int64(v.FastBase), int64(v.FastBase)+int64(v.FastSize) // FAST id range [lo, hi)
	if v.FastReversed {
		lo, hi = int64(v.FastBase)-int64(v.FastSize)+1, int64(v.FastBase)+1
	}
	if v.FastSize <= 0 || lo < 0 || hi > text {
		return fmt.Errorf("vocab: FAST ids [%d, %d) (%d tokens from %d, reversed %v) must lie in the text range [0, %d)",
			lo, hi, v.FastSize, v.FastBase, v.FastReversed, text)
	}
	specials := []struct {
		name string
		id   int32
	}{{"pad", v.Pad}, {"boa", v.BOA}, {"eoa", v.EOA}, {"eol", v.EOL}, {"eof", v.EOF}, {"mask", v.Mask},
		{"bos", v.BOS}, {"eos", v.EOS}, {"img", v.IMG}, {"boi", v.BOI}, {"eoi", v.EOI}}
	seen := map[int32]string{}
	for _, s := range specials {
		if !in(s.id, text, int64(n)) || in(s.id, int64(v.VisualOffset), int64(v.VisualOffset)+int64(v.CodebookSize)) {
			return fmt.Errorf("vocab: special %s = %d must lie in [text size %d, vocab %d) outside the visual ids", s.name, s.id, text, n)
		}
		if other, dup := seen[s.id]; dup {
			return fmt.Errorf("vocab: specials %s and %s share id %d", other, s.name, s.id)
		}
		seen[s.id] = s.name
	}
	textID := func(what string, id int32) error {
		if !in(id, 0, text) || in(id, lo, hi) {
			return fmt.Errorf("vocab: %s = %d must be a text id in [0, %d) outside the FAST ids [%d, %d)", what, id, text, lo, hi)
		}
		return nil
	}
	chars := map[int32]bool{}
	for d, id := range v.Digits {
		if err := textID(fmt.Sprintf("digit %d", d), id); err != nil {
			return err
		}
		chars[id] = true
	}
	if err := textID("'*'", v.Star); err != nil {
		return err
	}
	if chars[v.Star] || len(chars) != 10 {
		return fmt.Errorf("vocab: the ids of '0'..'9' and '*' must be distinct (%v, %d)", v.Digits, v.Star)
	}
	hdr := map[int32]bool{}
	for _, id := range v.HeaderIDs {
		if err := textID("header id", id); err != nil {
			return err
		}
		if hdr[id] {
			return fmt.Errorf("vocab: header id %d listed twice", id)
		}
		hdr[id] = true
	}
	return nil
}

func (d *Decoding) validate(v *Vocab) error {
	switch {
	case d.Steps <= 0 || d.Steps > maxSteps:
		return fmt.Errorf("decoding: steps %d outside [1, %d]", d.Steps, maxSteps)
	case d.ActionLen < 2 || d.ActionLen > maxActionLen:
		return fmt.Errorf("decoding: action length %d outside [2, %d] (BOA and at least one slot)", d.ActionLen, maxActionLen)
	case len(d.Cameras) == 0 || len(d.Cameras) > maxCameras:
		return fmt.Errorf("decoding: %d cameras, want 1 to %d", len(d.Cameras), maxCameras)
	case d.Mask != MaskPaper && d.Mask != MaskRelease && d.Mask != MaskCausal:
		return fmt.Errorf("decoding: mask rule %v; a model records release, paper or causal", d.Mask)
	case d.Preset != "" && PresetByName(d.Preset) == nil:
		return fmt.Errorf("decoding: unknown preset %q (want one of %v)", d.Preset, PresetNames())
	}
	names := map[string]bool{}
	for i, c := range d.Cameras {
		if c.Name == "" || len(c.Name) > 64 || names[c.Name] {
			return fmt.Errorf("decoding: camera %d has an empty, overlong or repeated name %q", i, c.Name)
		}
		names[c.Name] = true
		if c.H <= 0 || c.W <= 0 || c.H > maxGrid || c.W > maxGrid {
			return fmt.Errorf("decoding: camera %q grid %dx%d outside 1..%d", c.Name, c.H, c.W, maxGrid)
		}
	}
	allowed := map[int32]bool{}
	for _, id := range v.HeaderIDs {
		allowed[id] = true
	}
	for _, id := range v.HeaderIDSet(d.Cameras) {
		if !allowed[id] {
			return fmt.Errorf("decoding: the size headers of the cameras use text id %d, which the layout's header ids %v lack", id, v.HeaderIDs)
		}
	}
	return nil
}

func (f *Fast) validate() error {
	switch {
	case len(f.TokenizerJSON) == 0 || !json.Valid(f.TokenizerJSON):
		return fmt.Errorf("fast: tokenizer.json (%d bytes) is not valid JSON", len(f.TokenizerJSON))
	case !(f.Scale > 0) || math.IsInf(f.Scale, 0):
		return fmt.Errorf("fast: scale %g must be positive and finite", f.Scale)
	case math.IsNaN(f.GripperThreshold) || math.IsInf(f.GripperThreshold, 0):
		return fmt.Errorf("fast: gripper threshold %g must be finite", f.GripperThreshold)
	case f.Horizon <= 0 || f.Horizon > maxHorizon:
		return fmt.Errorf("fast: horizon %d outside [1, %d]", f.Horizon, maxHorizon)
	case f.Dims <= 0 || f.Dims > maxFastDims:
		return fmt.Errorf("fast: dims %d outside [1, %d]", f.Dims, maxFastDims)
	case len(f.Q01) != len(f.Q99) || (len(f.Q01) != 0 && len(f.Q01) != f.Dims):
		return fmt.Errorf("fast: %d q01 and %d q99 values for %d dims", len(f.Q01), len(f.Q99), f.Dims)
	}
	for i := range f.Q01 {
		lo, hi := f.Q01[i], f.Q99[i]
		if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || hi < lo {
			return fmt.Errorf("fast: dim %d has quantiles q01 %g, q99 %g", i, lo, hi)
		}
	}
	return nil
}
