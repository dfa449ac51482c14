package engine

import (
	"bytes"
	"fmt"

	"github.com/udvla/udvla/engine/fast"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/textok"
)

// textTokenizer turns instruction text into token ids (spec §8).
type textTokenizer = *textok.Tokenizer

// actionDecoder turns the action tokens of a region into an action chunk (spec §6).
type actionDecoder = *fastDecoder

type fastDecoder struct {
	tok      *fast.Tokenizer
	vocab    *model.Vocab
	q01, q99 []float64
	ids      []int32
}

// Decode maps model ids to FAST ids (FastIndex: ids outside the range become -1 and are skipped)
// and decodes them.
func (d *fastDecoder) Decode(actionIDs []int32) ([][]float32, bool) {
	d.ids = d.ids[:0]
	for _, id := range actionIDs {
		d.ids = append(d.ids, d.vocab.FastIndex(id))
	}
	r, err := d.tok.Decode(d.ids, d.q01, d.q99)
	if err != nil { // only bad statistics fail, and those were checked at load
		return nil, false
	}
	if r.Actions != nil {
		return r.Actions, r.Complete
	}
	out := make([][]float32, len(r.Normalised))
	for i, row := range r.Normalised {
		out[i] = make([]float32, len(row))
		for j, v := range row {
			out[i][j] = float32(v)
		}
	}
	return out, r.Complete
}

// loadTokenizers builds the tokenizers the model file packs.
func (e *Engine) loadTokenizers() error {
	c := e.cfg
	if c.Vocab != nil {
		e.header = c.Vocab.HeaderTokens
	}
	if len(c.TextBPE) > 0 {
		var specials map[string]int32
		if c.Vocab != nil {
			specials = emu3Specials(c.Vocab)
		}
		t, err := textok.Load(bytes.NewReader(c.TextBPE), specials)
		if err != nil {
			return fmt.Errorf("udvla: the model's text vocabulary: %w", err)
		}
		e.text = t
		if c.Vocab != nil {
			e.header = func(h, w int) []int32 { return t.EncodeOrdinary(model.HeaderText(h, w)) }
		}
	}
	if c.Fast != nil && c.Vocab != nil {
		t, err := fast.FromModel(c.Fast)
		if err != nil {
			return fmt.Errorf("udvla: the model's FAST tokenizer: %w", err)
		}
		d := &fastDecoder{tok: t, vocab: c.Vocab}
		if len(c.Fast.Q01) > 0 {
			d.q01, d.q99 = c.Fast.Q01, c.Fast.Q99
		}
		if _, err := t.Decode(nil, d.q01, d.q99); err != nil {
			return fmt.Errorf("udvla: the model's action statistics: %w", err)
		}
		e.fast = d
	}
	return nil
}

// emu3Specials are the added tokens of the Emu3 tokenizer (Qwen's specials and Emu3's image
// tokens) that the layout gives ids: the reference's HF tokenizer matches them in instruction
// text as single ids. Every layout names the pad, the extras the layout uses (BOA extra_198 to
// EOS extra_204), the image tokens and the visual tokens; a layout with the real spacing (BOA 201
// ids after the pad, as Emu3Vocab) also has im_start, im_end and the other extras, which a
// scaled-down layout leaves out of its vocabulary.
func emu3Specials(v *model.Vocab) map[string]int32 {
	m := map[string]int32{"<|endoftext|>": v.Pad,
		"<|image token|>": v.IMG, "<|image start|>": v.BOI, "<|image end|>": v.EOI}
	for i, id := range []int32{v.BOA, v.EOA, v.EOL, v.EOF, v.Mask, v.BOS, v.EOS} {
		m[fmt.Sprintf("<|extra_%d|>", 198+i)] = id
	}
	if v.BOA == v.Pad+3+198 {
		m["<|im_start|>"], m["<|im_end|>"] = v.Pad+1, v.Pad+2
		for i := int32(0); i < 198; i++ {
			m[fmt.Sprintf("<|extra_%d|>", i)] = v.Pad + 3 + i
		}
	}
	for c := int32(0); c < v.CodebookSize; c++ {
		m[fmt.Sprintf("<|visual token %06d|>", c)] = v.VisualOffset + c
	}
	return m
}
