package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

// configNames are the synthetic configurations of --config.
var configNames = []string{"tiny", "calvin-8b", "libero-8b", "bridge-8b", "custom"}

// synthFlags shape a synthetic random-weight model.
type synthFlags struct {
	config, dtype *string
	layers        *int
	// custom only
	hidden, heads, kvHeads, headDim, ffn *int
	textSize, codebook, fastSize         *int
	cameras                              *string
	steps, actionLen                     *int
}

func addSynthFlags(fs *flag.FlagSet) synthFlags {
	return synthFlags{
		config:    fs.String("config", "", "synthetic random-weight model shaped like: tiny, calvin-8b, libero-8b, bridge-8b (the benchmark presets) or custom (instead of --model)"),
		dtype:     fs.String("dtype", "", "matrix storage of the synthetic model: f32, f16, q8_0 or q4_0 (default: q8_0 for the 8B shapes, f32 otherwise)"),
		layers:    fs.Int("layers", 0, "layers of the synthetic model (0: the configuration's; fewer layers cut the per-layer work, embedding and lm_head stay)"),
		hidden:    fs.Int("hidden", 64, "custom: hidden size"),
		heads:     fs.Int("heads", 4, "custom: attention heads"),
		kvHeads:   fs.Int("kv-heads", 2, "custom: key/value heads"),
		headDim:   fs.Int("head-dim", 16, "custom: head dimension"),
		ffn:       fs.Int("ffn", 192, "custom: SwiGLU intermediate size"),
		textSize:  fs.Int("text-size", 1100, "custom: text ids of the scaled vocabulary"),
		codebook:  fs.Int("codebook", 256, "custom: visual codebook size"),
		fastSize:  fs.Int("fast-size", 1024, "custom: FAST action ids"),
		cameras:   fs.String("cameras", "main:5x5,wrist:3x3", "custom: camera grids in sequence order"),
		steps:     fs.Int("config-steps", 8, "custom: the model's default denoising steps T"),
		actionLen: fs.Int("action-len", 16, "custom: L_a, BOA and the action slots"),
	}
}

// emu3Arch is Emu3-8B (spec §1).
func emu3Arch() model.Arch {
	return model.Arch{Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, FFN: 14336,
		Vocab: model.Emu3VocabSize, RopeTheta: 1e6, RMSEps: 1e-5}
}

// options returns the random model the flags describe (no FAST tokenizer: the bench decodes
// tokens, not actions).
func (f synthFlags) options(seed uint64) (build.RandomOptions, error) {
	var o build.RandomOptions
	dt := quant.F32
	switch *f.config {
	case "tiny":
		v, n := model.ScaledVocab(1100, 256, 1024)
		cams := []model.Camera{{Name: "main", H: 5, W: 5}, {Name: "wrist", H: 3, W: 3}}
		v.HeaderIDs = v.HeaderIDSet(cams)
		o.Arch = model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 192, Vocab: n, RopeTheta: 1e6, RMSEps: 1e-5}
		o.Vocab, o.Decoding = v, &model.Decoding{Steps: 8, ActionLen: 16, Cameras: cams, Mask: model.MaskRelease}
	case "calvin-8b", "libero-8b", "bridge-8b":
		// the benchmark presets (spec §3, §5): cameras, L_a, T and the header ids the release allows
		p := model.PresetByName(strings.TrimSuffix(*f.config, "-8b"))
		v := model.Emu3Vocab(p.FastSize)
		var err error
		if v.HeaderIDs, err = p.HeaderIDs(v); err != nil {
			return o, err
		}
		o.Arch, o.Vocab, o.Decoding = emu3Arch(), v, p.Decoding(model.MaskRelease)
		dt = quant.Q8_0
	case "custom":
		if int32(*f.textSize) <= int32(*f.fastSize)+25 {
			return o, fmt.Errorf("--text-size %d must exceed --fast-size %d by more than 25", *f.textSize, *f.fastSize)
		}
		v, n := model.ScaledVocab(int32(*f.textSize), int32(*f.codebook), int32(*f.fastSize))
		cams, err := model.ParseCameras(*f.cameras)
		if err != nil {
			return o, err
		}
		v.HeaderIDs = v.HeaderIDSet(cams)
		o.Arch = model.Arch{Layers: 2, Hidden: *f.hidden, Heads: *f.heads, KVHeads: *f.kvHeads, HeadDim: *f.headDim,
			FFN: *f.ffn, Vocab: n, RopeTheta: 1e6, RMSEps: 1e-5}
		o.Vocab, o.Decoding = v, &model.Decoding{Steps: *f.steps, ActionLen: *f.actionLen, Cameras: cams, Mask: model.MaskRelease}
	default:
		return o, fmt.Errorf("unknown --config %q: want one of %v", *f.config, configNames)
	}
	if *f.layers < 0 || *f.layers > 1024 {
		return o, fmt.Errorf("--layers %d out of range", *f.layers)
	}
	if *f.layers > 0 {
		o.Arch.Layers = *f.layers
	}
	if *f.dtype != "" {
		var err error
		if dt, err = quant.Parse(*f.dtype); err != nil {
			return o, err
		}
	}
	o.DType, o.Seed = dt, seed
	_, err := build.RandomConfig(o)
	return o, err
}

// modelBytes is the size of the tensors of a random model (the file adds a small header).
func modelBytes(o build.RandomOptions) int64 {
	var total int64
	for _, name := range o.Arch.TensorNames() {
		shape, _ := o.Arch.TensorShape(name)
		if len(shape) == 1 {
			total += 4 * int64(shape[0])
			continue
		}
		_, _, t := quant.Layout(o.DType, shape[0], shape[1])
		total += t
	}
	return total
}

// writeSynthetic writes the random model to path, showing the bytes written so far.
func writeSynthetic(path string, o build.RandomOptions, p *progress) (time.Duration, error) {
	want := modelBytes(o)
	dir, base := filepath.Dir(path), filepath.Base(path)
	stop := p.ticker(func() string {
		// the writer streams into a temporary file beside path, ".<base>.tmp*", renamed at the end
		var n int64
		if ents, err := os.ReadDir(dir); err == nil {
			for _, e := range ents {
				if !strings.HasPrefix(e.Name(), "."+base+".tmp") {
					continue
				}
				if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
					n += info.Size()
				}
			}
		}
		return fmt.Sprintf("writing the synthetic model: %.0f of %.0f MB", float64(n)/1e6, float64(want)/1e6)
	})
	start := time.Now()
	err := build.WriteRandom(path, o)
	stop()
	return time.Since(start), err
}
