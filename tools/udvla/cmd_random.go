package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

func init() {
	register("random", "write a random model (any size, the real vocabulary structure scaled down)", runRandom)
}

func runRandom(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("random", stderr)
	out := fs.String("out", "", "model file to write (required)")
	tiny := fs.Bool("tiny", false, "the shipped test model (testdata/tiny.udvla); fixes everything but --seed and --dtype")
	fastRoot := fs.String("fast-root", "testdata/fast", "directory with the FAST tokenizers and norm stats, for --tiny")
	seed := fs.Uint64("seed", 1, "random seed")
	dtype := fs.String("dtype", "f32", "storage of the matrices: f32, f16, q8_0 or q4_0 (norm weights stay f32)")
	layers := fs.Int("layers", 2, "layers")
	hidden := fs.Int("hidden", 64, "hidden size")
	heads := fs.Int("heads", 4, "attention heads")
	kvHeads := fs.Int("kv-heads", 2, "key/value heads")
	headDim := fs.Int("head-dim", 16, "head dimension")
	ffn := fs.Int("ffn", 192, "SwiGLU intermediate size")
	ropeTheta := fs.Float64("rope-theta", 1e6, "RoPE theta")
	rmsEps := fs.Float64("rms-eps", 1e-5, "RMSNorm epsilon")
	textSize := fs.Int("text-size", 1100, "text ids of the scaled layout")
	codebook := fs.Int("codebook", 256, "visual codebook size")
	fastSize := fs.Int("fast-size", 1024, "FAST ids (the tokenizer's vocab_size when --fast is given)")
	noLayout := fs.Bool("no-layout", false, "a plain Llama: no vocabulary layout, --vocab ids")
	vocab := fs.Int("vocab", 1367, "vocabulary size with --no-layout")
	cameras := fs.String("cameras", "main:5x5,wrist:3x3", "camera grids in sequence order")
	steps := fs.Int("steps", 8, "JD3P steps")
	actionLen := fs.Int("action-len", 16, "L_a: BOA and the action slots")
	mask := fs.String("mask", "release", "the model's mask rule: release (the released checkpoints'), paper or causal")
	fastDir := fs.String("fast", "", "FAST tokenizer directory to pack (tokenizer.json, processor_config.json)")
	stats := fs.String("stats", "", "norm-stats file for the FAST quantiles (first dataset)")
	horizon := fs.Int("horizon", 10, "FAST action horizon T")
	dims := fs.Int("dims", 0, "FAST action dims D (default: from --stats)")
	vqf := addVQFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return errors.New("want --out FILE and no other arguments")
	}
	if vqf.tiny || vqf.alone {
		return runRandomVQAlone(fs, vqf, *out, *seed, stdout)
	}
	dt, err := quant.Parse(*dtype)
	if err != nil {
		return err
	}
	var o build.RandomOptions
	if *tiny {
		var fixed []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "out", "tiny", "fast-root", "seed", "dtype":
			default:
				fixed = append(fixed, "--"+f.Name)
			}
		})
		if len(fixed) > 0 {
			return fmt.Errorf("--tiny fixes the model; drop %v or --tiny", fixed)
		}
		if o, err = build.TinyOptions(*fastRoot); err != nil {
			return err
		}
	} else {
		o.Arch = model.Arch{Layers: *layers, Hidden: *hidden, Heads: *heads, KVHeads: *kvHeads, HeadDim: *headDim,
			FFN: *ffn, Vocab: *vocab, RopeTheta: *ropeTheta, RMSEps: *rmsEps}
		var fastVocab int32
		if *fastDir != "" {
			f, n, err := build.LoadFastTokenizer(*fastDir)
			if err != nil {
				return err
			}
			if *stats != "" {
				if f.Q01, f.Q99, _, err = build.LoadNormStats(*stats, ""); err != nil {
					return err
				}
			}
			f.Horizon, f.Dims = *horizon, *dims
			if f.Dims == 0 {
				f.Dims = len(f.Q01)
			}
			o.Fast, fastVocab = f, n
		}
		if !*noLayout {
			fs := int32(*fastSize)
			if fastVocab > 0 {
				fs = fastVocab
			}
			if int32(*textSize) <= fs+25 {
				return fmt.Errorf("--text-size %d must exceed the FAST ids (%d) by more than 25", *textSize, fs)
			}
			v, n := model.ScaledVocab(int32(*textSize), int32(*codebook), fs)
			cams, err := model.ParseCameras(*cameras)
			if err != nil {
				return err
			}
			rule, err := model.ParseMaskRule(*mask)
			if err != nil {
				return err
			}
			v.HeaderIDs = v.HeaderIDSet(cams)
			o.Arch.Vocab, o.Vocab = n, v
			o.Decoding = &model.Decoding{Steps: *steps, ActionLen: *actionLen, Cameras: cams, Mask: rule}
		}
	}
	o.Seed, o.DType = *seed, dt
	if o.VQ, o.VQDType, err = vqf.config(); err != nil {
		return err
	}
	if err := build.WriteRandom(*out, o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d layers, hidden %d, vocab %d, %v, seed %d\n", *out, o.Arch.Layers, o.Arch.Hidden, o.Arch.Vocab, dt, o.Seed)
	if o.VQ != nil {
		fmt.Fprintf(stdout, "vision tokenizer: %s, %v\n", describeVQ(o.VQ), o.VQDType)
	}
	return nil
}
