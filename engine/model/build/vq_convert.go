package build

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// vqConfigJSON is the part of an Emu3VisionVQ config.json the model reads; a missing field takes
// the class default (model.EmuVQConfig), as Emu3VisionVQConfig does.
type vqConfigJSON struct {
	ModelType                string   `json:"model_type"`
	CodebookSize             *int     `json:"codebook_size"`
	EmbedDim                 *int     `json:"embed_dim"`
	ZChannels                *int     `json:"z_channels"`
	DoubleZ                  *bool    `json:"double_z"`
	InChannels               *int     `json:"in_channels"`
	OutChannels              *int     `json:"out_channels"`
	TemporalDownsampleFactor *int     `json:"temporal_downsample_factor"`
	Ch                       *int     `json:"ch"`
	ChMult                   []int    `json:"ch_mult"`
	NumResBlocks             *int     `json:"num_res_blocks"`
	AttnResolutions          []int    `json:"attn_resolutions"`
	Dropout                  *float64 `json:"dropout"`
}

// ReadVQConfig reads and validates the config.json of an Emu3 vision-tokenizer checkpoint.
func ReadVQConfig(dir string) (*model.VQConfig, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	var j vqConfigJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("%s: config.json: %w", dir, err)
	}
	if j.ModelType != "" && j.ModelType != "Emu3VisionVQ" {
		return nil, fmt.Errorf("%s: config.json has model_type %q, not Emu3VisionVQ", dir, j.ModelType)
	}
	c := model.EmuVQConfig()
	setInt := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setInt(&c.CodebookSize, j.CodebookSize)
	setInt(&c.EmbedDim, j.EmbedDim)
	setInt(&c.ZChannels, j.ZChannels)
	setInt(&c.InChannels, j.InChannels)
	setInt(&c.OutChannels, j.OutChannels)
	setInt(&c.TemporalDownsampleFactor, j.TemporalDownsampleFactor)
	setInt(&c.Ch, j.Ch)
	setInt(&c.NumResBlocks, j.NumResBlocks)
	if j.DoubleZ != nil {
		c.DoubleZ = *j.DoubleZ
	}
	if j.Dropout != nil {
		c.Dropout = *j.Dropout
	}
	if j.ChMult != nil {
		c.ChMult = j.ChMult
	}
	if j.AttnResolutions != nil {
		c.AttnResolutions = j.AttnResolutions
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return c, nil
}

// vqSource is an opened vision-tokenizer checkpoint, checked against its configuration.
type vqSource struct {
	cfg     *model.VQConfig
	ck      *checkpoint
	src     map[string]*stTensor
	ignored []string
}

// openVQSource opens the checkpoint in dir and maps every tensor of its configuration to the
// checkpoint tensor of that name, with the checkpoint's shape. BatchNorm counters
// (num_batches_tracked) are skipped silently; any other extra tensor is reported as ignored.
func openVQSource(dir string) (*vqSource, error) {
	cfg, err := ReadVQConfig(dir)
	if err != nil {
		return nil, err
	}
	ck, err := openCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	s := &vqSource{cfg: cfg, ck: ck, src: map[string]*stTensor{}}
	for _, t := range cfg.Tensors() {
		st := ck.tensors[t.Name]
		if st == nil {
			ck.Close()
			return nil, fmt.Errorf("the vision tokenizer checkpoint has no tensor %q", t.Name)
		}
		if err := st.check(t.Shape); err != nil {
			ck.Close()
			return nil, err
		}
		s.src[t.Name] = st
	}
	for n := range ck.tensors {
		if s.src[n] == nil && !strings.HasSuffix(n, ".num_batches_tracked") {
			s.ignored = append(s.ignored, n)
		}
	}
	sort.Strings(s.ignored)
	return s, nil
}

func (s *vqSource) Close() {
	if s != nil {
		s.ck.Close()
	}
}

// write streams every tensor into w, as f32: the codes are an argmin with near-ties, so the
// checkpoint's values are kept exactly (bf16 and f16 widen to f32 without loss).
func (s *vqSource) write(w *Writer, progress func(done, total int64, tensor string)) error {
	var total, done int64
	for _, t := range s.src {
		total += t.size
	}
	for _, t := range s.cfg.Tensors() {
		st := t.Stored()
		if err := w.WriteRows(t.Name, quant.F32, st, s.src[t.Name].reader(st[len(st)-1])); err != nil {
			return err
		}
		done += s.src[t.Name].size
		if progress != nil {
			progress(done, total, t.Name)
		}
	}
	return nil
}

// convertVQAlone writes a model file that holds the vision tokenizer in o.VQDir alone.
func convertVQAlone(o ConvertOptions) (*ConvertResult, error) {
	if o.FastDir != "" || o.Stats != "" || o.TextVocab != "" || o.Layout != "" || o.Preset != "" || o.Cameras != nil ||
		o.Steps != 0 || o.ActionLen != 0 || o.Horizon != 0 || o.Dims != 0 {
		return nil, fmt.Errorf("without a language model checkpoint the file holds the vision tokenizer alone: " +
			"FAST, layout, preset and decoding options need one")
	}
	s, err := openVQSource(o.VQDir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	cfg := &model.Config{VQ: s.cfg}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, err := NewWriter(o.Out, cfg)
	if err != nil {
		return nil, err
	}
	if err := s.write(w, o.Progress); err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return &ConvertResult{Config: cfg, Ignored: s.ignored}, nil
}
