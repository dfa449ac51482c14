// Package fast is the FAST action tokenizer (spec §6): it turns FAST BPE token ids into DCT
// coefficients and continuous actions with the exact semantics of the Hugging Face `tokenizers`
// ByteLevel decoder and the FAST processor, and encodes actions back to ids for tests and tools.
package fast

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/dlclark/regexp2"
)

// Limits that keep a corrupt file or flag from making the decoder allocate without bound.
const (
	maxVocabID = 1 << 24
	maxHorizon = 1024    // the DCT matrix is T x T
	maxValues  = 1 << 20 // T*D
)

// Tokenizer decodes (and encodes) FAST token ids for one action shape. It is safe for concurrent
// use once CleanUpSpaces is set.
type Tokenizer struct {
	// CleanUpSpaces applies transformers' clean_up_tokenization to the decoded text, as
	// PreTrainedTokenizerFast.decode does when tokenizer_config.json sets
	// clean_up_tokenization_spaces (the universal FAST+ tokenizer does). LoadDir sets it.
	CleanUpSpaces bool
	// GripperThreshold binarises the gripper (last) dimension of the un-normalised actions: +1
	// above it, -1 otherwise. 0 (CALVIN, LIBERO) unless the model says otherwise (Bridge: 0.5).
	// FromModel sets it.
	GripperThreshold float64

	scale    float64
	minToken int32
	horizon  int
	dims     int
	dct      [][]float64 // orthonormal DCT-II matrix, horizon x horizon: row k is frequency k

	idBytes [][]byte // id -> what the ByteLevel decoder makes of its token; nil: no such id
	numIDs  int      // ids in the vocabulary and added tokens

	// Encoding (BPE over the ByteLevel pre-tokenizer).
	vocab          map[string]int32
	merges         map[[2]int32]merge
	addPrefixSpace bool
	split          *regexp2.Regexp // nil: use_regex false
	encodeErr      error           // why this tokenizer.json cannot be encoded with, if so
}

type merge struct{ rank, id int32 }

// gpt2Pattern is the regex of the ByteLevel pre-tokenizer (use_regex). \s, \p{L} and \p{N} mean
// the same in regexp2 as in the Oniguruma engine the reference uses (Unicode White_Space and
// general categories).
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

type tokenizerFile struct {
	AddedTokens []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
	} `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer *struct {
		Type           string `json:"type"`
		AddPrefixSpace bool   `json:"add_prefix_space"`
		UseRegex       *bool  `json:"use_regex"`
	} `json:"pre_tokenizer"`
	Decoder *struct {
		Type string `json:"type"`
	} `json:"decoder"`
	Model struct {
		Type                    string           `json:"type"`
		Vocab                   map[string]int64 `json:"vocab"`
		Merges                  json.RawMessage  `json:"merges"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
		ByteFallback            bool             `json:"byte_fallback"`
		Dropout                 *float64         `json:"dropout"`
	} `json:"model"`
}

// New parses a HF tokenizer.json (BPE model, ByteLevel decoder) for chunks of horizon steps of
// dims dimensions, with the FAST processor's scale and min_token.
func New(tokenizerJSON []byte, scale float64, minToken int32, horizon, dims int) (*Tokenizer, error) {
	switch {
	case !(scale > 0) || math.IsInf(scale, 0):
		return nil, fmt.Errorf("fast: scale %g must be positive and finite", scale)
	case horizon <= 0 || dims <= 0 || horizon > maxHorizon || dims > maxValues || horizon*dims > maxValues:
		return nil, fmt.Errorf("fast: action shape %dx%d out of range", horizon, dims)
	}
	var f tokenizerFile
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("fast: tokenizer.json: %w", err)
	}
	if f.Model.Type != "" && f.Model.Type != "BPE" {
		return nil, fmt.Errorf("fast: tokenizer model %q, want BPE", f.Model.Type)
	}
	if len(f.Model.Vocab) == 0 {
		return nil, errors.New("fast: tokenizer.json has no model vocabulary")
	}
	if f.Decoder == nil || f.Decoder.Type != "ByteLevel" {
		return nil, errors.New("fast: tokenizer.json decoder must be ByteLevel")
	}
	t := &Tokenizer{scale: scale, minToken: minToken, horizon: horizon, dims: dims, dct: dctMatrix(horizon),
		vocab: make(map[string]int32, len(f.Model.Vocab))}

	maxID := int64(-1)
	for tok, id := range f.Model.Vocab {
		if id < 0 || id >= maxVocabID {
			return nil, fmt.Errorf("fast: token %q has id %d out of range", tok, id)
		}
		maxID = max(maxID, id)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 || a.ID >= maxVocabID {
			return nil, fmt.Errorf("fast: added token %q has id %d out of range", a.Content, a.ID)
		}
		maxID = max(maxID, a.ID)
	}
	t.idBytes = make([][]byte, maxID+1)
	for tok, id := range f.Model.Vocab {
		if t.idBytes[id] != nil {
			return nil, fmt.Errorf("fast: id %d given to two tokens", id)
		}
		t.idBytes[id] = tokenBytes(tok)
		t.vocab[tok] = int32(id)
	}
	// Added tokens are looked up before the model's vocabulary, as in Tokenizer::decode.
	for _, a := range f.AddedTokens {
		t.idBytes[a.ID] = tokenBytes(a.Content)
	}
	for _, b := range t.idBytes {
		if b != nil {
			t.numIDs++
		}
	}
	merges, err := parseMerges(f.Model.Merges, t.vocab)
	if err != nil {
		return nil, err
	}
	t.merges = merges
	t.encodeErr = t.setUpEncoding(&f)
	return t, nil
}

// setUpEncoding records whether Encode can reproduce the reference for this file: it supports the
// configuration FAST tokenizers are trained with and says which part it lacks otherwise.
func (t *Tokenizer) setUpEncoding(f *tokenizerFile) error {
	switch {
	case len(f.Normalizer) > 0 && string(f.Normalizer) != "null":
		return errors.New("fast: encoding with a normalizer is not supported")
	case f.PreTokenizer == nil || f.PreTokenizer.Type != "ByteLevel":
		return errors.New("fast: encoding needs a ByteLevel pre-tokenizer")
	case len(f.AddedTokens) > 0:
		return errors.New("fast: encoding with added tokens is not supported")
	case f.Model.ContinuingSubwordPrefix != nil && *f.Model.ContinuingSubwordPrefix != "",
		f.Model.EndOfWordSuffix != nil && *f.Model.EndOfWordSuffix != "":
		return errors.New("fast: encoding with subword prefixes or suffixes is not supported")
	case f.Model.Dropout != nil && *f.Model.Dropout > 0:
		return errors.New("fast: encoding with BPE dropout is not deterministic")
	}
	t.addPrefixSpace = f.PreTokenizer.AddPrefixSpace
	if f.PreTokenizer.UseRegex == nil || *f.PreTokenizer.UseRegex {
		re, err := regexp2.Compile(gpt2Pattern, regexp2.None)
		if err != nil {
			return fmt.Errorf("fast: pre-tokenizer regex: %w", err)
		}
		t.split = re
	}
	return nil
}

// parseMerges reads the merges list in either serialisation ("a b" strings or [a, b] pairs); the
// position in the list is the rank.
func parseMerges(raw json.RawMessage, vocab map[string]int32) (map[[2]int32]merge, error) {
	var pairs [][2]string
	if len(raw) > 0 && string(raw) != "null" {
		var flat []string
		if err := json.Unmarshal(raw, &flat); err == nil {
			pairs = make([][2]string, len(flat))
			for i, m := range flat {
				var a, b string
				n := 0
				for j := 0; j < len(m); j++ {
					if m[j] == ' ' {
						a, b = m[:j], m[j+1:]
						n++
					}
				}
				if n != 1 {
					return nil, fmt.Errorf("fast: merge %d %q is not two tokens separated by one space", i, m)
				}
				pairs[i] = [2]string{a, b}
			}
		} else if err := json.Unmarshal(raw, &pairs); err != nil {
			return nil, fmt.Errorf("fast: merges: %w", err)
		}
	}
	out := make(map[[2]int32]merge, len(pairs))
	for i, p := range pairs {
		a, okA := vocab[p[0]]
		b, okB := vocab[p[1]]
		c, okC := vocab[p[0]+p[1]]
		if !okA || !okB || !okC {
			return nil, fmt.Errorf("fast: merge %d (%q, %q) uses a token missing from the vocabulary", i, p[0], p[1])
		}
		// A pair listed twice takes its last rank: the reference collects the list into a map.
		out[[2]int32{a, b}] = merge{int32(i), c}
	}
	return out, nil
}

// Scale is the DCT coefficient scale.
func (t *Tokenizer) Scale() float64 { return t.scale }

// MinToken is added to each decoded character's code point.
func (t *Tokenizer) MinToken() int32 { return t.minToken }

// Horizon is T, the number of action steps in a chunk.
func (t *Tokenizer) Horizon() int { return t.horizon }

// Dims is D, the number of action dimensions.
func (t *Tokenizer) Dims() int { return t.dims }

// VocabSize is one past the highest id the tokenizer knows.
func (t *Tokenizer) VocabSize() int { return len(t.idBytes) }

// NumTokens is the number of ids the tokenizer knows (VocabSize less any gaps).
func (t *Tokenizer) NumTokens() int { return t.numIDs }
