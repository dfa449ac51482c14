package build

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// ConvertOptions describe a conversion of a Hugging Face checkpoint to a .udvla file.
type ConvertOptions struct {
	HFDir string      // config.json and model.safetensors (or shards with model.safetensors.index.json)
	Out   string      // the .udvla file to write
	Quant quant.DType // of the matrices; norm weights stay f32

	// The FAST tokenizer, when FastDir is set: its directory (tokenizer.json and
	// processor_config.json), the action chunk (Horizon steps of Dims values; Dims defaults to the
	// statistics' length) and the norm-stats file (first dataset, or StatsDataset).
	FastDir       string
	Horizon, Dims int
	Stats         string
	StatsDataset  string

	TextVocab string // tiktoken-style "base64 rank" file, packed verbatim when set

	// The vocabulary layout: an Emu3 checkpoint gets Emu3Vocab by default, a Layout file (see
	// ParseLayoutJSON) replaces it, and a plain Llama without one has none.
	Layout string

	// Decoding defaults for a model with a layout; zero values take the CALVIN ones (cameras
	// main 25x25 and wrist 10x10, 72 steps, L_a = 70). Mask's zero value (MaskDefault) takes the
	// rule config.json names (hfConfig.MaskRule): release for use_blockwise_attn_mask, causal
	// when it sets neither flag.
	Cameras   []model.Camera
	Steps     int
	ActionLen int
	Mask      model.MaskRule

	// Progress, when set, is called after each tensor with the source bytes converted so far.
	Progress func(done, total int64, tensor string)

	// Preset names a benchmark (PresetByName: calvin, libero, bridge) whose cameras, L_a, steps,
	// action chunk, header ids and gripper threshold the file records; Cameras, Steps and
	// ActionLen must then be zero. With FastRoot set and FastDir empty, the preset's FAST
	// tokenizer and statistics are read from FastRoot (the layout of testdata/fast).
	Preset   string
	FastRoot string

	// VQDir is an Emu3 vision-tokenizer checkpoint (config.json and safetensors) to pack beside
	// the language model; with HFDir empty the file holds it alone.
	VQDir string
}

// Default decoding of a converted UD-VLA checkpoint: CALVIN (spec §3, §5).
var (
	DefaultCameras   = []model.Camera{{Name: "main", H: 25, W: 25}, {Name: "wrist", H: 10, W: 10}}
	DefaultSteps     = 72
	DefaultActionLen = 70
)

// ConvertResult reports what a conversion did.
type ConvertResult struct {
	Config  *model.Config
	Ignored []string // checkpoint tensors the architecture does not use (sorted)
	Tied    bool     // lm_head was taken from the embedding (tie_word_embeddings)
}

// Convert streams a checkpoint into a model file, one tensor and one chunk of rows at a time.
func Convert(o ConvertOptions) (*ConvertResult, error) {
	if o.HFDir == "" && o.VQDir != "" {
		return convertVQAlone(o)
	}
	hc, arch, err := readHFConfig(o.HFDir)
	if err != nil {
		return nil, err
	}
	cfg := &model.Config{Arch: arch}
	if err := o.configure(cfg, hc); err != nil {
		return nil, err
	}
	var vq *vqSource
	if o.VQDir != "" {
		if vq, err = openVQSource(o.VQDir); err != nil {
			return nil, err
		}
		defer vq.Close()
		cfg.VQ = vq.cfg
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkQuantizable(arch, o.Quant); err != nil {
		return nil, err
	}
	ck, err := openCheckpoint(o.HFDir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	res := &ConvertResult{Config: cfg}
	src, err := o.sources(ck, arch, hc, res)
	if err != nil {
		return nil, err
	}
	var total, done int64
	for _, t := range src {
		total += t.size
	}
	w, err := NewWriter(o.Out, cfg)
	if err != nil {
		return nil, err
	}
	for _, name := range arch.TensorNames() {
		t := src[name]
		shape, _ := arch.TensorShape(name)
		dt := o.Quant
		if len(shape) == 1 {
			dt = quant.F32
		}
		if err := w.WriteRows(name, dt, shape, t.reader(shape[len(shape)-1])); err != nil {
			w.Abort()
			return nil, err
		}
		done += t.size
		if o.Progress != nil {
			o.Progress(done, total, name)
		}
	}
	if vq != nil {
		if err := vq.write(w, o.Progress); err != nil {
			w.Abort()
			return nil, err
		}
		res.Ignored = append(res.Ignored, vq.ignored...)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return res, nil
}

// checkQuantizable names the first matrix whose rows are not whole blocks of the requested
// quantized dtype (with a block-aligned hidden size, the down projections when the FFN size is not
// a multiple of 32), before anything is read or written.
func checkQuantizable(a model.Arch, dt quant.DType) error {
	if !dt.Quantized() {
		return nil
	}
	for _, name := range a.TensorNames() {
		shape, _ := a.TensorShape(name)
		if len(shape) != 2 {
			continue
		}
		if err := quant.CheckShape(dt, shape[0], shape[1]); err != nil {
			return fmt.Errorf("tensor %q %v cannot be stored as %v: %w (f16 and f32 take any size)", name, shape, dt, err)
		}
	}
	return nil
}

// configure fills the layout, decoding defaults, FAST tokenizer and text vocabulary.
func (o *ConvertOptions) configure(cfg *model.Config, hc *hfConfig) error {
	if !o.Quant.Valid() {
		return fmt.Errorf("unknown dtype %d", o.Quant)
	}
	preset, err := o.applyPreset()
	if err != nil {
		return err
	}
	var fastVocab int32
	if o.FastDir != "" {
		f, n, err := LoadFastTokenizer(o.FastDir)
		if err != nil {
			return err
		}
		fastVocab = n
		if o.Stats != "" {
			if f.Q01, f.Q99, _, err = LoadNormStats(o.Stats, o.StatsDataset); err != nil {
				return err
			}
		}
		f.Horizon, f.Dims = o.Horizon, o.Dims
		if f.Dims == 0 {
			f.Dims = len(f.Q01)
		}
		if f.Horizon <= 0 || f.Dims <= 0 {
			return fmt.Errorf("a FAST tokenizer needs the action horizon and dims (dims may come from the norm stats)")
		}
		cfg.Fast = f
	} else if o.Stats != "" || o.Horizon != 0 || o.Dims != 0 {
		return fmt.Errorf("norm stats, horizon and dims describe a FAST tokenizer: give its directory too")
	}
	if o.TextVocab != "" {
		b, err := readTextVocab(o.TextVocab)
		if err != nil {
			return err
		}
		cfg.TextBPE = b
	}
	headerGiven := false
	switch {
	case o.Layout != "":
		raw, err := os.ReadFile(o.Layout)
		if err != nil {
			return err
		}
		if cfg.Vocab, headerGiven, err = ParseLayoutJSON(raw); err != nil {
			return fmt.Errorf("%s: %w", o.Layout, err)
		}
	case hc.IsEmu3():
		size := int32(1024)
		if fastVocab > 0 {
			size = fastVocab
		}
		cfg.Vocab = model.Emu3Vocab(size)
		cfg.Vocab.HeaderIDs = nil // recomputed from the cameras below
	}
	if cfg.Vocab == nil {
		if o.Cameras != nil || o.Steps != 0 || o.ActionLen != 0 || preset != nil {
			return fmt.Errorf("cameras, steps and action length need a vocabulary layout: this checkpoint (model_type %q) has none; give one with a layout file", hc.ModelType)
		}
		return nil
	}
	if fastVocab > 0 && fastVocab != cfg.Vocab.FastSize {
		return fmt.Errorf("the FAST tokenizer has %d ids, the vocabulary layout reserves %d", fastVocab, cfg.Vocab.FastSize)
	}
	d := &model.Decoding{Cameras: o.Cameras, Steps: o.Steps, ActionLen: o.ActionLen, Mask: o.Mask}
	if d.Mask == model.MaskDefault {
		var err error
		if d.Mask, err = hc.MaskRule(); err != nil {
			return err
		}
	}
	if d.Cameras == nil {
		d.Cameras = DefaultCameras
	}
	if d.Steps == 0 {
		d.Steps = DefaultSteps
	}
	if d.ActionLen == 0 {
		d.ActionLen = DefaultActionLen
	}
	if !headerGiven {
		cfg.Vocab.HeaderIDs = cfg.Vocab.HeaderIDSet(d.Cameras)
	}
	if preset != nil {
		d.Cameras, d.Steps, d.ActionLen, d.Preset = preset.Cameras, preset.Steps, preset.ActionLen, preset.Name
		if cfg.Vocab.HeaderIDs, err = preset.HeaderIDs(cfg.Vocab); err != nil {
			return err
		}
		if cfg.Fast != nil {
			cfg.Fast.GripperThreshold = preset.GripperThreshold
		}
	}
	cfg.Decoding = d
	return nil
}

// applyPreset checks Preset against the options it fixes and fills the FAST files and the action
// chunk it names; nil when no preset is given.
func (o *ConvertOptions) applyPreset() (*model.Preset, error) {
	if o.Preset == "" {
		if o.FastRoot != "" {
			return nil, fmt.Errorf("a FAST data directory serves a preset: name one (%v)", model.PresetNames())
		}
		return nil, nil
	}
	p := model.PresetByName(o.Preset)
	if p == nil {
		return nil, fmt.Errorf("unknown preset %q (want one of %v)", o.Preset, model.PresetNames())
	}
	if o.Cameras != nil || o.Steps != 0 || o.ActionLen != 0 {
		return nil, fmt.Errorf("the %s preset fixes the cameras, steps and action length: drop them", p.Name)
	}
	if o.FastDir == "" && o.FastRoot != "" {
		o.FastDir = filepath.Join(o.FastRoot, p.FastDir)
		if o.Stats == "" {
			o.Stats = filepath.Join(o.FastRoot, p.NormStats)
		}
	}
	if o.FastDir != "" {
		if o.Horizon == 0 {
			o.Horizon = p.Horizon
		}
		if o.Dims == 0 {
			o.Dims = p.Dims
		}
		if o.Horizon != p.Horizon || o.Dims != p.Dims {
			return nil, fmt.Errorf("the %s preset decodes %dx%d action chunks, not %dx%d", p.Name, p.Horizon, p.Dims, o.Horizon, o.Dims)
		}
	}
	return p, nil
}

// sources maps every tensor of the architecture to its checkpoint tensor and checks it.
func (o *ConvertOptions) sources(ck *checkpoint, a model.Arch, hc *hfConfig, res *ConvertResult) (map[string]*stTensor, error) {
	// HF's own Emu3 nests the language model one level deeper.
	prefix := "model."
	if ck.tensors["model.embed_tokens.weight"] == nil && ck.tensors["model.text_model.embed_tokens.weight"] != nil {
		prefix = "model.text_model."
	}
	hfName := func(name string) string {
		n := HFTensorName(name)
		if strings.HasPrefix(n, "model.") {
			n = prefix + strings.TrimPrefix(n, "model.")
		}
		return n
	}
	src := map[string]*stTensor{}
	used := map[string]bool{}
	for _, name := range a.TensorNames() {
		n := hfName(name)
		t := ck.tensors[n]
		if t == nil && name == model.LMHead && hc.TieWordEmbeddings {
			n = hfName(model.TokEmbeddings)
			t, res.Tied = ck.tensors[n], true
		}
		if t == nil {
			return nil, fmt.Errorf("the checkpoint has no tensor %q (for %s)", n, name)
		}
		shape, _ := a.TensorShape(name)
		if err := t.check(shape); err != nil {
			return nil, err
		}
		src[name], used[n] = t, true
	}
	for n := range ck.tensors {
		if used[n] {
			continue
		}
		if strings.HasSuffix(n, ".bias") && strings.Contains(n, "layers.") {
			return nil, fmt.Errorf("the checkpoint has a bias %q; the engine implements Llama without biases", n)
		}
		res.Ignored = append(res.Ignored, n)
	}
	sort.Strings(res.Ignored)
	return src, nil
}

// readTextVocab reads a tiktoken-style vocabulary and checks its lines: "base64(bytes) rank".
func readTextVocab(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	line, n := 0, 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		tok, rank, ok := strings.Cut(s, " ")
		if _, err := base64.StdEncoding.DecodeString(tok); !ok || err != nil {
			return nil, fmt.Errorf("%s:%d: want \"base64 rank\", got %q", filepath.Base(path), line, s)
		}
		if r, err := strconv.Atoi(rank); err != nil || r < 0 {
			return nil, fmt.Errorf("%s:%d: rank %q is not a non-negative integer", filepath.Base(path), line, rank)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no vocabulary lines", path)
	}
	return b, nil
}
