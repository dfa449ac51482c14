package build

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// WriteRandomVQHF writes config.json and model.safetensors of a random vision-tokenizer checkpoint
// into dir, as the Emu3 release ships one: the checkpoint's names and shapes (kernels keep their
// 4-D and 5-D shapes), dtype F32, F16 or BF16, and the BatchNorm counters num_batches_tracked as
// I64 scalars. Its values are RandomVQTensors(c, seed) rounded to the dtype.
func WriteRandomVQHF(dir string, c *model.VQConfig, seed uint64, dtype string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	cj := map[string]any{"model_type": "Emu3VisionVQ", "codebook_size": c.CodebookSize, "embed_dim": c.EmbedDim,
		"z_channels": c.ZChannels, "double_z": c.DoubleZ, "in_channels": c.InChannels, "out_channels": c.OutChannels,
		"temporal_downsample_factor": c.TemporalDownsampleFactor, "ch": c.Ch, "ch_mult": c.ChMult,
		"num_res_blocks": c.NumResBlocks, "attn_resolutions": c.AttnResolutions, "dropout": c.Dropout}
	raw, _ := json.MarshalIndent(cj, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		return err
	}
	type entry struct {
		DType       string  `json:"dtype"`
		Shape       []int   `json:"shape"`
		DataOffsets []int64 `json:"data_offsets"`
	}
	es := stElemSize(dtype)
	values := RandomVQTensors(c, seed)
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var body []byte
	for _, t := range c.Tensors() {
		off := int64(len(body))
		for _, v := range values[t.Name] {
			switch dtype {
			case "F32":
				body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
			case "F16":
				body = binary.LittleEndian.AppendUint16(body, quant.F32ToF16(v))
			case "BF16":
				body = binary.LittleEndian.AppendUint16(body, BF16(v))
			}
		}
		hdr[t.Name] = entry{dtype, t.Shape, []int64{off, off + int64(len(values[t.Name]))*es}}
		if n := len(t.Name) - len(".running_var"); n > 0 && t.Name[n:] == ".running_var" {
			off := int64(len(body))
			body = binary.LittleEndian.AppendUint64(body, 7)
			hdr[t.Name[:n]+".num_batches_tracked"] = entry{"I64", []int{}, []int64{off, off + 8}}
		}
	}
	raw, _ = json.Marshal(hdr)
	for len(raw)%8 != 0 {
		raw = append(raw, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(raw)))
	out = append(append(out, raw...), body...)
	return os.WriteFile(filepath.Join(dir, "model.safetensors"), out, 0o644)
}
