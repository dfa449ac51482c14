package vkbackend

import (
	"fmt"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
)

// vkLayer is one decoder layer's weights on the device.
type vkLayer struct {
	attnNorm, ffnNorm *vk.Buffer
	wq, wk, wv, wo    *gpu.Matrix
	wgate, wup, wdown *gpu.Matrix
}

// vkWeights are every weight of the model, uploaded once per engine.
type vkWeights struct {
	embedBuf  *vk.Buffer
	embed     *gpu.EmbedTable
	layers    []vkLayer
	finalNorm *vk.Buffer
	lmHead    *gpu.Matrix
}

func uploadWeights(dev *vk.Device, f *model.File) (w *vkWeights, err error) {
	w = &vkWeights{}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	a := f.Config.Arch
	matrix := func(name string) (*gpu.Matrix, error) {
		info, raw, err := f.Tensor(name)
		if err != nil {
			return nil, err
		}
		m, err := gpu.UploadMatrix(dev, info.DType, info.Rows(), info.Cols(), raw)
		if err != nil {
			return nil, fmt.Errorf("udvla: upload %s: %w", name, err)
		}
		return m, nil
	}
	vector := func(name string) (*vk.Buffer, error) {
		info, raw, err := f.Tensor(name)
		if err != nil {
			return nil, err
		}
		if info.DType != quant.F32 {
			return nil, fmt.Errorf("udvla: %s is %v, norms must be f32", name, info.DType)
		}
		b, err := dev.NewBuffer(int64(len(raw)), vk.DeviceLocal, 0)
		if err != nil {
			return nil, fmt.Errorf("udvla: upload %s: %w", name, err)
		}
		return b, b.Write(0, raw)
	}
	info, raw, err := f.Tensor(model.TokEmbeddings)
	if err != nil {
		return nil, err
	}
	rq, rs := quant.RowBytes(info.DType, a.Hidden)
	unit := int64(rq)
	if rs > 0 {
		unit = 256 // quants and scales are two runs of one buffer: split only at aligned offsets
	}
	if w.embedBuf, err = dev.NewBuffer(int64(len(raw)), vk.DeviceLocal, unit); err != nil {
		return nil, fmt.Errorf("udvla: upload embeddings: %w", err)
	}
	if err = w.embedBuf.Write(0, raw); err != nil {
		return nil, err
	}
	if w.embed, err = gpu.EmbedTableIn(w.embedBuf, 0, info.DType, a.Vocab, a.Hidden); err != nil {
		return nil, err
	}
	for i := 0; i < a.Layers; i++ {
		var l vkLayer
		w.layers = append(w.layers, l)
		lp := &w.layers[i]
		name := func(s string) string { return model.LayerTensor(i, s) }
		if lp.attnNorm, err = vector(name("attn_norm")); err != nil {
			return nil, err
		}
		if lp.ffnNorm, err = vector(name("ffn_norm")); err != nil {
			return nil, err
		}
		for _, m := range []struct {
			dst **gpu.Matrix
			n   string
		}{{&lp.wq, "wq"}, {&lp.wk, "wk"}, {&lp.wv, "wv"}, {&lp.wo, "wo"}, {&lp.wgate, "w_gate"}, {&lp.wup, "w_up"}, {&lp.wdown, "w_down"}} {
			if *m.dst, err = matrix(name(m.n)); err != nil {
				return nil, err
			}
		}
	}
	if w.finalNorm, err = vector(model.FinalNorm); err != nil {
		return nil, err
	}
	if w.lmHead, err = matrix(model.LMHead); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *vkWeights) close() {
	if w == nil {
		return
	}
	w.embedBuf.Close()
	for _, l := range w.layers {
		l.attnNorm.Close()
		l.ffnNorm.Close()
		for _, m := range []*gpu.Matrix{l.wq, l.wk, l.wv, l.wo, l.wgate, l.wup, l.wdown} {
			if m != nil {
				m.Close()
			}
		}
	}
	w.finalNorm.Close()
	if w.lmHead != nil {
		w.lmHead.Close()
	}
}
