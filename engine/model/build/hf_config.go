package build

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/udvla/udvla/engine/model"
)

// hfConfig is what the converter reads from a checkpoint's config.json.
type hfConfig struct {
	ModelType         string          `json:"model_type"`
	VocabSize         int             `json:"vocab_size"`
	HiddenSize        int             `json:"hidden_size"`
	IntermediateSize  int             `json:"intermediate_size"`
	NumHiddenLayers   int             `json:"num_hidden_layers"`
	NumAttentionHeads int             `json:"num_attention_heads"`
	NumKeyValueHeads  int             `json:"num_key_value_heads"`
	HeadDim           int             `json:"head_dim"`
	RopeTheta         float64         `json:"rope_theta"`
	RMSNormEps        float64         `json:"rms_norm_eps"`
	HiddenAct         string          `json:"hidden_act"`
	TieWordEmbeddings bool            `json:"tie_word_embeddings"`
	AttentionBias     bool            `json:"attention_bias"`
	MLPBias           bool            `json:"mlp_bias"`
	RopeScaling       json.RawMessage `json:"rope_scaling"`
	TextConfig        *hfConfig       `json:"text_config"`

	// The attention mask the checkpoint was trained with (the release's Emu3 model reads these).
	UseBlockwiseAttnMask     *bool `json:"use_blockwise_attn_mask"`
	UseBidirectionalAttnMask *bool `json:"use_bidirectional_attn_mask"`
}

// MaskRule is the attention rule the checkpoint was trained with, as the release's Emu3Model
// chooses it: use_blockwise_attn_mask (checked first) is the id-derived release mask;
// use_bidirectional_attn_mask is another rule (causal, each image/action block bidirectional, the
// blocks from the third on mutually visible) that the engine does not implement, so it is refused;
// neither is plain causal Emu3.
func (c *hfConfig) MaskRule() (model.MaskRule, error) {
	switch {
	case c.UseBlockwiseAttnMask != nil && *c.UseBlockwiseAttnMask:
		return model.MaskRelease, nil
	case c.UseBidirectionalAttnMask != nil && *c.UseBidirectionalAttnMask:
		return 0, fmt.Errorf("config.json: use_bidirectional_attn_mask selects a mask the engine does not implement " +
			"(image blocks bidirectional, blocks from the third on mutually visible); choose a rule explicitly to convert anyway")
	}
	return model.MaskCausal, nil
}

// IsEmu3 reports whether a checkpoint is an Emu3/UD-VLA one, which gets the vocabulary layout of
// spec §2 by default.
func (c *hfConfig) IsEmu3() bool {
	return strings.EqualFold(c.ModelType, "emu3") || c.VocabSize == model.Emu3VocabSize
}

// readHFConfig reads config.json and derives the architecture. Features the engine does not
// implement (RoPE scaling, biases, another activation) are refused, not silently dropped.
func readHFConfig(dir string) (*hfConfig, model.Arch, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, model.Arch{}, err
	}
	var c hfConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, model.Arch{}, fmt.Errorf("config.json: %w", err)
	}
	top := c
	if c.HiddenSize == 0 && c.TextConfig != nil { // a multimodal config nests the language model's
		mt := c.ModelType
		c = *c.TextConfig
		if c.ModelType == "" {
			c.ModelType = mt
		}
		c.TieWordEmbeddings = c.TieWordEmbeddings || top.TieWordEmbeddings
		if c.UseBlockwiseAttnMask == nil {
			c.UseBlockwiseAttnMask = top.UseBlockwiseAttnMask
		}
		if c.UseBidirectionalAttnMask == nil {
			c.UseBidirectionalAttnMask = top.UseBidirectionalAttnMask
		}
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000 // the HF Llama default
	}
	if c.RMSNormEps == 0 {
		c.RMSNormEps = 1e-6 // the HF Llama default
	}
	switch {
	case c.HiddenAct != "" && c.HiddenAct != "silu":
		return nil, model.Arch{}, fmt.Errorf("config.json: hidden_act %q; the engine implements SwiGLU with silu", c.HiddenAct)
	case c.AttentionBias || c.MLPBias:
		return nil, model.Arch{}, fmt.Errorf("config.json: attention or MLP biases; the engine implements Llama without biases")
	case len(c.RopeScaling) > 0 && string(c.RopeScaling) != "null":
		return nil, model.Arch{}, fmt.Errorf("config.json: rope_scaling %s; the engine implements plain RoPE", c.RopeScaling)
	}
	a := model.Arch{Layers: c.NumHiddenLayers, Hidden: c.HiddenSize, Heads: c.NumAttentionHeads, KVHeads: c.NumKeyValueHeads,
		HeadDim: c.HeadDim, FFN: c.IntermediateSize, Vocab: c.VocabSize, RopeTheta: c.RopeTheta, RMSEps: c.RMSNormEps}
	if err := a.Validate(); err != nil {
		return nil, model.Arch{}, fmt.Errorf("config.json: %w", err)
	}
	return &c, a, nil
}

// HFTensorName returns the Hugging Face Llama/Emu3 name of a tensor: model.embed_tokens.weight,
// model.layers.N.self_attn.q_proj.weight, ..., model.norm.weight, lm_head.weight.
func HFTensorName(name string) string {
	switch name {
	case model.TokEmbeddings:
		return "model.embed_tokens.weight"
	case model.FinalNorm:
		return "model.norm.weight"
	case model.LMHead:
		return "lm_head.weight"
	}
	var i int
	if _, err := fmt.Sscanf(name, "layers.%d.", &i); err != nil {
		return ""
	}
	what := strings.TrimPrefix(name, fmt.Sprintf("layers.%d.", i))
	hf, ok := map[string]string{
		"attn_norm": "input_layernorm", "wq": "self_attn.q_proj", "wk": "self_attn.k_proj", "wv": "self_attn.v_proj",
		"wo": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm", "w_gate": "mlp.gate_proj",
		"w_up": "mlp.up_proj", "w_down": "mlp.down_proj",
	}[what]
	if !ok {
		return ""
	}
	return fmt.Sprintf("model.layers.%d.%s.weight", i, hf)
}
