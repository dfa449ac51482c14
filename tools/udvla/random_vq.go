package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

// vqFlags are the options of `udvla random` for the vision tokenizer. The defaults are the real
// topology (four levels, attention at the last, temporal factor 4) at 32 base channels and a
// codebook of 256.
type vqFlags struct {
	add, alone, tiny  bool
	ch, resBlocks     int
	codebook, embed   int
	temporal          int
	mult, attn, dtype string
}

func addVQFlags(fs *flag.FlagSet) *vqFlags {
	f := &vqFlags{}
	fs.BoolVar(&f.add, "vq", false, "add a random vision tokenizer (Emu3VisionVQ) to the model")
	fs.BoolVar(&f.alone, "vq-only", false, "write a random vision tokenizer alone, no language model")
	fs.BoolVar(&f.tiny, "tiny-vq", false, "the shipped vision tokenizer (testdata/tiny_vq.udvla); fixes everything but --out")
	fs.IntVar(&f.ch, "vq-ch", 32, "vision tokenizer base channels (a multiple of 32)")
	fs.StringVar(&f.mult, "vq-ch-mult", "1,2,2,4", "vision tokenizer channel multipliers per level")
	fs.IntVar(&f.resBlocks, "vq-res-blocks", 2, "vision tokenizer res blocks per level")
	fs.StringVar(&f.attn, "vq-attn", "3", "vision tokenizer levels with attention (comma-separated, may be empty)")
	fs.IntVar(&f.codebook, "vq-codebook", 256, "vision tokenizer codebook size")
	fs.IntVar(&f.embed, "vq-embed", 4, "vision tokenizer code width (embed_dim = z_channels)")
	fs.IntVar(&f.temporal, "vq-temporal", 4, "vision tokenizer temporal downsample factor")
	fs.StringVar(&f.dtype, "vq-dtype", "f32", "storage of the vision tokenizer's matrices: f32 or f16")
	return f
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// config returns the vision tokenizer the flags describe, or nil when none was asked for.
func (f *vqFlags) config() (*model.VQConfig, quant.DType, error) {
	if !f.add && !f.alone {
		return nil, 0, nil
	}
	dt, err := quant.Parse(f.dtype)
	if err != nil {
		return nil, 0, err
	}
	mult, err := parseInts(f.mult)
	if err != nil {
		return nil, 0, fmt.Errorf("--vq-ch-mult: %w", err)
	}
	attn, err := parseInts(f.attn)
	if err != nil {
		return nil, 0, fmt.Errorf("--vq-attn: %w", err)
	}
	c := &model.VQConfig{CodebookSize: f.codebook, EmbedDim: f.embed, ZChannels: f.embed, InChannels: 3, OutChannels: 3,
		TemporalDownsampleFactor: f.temporal, Ch: f.ch, ChMult: mult, NumResBlocks: f.resBlocks, AttnResolutions: attn}
	if attn == nil {
		c.AttnResolutions = []int{}
	}
	return c, dt, c.Validate()
}

// describeVQ is the one-line summary that random, convert and inspect print.
func describeVQ(c *model.VQConfig) string {
	return fmt.Sprintf("ch %d, ch_mult %v, %d res blocks, attention at levels %v, codebook %dx%d, z %d, temporal x%d, in/out %d/%d",
		c.Ch, c.ChMult, c.NumResBlocks, c.AttnResolutions, c.CodebookSize, c.EmbedDim, c.ZChannels,
		c.TemporalDownsampleFactor, c.InChannels, c.OutChannels)
}

// runRandomVQAlone writes a file that holds a vision tokenizer alone: the shipped one (--tiny-vq)
// or one the --vq-* flags describe (--vq-only). The language model's flags do not apply.
func runRandomVQAlone(fs *flag.FlagSet, f *vqFlags, out string, seed uint64, stdout interface{ Write([]byte) (int, error) }) error {
	var misplaced []string
	fs.Visit(func(fl *flag.Flag) {
		switch {
		case fl.Name == "out" || fl.Name == "tiny-vq" || fl.Name == "vq-only":
		case !f.tiny && (fl.Name == "seed" || strings.HasPrefix(fl.Name, "vq-")):
		default:
			misplaced = append(misplaced, "--"+fl.Name)
		}
	})
	if f.tiny && f.alone {
		misplaced = append(misplaced, "--vq-only")
	}
	if len(misplaced) > 0 {
		return fmt.Errorf("a vision tokenizer alone (--tiny-vq fixes everything, --vq-only takes --seed and --vq-*): drop %v", misplaced)
	}
	o := build.TinyVQOptions()
	if !f.tiny {
		var err error
		if o.VQ, o.VQDType, err = f.config(); err != nil {
			return err
		}
		o.Seed = seed
	}
	if err := build.WriteRandom(out, o); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "wrote %s: vision tokenizer alone, %s, %v, seed %d\n", out, describeVQ(o.VQ), o.VQDType, o.Seed)
	return err
}
