package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

func init() {
	register("convert", "convert a Hugging Face UD-VLA/Emu3 or Llama checkpoint to a .udvla file", runConvert)
}

func runConvert(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", stderr)
	hf := fs.String("hf", "", "checkpoint directory: config.json and model.safetensors or shards (required)")
	out := fs.String("out", "", "model file to write (required)")
	q := fs.String("quant", "q8_0", "storage of the matrices: f32, f16, q8_0 or q4_0 (norm weights stay f32)")
	fastDir := fs.String("fast", "", "FAST tokenizer directory (tokenizer.json, processor_config.json)")
	horizon := fs.Int("horizon", 0, "FAST action horizon T (with --fast)")
	dims := fs.Int("dims", 0, "FAST action dims D (with --fast; default: from --stats)")
	stats := fs.String("stats", "", "norm-stats file for the FAST quantiles")
	dataset := fs.String("stats-dataset", "", "dataset in the norm-stats file (default: the first)")
	textVocab := fs.String("text-vocab", "", "tiktoken-style text vocabulary to pack (\"base64 rank\" lines)")
	layout := fs.String("layout", "", "vocabulary layout JSON (default: the Emu3 layout for Emu3 checkpoints, none for Llama)")
	cameras := fs.String("cameras", "", "decoding default camera grids, e.g. main:25x25,wrist:10x10 (the default)")
	steps := fs.Int("steps", 0, "decoding default JD3P steps (default 72)")
	actionLen := fs.Int("action-len", 0, "decoding default L_a (default 70)")
	preset := fs.String("preset", "", "benchmark preset: calvin, libero or bridge (fixes cameras, steps, L_a, action chunk, header ids and gripper threshold)")
	fastRoot := fs.String("fast-root", "", "with --preset and no --fast: directory holding the FAST tokenizers and norm stats (as testdata/fast); the preset picks its files")
	mask := fs.String("mask", "model", "the model's mask rule: model (from config.json: release for use_blockwise_attn_mask, causal when it sets no mask flag), release, paper or causal")
	vqDir := fs.String("vq", "", "Emu3 vision tokenizer checkpoint directory (config.json and safetensors) to pack; alone without --hf")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*hf == "" && *vqDir == "") || *out == "" || fs.NArg() != 0 {
		return errors.New("want --hf DIR and/or --vq DIR, --out FILE and no other arguments")
	}
	dt, err := quant.Parse(*q)
	if err != nil {
		return err
	}
	rule, err := model.ParseMaskRule(*mask)
	if err != nil {
		return err
	}
	o := build.ConvertOptions{
		HFDir: *hf, Out: *out, Quant: dt,
		FastDir: *fastDir, Horizon: *horizon, Dims: *dims, Stats: *stats, StatsDataset: *dataset,
		TextVocab: *textVocab, Layout: *layout, Steps: *steps, ActionLen: *actionLen, Mask: rule,
		Preset: *preset, FastRoot: *fastRoot, VQDir: *vqDir,
	}
	if *hf == "" {
		o.Mask = model.MaskDefault // the default "model" names the language model's rule
	}
	if *cameras != "" {
		if o.Cameras, err = model.ParseCameras(*cameras); err != nil {
			return err
		}
	}
	if isTerminal(stderr) {
		o.Progress = func(done, total int64, name string) {
			fmt.Fprintf(stderr, "\r\033[Kconverting %5.1f%%  %.2f / %.2f GB  %s", 100*float64(done)/float64(max(total, 1)),
				float64(done)/1e9, float64(total)/1e9, name)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	res, err := build.Convert(o)
	if err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	layoutName := "none (plain Llama: logits only)"
	switch {
	case *hf == "":
		layoutName = "none (a vision tokenizer alone)"
	case *layout != "":
		layoutName = *layout
	case res.Config.Vocab != nil:
		layoutName = "Emu3"
	}
	storage := fmt.Sprint(dt)
	if *hf == "" {
		storage = "f32" // --quant applies to the language model; the vision tokenizer stays f32
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %d bytes, vocabulary layout %s\n", *out, storage, st.Size(), layoutName)
	if d := res.Config.Decoding; d != nil {
		fmt.Fprintf(stdout, "mask rule: %v\n", d.Mask)
		if d.Preset != "" {
			fmt.Fprintf(stdout, "preset: %s\n", model.PresetByName(d.Preset))
		}
	}
	if c := res.Config.VQ; c != nil {
		fmt.Fprintf(stdout, "vision tokenizer: %s, f32\n", describeVQ(c))
	}
	if res.Tied {
		fmt.Fprintln(stdout, "lm_head: tied to the embedding")
	}
	if n := len(res.Ignored); n > 0 {
		fmt.Fprintf(stdout, "ignored %d checkpoint tensors the architecture does not use: %s\n", n, strings.Join(res.Ignored[:min(n, 5)], ", "))
	}
	return nil
}

// isTerminal reports whether w is a character device, where progress lines make sense.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
