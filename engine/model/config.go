// Package model holds what a UD-VLA model is made of: its architecture, its vocabulary layout and
// decoding defaults (all carried as data in the .udvla file), and the file format itself.
package model

import "fmt"

// Arch is the Llama backbone (spec §1). Weight matrices are row-major [out, in], as in HF checkpoints.
type Arch struct {
	Layers    int
	Hidden    int
	Heads     int
	KVHeads   int
	HeadDim   int
	FFN       int // SwiGLU intermediate size
	Vocab     int // rows of the embedding table and of lm_head
	RopeTheta float64
	RMSEps    float64
}

// Validate checks the shape relations every kernel relies on.
func (a Arch) Validate() error {
	switch {
	case a.Layers <= 0 || a.Layers > 1024:
		return fmt.Errorf("arch: layers %d out of range", a.Layers)
	case a.Hidden <= 0 || a.Hidden > 1<<16 || a.Hidden%32 != 0:
		return fmt.Errorf("arch: hidden %d must be a positive multiple of 32", a.Hidden)
	case a.Heads <= 0 || a.KVHeads <= 0 || a.Heads%a.KVHeads != 0:
		return fmt.Errorf("arch: heads %d must be a positive multiple of kv heads %d", a.Heads, a.KVHeads)
	case a.HeadDim <= 0 || a.HeadDim%2 != 0 || a.HeadDim > 256:
		return fmt.Errorf("arch: head dim %d must be even and at most 256", a.HeadDim)
	case (a.Heads*a.HeadDim)%32 != 0:
		return fmt.Errorf("arch: heads*head_dim %d must be a multiple of 32", a.Heads*a.HeadDim)
	case a.FFN <= 0 || a.FFN > 1<<18:
		// Any size: only q8_0 and q4_0 need whole blocks along a row, which the file's tensor
		// checks (TensorBytes) and the converter's refuse per tensor.
		return fmt.Errorf("arch: ffn %d out of range", a.FFN)
	case a.Vocab <= 0 || a.Vocab > 1<<24:
		return fmt.Errorf("arch: vocab %d out of range", a.Vocab)
	case !(a.RopeTheta > 1):
		return fmt.Errorf("arch: rope theta %g must be > 1", a.RopeTheta)
	case !(a.RMSEps > 0 && a.RMSEps < 1):
		return fmt.Errorf("arch: rms eps %g out of range", a.RMSEps)
	}
	return nil
}

// MaskRule selects the attention mask of spec §4.
//
// In a request the zero value, MaskDefault, means the model file's rule (Decoding.Mask). A model
// file records one of the other three: MaskRelease for every released UD-VLA checkpoint (trained
// with use_blockwise_attn_mask), MaskCausal for a plain Emu3/Llama one. MaskPaper is an opt-in
// speed mode (its prefix can be KV-cached exactly); its outputs differ from what the released
// weights were trained for.
type MaskRule int

const (
	MaskDefault MaskRule = iota // requests only: the model's rule
	MaskRelease                 // blocks computed from token ids, as the release code does (the checkpoints' training mask)
	MaskPaper                   // text causal; current images, future images, actions: bidirectional blocks
	MaskCausal                  // plain causal (AR pre-training, the `logits` command)
	// MaskReleaseKV is the release's KV-cached variant, a decoding mode rather than a mask over
	// arbitrary ids: the region attends as under MaskRelease, while the prefix (text and current
	// images) attends only to itself, so its K/V are computed once per control step.
	MaskReleaseKV
)

func (m MaskRule) String() string {
	switch m {
	case MaskDefault:
		return "model"
	case MaskPaper:
		return "paper"
	case MaskRelease:
		return "release"
	case MaskCausal:
		return "causal"
	case MaskReleaseKV:
		return "release-kv"
	}
	return fmt.Sprintf("MaskRule(%d)", int(m))
}

// ParseMaskRule is the inverse of String: "model" (the model's rule), "release", "release-kv",
// "paper" or "causal".
func ParseMaskRule(s string) (MaskRule, error) {
	for _, m := range []MaskRule{MaskDefault, MaskRelease, MaskPaper, MaskCausal, MaskReleaseKV} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mask rule %q (want model, release, release-kv, paper or causal)", s)
}

// Resolve returns the rule a request runs under: r itself, or for MaskDefault the model's rule
// (causal for a model without decoding defaults).
func (r MaskRule) Resolve(d *Decoding) MaskRule {
	if r != MaskDefault {
		return r
	}
	if d == nil {
		return MaskCausal
	}
	return d.Mask
}

// Vocab is the vocabulary layout of spec §2, carried as data so that test models can shrink it.
type Vocab struct {
	TextSize     int32 // text ids are [0, TextSize)
	Pad          int32
	BOA, EOA     int32
	EOL, EOF     int32
	Mask         int32
	BOS, EOS     int32
	IMG          int32
	BOI, EOI     int32
	VisualOffset int32 // visual token v is VisualOffset+v
	CodebookSize int32
	FastBase     int32 // id of FAST token 0
	FastSize     int32
	FastReversed bool      // FAST token k is FastBase-k when true (the real layout), FastBase+k otherwise
	Digits       [10]int32 // text ids of '0'..'9' (for the "1*H*W" image header)
	Star         int32     // text id of '*'
	HeaderIDs    []int32   // text ids image positions may take (CALVIN: 9,15,16,17,20)
}

// FastID returns the token id of FAST token k.
func (v *Vocab) FastID(k int32) int32 {
	if v.FastReversed {
		return v.FastBase - k
	}
	return v.FastBase + k
}

// FastIndex returns the FAST token index of id, or -1 when id is not a FAST token.
func (v *Vocab) FastIndex(id int32) int32 {
	k := id - v.FastBase
	if v.FastReversed {
		k = v.FastBase - id
	}
	if k < 0 || k >= v.FastSize {
		return -1
	}
	return k
}

// IsVisual reports whether id is a visual (VQ codebook) token.
func (v *Vocab) IsVisual(id int32) bool {
	return id >= v.VisualOffset && id < v.VisualOffset+v.CodebookSize
}

// Camera is one camera view and its token grid.
type Camera struct {
	Name string
	H, W int
}

// Decoding holds the decoding defaults of a model (spec §3, §5).
type Decoding struct {
	Steps     int      // T, JD3P denoising steps
	ActionLen int      // L_a: BOA plus L_a-1 MASK slots
	Cameras   []Camera // in sequence order
	Mask      MaskRule // the model's rule: release, paper or causal (never MaskDefault)
	Preset    string   // the benchmark these settings come from (Presets), "" for none
}

// Fast is the FAST action tokenizer as packed in a model file (spec §6).
type Fast struct {
	TokenizerJSON []byte    // HF tokenizer.json, verbatim
	Scale         float64   // DCT coefficient scale
	MinToken      int32     // added to ord(c) on decode
	Horizon       int       // T: action steps in a chunk
	Dims          int       // D: action dimensions
	Q01, Q99      []float64 // quantile statistics, D each (empty: actions stay normalised)
	// CleanUpSpaces is tokenizer_config.json's clean_up_tokenization_spaces: the HF decode then
	// removes the space before punctuation (true for FAST+, false for the CALVIN and Bridge ones).
	CleanUpSpaces bool
	// GripperThreshold binarises the gripper (last) dimension of the un-normalised actions: +1
	// where the value exceeds it, -1 otherwise. 0 for CALVIN and LIBERO, 0.5 for Bridge, whose
	// gripper ranges over [0, 1] (spec §6).
	GripperThreshold float64
}

// Config is everything a model file says besides its tensors.
type Config struct {
	Arch     Arch
	Vocab    *Vocab    // nil for a plain Llama checkpoint: logits work, control steps are refused
	Decoding *Decoding // nil when Vocab is nil
	Fast     *Fast     // nil when no FAST tokenizer was packed
	TextBPE  []byte    // tiktoken-style "base64 rank" lines, nil when not packed
	VQ       *VQConfig // the vision tokenizer, nil when not packed
}

// Tensor names of the Llama backbone. Per-layer names take the layer index.
const (
	TokEmbeddings = "tok_embeddings" // [vocab, hidden]
	FinalNorm     = "norm"           // [hidden]
	LMHead        = "lm_head"        // [vocab, hidden]
)

// LayerTensor names the tensors of layer i: attn_norm [hidden], wq [heads*hd, hidden],
// wk/wv [kv*hd, hidden], wo [hidden, heads*hd], ffn_norm [hidden], w_gate/w_up [ffn, hidden],
// w_down [hidden, ffn].
func LayerTensor(i int, what string) string { return fmt.Sprintf("layers.%d.%s", i, what) }

// LayerTensorNames lists the per-layer tensor suffixes in file order.
var LayerTensorNames = []string{"attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w_gate", "w_up", "w_down"}

// TensorShape returns the shape [rows, cols] (or [n]) the architecture implies for a tensor name,
// and false for a name the architecture does not have.
func (a Arch) TensorShape(name string) ([]int, bool) {
	switch name {
	case TokEmbeddings, LMHead:
		return []int{a.Vocab, a.Hidden}, true
	case FinalNorm:
		return []int{a.Hidden}, true
	}
	var i int
	var what string
	if n, _ := fmt.Sscanf(name, "layers.%d.", &i); n != 1 || i < 0 || i >= a.Layers {
		return nil, false
	}
	what = name[len(fmt.Sprintf("layers.%d.", i)):]
	q, kv := a.Heads*a.HeadDim, a.KVHeads*a.HeadDim
	switch what {
	case "attn_norm", "ffn_norm":
		return []int{a.Hidden}, true
	case "wq":
		return []int{q, a.Hidden}, true
	case "wk", "wv":
		return []int{kv, a.Hidden}, true
	case "wo":
		return []int{a.Hidden, q}, true
	case "w_gate", "w_up":
		return []int{a.FFN, a.Hidden}, true
	case "w_down":
		return []int{a.Hidden, a.FFN}, true
	}
	return nil, false
}

// TensorNames lists every tensor the architecture requires, in file order.
func (a Arch) TensorNames() []string {
	names := []string{TokEmbeddings}
	for i := 0; i < a.Layers; i++ {
		for _, w := range LayerTensorNames {
			names = append(names, LayerTensor(i, w))
		}
	}
	return append(names, FinalNorm, LMHead)
}

// Emu3Vocab is the vocabulary layout of the real UD-VLA/Emu3 checkpoints (spec §2) with a FAST
// vocabulary of fastSize tokens (1024 for CALVIN, 2048 for FAST+).
func Emu3Vocab(fastSize int32) *Vocab {
	return &Vocab{
		TextSize: 151643, Pad: 151643,
		BOA: 151844, EOA: 151845, EOL: 151846, EOF: 151847, Mask: 151848,
		BOS: 151849, EOS: 151850, IMG: 151851, BOI: 151852, EOI: 151853,
		VisualOffset: 151854, CodebookSize: 32768,
		FastBase: 151642, FastSize: fastSize, FastReversed: true,
		Digits:    [10]int32{15, 16, 17, 18, 19, 20, 21, 22, 23, 24},
		Star:      9,
		HeaderIDs: []int32{9, 15, 16, 17, 20},
	}
}

// Emu3VocabSize is the number of ids of the real layout (up to visual token 32767).
const Emu3VocabSize = 184622

// ScaledVocab is the real layout scaled down for test models: text ids [0, textSize) with the real
// digit and '*' ids, the FAST range reversed at the end of the text range, the special ids right
// after the text range in the real order, then the codebook. It returns the layout and the vocab
// size (rows of the embedding). textSize must exceed fastSize+25 so FAST and digits stay apart.
func ScaledVocab(textSize, codebookSize, fastSize int32) (*Vocab, int) {
	t := textSize
	v := &Vocab{
		TextSize: t, Pad: t,
		BOA: t + 1, EOA: t + 2, EOL: t + 3, EOF: t + 4, Mask: t + 5,
		BOS: t + 6, EOS: t + 7, IMG: t + 8, BOI: t + 9, EOI: t + 10,
		VisualOffset: t + 11, CodebookSize: codebookSize,
		FastBase: t - 1, FastSize: fastSize, FastReversed: true,
		Digits: [10]int32{15, 16, 17, 18, 19, 20, 21, 22, 23, 24},
		Star:   9,
	}
	return v, int(t + 11 + codebookSize)
}

// HeaderText is the size header of an image block, "1*H*W" (spec §3).
func HeaderText(h, w int) string { return fmt.Sprintf("1*%d*%d", h, w) }

// HeaderTokens spells the size header with the layout's digit and '*' ids, one token per character
// (the Qwen tokenizer splits digits one per token, so this equals tokenizing the text).
func (v *Vocab) HeaderTokens(h, w int) []int32 {
	var out []int32
	for _, c := range HeaderText(h, w) {
		if c == '*' {
			out = append(out, v.Star)
		} else {
			out = append(out, v.Digits[c-'0'])
		}
	}
	return out
}

// HeaderIDSet returns the distinct text ids that the size headers of the given cameras use: the
// decoding space of image positions includes them (spec §5 step 4).
func (v *Vocab) HeaderIDSet(cams []Camera) []int32 {
	seen := map[int32]bool{}
	var out []int32
	for _, c := range cams {
		for _, id := range v.HeaderTokens(c.H, c.W) {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	for i := 1; i < len(out); i++ { // insertion sort: a handful of ids
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
