package ref

import (
	"fmt"

	"github.com/udvla/udvla/engine/model"
)

// LayerWeights are the tensors of one decoder layer, each row-major with the shape
// model.Arch.TensorShape gives.
type LayerWeights struct {
	AttnNorm          []float32 // [hidden]
	WQ                []float32 // [heads*head_dim, hidden]
	WK, WV            []float32 // [kv_heads*head_dim, hidden]
	WO                []float32 // [hidden, heads*head_dim]
	FFNNorm           []float32 // [hidden]
	WGate, WUp, WDown []float32 // [ffn, hidden], [ffn, hidden], [hidden, ffn]
}

// Weights are all tensors of the backbone as float32 (quantized models are dequantized first, so a
// device running the quantized numbers is compared with the same numbers).
type Weights struct {
	Embed  []float32 // [vocab, hidden]
	Layers []LayerWeights
	Norm   []float32 // [hidden]
	LMHead []float32 // [vocab, hidden]
}

// Model is the reference backbone.
type Model struct {
	Arch model.Arch
	W    Weights
}

// NewModel builds the reference from a tensor source: get returns the float32 values of a tensor
// name of model.Arch.TensorNames (a model file's dequantized tensors, or random test weights).
// Every tensor must have exactly the size its shape implies.
func NewModel(arch model.Arch, get func(name string) ([]float32, error)) (*Model, error) {
	if err := arch.Validate(); err != nil {
		return nil, err
	}
	if get == nil {
		return nil, fmt.Errorf("ref: no tensor source")
	}
	load := func(name string) ([]float32, error) {
		shape, ok := arch.TensorShape(name)
		if !ok {
			return nil, fmt.Errorf("ref: tensor %q is not part of the architecture", name)
		}
		size := 1
		for _, d := range shape {
			size *= d
		}
		t, err := get(name)
		if err != nil {
			return nil, fmt.Errorf("ref: tensor %q: %w", name, err)
		}
		if len(t) != size {
			return nil, fmt.Errorf("ref: tensor %q has %d values, its shape %v needs %d", name, len(t), shape, size)
		}
		return t, nil
	}
	m := &Model{Arch: arch, W: Weights{Layers: make([]LayerWeights, arch.Layers)}}
	var err error
	if m.W.Embed, err = load(model.TokEmbeddings); err != nil {
		return nil, err
	}
	for i := range m.W.Layers {
		lw := &m.W.Layers[i]
		for _, t := range []struct {
			what string
			dst  *[]float32
		}{
			{"attn_norm", &lw.AttnNorm}, {"wq", &lw.WQ}, {"wk", &lw.WK}, {"wv", &lw.WV}, {"wo", &lw.WO},
			{"ffn_norm", &lw.FFNNorm}, {"w_gate", &lw.WGate}, {"w_up", &lw.WUp}, {"w_down", &lw.WDown},
		} {
			if *t.dst, err = load(model.LayerTensor(i, t.what)); err != nil {
				return nil, err
			}
		}
	}
	if m.W.Norm, err = load(model.FinalNorm); err != nil {
		return nil, err
	}
	if m.W.LMHead, err = load(model.LMHead); err != nil {
		return nil, err
	}
	return m, nil
}
