package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/udvla/udvla/engine/model"
)

func init() {
	register("inspect", "describe a .udvla file: architecture, vocabulary layout, decoding defaults, tensors", runInspect)
}

func runInspect(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", stderr)
	verify := fs.Bool("verify", false, "also read every tensor and check its checksum")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one model file")
	}
	path := fs.Arg(0)
	f, err := model.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	c := &f.Config
	a := c.Arch
	p := func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }
	p("file      %s: %d bytes, the header before the data section at %d", path, f.Size, f.DataOffset)
	if c.HasLM() {
		p("arch      %d layers, hidden %d, %d heads / %d kv heads of %d, ffn %d, vocab %d, rope theta %g, rms eps %g",
			a.Layers, a.Hidden, a.Heads, a.KVHeads, a.HeadDim, a.FFN, a.Vocab, a.RopeTheta, a.RMSEps)
	} else {
		p("arch      none (a vision tokenizer alone)")
	}
	if c.VQ != nil {
		p("vq        %s", describeVQ(c.VQ))
	} else {
		p("vq        none")
	}
	if v := c.Vocab; v != nil {
		dir := "+k"
		lo, hi := v.FastID(0), v.FastID(v.FastSize-1)
		if v.FastReversed {
			dir = "-k"
		}
		p("vocab     text [0, %d), visual [%d, %d) (%d codes), FAST %d ids: %d%s (%d..%d)",
			v.TextSize, v.VisualOffset, v.VisualOffset+v.CodebookSize, v.CodebookSize, v.FastSize, v.FastBase, dir, min(lo, hi), max(lo, hi))
		p("specials  pad %d, boa %d, eoa %d, eol %d, eof %d, mask %d, bos %d, eos %d, img %d, boi %d, eoi %d",
			v.Pad, v.BOA, v.EOA, v.EOL, v.EOF, v.Mask, v.BOS, v.EOS, v.IMG, v.BOI, v.EOI)
		p("header    digits %v, '*' %d, image header ids %v", v.Digits, v.Star, v.HeaderIDs)
	} else if c.HasLM() {
		p("vocab     no layout (a plain Llama: logits only, no control steps)")
	}
	if d := c.Decoding; d != nil {
		p("decoding  %d steps, L_a %d, mask %v, cameras %s", d.Steps, d.ActionLen, d.Mask, model.FormatCameras(d.Cameras))
		preset := "none"
		if pr := model.PresetByName(d.Preset); pr != nil {
			preset = pr.String()
		}
		p("preset    %s", preset)
	}
	if fa := c.Fast; fa != nil {
		p("fast      tokenizer.json %d bytes, scale %g, min_token %d, horizon %d, dims %d, gripper > %g -> +1",
			len(fa.TokenizerJSON), fa.Scale, fa.MinToken, fa.Horizon, fa.Dims, fa.GripperThreshold)
		if len(fa.Q01) > 0 {
			p("          q01 %v", fa.Q01)
			p("          q99 %v", fa.Q99)
		}
	} else {
		p("fast      none")
	}
	if len(c.TextBPE) > 0 {
		p("text bpe  %d bytes, %d lines", len(c.TextBPE), strings.Count(strings.TrimRight(string(c.TextBPE), "\n"), "\n")+1)
	} else {
		p("text bpe  none")
	}
	p("tensors   %d", len(f.Tensors))
	var params, bytes int64
	for _, t := range f.Tensors {
		n := int64(t.Rows()) * int64(t.Cols())
		params += n
		bytes += t.Length
		p("  %-22s %-5v %-14s %12d bytes at %d", t.Name, t.DType, fmt.Sprint(t.Shape), t.Length, t.Offset)
	}
	p("total     %d parameters, %d tensor bytes, %d bytes in the file", params, bytes, f.Size)
	if *verify {
		if err := f.Verify(); err != nil {
			return err
		}
		p("verify    every tensor checksum and padding is correct")
	}
	return nil
}
