package build

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// HFOptions describe a random checkpoint in the Hugging Face layout, for testing the converter:
// the tensors of RandomTensors(Arch, Seed) under their HF names.
type HFOptions struct {
	Arch      model.Arch
	Seed      uint64
	DType     string // BF16, F16 or F32
	Shards    int    // 0 or 1: model.safetensors; more: shards and model.safetensors.index.json
	ModelType string // config.json model_type, e.g. "llama" or "Emu3"
	Tied      bool   // no lm_head.weight: tie_word_embeddings, lm_head is the embedding
	// Blockwise sets use_blockwise_attn_mask in config.json, as every released UD-VLA checkpoint
	// does: the converter then records the release rule.
	Blockwise bool
}

// WriteRandomHF writes config.json and the safetensors of a random checkpoint into dir.
func WriteRandomHF(dir string, o HFOptions) error {
	es := stElemSize(o.DType)
	if es == 0 {
		return fmt.Errorf("random checkpoint: dtype %q, want BF16, F16 or F32", o.DType)
	}
	if err := o.Arch.Validate(); err != nil {
		return err
	}
	a := o.Arch
	cfg := map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": o.ModelType,
		"vocab_size": a.Vocab, "hidden_size": a.Hidden, "intermediate_size": a.FFN,
		"num_hidden_layers": a.Layers, "num_attention_heads": a.Heads, "num_key_value_heads": a.KVHeads,
		"head_dim": a.HeadDim, "rope_theta": a.RopeTheta, "rms_norm_eps": a.RMSEps, "hidden_act": "silu",
		"tie_word_embeddings": o.Tied, "rope_scaling": nil, "torch_dtype": map[string]string{"BF16": "bfloat16", "F16": "float16", "F32": "float32"}[o.DType],
	}
	if o.Blockwise {
		cfg["use_blockwise_attn_mask"] = true
	}
	raw, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		return err
	}
	var names []string
	for _, n := range a.TensorNames() {
		if !(o.Tied && n == model.LMHead) {
			names = append(names, n)
		}
	}
	shards := max(o.Shards, 1)
	weightMap := map[string]string{}
	for s := 0; s < shards; s++ {
		file := "model.safetensors"
		if shards > 1 {
			file = fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, shards)
		}
		var part []string
		for i := s; i < len(names); i += shards {
			part = append(part, names[i])
			weightMap[HFTensorName(names[i])] = file
		}
		if err := writeSafetensors(filepath.Join(dir, file), a, o.Seed, o.DType, part); err != nil {
			return err
		}
	}
	if shards > 1 {
		raw, _ := json.MarshalIndent(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap}, "", "  ")
		return os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), raw, 0o644)
	}
	return nil
}

func writeSafetensors(path string, a model.Arch, seed uint64, dtype string, names []string) error {
	es := stElemSize(dtype)
	type entry struct {
		DType       string  `json:"dtype"`
		Shape       []int   `json:"shape"`
		DataOffsets []int64 `json:"data_offsets"`
	}
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var off int64
	for _, n := range sorted {
		shape, _ := a.TensorShape(n)
		size := es
		for _, d := range shape {
			size *= int64(d)
		}
		hdr[HFTensorName(n)] = entry{dtype, shape, []int64{off, off + size}}
		off += size
	}
	raw, _ := json.Marshal(hdr)
	for len(raw)%8 != 0 { // safetensors pads the header with spaces to 8 bytes
		raw = append(raw, ' ')
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(raw)))
	out = append(out, raw...)
	for _, n := range sorted {
		x, err := RandomTensor(a, seed, n)
		if err != nil {
			return err
		}
		for _, v := range x {
			switch dtype {
			case "F32":
				out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
			case "F16":
				out = binary.LittleEndian.AppendUint16(out, quant.F32ToF16(v))
			case "BF16":
				out = binary.LittleEndian.AppendUint16(out, BF16(v))
			}
		}
		if _, err := f.Write(out); err != nil {
			return err
		}
		out = out[:0]
	}
	return f.Close()
}

// BF16 rounds a float32 to bfloat16 bits, ties to even (as torch does).
func BF16(v float32) uint16 {
	b := math.Float32bits(v)
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// BF16ToF32 widens bfloat16 bits exactly.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }
